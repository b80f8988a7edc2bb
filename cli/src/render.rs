//! How events are printed: one JSON object per line (`--json`), or plain
//! messages on stdout and status lines on stderr.

use base64::Engine as _;
use rtwire::{Data, Event};
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The JSON form of an event.
pub fn to_json(event: &Event) -> Value {
    match event {
        Event::Open(o) => json!({
            "type": "open",
            "transport": o.transport.as_str(),
            "url": o.url,
            "protocol": o.protocol,
        }),
        Event::Message(m) => {
            let mut v = match &m.data {
                Data::Text(t) => json!({"type": "message", "data": t.as_str(), "binary": false}),
                Data::Binary(b) => {
                    json!({"type": "message", "data": B64.encode(b), "binary": true})
                }
            };
            if let Some(e) = &m.event {
                v["event"] = json!(e);
            }
            if let Some(id) = &m.id {
                v["id"] = json!(id);
            }
            v
        }
        Event::Reconnecting {
            attempt,
            delay,
            cause,
        } => json!({
            "type": "reconnecting",
            "attempt": attempt,
            "delay_ms": delay.as_millis() as u64,
            "cause": cause.to_string(),
            "kind": cause.kind().as_str(),
        }),
        Event::Error(e) => {
            let mut v =
                json!({"type": "error", "kind": e.kind().as_str(), "message": e.to_string()});
            if let Some(s) = e.status() {
                v["status"] = json!(s);
            }
            v
        }
        Event::Closed(c) => json!({
            "type": "closed",
            "code": c.code,
            "reason": c.reason,
            "clean": c.clean,
            "unsent": c.unsent.len(),
        }),
        other => json!({"type": "unknown", "debug": format!("{other:?}")}),
    }
}

/// The plain form: `Some((to_stdout, line))`.
pub fn to_plain(event: &Event, binary: bool) -> (bool, String) {
    match event {
        Event::Open(o) => (
            false,
            format!(
                "open {} via {}{}",
                o.url,
                o.transport,
                o.protocol
                    .as_ref()
                    .map(|p| format!(" (protocol {p})"))
                    .unwrap_or_default()
            ),
        ),
        Event::Message(m) => match &m.data {
            Data::Text(t) => (true, t.to_string()),
            Data::Binary(b) if binary => (true, B64.encode(b)),
            Data::Binary(b) => (
                true,
                format!("<binary {} bytes: {}>", b.len(), B64.encode(b)),
            ),
        },
        Event::Reconnecting {
            attempt,
            delay,
            cause,
        } => (
            false,
            format!(
                "reconnecting (attempt {attempt} in {} ms): {cause}",
                delay.as_millis()
            ),
        ),
        Event::Error(e) => (false, format!("error ({}): {e}", e.kind())),
        Event::Closed(c) => (
            false,
            format!(
                "closed {} {:?} clean={}{}",
                c.code,
                c.reason,
                c.clean,
                if c.unsent.is_empty() {
                    String::new()
                } else {
                    format!(" unsent={}", c.unsent.len())
                }
            ),
        ),
        other => (false, format!("{other:?}")),
    }
}

/// Decodes a `--binary` input line.
pub fn decode_base64(line: &str) -> Result<Vec<u8>, base64::DecodeError> {
    B64.decode(line.trim())
}

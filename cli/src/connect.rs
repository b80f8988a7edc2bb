//! `rtwire connect`: stdin → messages, events → stdout.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use rtwire::{Cursor, CursorFrom, CursorTo, Event, Framing, Options, Proxy, Reconnect, Transport};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot;

use crate::render;

/// Arguments of `rtwire connect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// ws://, wss://, http:// or https:// URL.
    url: String,
    /// Transport: websocket, sse, long-poll, poll, stream or auto (default:
    /// from the URL scheme).
    #[arg(long, short = 't', default_value = "auto", value_parser = parse_transport)]
    transport: Transport,
    /// Extra request header "Name: value" (repeatable).
    #[arg(long = "header", short = 'H', value_name = "K:V", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// Subprotocol to offer (repeatable, in preference order).
    #[arg(long = "protocol", short = 'p', value_name = "P")]
    protocols: Vec<String>,
    /// Origin header value.
    #[arg(long)]
    origin: Option<String>,
    /// PEM file of CA certificates to trust instead of the system roots.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Accept any server certificate (testing only).
    #[arg(long)]
    insecure: bool,
    /// Do not reconnect when the connection is lost.
    #[arg(long)]
    no_reconnect: bool,
    /// Largest incoming message in bytes (default 64 MiB).
    #[arg(long, value_name = "N")]
    max_message_size: Option<usize>,
    /// Handshake timeout in milliseconds (default 10000).
    #[arg(long, value_name = "MS")]
    open_timeout: Option<u64>,
    /// Keepalive ping interval in milliseconds; 0 disables (default 20000).
    #[arg(long, value_name = "MS")]
    ping_interval: Option<u64>,
    /// Each stdin line is base64 and is sent as a binary message; binary
    /// messages are printed as base64.
    #[arg(long)]
    binary: bool,
    /// Print every event as one JSON object per line on stdout.
    #[arg(long)]
    json: bool,
    /// HTTP transports: URL that stdin lines are POSTed to.
    #[arg(long, value_name = "URL")]
    send_url: Option<String>,
    /// SSE: Last-Event-ID of the first request (resume from there).
    #[arg(long, value_name = "ID")]
    last_event_id: Option<String>,
    /// Short polling: milliseconds between requests (default 5000).
    #[arg(long, value_name = "MS")]
    interval: Option<u64>,
    /// Long polling: take the next cursor from this response header.
    #[arg(long, value_name = "H", conflicts_with = "cursor_json")]
    cursor_header: Option<String>,
    /// Long polling: take the next cursor from this field of a JSON object
    /// body (messages in its "messages" array).
    #[arg(long, value_name = "FIELD")]
    cursor_json: Option<String>,
    /// Long polling: query parameter that carries the cursor (default cursor).
    #[arg(long, value_name = "NAME", default_value = "cursor")]
    cursor_param: String,
    /// Long polling: a JSON array body is one message per element.
    #[arg(long)]
    json_array: bool,
    /// HTTP streaming: how the body is cut into messages: lines, ndjson or
    /// chunks (default lines).
    #[arg(long, value_name = "F", value_parser = parse_framing)]
    framing: Option<Framing>,
    /// Proxy URL (http://, https://, socks5://, socks5h://); "none" disables
    /// the proxy; default: HTTP(S)_PROXY / ALL_PROXY / NO_PROXY from the
    /// environment.
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// After stdin ends, keep reading replies until none has arrived for this
    /// many milliseconds, then close with 1000.
    #[arg(long, value_name = "MS", default_value_t = 300)]
    linger: u64,
}

fn parse_transport(s: &str) -> Result<Transport, String> {
    s.parse::<Transport>().map_err(|e| e.to_string())
}

fn parse_framing(s: &str) -> Result<Framing, String> {
    match s {
        "lines" => Ok(Framing::Lines),
        "ndjson" => Ok(Framing::Ndjson),
        "chunks" | "raw" => Ok(Framing::Chunks),
        _ => Err(format!("unknown framing {s:?} (lines, ndjson or chunks)")),
    }
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once(':')
        .ok_or_else(|| format!("header {s:?} must look like \"Name: value\""))?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

fn options(a: &Args) -> Options {
    let mut o = Options::new().transport(a.transport);
    for (k, v) in &a.headers {
        o = o.header(k, v);
    }
    for p in &a.protocols {
        o = o.subprotocol(p);
    }
    if let Some(origin) = &a.origin {
        o = o.origin(origin);
    }
    if let Some(f) = &a.cacert {
        o = o.ca_file(f);
    }
    if a.insecure {
        o = o.insecure(true);
    }
    if a.no_reconnect {
        o = o.reconnect(Reconnect::disabled());
    }
    if let Some(n) = a.max_message_size {
        o = o.max_message_size(n);
    }
    if let Some(ms) = a.open_timeout {
        o = o.open_timeout(Duration::from_millis(ms));
    }
    if let Some(u) = &a.send_url {
        o = o.send_url(u);
    }
    if let Some(id) = &a.last_event_id {
        o = o.last_event_id(id);
    }
    if let Some(ms) = a.interval {
        o = o.poll_interval(Duration::from_millis(ms.max(1)));
    }
    let from = match (&a.cursor_header, &a.cursor_json) {
        (Some(h), _) => Some(CursorFrom::Header(h.clone())),
        (None, Some(f)) => Some(CursorFrom::JsonField(f.clone())),
        (None, None) => None,
    };
    if let Some(from) = from {
        let mut c = Cursor::new(from);
        c.to = CursorTo::Query(a.cursor_param.clone());
        o = o.cursor(c);
    }
    o.http.json_array = a.json_array;
    if let Some(f) = a.framing {
        o = o.framing(f);
    }
    match a.proxy.as_deref() {
        None => {}
        Some("none") => o = o.proxy(Proxy::Disabled),
        Some(u) => o = o.proxy(Proxy::Url(u.to_string())),
    }
    if let Some(ms) = a.ping_interval {
        let iv = (ms > 0).then(|| Duration::from_millis(ms));
        let timeout = o.keepalive.timeout;
        o = o.keepalive(iv, timeout);
    }
    o
}

/// Runs `rtwire connect`.
pub async fn run(a: Args) -> Result<(), String> {
    let mut conn = rtwire::connect(&a.url, options(&a))
        .await
        .map_err(|e| format!("{} ({})", e, e.kind()))?;

    // stdin is read and sent by its own task, so a send waiting for room in
    // the queue never stops events from being read.
    let sender = conn.sender();
    let (eof_tx, mut eof_rx) = oneshot::channel::<Result<(), String>>();
    let binary = a.binary;
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let result = loop {
            match lines.next_line().await {
                Ok(Some(line)) => {
                    let sent = if binary {
                        match render::decode_base64(&line) {
                            Ok(bytes) => sender.send(bytes).await,
                            Err(e) => {
                                eprintln!("rtwire: skipped a stdin line that is not base64: {e}");
                                continue;
                            }
                        }
                    } else {
                        sender.send(line).await
                    };
                    if sent.is_err() {
                        break Ok(()); // closed: the event loop reports why
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(format!("reading stdin: {e}")),
            }
        };
        let _ = eof_tx.send(result);
    });

    let mut stdin_done = false;
    let mut failure: Option<String> = None;
    let stdout = std::io::stdout();
    let linger = Duration::from_millis(a.linger);
    // Set once stdin ended: close when this passes with nothing queued.
    let mut close_at: Option<tokio::time::Instant> = None;
    let sender = conn.sender();
    loop {
        let event = tokio::select! {
            ev = conn.recv() => ev,
            r = &mut eof_rx, if !stdin_done => {
                stdin_done = true;
                if let Ok(Err(e)) = r {
                    failure = Some(e);
                }
                close_at = Some(tokio::time::Instant::now() + linger);
                continue;
            }
            _ = tokio::time::sleep_until(close_at.unwrap_or_else(tokio::time::Instant::now)), if close_at.is_some() => {
                if sender.buffered_amount() > 0 {
                    close_at = Some(tokio::time::Instant::now() + linger);
                } else {
                    close_at = None;
                    let _ = conn.close(1000, "");
                }
                continue;
            }
        };
        let Some(event) = event else { break };
        if close_at.is_some() && matches!(event, Event::Message(_)) {
            close_at = Some(tokio::time::Instant::now() + linger);
        }
        match &event {
            Event::Error(e) => failure = Some(format!("{e} ({})", e.kind())),
            Event::Closed(c) if !c.clean && failure.is_none() => {
                failure = Some(format!("connection closed abnormally (code {})", c.code))
            }
            _ => {}
        }
        let mut out = stdout.lock();
        if a.json {
            let _ = writeln!(out, "{}", render::to_json(&event));
        } else {
            let (to_stdout, line) = render::to_plain(&event, a.binary);
            if to_stdout {
                let _ = writeln!(out, "{line}");
            } else {
                eprintln!("rtwire: {line}");
            }
        }
        let _ = out.flush();
        if matches!(event, Event::Closed(_)) {
            break;
        }
    }
    match failure {
        None => Ok(()),
        Some(f) => Err(f),
    }
}

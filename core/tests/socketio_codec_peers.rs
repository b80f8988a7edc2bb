//! The Engine.IO and Socket.IO codecs against the reference ones
//! (`engine.io-parser`, `socket.io-parser`, pinned in
//! tests/peers/node/package.json and installed by `scripts/peers.sh`):
//! what we encode, they decode to the same packets, and what they encode, we
//! decode to the same packets, with the same bytes on the wire.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use bytes::Bytes;
use common::workspace_root;
use rtwire::proto::engineio::{self, Handshake, Packet as EioPacket, PayloadLimits};
use rtwire::proto::socketio::{self, Decoder, Packet, PacketType};
use rtwire::{Data, Text};
use serde_json::{json, Map, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `node` from `$RTWIRE_TEST_NODE` or the `PATH`, and the peer folder with
/// the reference parsers installed. Panics (the test fails) when either is
/// missing.
fn node() -> (PathBuf, PathBuf) {
    let dir = workspace_root().join("tests/peers/node");
    let node = match std::env::var_os("RTWIRE_TEST_NODE") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        _ => std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("node"))
                .find(|p| p.is_file())
        }),
    };
    let Some(node) = node else {
        panic!(
            "node is not on the PATH (or $RTWIRE_TEST_NODE is not a file); install Node.js \
             and run ./scripts/peers.sh"
        );
    };
    for pkg in ["engine.io-parser", "socket.io-parser"] {
        if !dir.join("node_modules").join(pkg).exists() {
            panic!(
                "the Node test peer {pkg} is not installed in {}; run ./scripts/peers.sh",
                dir.display()
            );
        }
    }
    (node, dir)
}

/// Runs tests/peers/node/socketio_codec.js with `request` on its stdin and
/// returns its answer.
fn reference(request: &Value) -> Value {
    let (node, dir) = node();
    let mut child = Command::new(&node)
        .arg(dir.join("socketio_codec.js"))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", node.display()));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(request.to_string().as_bytes())
        .expect("writing the request");
    // The script exits by itself within 10 s.
    let out = child.wait_with_output().expect("waiting for node");
    assert!(
        out.status.success(),
        "socketio_codec.js exited with {}",
        out.status
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "socketio_codec.js did not answer JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn b64(b: &[u8]) -> Value {
    Value::String(B64.encode(b))
}

fn unb64(v: &Value) -> Bytes {
    Bytes::from(
        B64.decode(v.as_str().expect("a base64 string"))
            .expect("valid base64"),
    )
}

/// The data with each placeholder replaced by `{"$bin": base64}`.
fn with_binaries(v: &Value, atts: &[Bytes]) -> Value {
    match v {
        Value::Object(m) if m.get("_placeholder") == Some(&Value::Bool(true)) => {
            let num = m["num"].as_u64().expect("a valid placeholder") as usize;
            json!({ "$bin": B64.encode(&atts[num]) })
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), with_binaries(v, atts)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| with_binaries(v, atts)).collect()),
        other => other.clone(),
    }
}

/// The data with each `{"$bin": base64}` replaced by a placeholder, in
/// document order, and the binaries.
fn with_placeholders(v: &Value, atts: &mut Vec<Bytes>) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("$bin") => {
            atts.push(unb64(&m["$bin"]));
            socketio::placeholder(atts.len() - 1)
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), with_placeholders(v, atts)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| with_placeholders(v, atts)).collect()),
        other => other.clone(),
    }
}

/// A packet in the shape the script speaks: binary types as their plain
/// ones (the reference decoder reports them so), binaries inline.
fn canonical(p: &Packet) -> Value {
    let kind = match p.kind() {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        k => k,
    };
    let mut m = Map::new();
    m.insert("type".into(), json!(kind as u8));
    m.insert("nsp".into(), json!(p.nsp()));
    if let Some(id) = p.id() {
        m.insert("id".into(), json!(id));
    }
    if let Some(d) = p.data() {
        m.insert("data".into(), with_binaries(d, p.attachments()));
    }
    Value::Object(m)
}

/// Our packet for a canonical one: binary types when it has binaries, as
/// the reference encoder chooses.
fn from_canonical(v: &Value) -> Packet {
    let mut atts = Vec::new();
    let data = v.get("data").map(|d| with_placeholders(d, &mut atts));
    let kind = match (v["type"].as_u64().unwrap(), atts.is_empty()) {
        (0, _) => PacketType::Connect,
        (1, _) => PacketType::Disconnect,
        (2, true) => PacketType::Event,
        (2, false) => PacketType::BinaryEvent,
        (3, true) => PacketType::Ack,
        (3, false) => PacketType::BinaryAck,
        (4, _) => PacketType::ConnectError,
        (t, _) => panic!("type {t}"),
    };
    Packet::new(
        kind,
        v["nsp"].as_str().unwrap(),
        v.get("id").and_then(Value::as_u64),
        data,
        atts,
    )
    .unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// Socket.IO packets covering every type, namespaces, ack ids, binaries in
/// nested positions, Unicode and escapes.
fn sio_cases() -> Vec<Value> {
    vec![
        json!({"type": 0, "nsp": "/"}),
        json!({"type": 0, "nsp": "/admin", "data": {"token": "123"}}),
        json!({"type": 0, "nsp": "/", "data": {"sid": "wZX3oN0bSVIhsaknAAAI"}}),
        json!({"type": 1, "nsp": "/"}),
        json!({"type": 1, "nsp": "/admin"}),
        json!({"type": 2, "nsp": "/", "data": ["foo"]}),
        json!({"type": 2, "nsp": "/admin", "data": ["bar", 1, 2.5, true, null, {"a": [1, {"b": "c"}]}]}),
        json!({"type": 2, "nsp": "/", "id": 12, "data": ["foo"]}),
        json!({"type": 2, "nsp": "/chat", "id": 9_007_199_254_740_991_u64, "data": ["big id"]}),
        json!({"type": 2, "nsp": "/é€", "data": ["ñ", "quote \" backslash \\ nl \n rs \u{1e} nul \u{0} 😀"]}),
        json!({"type": 3, "nsp": "/", "id": 12, "data": []}),
        json!({"type": 3, "nsp": "/admin", "id": 13, "data": ["bar"]}),
        json!({"type": 4, "nsp": "/", "data": {"message": "Not authorized"}}),
        json!({"type": 4, "nsp": "/admin", "data": {"message": "no", "data": {"code": 7}}}),
        json!({"type": 2, "nsp": "/", "data": ["baz", {"$bin": "AQIDBA=="}]}),
        json!({"type": 2, "nsp": "/admin", "data": ["baz", {"$bin": "AQI="}, {"$bin": "AwQ="}]}),
        json!({"type": 2, "nsp": "/", "id": 14, "data": ["foo", {"$bin": "AQIDBA=="}]}),
        json!({"type": 2, "nsp": "/", "data": ["nested", {"a": [{"$bin": ""}, {"b": {"$bin": "/w=="}}]}, [[{"$bin": "AA=="}]]]}),
        json!({"type": 3, "nsp": "/", "id": 15, "data": ["bar", {"$bin": "AQIDBA=="}]}),
        json!({"type": 3, "nsp": "/admin", "id": 1, "data": [{"$bin": "AQIDBA=="}]}),
    ]
}

/// The invalid-packet table of the Socket.IO test suite: the reference
/// refuses each, and so do we.
const SIO_INVALID: &[&str] = &[
    "442[\"some\",\"data\"",
    "0/admin,\"invalid\"",
    "0[]",
    "1/admin,{}",
    "2/admin,{}",
    "2[{\"toString\":\"foo\"}]",
    "2[true,\"foo\"]",
    "2[null,\"bar\"]",
    "2[\"connect\"]",
    "2[\"disconnect\",\"123\"]",
    "5",
    "51",
    "5a-",
    "51.23-",
    "999",
    "51001-[\"a\"]",
    "2[\"a\"]x",
];

#[test]
fn socket_io_parser_decodes_what_we_encode() {
    let cases = sio_cases();
    let ours: Vec<Packet> = cases.iter().map(from_canonical).collect();
    let encoded: Vec<Value> = ours
        .iter()
        .map(|p| {
            let (text, atts) = socketio::encode(p);
            json!({"text": text, "attachments": atts.iter().map(|a| b64(a)).collect::<Vec<_>>()})
        })
        .collect();
    let res = reference(&json!({ "sio_decode": encoded }));
    let decoded = res["sio_decode"].as_array().expect("an array");
    assert_eq!(decoded.len(), cases.len());
    for ((case, got), wire) in cases.iter().zip(decoded).zip(&encoded) {
        assert_eq!(got, case, "socket.io-parser read {wire}");
    }
}

#[test]
fn we_decode_what_socket_io_parser_encodes() {
    let cases = sio_cases();
    let res = reference(&json!({ "sio_encode": cases }));
    let encoded = res["sio_encode"].as_array().expect("an array");
    assert_eq!(encoded.len(), cases.len());
    for (case, wire) in cases.iter().zip(encoded) {
        let text = wire["text"].as_str().expect("a text packet");
        let atts: Vec<Bytes> = wire["attachments"]
            .as_array()
            .expect("attachments")
            .iter()
            .map(unb64)
            .collect();
        let mut d = Decoder::default();
        let mut got = d
            .decode_text(Text::from(text))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        for a in &atts {
            assert!(got.is_none(), "{text}: complete before its attachments");
            got = d
                .decode_binary(a.clone())
                .unwrap_or_else(|e| panic!("{text}: {e}"));
        }
        let got = got.unwrap_or_else(|| panic!("{text}: incomplete"));
        assert_eq!(&canonical(&got), case, "we read {text}");
        // And we write the same bytes the reference wrote.
        let (ours, our_atts) = socketio::encode(&from_canonical(case));
        assert_eq!(ours, text);
        assert_eq!(our_atts, atts);
    }
}

#[test]
fn both_refuse_the_invalid_packet_table() {
    let res = reference(&json!({ "sio_invalid": SIO_INVALID }));
    let verdicts = res["sio_invalid"].as_array().expect("an array");
    for (text, verdict) in SIO_INVALID.iter().zip(verdicts) {
        assert!(verdict.is_string(), "socket.io-parser accepted {text:?}");
        let mut d = Decoder::default();
        let ours = d.decode_text(Text::from(*text));
        assert!(ours.is_err(), "we accepted {text:?}: {ours:?}");
    }
}

/// Engine.IO packets in the script's shape.
fn eio_canonical(p: &EioPacket) -> Value {
    let (ty, data) = match p {
        EioPacket::Open(h) => ("open", Some(Data::Text(Text::from(h.to_json())))),
        EioPacket::Close => ("close", None),
        EioPacket::Ping(t) => ("ping", Some(Data::Text(t.clone()))),
        EioPacket::Pong(t) => ("pong", Some(Data::Text(t.clone()))),
        EioPacket::Message(d) => ("message", Some(d.clone())),
        EioPacket::Upgrade => ("upgrade", None),
        EioPacket::Noop => ("noop", None),
    };
    match data {
        Some(Data::Binary(b)) => json!({"type": ty, "bin": b64(&b)}),
        Some(Data::Text(t)) if !t.is_empty() => json!({"type": ty, "data": t.as_str()}),
        _ => json!({"type": ty}),
    }
}

fn eio_cases() -> Vec<EioPacket> {
    let handshake = Handshake::from_json(
        r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
    )
    .expect("the document's handshake");
    vec![
        EioPacket::Open(handshake),
        EioPacket::Close,
        EioPacket::ping(),
        EioPacket::pong(),
        EioPacket::ping_probe(),
        EioPacket::pong_probe(),
        EioPacket::Message(Data::from("hello")),
        EioPacket::Message(Data::from("2[\"héllo\",\"😀\"]")),
        EioPacket::Message(Data::from(vec![1u8, 2, 3, 4])),
        EioPacket::Message(Data::from(vec![0u8, 255, 30, 10])),
        EioPacket::Message(Data::from(vec![7u8; 1000])),
        EioPacket::Upgrade,
        EioPacket::Noop,
    ]
}

#[test]
fn engine_io_parser_decodes_what_we_encode() {
    let cases = eio_cases();
    let mut request: Vec<Value> = cases
        .iter()
        .map(|p| match engineio::encode(p) {
            Data::Text(t) => json!({"ws": t.as_str()}),
            Data::Binary(b) => json!({"ws_bin": b64(&b)}),
        })
        .collect();
    let body = engineio::encode_payload(&cases).expect("a polling body");
    request.push(json!({"payload": String::from_utf8(body).expect("UTF-8")}));
    let res = reference(&json!({ "eio_decode": request }));
    let decoded = res["eio_decode"].as_array().expect("an array");
    let expected: Vec<Value> = cases.iter().map(eio_canonical).collect();
    assert_eq!(&decoded[..cases.len()], &expected[..], "over a WebSocket");
    assert_eq!(
        decoded[cases.len()],
        Value::Array(expected),
        "in a polling body"
    );
}

#[test]
fn we_decode_what_engine_io_parser_encodes() {
    let cases = eio_cases();
    let expected: Vec<Value> = cases.iter().map(eio_canonical).collect();
    let res = reference(&json!({ "eio_encode": expected }));
    let frames = res["eio_encode"]["ws"].as_array().expect("frames");
    for ((frame, want), packet) in frames.iter().zip(&expected).zip(&cases) {
        let data = match (frame.get("ws"), frame.get("ws_bin")) {
            (Some(t), _) => Data::from(t.as_str().unwrap()),
            (_, Some(b)) => Data::Binary(unb64(b)),
            _ => panic!("{frame}"),
        };
        // The same frame as ours, and we read it back.
        assert_eq!(data, engineio::encode(packet), "{want}");
        let got = engineio::decode(data).unwrap_or_else(|e| panic!("{frame}: {e}"));
        assert_eq!(&eio_canonical(&got), want, "{frame}");
    }
    let body = res["eio_encode"]["payload"].as_str().expect("a payload");
    assert_eq!(
        body.as_bytes(),
        engineio::encode_payload(&cases).unwrap().as_slice(),
        "the same polling body as ours"
    );
    let got = engineio::decode_payload(
        &Bytes::copy_from_slice(body.as_bytes()),
        &PayloadLimits::default(),
    )
    .expect("we read the reference's polling body");
    assert_eq!(got, cases);
}

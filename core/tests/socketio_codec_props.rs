//! Property tests of the Engine.IO and Socket.IO codecs: every packet the
//! codecs can build comes back unchanged through encode then decode, over a
//! WebSocket frame and inside a polling payload, whatever its text (the
//! record separator aside, which Engine.IO text cannot carry).

use bytes::Bytes;
use proptest::prelude::*;
use rtwire::proto::engineio::{self, PayloadLimits};
use rtwire::proto::socketio::{self, Decoder, Limits, Packet};
use rtwire::Data;
use serde_json::{json, Value};

/// Text without the Engine.IO record separator.
fn text() -> impl Strategy<Value = String> {
    "[^\u{1e}]{0,40}"
}

fn eio_packet() -> impl Strategy<Value = engineio::Packet> {
    prop_oneof![
        Just(engineio::Packet::Close),
        Just(engineio::Packet::Upgrade),
        Just(engineio::Packet::Noop),
        text().prop_map(|t| engineio::Packet::Ping(t.into())),
        text().prop_map(|t| engineio::Packet::Pong(t.into())),
        text().prop_map(|t| engineio::Packet::Message(Data::from(t))),
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| engineio::Packet::Message(Data::from(b))),
    ]
}

/// JSON values a little deep, with any strings.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_string()), "/[a-z0-9]{1,8}"]
}

/// An event (binary or not) with an optional ack id.
fn sio_event() -> impl Strategy<Value = Packet> {
    (
        namespace(),
        "[a-z][a-z0-9 ]{0,10}",
        proptest::collection::vec(json_value(), 0..3),
        proptest::option::of(0u64..1_000_000),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..16), 0..3),
    )
        .prop_map(|(nsp, name, args, id, blobs)| {
            let mut data = vec![Value::from(name)];
            data.extend(args);
            if blobs.is_empty() {
                return Packet::event(nsp, Value::Array(data), id).expect("a valid event");
            }
            data.extend((0..blobs.len()).map(socketio::placeholder));
            let attachments = blobs.into_iter().map(Bytes::from).collect();
            Packet::binary_event(nsp, Value::Array(data), id, attachments).expect("a valid event")
        })
}

/// Decodes what `encode` gave, attachments after the text.
fn decode_all(text: String, attachments: Vec<Bytes>) -> Packet {
    let mut d = Decoder::new(Limits::default());
    let mut got = d.decode_text(text.into()).expect("decodes");
    for a in attachments {
        assert!(got.is_none(), "the packet came before its attachments");
        got = d.decode_binary(a).expect("decodes");
    }
    assert!(!d.is_waiting());
    got.expect("a whole packet")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn engineio_frames_round_trip(p in eio_packet()) {
        prop_assert_eq!(engineio::decode(engineio::encode(&p)).unwrap(), p);
    }

    #[test]
    fn engineio_payloads_round_trip(ps in proptest::collection::vec(eio_packet(), 1..8)) {
        let body = Bytes::from(engineio::encode_payload(&ps).unwrap());
        prop_assert_eq!(engineio::decode_payload(&body, &PayloadLimits::default()).unwrap(), ps);
    }

    #[test]
    fn socketio_events_round_trip(p in sio_event()) {
        let (text, attachments) = socketio::encode(&p);
        prop_assert_eq!(decode_all(text, attachments), p);
    }

    #[test]
    fn socketio_acks_round_trip(nsp in namespace(), id in 0u64..1_000_000, args in proptest::collection::vec(json_value(), 0..3)) {
        let p = Packet::ack(nsp, id, Value::Array(args)).unwrap();
        let (text, attachments) = socketio::encode(&p);
        prop_assert!(attachments.is_empty());
        prop_assert_eq!(decode_all(text, attachments), p);
    }

    #[test]
    fn socketio_connect_round_trips(nsp in namespace(), auth in proptest::option::of(proptest::collection::btree_map("[a-z]{1,6}", ".{0,8}", 0..3))) {
        let data = auth.map(|m| json!(m));
        let p = Packet::connect(nsp, data).unwrap();
        let (text, attachments) = socketio::encode(&p);
        prop_assert_eq!(decode_all(text, attachments), p);
    }
}

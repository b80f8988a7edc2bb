//! Conformance tests of the SSE parser against the WHATWG HTML "interpreting
//! an event stream" rules, ported from the web-platform-tests
//! `eventsource/format-*` cases, plus chunking, UTF-8 and limit tests.
//!
//! Every stream is parsed whole, one byte at a time and split in two at every
//! position, and all of them must agree.

use std::time::Duration;

use proptest::prelude::*;
use rtwire::proto::sse::{SseEvent, SseLimits, SseParser};
use rtwire::{Data, ErrorKind, Message};

/// What a whole stream produced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    events: Vec<SseEvent>,
    last_event_id: String,
    retry: Option<Duration>,
}

impl Outcome {
    fn data(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.data.as_str()).collect()
    }
}

fn ev(event: &str, data: &str, id: Option<&str>) -> SseEvent {
    SseEvent {
        event: event.to_owned(),
        data: data.to_owned(),
        id: id.map(str::to_owned),
    }
}

/// Feeds `chunks` as one stream with default limits, then ends it.
fn run_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, |e| events.push(e)).expect("feed");
    }
    parser.finish();
    Outcome {
        events,
        last_event_id: parser.last_event_id().to_owned(),
        retry: parser.retry(),
    }
}

/// Parses `input` whole, byte by byte and split at every position; all must
/// agree, and agree with the reference model.
fn parse(input: &[u8]) -> Outcome {
    let whole = run_chunks([input]);
    let bytewise = run_chunks(input.chunks(1));
    assert_eq!(bytewise, whole, "one byte at a time differs for {input:?}");
    for i in 0..=input.len() {
        let split = run_chunks([&input[..i], &[][..], &input[i..]]);
        assert_eq!(split, whole, "split at {i} differs for {input:?}");
    }
    assert_eq!(reference(input), whole, "reference model differs");
    whole
}

/// A direct, slow transcription of the standard: decode the whole stream
/// (BOM stripped, invalid UTF-8 replaced), split it into lines, and apply
/// the field rules line by line.
fn reference(input: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(input);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut line));
            }
            '\n' => lines.push(std::mem::take(&mut line)),
            c => line.push(c),
        }
    }
    // `line` is unterminated: discarded, with the event it belongs to.
    let mut out = Outcome {
        events: Vec::new(),
        last_event_id: String::new(),
        retry: None,
    };
    let (mut data, mut event_type, mut id_buffer) = (String::new(), String::new(), String::new());
    for line in lines {
        if line.is_empty() {
            out.last_event_id = id_buffer.clone();
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            data.pop();
            out.events.push(SseEvent {
                event: if event_type.is_empty() {
                    "message".into()
                } else {
                    std::mem::take(&mut event_type)
                },
                data: std::mem::take(&mut data),
                id: (!out.last_event_id.is_empty()).then(|| out.last_event_id.clone()),
            });
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match name {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                let ms = value.bytes().fold(0u64, |ms, d| {
                    ms.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                });
                out.retry = Some(Duration::from_millis(ms));
            }
            _ => {}
        }
    }
    out
}

// ---- web-platform-tests eventsource/format-* ----

#[test]
fn format_bom() {
    // One leading BOM is dropped; a BOM later in the stream is part of the
    // field name, which is then unknown.
    let o = parse(b"\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n");
    assert_eq!(o.data(), ["1", "3"]);
}

#[test]
fn format_bom_bom() {
    // Only the first of two leading BOMs is dropped.
    let o = parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\ndata:3\n\n");
    assert_eq!(o.data(), ["2", "3"]);
}

#[test]
fn format_bom_partial_is_data() {
    // The start of a BOM that is not one is ordinary (invalid) text.
    let o = parse(b"\xEF\xBBdata:1\n\ndata:2\n\n");
    assert_eq!(o.data(), ["2"]);
    let o = parse(b"\xEFdata:1\n\n\xEF\xBB\xBFdata:2\n\n");
    assert!(o.events.is_empty());
}

#[test]
fn format_comments() {
    let long = "x".repeat(2 * 1024);
    let input =
        format!("data:1\r:\0\n:\r\ndata:2\n:{long}\rdata:3\n:data:fail\r:{long}\ndata:4\n\n");
    let o = parse(input.as_bytes());
    assert_eq!(o.events, [ev("message", "1\n2\n3\n4", None)]);
}

#[test]
fn format_data_before_final_empty_line() {
    // The last event has no blank line: it is never dispatched, and its id
    // never becomes the last event ID.
    let o = parse(b"retry:1000\ndata:test1\n\nid:test\ndata:test2");
    assert_eq!(o.events, [ev("message", "test1", None)]);
    assert_eq!(o.last_event_id, "");
    assert_eq!(o.retry, Some(Duration::from_millis(1000)));
}

#[test]
fn format_field_data() {
    // `data:` with an empty value dispatches an empty message; `data` without
    // a colon appends an empty line.
    let o = parse(b"data:\n\ndata\ndata\n\ndata:test\n\n");
    assert_eq!(o.data(), ["", "\n", "test"]);
}

#[test]
fn format_field_event() {
    let o = parse(b"event:test\ndata:x\n\ndata:x\n\n");
    assert_eq!(
        o.events,
        [ev("test", "x", None), ev("message", "x", None)],
        "the event type is reset after dispatch"
    );
}

#[test]
fn format_field_event_empty() {
    let o = parse(b"event: \ndata:data\n\n");
    assert_eq!(o.events, [ev("message", "data", None)]);
}

#[test]
fn event_type_reset_by_block_without_data() {
    let o = parse(b"event:foo\n\ndata:x\n\nevent:a\nevent:b\ndata:y\n\n");
    assert_eq!(o.events, [ev("message", "x", None), ev("b", "y", None)]);
}

#[test]
fn format_field_id() {
    let o = parse(b"id: 1\ndata:a\n\ndata:b\n\nid:2\ndata:c\n\n");
    assert_eq!(
        o.events,
        [
            ev("message", "a", Some("1")),
            ev("message", "b", Some("1")),
            ev("message", "c", Some("2")),
        ],
        "the last event ID persists across events without id"
    );
    assert_eq!(o.last_event_id, "2");
}

#[test]
fn format_field_id_2_empty_resets() {
    let o = parse(b"id:1\ndata:1\n\ndata:2\n\nid\ndata:3\n\nid:4\ndata:4\n\nid:\ndata:5\n\n");
    assert_eq!(
        o.events.iter().map(|e| e.id.as_deref()).collect::<Vec<_>>(),
        [Some("1"), Some("1"), None, Some("4"), None]
    );
    assert_eq!(o.last_event_id, "");
}

#[test]
fn format_field_id_null() {
    // An id containing U+0000 is ignored, wherever the NUL is.
    let o = parse(b"id:1\ndata:a\n\nid:2\0\ndata:b\n\nid:\0\ndata:c\n\nid:\x003\ndata:d\n\n");
    assert_eq!(
        o.events.iter().map(|e| e.id.as_deref()).collect::<Vec<_>>(),
        [Some("1"); 4]
    );
}

#[test]
fn id_becomes_last_event_id_at_blank_line_without_data() {
    let o = parse(b"id:5\n\ndata:x\n\n");
    assert_eq!(o.events, [ev("message", "x", Some("5"))]);
    let o = parse(b"id:5\n\n");
    assert!(o.events.is_empty());
    assert_eq!(o.last_event_id, "5");
}

#[test]
fn format_field_retry() {
    let o = parse(b"retry:03000\ndata:x\n\n");
    assert_eq!(o.retry, Some(Duration::from_millis(3000)));
    let o = parse(b"retry: 1000\n");
    assert_eq!(
        o.retry,
        Some(Duration::from_millis(1000)),
        "one space dropped"
    );
    let o = parse(b"retry:0\n");
    assert_eq!(o.retry, Some(Duration::ZERO));
}

#[test]
fn format_field_retry_bogus() {
    let o = parse(b"retry:3000\nretry:1000x\ndata:x\n\n");
    assert_eq!(o.retry, Some(Duration::from_millis(3000)));
    assert_eq!(o.data(), ["x"]);
    for bogus in [
        &b"retry:-1\n"[..],
        b"retry:1.5\n",
        b"retry:  1000\n",
        b"retry:1000 \n",
        b"retry:+5\n",
        b"retry:1e3\n",
        "retry:\u{FF11}\u{FF12}\n".as_bytes(),
        b"retry:\n",
        b"Retry:10\n",
    ] {
        assert_eq!(parse(bogus).retry, None, "{bogus:?}");
    }
}

#[test]
fn format_field_retry_empty() {
    let o = parse(b"retry\ndata:test\n\n");
    assert_eq!(o.retry, None);
    assert_eq!(o.data(), ["test"]);
}

#[test]
fn retry_twenty_digits_saturates() {
    let o = parse(b"retry:99999999999999999999\n");
    assert_eq!(o.retry, Some(Duration::from_millis(u64::MAX)));
    let o = parse(b"retry:18446744073709551615\n");
    assert_eq!(o.retry, Some(Duration::from_millis(u64::MAX)));
    let o = parse(b"retry:00000000000000000000000000000042\n");
    assert_eq!(o.retry, Some(Duration::from_millis(42)));
}

#[test]
fn format_field_parsing() {
    let o = parse(
        b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
    );
    assert_eq!(o.events, [ev("message", "\0\n 2\n1\n3\n\n4", None)]);
}

#[test]
fn format_field_unknown() {
    let o = parse(
        b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n",
    );
    assert_eq!(o.data(), ["test\n\ntest"]);
    let o = parse(b"data :x\n\nDATA:x\n\nevent :x\ndata:y\n\n");
    assert_eq!(o.events, [ev("message", "y", None)]);
}

#[test]
fn format_leading_space() {
    let o = parse(b"data:\ttest\rdata: \ndata:test\n\n");
    assert_eq!(o.data(), ["\ttest\n\ntest"]);
    let o = parse(b"data:  two spaces\n\ndata:x \n\n");
    assert_eq!(
        o.data(),
        [" two spaces", "x "],
        "only one leading space is dropped"
    );
}

#[test]
fn format_newlines() {
    let o = parse(b"data:test\r\ndata\ndata:test\r\n\r\n");
    assert_eq!(o.data(), ["test\n\ntest"]);
}

#[test]
fn line_endings_mixed() {
    let o = parse(b"data:a\rdata:b\ndata:c\r\n\rdata:d\r\r\ndata:e\n\r\n");
    assert_eq!(o.data(), ["a\nb\nc", "d", "e"]);
    // CR CR is a line ending and a blank line; LF CR likewise.
    let o = parse(b"data:1\r\rdata:2\n\rdata:3\r\n\n");
    assert_eq!(o.data(), ["1", "2", "3"]);
}

#[test]
fn crlf_split_across_feeds_is_one_line_ending() {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    for chunk in [&b"data:a\r"[..], b"\n", b"data:b\r", b"\n", b"\r", b"\n"] {
        parser.feed(chunk, |e| events.push(e)).unwrap();
    }
    assert_eq!(events, [ev("message", "a\nb", None)]);
    // An empty chunk between CR and LF changes nothing.
    let o = run_chunks([
        &b"data:a\r"[..],
        b"",
        b"\ndata:b\r",
        b"",
        b"\n\r",
        b"",
        b"\n",
    ]);
    assert_eq!(o.data(), ["a\nb"]);
}

#[test]
fn format_null_character() {
    let o = parse(b"data:\0\n\n\n\n");
    assert_eq!(o.data(), ["\0"]);
}

#[test]
fn format_utf8() {
    let o = parse("data:ok\u{2192}\u{263A}\n\n".as_bytes());
    assert_eq!(o.data(), ["ok\u{2192}\u{263A}"]);
    let o = parse("event:\u{1F600}\nid:\u{00E9}\ndata:\u{1F600}\u{00E9}\n\n".as_bytes());
    assert_eq!(
        o.events,
        [ev("\u{1F600}", "\u{1F600}\u{00E9}", Some("\u{00E9}"))]
    );
}

#[test]
fn invalid_utf8_becomes_replacement_character() {
    let o = parse(b"data:a\xFFb\n\n");
    assert_eq!(o.data(), ["a\u{FFFD}b"]);
    // A truncated sequence at the end of a line is one U+FFFD.
    let o = parse(b"data:\xE2\x82\ndata:\xF0\x9F\x98\n\n");
    assert_eq!(o.data(), ["\u{FFFD}\n\u{FFFD}"]);
    // Surrogates and overlong forms are invalid too.
    let o = parse(b"data:\xED\xA0\x80|\xC0\xAF\n\n");
    assert_eq!(o.data(), ["\u{FFFD}\u{FFFD}\u{FFFD}|\u{FFFD}\u{FFFD}"]);
    let o = parse(b"event:\xFFx\nid:\xFE\ndata:y\n\n");
    assert_eq!(o.events, [ev("\u{FFFD}x", "y", Some("\u{FFFD}"))]);
}

#[test]
fn multibyte_split_across_chunks() {
    let text = "data:\u{1F600}\u{00E9}\u{2192}\n\n";
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        for j in i..bytes.len() {
            let o = run_chunks([&bytes[..i], &bytes[i..j], &bytes[j..]]);
            assert_eq!(o.data(), ["\u{1F600}\u{00E9}\u{2192}"], "split {i},{j}");
        }
    }
}

#[test]
fn unterminated_event_is_discarded_at_end() {
    let o = parse(b"data:1\n\ndata:2\n");
    assert_eq!(o.data(), ["1"]);
    let o = parse(b"data:1\n\ndata:2");
    assert_eq!(o.data(), ["1"]);
    let o = parse(b"data:1\r\n\r");
    assert_eq!(o.data(), ["1"]);
}

#[test]
fn block_without_data_dispatches_nothing() {
    let o = parse(b"event:x\nid:1\nretry:5\n:comment\nfoo:bar\n\n\n\n");
    assert!(o.events.is_empty());
    assert_eq!(o.last_event_id, "1");
}

// ---- across streams ----

#[test]
fn finish_starts_a_new_stream_keeping_id_and_retry() {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    parser
        .feed(
            b"\xEF\xBB\xBFretry:250\nid:7\ndata:a\n\nid:8\nevent:e\ndata:partial",
            |e| events.push(e),
        )
        .unwrap();
    parser.finish();
    assert_eq!(parser.last_event_id(), "7");
    // A new stream may start with its own BOM; the discarded id 8 and event
    // type are forgotten.
    parser
        .feed(b"\xEF\xBB\xBFdata:b\n\n", |e| events.push(e))
        .unwrap();
    assert_eq!(
        events,
        [ev("message", "a", Some("7")), ev("message", "b", Some("7"))]
    );
    assert_eq!(parser.retry(), Some(Duration::from_millis(250)));
}

#[test]
fn set_last_event_id_seeds_resume() {
    let mut parser = SseParser::default();
    parser.set_last_event_id("42");
    let mut events = Vec::new();
    parser.feed(b"data:x\n\n", |e| events.push(e)).unwrap();
    assert_eq!(events, [ev("message", "x", Some("42"))]);
    assert_eq!(parser.last_event_id(), "42");
}

#[test]
fn event_converts_to_message() {
    let m = Message::from(ev("tick", "hi", Some("3")));
    assert_eq!(m.data, Data::from("hi"));
    assert_eq!(m.event.as_deref(), Some("tick"));
    assert_eq!(m.id.as_deref(), Some("3"));
}

// ---- limits ----

fn limited(max_line: usize, max_data: usize) -> SseParser {
    SseParser::new(
        SseLimits::default()
            .max_line_length(max_line)
            .max_data_size(max_data),
    )
}

#[test]
fn endless_line_is_an_error() {
    let mut parser = limited(64 << 10, 1 << 20);
    let chunk = vec![b'x'; 4096];
    parser.feed(b"data:", |_| panic!("no event")).unwrap();
    let mut fed = 5;
    let err = loop {
        match parser.feed(&chunk, |_| panic!("no event")) {
            Ok(()) => fed += chunk.len(),
            Err(e) => break e,
        }
        assert!(fed <= 64 << 10, "line grew past the limit");
    };
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert!(err.message().contains("max_line_length"), "{err}");
    // Also for a comment, an unknown field and a field name without colon.
    for start in [&b":"[..], b"foo:", b"", b"event:"] {
        let mut parser = limited(1000, 1 << 20);
        parser.feed(start, |_| {}).unwrap();
        let e = (0..100)
            .find_map(|_| parser.feed(&chunk[..100], |_| {}).err())
            .expect("error");
        assert_eq!(e.kind(), ErrorKind::TooLarge);
    }
}

#[test]
fn long_line_in_one_chunk_is_an_error() {
    let mut input = b"data:".to_vec();
    input.extend(std::iter::repeat_n(b'x', 2000));
    input.extend(b"\n\n");
    let mut parser = limited(1000, 1 << 20);
    let err = parser.feed(&input, |_| panic!("no event")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
}

#[test]
fn line_at_the_limit_is_accepted() {
    // "data:" + 995 bytes = 1000 bytes, the line ending not counted.
    let mut input = b"data:".to_vec();
    input.extend(std::iter::repeat_n(b'y', 995));
    input.extend(b"\r\n\r\n");
    for chunk in [input.len(), 1, 7] {
        let mut parser = limited(1000, 1 << 20);
        let mut events = Vec::new();
        for c in input.chunks(chunk) {
            parser.feed(c, |e| events.push(e)).unwrap();
        }
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.len(), 995);
    }
}

#[test]
fn million_data_lines_are_bounded() {
    let max = 64 << 10;
    for line in [&b"data:\n"[..], b"data\n", b"data:ab\r\n"] {
        let stream: Vec<u8> = line.repeat(1_000_000);
        let mut parser = limited(1 << 20, max);
        let mut fed = 0;
        let mut err = None;
        for chunk in stream.chunks(16 << 10) {
            match parser.feed(chunk, |_| panic!("no event")) {
                Ok(()) => fed += chunk.len(),
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        let err = err.expect("the data limit stops a million data lines");
        assert_eq!(err.kind(), ErrorKind::TooLarge);
        assert!(err.message().contains("max_data_size"), "{err}");
        assert!(fed < 2 * max * line.len(), "stopped after {fed} bytes");
        // The error is sticky until the stream is finished.
        let again = parser.feed(b"\n", |_| panic!("no event")).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::TooLarge);
        parser.finish();
        let mut events = Vec::new();
        parser.feed(b"data:ok\n\n", |e| events.push(e)).unwrap();
        assert_eq!(events, [ev("message", "ok", None)]);
    }
}

#[test]
fn data_at_the_limit_is_accepted() {
    // Three lines of 10 bytes joined with LF: 32 bytes of data.
    let input = b"data:0123456789\ndata:0123456789\ndata:0123456789\n\n";
    let mut parser = limited(1000, 32);
    let mut events = Vec::new();
    parser.feed(input, |e| events.push(e)).unwrap();
    assert_eq!(events[0].data.len(), 32);
    let mut parser = limited(1000, 31);
    let err = parser.feed(input, |_| panic!("no event")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
}

#[test]
fn replacement_characters_count_against_the_data_limit() {
    // 10 invalid bytes become 10 U+FFFD, 30 bytes.
    let mut parser = limited(1000, 20);
    let err = parser
        .feed(b"data:\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\n\n", |_| {})
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
}

#[test]
fn events_before_an_error_are_delivered() {
    let mut parser = limited(10, 1 << 20);
    let mut events = Vec::new();
    let err = parser
        .feed(b"data:a\n\ndata:b\n\ndata:0123456789\n\n", |e| {
            events.push(e)
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert_eq!(events, [ev("message", "a", None), ev("message", "b", None)]);
}

// ---- any chunking gives the same events ----

fn fragment() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"data:"[..],
        b"data: ",
        b"data",
        b"event:",
        b"event: ",
        b"id:",
        b"id: ",
        b"id",
        b"retry:",
        b"retry: ",
        b":",
        b": comment",
        b"\n",
        b"\n",
        b"\n\n",
        b"\r",
        b"\r\n",
        b"\r\n\r\n",
        b" ",
        b"x",
        b"hello",
        b"123",
        b"99999999999999999999",
        b"\0",
        b"\xEF\xBB\xBF",
        b"\xEF\xBB",
        b"\xFF",
        b"\xE2\x82",
        "\u{e9}\u{2192}\u{263A}\u{1F600}".as_bytes(),
        b"foo:",
        b"Data:",
    ])
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..80).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_chunking_gives_the_same_events(
        input in stream(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..24),
    ) {
        let whole = run_chunks([&input[..]]);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut at = 0;
        for cut in cuts {
            chunks.push(&input[at..cut]);
            at = cut;
        }
        chunks.push(&input[at..]);
        prop_assert_eq!(&run_chunks(chunks), &whole);
        prop_assert_eq!(&run_chunks(input.chunks(1)), &whole);
        prop_assert_eq!(&reference(&input), &whole);
    }
}

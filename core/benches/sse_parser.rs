//! SSE parser benchmarks: events per second for small events, bytes per
//! second for large data lines, fed whole and in socket-sized chunks.

use std::hint::black_box;

use criterion::{criterion_main, Criterion, Throughput};
use rtwire::proto::sse::{SseLimits, SseParser};

/// `count` events of exactly 64 bytes each: `data: <56 bytes>\n\n`.
fn small_events(count: usize) -> Vec<u8> {
    let event = format!("data: {}\n\n", "x".repeat(64 - 8));
    assert_eq!(event.len(), 64);
    event.repeat(count).into_bytes()
}

/// `count` events with an id, a type and a JSON-ish payload, 64 bytes each.
fn small_typed_events(count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * 64);
    for i in 0..count {
        let head = format!("id:{i:06}\nevent:tick\ndata:");
        let body = "{\"v\":1}".to_owned() + &"x".repeat(64 - head.len() - 7 - 2);
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(body.as_bytes());
        out.extend_from_slice(b"\n\n");
    }
    assert_eq!(out.len(), count * 64);
    out
}

/// `count` events whose single data line holds 64 KiB.
fn large_lines(count: usize) -> Vec<u8> {
    let event = format!("data: {}\n\n", "y".repeat(64 << 10));
    event.repeat(count).into_bytes()
}

/// Parses `input` in chunks of `chunk` bytes, returning the event count.
fn parse(input: &[u8], chunk: usize) -> usize {
    let mut parser = SseParser::new(SseLimits::default());
    let mut n = 0;
    for c in input.chunks(chunk) {
        parser
            .feed(c, |e| {
                black_box(&e);
                n += 1;
            })
            .unwrap();
    }
    parser.finish();
    n
}

fn bench_small(c: &mut Criterion) {
    const EVENTS: usize = 10_000;
    let plain = small_events(EVENTS);
    let typed = small_typed_events(EVENTS);
    let mut g = c.benchmark_group("sse_small_events_64B");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("whole", |b| {
        b.iter(|| assert_eq!(parse(black_box(&plain), plain.len()), EVENTS))
    });
    g.bench_function("chunks_4KiB", |b| {
        b.iter(|| assert_eq!(parse(black_box(&plain), 4096), EVENTS))
    });
    g.bench_function("id_event_data_chunks_4KiB", |b| {
        b.iter(|| assert_eq!(parse(black_box(&typed), 4096), EVENTS))
    });
    g.finish();
}

fn bench_large(c: &mut Criterion) {
    const EVENTS: usize = 64;
    let input = large_lines(EVENTS);
    let mut g = c.benchmark_group("sse_data_lines_64KiB");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("whole", |b| {
        b.iter(|| assert_eq!(parse(black_box(&input), input.len()), EVENTS))
    });
    g.bench_function("chunks_16KiB", |b| {
        b.iter(|| assert_eq!(parse(black_box(&input), 16 << 10), EVENTS))
    });
    g.finish();
}

/// Runs every group with the command-line configuration.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench_small(&mut c);
    bench_large(&mut c);
}

criterion_main!(benches);

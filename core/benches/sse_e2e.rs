//! SSE end to end over loopback: the embedded server publishes 64 B
//! messages and one rtwire SSE client receives them (events/s), and the
//! same with 64 KiB messages (bytes/s). The client's parser, HTTP stack
//! and event queue are all on the path.

use std::time::Duration;

use criterion::{criterion_main, Criterion, Throughput};
use rtwire::server::{Server, ServerOptions};
use rtwire::{Event, Options, Transport};

/// Publishes `n` messages of `size` bytes and waits until the client got
/// them all.
async fn round(server: &Server, conn: &mut rtwire::Connection, n: usize, payload: &str) {
    let mut got = 0;
    let mut sent = 0;
    while got < n {
        // Publish in slices so the subscriber never lags behind the
        // server's per-client window.
        while sent < n && sent < got + 512 {
            server.publish("bench", payload);
            sent += 1;
        }
        match tokio::time::timeout(Duration::from_secs(10), conn.recv()).await {
            Ok(Some(Event::Message(_))) => got += 1,
            Ok(Some(_)) => {}
            other => panic!("stream ended: {other:?}"),
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, mut conn) = rt.block_on(async {
        let opts = ServerOptions::new().history(4096);
        let server = Server::start(opts).await.unwrap();
        let url = format!("{}/sse/bench", server.base_url());
        let mut conn = rtwire::connect(&url, Options::new().transport(Transport::Sse))
            .await
            .unwrap();
        assert!(matches!(conn.recv().await, Some(Event::Open(_))));
        // Wait until the subscription is live.
        for _ in 0..100 {
            server.publish("bench", "warm-up");
            if let Ok(Some(Event::Message(_))) =
                tokio::time::timeout(Duration::from_millis(50), conn.recv()).await
            {
                break;
            }
        }
        while conn.try_recv().is_some() {}
        (server, conn)
    });
    let small = "x".repeat(64);
    let large = "y".repeat(64 << 10);
    let mut g = c.benchmark_group("sse_end_to_end");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    const N: usize = 2000;
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("64B_events", |b| {
        b.iter(|| rt.block_on(round(&server, &mut conn, N, &small)))
    });
    const M: usize = 200;
    g.throughput(Throughput::Bytes((M * large.len()) as u64));
    g.bench_function("64KiB_events", |b| {
        b.iter(|| rt.block_on(round(&server, &mut conn, M, &large)))
    });
    g.finish();
    rt.block_on(server.shutdown());
}

/// Runs the group with the command-line configuration.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
}

criterion_main!(benches);

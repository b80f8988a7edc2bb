//! WebSocket client benchmarks: what the rtwire layer costs on top of bare
//! tokio-tungstenite.
//!
//! An in-process echo server (bare tokio-tungstenite on a 127.0.0.1
//! listener) answers every data message with the same message. Each workload
//! is measured twice in one criterion group, once with an rtwire
//! [`Connection`] (`send` + `recv`) and once with a bare tokio-tungstenite
//! client over a `TcpStream` with `TCP_NODELAY`, so the report shows the
//! rtwire overhead as a ratio of the two:
//!
//! - `ws_ping_pong_64B`: send one 64-byte binary message, await its echo.
//! - `ws_pipelined_64B`: send 10 000 messages of 64 bytes, then receive the
//!   10 000 echoes (throughput in messages).
//! - `ws_echo_1MiB`: send one 1 MiB binary message, await its echo
//!   (throughput in bytes).
//!
//! Both clients run inside a task on the same multi-thread runtime as the
//! server. rtwire runs with keepalive and reconnect off so that nothing but
//! the workload touches the socket. The bare client uses tokio-tungstenite's
//! default configuration (what a bare user gets); rtwire uses its own
//! defaults ([`rtwire::Limits`]).
//!
//! Run: `cargo bench -p rtwire --bench websocket` (about a minute).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use futures_util::{SinkExt, StreamExt};
use rtwire::{Data, Event, Options, Reconnect};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

/// Messages per iteration of the pipelined workload.
const PIPELINE: usize = 10_000;
/// Payload of the small-message workloads.
const SMALL: usize = 64;
/// Payload of the large-message workload.
const LARGE: usize = 1 << 20;

#[path = "../../bench/ws_echo.rs"]
mod ws_echo;
use ws_echo::echo;

/// Starts the echo server on `rt` and returns its address.
fn start_echo_server(rt: &Runtime) -> SocketAddr {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(echo(tcp));
            }
        });
        addr
    })
}

/// One client connection of either kind.
enum Client {
    Rtwire(rtwire::Connection),
    Bare(WebSocketStream<TcpStream>),
}

/// A workload run once per iteration.
#[derive(Clone)]
enum Work {
    PingPong(Bytes),
    Pipelined(Bytes, usize),
}

impl Client {
    async fn rtwire(addr: SocketAddr) -> Client {
        let opts = Options::new()
            .keepalive(None, Duration::from_secs(20))
            .reconnect(Reconnect::disabled());
        let mut conn = rtwire::connect(&format!("ws://{addr}/"), opts)
            .await
            .expect("rtwire connect");
        match conn.recv().await {
            Some(Event::Open(_)) => {}
            other => panic!("expected open, got {other:?}"),
        }
        Client::Rtwire(conn)
    }

    async fn bare(addr: SocketAddr) -> Client {
        let tcp = TcpStream::connect(addr).await.expect("tcp connect");
        tcp.set_nodelay(true).expect("nodelay");
        let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp)
            .await
            .expect("handshake");
        Client::Bare(ws)
    }

    async fn run(&mut self, work: &Work) {
        match (self, work) {
            (Client::Rtwire(conn), Work::PingPong(payload)) => {
                conn.send(payload.clone()).await.expect("send");
                rtwire_recv(conn, payload.len()).await;
            }
            (Client::Rtwire(conn), Work::Pipelined(payload, n)) => {
                for _ in 0..*n {
                    conn.send(payload.clone()).await.expect("send");
                }
                for _ in 0..*n {
                    rtwire_recv(conn, payload.len()).await;
                }
            }
            (Client::Bare(ws), Work::PingPong(payload)) => {
                ws.send(WsMessage::Binary(payload.clone()))
                    .await
                    .expect("send");
                bare_recv(ws, payload.len()).await;
            }
            (Client::Bare(ws), Work::Pipelined(payload, n)) => {
                // Reading while writing, as the echoes would otherwise fill
                // the socket buffers and stall both sides.
                let (mut sink, mut stream) = StreamExt::split(&mut *ws);
                let write = async {
                    for _ in 0..*n {
                        sink.feed(WsMessage::Binary(payload.clone()))
                            .await
                            .expect("send");
                    }
                    sink.flush().await.expect("flush");
                };
                let read = async {
                    for _ in 0..*n {
                        match stream.next().await {
                            Some(Ok(WsMessage::Binary(b))) => assert_eq!(b.len(), payload.len()),
                            other => panic!("expected an echo, got {other:?}"),
                        }
                    }
                };
                tokio::join!(write, read);
            }
        }
    }
}

async fn rtwire_recv(conn: &mut rtwire::Connection, len: usize) {
    match conn.recv().await {
        Some(Event::Message(m)) => match m.data {
            Data::Binary(b) => assert_eq!(b.len(), len),
            other => panic!("expected binary, got {other:?}"),
        },
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn bare_recv(ws: &mut WebSocketStream<TcpStream>, len: usize) {
    match ws.next().await {
        Some(Ok(WsMessage::Binary(b))) => assert_eq!(b.len(), len),
        other => panic!("expected an echo, got {other:?}"),
    }
}

/// Runs `work` `iters` times on `client` inside a runtime task and returns
/// the time taken.
fn timed(rt: &Runtime, client: &mut Option<Client>, work: &Work, iters: u64) -> Duration {
    let mut c = client.take().expect("client");
    let work = work.clone();
    let (c, elapsed) = rt
        .block_on(rt.spawn(async move {
            let start = Instant::now();
            for _ in 0..iters {
                c.run(&work).await;
            }
            (c, start.elapsed())
        }))
        .expect("bench task");
    *client = Some(c);
    elapsed
}

/// Benches `work` with both clients in one group.
fn compare(
    c: &mut Criterion,
    rt: &Runtime,
    addr: SocketAddr,
    group: &str,
    work: Work,
    throughput: Throughput,
    sample_size: usize,
) {
    let mut g = c.benchmark_group(group);
    g.throughput(throughput)
        .sample_size(sample_size)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for name in ["rtwire", "tungstenite"] {
        let mut client = Some(rt.block_on(async {
            if name == "rtwire" {
                Client::rtwire(addr).await
            } else {
                Client::bare(addr).await
            }
        }));
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| timed(rt, &mut client, &work, iters))
        });
        let _guard = rt.enter();
        drop(client);
    }
    g.finish();
}

fn websocket(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let addr = start_echo_server(&rt);
    let small = Bytes::from(vec![0x5a; SMALL]);
    let large = Bytes::from(vec![0xa5; LARGE]);
    compare(
        c,
        &rt,
        addr,
        "ws_ping_pong_64B",
        Work::PingPong(small.clone()),
        Throughput::Elements(1),
        100,
    );
    compare(
        c,
        &rt,
        addr,
        "ws_pipelined_64B",
        Work::Pipelined(small, PIPELINE),
        Throughput::Elements(PIPELINE as u64),
        20,
    );
    compare(
        c,
        &rt,
        addr,
        "ws_echo_1MiB",
        Work::PingPong(large),
        Throughput::Bytes(LARGE as u64),
        30,
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    websocket(&mut c);
    c.final_summary();
}

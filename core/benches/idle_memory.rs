//! Memory per idle WebSocket client connection.
//!
//! Re-runs itself with `--server` as a child process that serves WebSocket
//! connections with bare tokio-tungstenite and does nothing else, so the
//! server's memory is not counted. The parent opens one warm-up connection,
//! reads its own resident set size (`VmRSS` in `/proc/self/status`) and its
//! live heap bytes, opens N more rtwire connections (keepalive and reconnect
//! at their defaults), reads each `Open` event as an application would,
//! waits for things to settle and reads both again. It prints:
//!
//! ```text
//! N=<n> rss_delta_kib=<kib> per_conn_bytes=<bytes>
//! heap_delta_kib=<kib> heap_per_conn_bytes=<bytes>
//! ```
//!
//! `per_conn_bytes` is the RSS growth divided by N; `heap_per_conn_bytes`
//! counts only bytes live in the allocator (no allocator overhead or
//! fragmentation), which helps tell the two apart.
//!
//! Run: `cargo bench -p rtwire --bench idle_memory -- <n>` (or set
//! `IDLE_CONNS`; default 1000). N connections need about 2N file
//! descriptors across both processes: raise `ulimit -n` first
//! (`bench/idle-memory.sh` does).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::{stream, StreamExt};
use rtwire::{Event, Options};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{live, Counting};

#[global_allocator]
static ALLOC: Counting = Counting;

/// Connections opened at once (stays well under the listen backlog).
const CONCURRENCY: usize = 64;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--server") {
        server();
        return;
    }
    let n = args
        .iter()
        .find_map(|a| a.parse::<usize>().ok())
        .or_else(|| std::env::var("IDLE_CONNS").ok()?.parse().ok())
        // `cargo bench` passes --bench; `cargo test` runs benches as a
        // smoke test, where a few connections prove the code works.
        .unwrap_or(if args.iter().any(|a| a == "--bench") {
            1000
        } else {
            20
        });
    if n == 0 {
        eprintln!("idle_memory: N must be at least 1");
        std::process::exit(2);
    }

    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .arg("--server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("child stdout"))
        .read_line(&mut line)
        .expect("read the server port");
    let port: u16 = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected server output {line:?}"));
    let url = format!("ws://127.0.0.1:{port}/");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(measure(&url, n));
    drop(child.stdin.take()); // the server exits on EOF
    let _ = child.wait();
    match result {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("idle_memory: {e}");
            std::process::exit(1);
        }
    }
}

/// Opens `n` connections and returns the report.
async fn measure(url: &str, n: usize) -> Result<String, String> {
    // One connection first, so one-time costs (lazy statics, runtime and
    // allocator warm-up) are not charged to the N.
    let warm = open(url.to_string()).await?;
    settle().await;
    let (rss0, heap0) = (rss_kib()?, live());

    let conns: Vec<rtwire::Connection> = stream::iter(0..n)
        .map(|_| open(url.to_string()))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    settle().await;
    let (rss1, heap1) = (rss_kib()?, live());

    let rss_delta = rss1.saturating_sub(rss0);
    let heap_delta = heap1.saturating_sub(heap0);
    let report = format!(
        "N={n} rss_delta_kib={rss_delta} per_conn_bytes={}\nheap_delta_kib={} heap_per_conn_bytes={}",
        rss_delta * 1024 / n as u64,
        heap_delta / 1024,
        heap_delta / n,
    );
    drop(conns);
    drop(warm);
    Ok(report)
}

/// Connects and reads the `Open` event.
async fn open(url: String) -> Result<rtwire::Connection, String> {
    let mut conn = rtwire::connect(&url, Options::new()).await.map_err(|e| {
        format!("connect: {e} (with many connections, raise the limit: ulimit -n 65536)")
    })?;
    match conn.recv().await {
        Some(Event::Open(_)) => Ok(conn),
        other => Err(format!("expected an open event, got {other:?}")),
    }
}

/// Lets the connection tasks reach their idle state.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// This process's resident set size in KiB.
fn rss_kib() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("read /proc/self/status: {e} (Linux only)"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".to_string())
}

/// The child: accepts WebSocket connections and keeps them open until its
/// stdin closes.
fn server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        println!("PORT {port}");
        tokio::spawn(async move {
            let config = WebSocketConfig::default()
                .read_buffer_size(4096)
                .write_buffer_size(0);
            loop {
                let tcp = match listener.accept().await {
                    Ok((tcp, _)) => tcp,
                    Err(e) => {
                        eprintln!("idle_memory server: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                tokio::spawn(async move {
                    let Ok(mut ws) =
                        tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await
                    else {
                        return;
                    };
                    while let Some(Ok(_)) = ws.next().await {}
                });
            }
        });
        // Exit when the parent closes our stdin (or dies).
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await
        .expect("stdin watcher");
    });
}

//! The embedded server under load: broadcast fan-out throughput and memory
//! per idle WebSocket connection.
//!
//! ```text
//! cargo bench -p rtwire --bench server_fanout                  # fanout 100 1000, memory 10000
//! cargo bench -p rtwire --bench server_fanout -- fanout 100    # one fan-out run
//! cargo bench -p rtwire --bench server_fanout -- memory 2000   # one memory run
//! ```
//!
//! **fanout N**: a [`Server`] and N bare tokio-tungstenite clients (4 KiB
//! read buffers) in this process, on one multi-thread runtime. Every client
//! first receives a warm-up message; then M messages of 64 bytes are
//! published as fast as `publish` returns (the client queue is large enough
//! that nobody is cut off) and the clock stops when every client has all of
//! them. Three rounds, each with fresh clients; prints the median
//!
//! ```text
//! fanout N=<n> messages=<m> deliveries=<n*m> delivered_per_sec=<r> (min <a>, max <b>, 3 rounds) MiB_per_sec=<p>
//! ```
//!
//! **memory N**: the server runs alone in a child process (this binary
//! re-run with `--server`, default [`ServerOptions`]); this process opens
//! one warm-up connection, reads the child's `VmRSS` from
//! `/proc/<pid>/status` and its live heap (counted by its allocator), opens
//! N more bare WebSocket clients, lets them settle and reads both again:
//!
//! ```text
//! memory N=<n> rss_delta_kib=<kib> per_conn_bytes=<bytes> heap_per_conn_bytes=<bytes>
//! ```
//!
//! Without `--bench` and without arguments (as `cargo test --all-targets`
//! runs it) it only does a quick smoke run: fanout 10 and memory 20.
//!
//! N connections need N file descriptors in each process: raise `ulimit -n`
//! first (`bench/server.sh` does).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use rtwire::server::{Server, ServerOptions};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{live, Counting};

#[global_allocator]
static ALLOC: Counting = Counting;

/// Connections opened at once (well under the listen backlog).
const CONCURRENCY: usize = 64;
/// Deliveries per fan-out round (messages = this / N).
const DELIVERIES: usize = 2_000_000;
/// Fan-out rounds per N; the median is reported.
const ROUNDS: usize = 3;
/// Payload of each fan-out message.
const PAYLOAD: usize = 64;

type Ws = WebSocketStream<TcpStream>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--server") {
        child_server();
        return;
    }
    // `cargo bench` adds `--bench`; other flags are ignored too.
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mut runs: Vec<(&str, usize)> = Vec::new();
    let mut mode = None;
    for w in &words {
        match (*w, w.parse::<usize>()) {
            ("fanout" | "memory", _) => mode = Some(*w),
            (_, Ok(n)) if n > 0 => match mode {
                Some(m) => runs.push((m, n)),
                None => die(&format!("say fanout or memory before {n}")),
            },
            _ => die(&format!("unknown argument {w:?}")),
        }
    }
    if let Some(m) = mode.filter(|_| runs.is_empty()) {
        match m {
            "fanout" => runs.extend([("fanout", 100), ("fanout", 1000)]),
            _ => runs.push(("memory", 10_000)),
        }
    }
    // `cargo bench` passes --bench; `cargo test` runs benches as a smoke
    // test, where a few connections prove the code works.
    let full = args.iter().any(|a| a == "--bench");
    if runs.is_empty() {
        runs = if full {
            vec![("fanout", 100), ("fanout", 1000), ("memory", 10_000)]
        } else {
            vec![("fanout", 10), ("memory", 20)]
        };
    }
    let deliveries = if full || !words.is_empty() {
        DELIVERIES
    } else {
        10_000
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (mode, n) in runs {
        let result = match mode {
            "fanout" => rt.block_on(fanout(n, deliveries)),
            _ => memory(&rt, n),
        };
        match result {
            Ok(line) => println!("{line}"),
            Err(e) => die(&e),
        }
    }
}

fn die(msg: &str) -> ! {
    eprintln!("server_fanout: {msg}");
    std::process::exit(1);
}

/// A bare WebSocket client with a 4 KiB read buffer.
async fn client(addr: std::net::SocketAddr, path: &str) -> Result<Ws, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| {
        format!("connect: {e} (with many connections, raise the limit: ulimit -n 20000)")
    })?;
    let _ = tcp.set_nodelay(true);
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}{path}"),
        tcp,
        Some(config),
    )
    .await
    .map_err(|e| format!("handshake: {e}"))?;
    Ok(ws)
}

async fn connect_all(addr: std::net::SocketAddr, path: &str, n: usize) -> Result<Vec<Ws>, String> {
    stream::iter(0..n)
        .map(|_| client(addr, path))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Broadcast throughput to `n` clients, about `deliveries` messages
/// delivered per round.
async fn fanout(n: usize, deliveries: usize) -> Result<String, String> {
    let messages = (deliveries / n).max(1);
    let mut opts = ServerOptions::new().history(16);
    // Nobody falls behind by more than everything: nobody is cut off.
    opts.client_queue = messages + 16;
    let server = Server::start(opts).await.map_err(|e| e.to_string())?;
    let mut rates = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        rates.push(fanout_round(&server, n, messages).await?);
    }
    server.shutdown().await;
    rates.sort_by(f64::total_cmp);
    let rate = rates[ROUNDS / 2];
    Ok(format!(
        "fanout N={n} messages={messages} deliveries={} delivered_per_sec={rate:.0} \
         (min {:.0}, max {:.0}, {ROUNDS} rounds) MiB_per_sec={:.1}",
        n * messages,
        rates[0],
        rates[ROUNDS - 1],
        rate * PAYLOAD as f64 / (1024.0 * 1024.0)
    ))
}

/// One round: `n` fresh clients, a warm-up message, then `messages` timed
/// ones; returns deliveries per second.
async fn fanout_round(server: &Server, n: usize, messages: usize) -> Result<f64, String> {
    let clients = connect_all(server.local_addr(), "/ws/fan", n).await?;
    let warm = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(n);
    for mut ws in clients {
        let (warm, done) = (warm.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut got = 0usize;
            while got < messages + 1 {
                match ws.next().await {
                    Some(Ok(m)) if m.is_text() => {
                        got += 1;
                        if got == 1 {
                            warm.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return Err(got),
                }
            }
            done.fetch_add(1, Ordering::Relaxed);
            Ok(ws)
        }));
    }
    server.publish("fan", "warm-up");
    wait_until(&warm, n, Duration::from_secs(60), "warm-up").await?;
    let payload = "x".repeat(PAYLOAD);
    let start = Instant::now();
    for _ in 0..messages {
        server.publish("fan", payload.as_str());
    }
    wait_until(&done, n, Duration::from_secs(300), "fan-out").await?;
    let secs = start.elapsed().as_secs_f64();
    let mut kept = Vec::with_capacity(n);
    for t in tasks {
        match t.await {
            Ok(Ok(ws)) => kept.push(ws),
            Ok(Err(got)) => return Err(format!("a client was cut off after {got} messages")),
            Err(e) => return Err(format!("client task: {e}")),
        }
    }
    drop(kept);
    // The next round starts with no session of this one left.
    for _ in 0..500 {
        if server.stats().connections == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok((n * messages) as f64 / secs)
}

async fn wait_until(
    counter: &AtomicUsize,
    want: usize,
    limit: Duration,
    what: &str,
) -> Result<(), String> {
    let start = Instant::now();
    while counter.load(Ordering::Relaxed) < want {
        if start.elapsed() > limit {
            return Err(format!(
                "{what}: only {} of {want} clients done within {limit:?}",
                counter.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// The server child: its pid, a line reader on its stdout and its stdin.
struct ServerProcess {
    child: Child,
    out: BufReader<ChildStdout>,
    input: Option<ChildStdin>,
}

impl ServerProcess {
    fn start() -> Result<(ServerProcess, u16), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .arg("--server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("start the server process: {e}"))?;
        let out = BufReader::new(child.stdout.take().expect("piped"));
        let input = child.stdin.take();
        let mut p = ServerProcess { child, out, input };
        let line = p.line()?;
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("unexpected server output {line:?}"))?;
        Ok((p, port))
    }

    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        self.out
            .read_line(&mut line)
            .map_err(|e| format!("read from the server: {e}"))?;
        Ok(line.trim().to_string())
    }

    /// The child's RSS (KiB), live heap bytes and connection count.
    fn sample(&mut self) -> Result<(u64, usize, usize), String> {
        let rss = rss_kib(self.child.id())?;
        let input = self.input.as_mut().expect("stdin open");
        writeln!(input, "stats").map_err(|e| format!("ask the server: {e}"))?;
        input.flush().map_err(|e| e.to_string())?;
        let line = self.line()?;
        let mut it = line.split_whitespace().skip(1);
        let mut num = || -> Option<usize> { it.next()?.split_once('=')?.1.parse().ok() };
        match (num(), num()) {
            (Some(heap), Some(conns)) => Ok((rss, heap, conns)),
            _ => Err(format!("unexpected server output {line:?}")),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.input.take()); // the child exits on EOF
        let _ = self.child.wait();
    }
}

/// Memory per idle server-side WebSocket connection.
fn memory(rt: &tokio::runtime::Runtime, n: usize) -> Result<String, String> {
    let (mut server, port) = ServerProcess::start()?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    // One connection first, so one-time costs are not charged to the N.
    let warm = rt.block_on(client(addr, "/ws/idle"))?;
    std::thread::sleep(Duration::from_millis(500));
    let (rss0, heap0, _) = server.sample()?;
    let conns = rt.block_on(connect_all(addr, "/ws/idle", n))?;
    // Let every session reach its idle state.
    std::thread::sleep(Duration::from_millis(1000));
    let (rss1, heap1, open) = server.sample()?;
    if open < n + 1 {
        return Err(format!(
            "the server holds {open} connections, expected {}",
            n + 1
        ));
    }
    drop(conns);
    drop(warm);
    let rss_delta = rss1.saturating_sub(rss0);
    Ok(format!(
        "memory N={n} rss_delta_kib={rss_delta} per_conn_bytes={} heap_per_conn_bytes={}",
        rss_delta * 1024 / n as u64,
        heap1.saturating_sub(heap0) / n,
    ))
}

/// `VmRSS` of a process, in KiB.
fn rss_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status =
        std::fs::read_to_string(&path).map_err(|e| format!("read {path}: {e} (Linux only)"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in {path}"))
}

/// The child: an rtwire server with default options. Answers `stats` on
/// stdin with `STATS heap=<bytes> connections=<n>`; exits on EOF.
fn child_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt
        .block_on(Server::start(ServerOptions::new()))
        .expect("start the server");
    println!("PORT {}", server.local_addr().port());
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "stats" {
            let conns = server.stats().connections;
            println!("STATS heap={} connections={conns}", live());
        }
    }
    rt.block_on(server.shutdown());
}

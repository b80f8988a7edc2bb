//! End-to-end tests of the `rtwire` command, run as a process.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

fn rtwire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rtwire"))
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The python `websockets` echo peer; killed on drop.
struct Peer {
    child: Child,
    port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_peer(script: &str) -> Peer {
    let python = std::env::var_os("RTWIRE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "test peer python not found at {}: run scripts/peers.sh first",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(workspace().join("tests/peers").join(script))
        .args(["--idle", "60"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the python websockets peer");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .expect("peer prints its port");
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected peer output {line:?}"));
    Peer { child, port }
}

/// Runs the command with `input` on stdin, killing it after `limit`.
fn run_with_input(mut cmd: Command, input: &str, limit: Duration) -> (i32, String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rtwire");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (
                status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("rtwire did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn connect_json_echoes_stdin_lines_and_exits_zero() {
    let peer = python_peer("ws_echo.py");
    let mut cmd = rtwire();
    cmd.args([
        "connect",
        "--linger",
        "1500",
        "--json",
        "--protocol",
        "chat.v1",
        &format!("ws://127.0.0.1:{}/echo", peer.port),
    ]);
    let (code, stdout, stderr) = run_with_input(cmd, "hello\nwörld\n", Duration::from_secs(20));
    assert_eq!(code, 0, "stderr: {stderr}");
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(events[0]["type"], "open");
    assert_eq!(events[0]["transport"], "websocket");
    assert_eq!(events[0]["protocol"], "chat.v1");
    assert_eq!(
        events[1],
        serde_json::json!({"type":"message","data":"hello","binary":false})
    );
    assert_eq!(events[2]["data"], "wörld");
    assert_eq!(events[3]["type"], "closed");
    assert_eq!(events[3]["code"], 1000);
    assert_eq!(events[3]["clean"], true);
}

#[test]
fn connect_binary_lines_are_base64_both_ways() {
    let peer = python_peer("ws_echo.py");
    let mut cmd = rtwire();
    cmd.args([
        "connect",
        "--linger",
        "1500",
        "--binary",
        &format!("ws://127.0.0.1:{}/echo", peer.port),
    ]);
    // "AAEC/w==" is [0, 1, 2, 255].
    let (code, stdout, stderr) = run_with_input(cmd, "AAEC/w==\n", Duration::from_secs(20));
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(stdout.trim(), "AAEC/w==");
    assert!(
        stderr.contains("open ws://"),
        "status lines go to stderr: {stderr}"
    );
}

#[test]
fn refused_connection_exits_nonzero_with_one_line() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cmd = rtwire();
    cmd.args(["connect", &format!("ws://127.0.0.1:{port}/")]);
    let (code, stdout, stderr) = run_with_input(cmd, "", Duration::from_secs(20));
    assert_ne!(code, 0);
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("rtwire: "), "{stderr}");
    assert!(
        stderr.contains("refused") && stderr.contains("(connect)"),
        "{stderr}"
    );
}

#[test]
fn bad_url_exits_nonzero() {
    let mut cmd = rtwire();
    cmd.args(["connect", "ws://h/#frag"]);
    let (code, _, stderr) = run_with_input(cmd, "", Duration::from_secs(10));
    assert_ne!(code, 0);
    assert!(stderr.contains("invalid_url"), "{stderr}");
}

#[test]
fn demo_runs_to_completion() {
    let mut cmd = rtwire();
    cmd.arg("demo");
    let (code, stdout, stderr) = run_with_input(cmd, "", Duration::from_secs(30));
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("reconnecting"), "{stdout}");
    for transport in ["websocket", "sse", "long_poll", "poll", "stream"] {
        assert!(
            stdout.contains(&format!("connected via {transport}")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("auto       connected via sse"), "{stdout}");
    // The route answers each of its clients, over any transport, alone.
    for name in ["alice", "bob", "carol"] {
        assert!(
            stdout.contains(&format!("{name:<10} got \"{name}, you asked")),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("demo ok: 14 messages reached all 6 clients"),
        "{stdout}"
    );
}

#[test]
fn help_explains_every_connect_flag() {
    let out = rtwire().args(["connect", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--transport",
        "--header",
        "--protocol",
        "--cacert",
        "--insecure",
        "--no-reconnect",
        "--max-message-size",
        "--binary",
        "--json",
    ] {
        assert!(help.contains(flag), "{flag} missing from help:\n{help}");
    }
}

#[test]
fn serve_flags_are_the_server_schema() {
    let out = rtwire().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for spec in rtwire::options::SERVER_SCHEMA {
        let flag = format!("--{} ", spec.cli);
        assert!(help.contains(&flag), "{flag} missing from help:\n{help}");
    }
    assert!(help.contains("[default: 127.0.0.1:8080]"), "{help}");

    let out = rtwire()
        .args([
            "serve",
            "--dry-run",
            "--history=50",
            "--idle-timeout=30s",
            "--max-per-ip=4",
            "--allow-origin=https://a.example",
            "--allow-origin=https://b.example",
            "--slow-consumer=skip",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("history = Int(50)\n"), "{stdout}");
    assert!(stdout.contains("max_per_ip = Int(4)\n"), "{stdout}");
    assert!(
        stdout.contains("idle_timeout = Duration(30s)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("\"https://b.example\""), "{stdout}");
    // A token is never printed.
    let out = rtwire()
        .args(["serve", "--dry-run", "--token=s3cret"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("token = (set, not shown)\n"), "{stdout}");
    assert!(!stdout.contains("s3cret"), "{stdout}");

    // The core's message, as every language reports it.
    for (flag, message) in [
        (
            "--history=0",
            "history must be at least 1 and at most 1073741824, got 0",
        ),
        (
            "--client-queue=1.5",
            "client_queue must be a whole number, got 1.5",
        ),
        (
            "--token=a b",
            "token must be non-empty, without spaces or control characters",
        ),
        (
            "--slow-consumer=drop",
            "slow_consumer must be one of disconnect, skip, got \"drop\"",
        ),
        ("--tls-cert=cert.pem", "tls_cert and tls_key go together"),
    ] {
        let out = rtwire()
            .args(["serve", "--dry-run", flag])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag}");
        assert!(
            stderr.contains(&format!("{message} (invalid_argument)")),
            "{flag}: {stderr}"
        );
    }
}

/// A tiny stand-in for the Autobahn fuzzing server's client-driving API: two
/// cases, each sending a text and a binary message and recording the echoes.
#[test]
// The callback's error type is tungstenite's (an HTTP response), not ours.
#[allow(clippy::result_large_err)]
fn autobahn_client_runs_every_case_and_updates_reports() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (port, log) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let log2 = log.clone();
        tokio::spawn(async move {
            for _ in 0..4 {
                let (tcp, _) = listener.accept().await.unwrap();
                let path = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
                let p2 = path.clone();
                let mut ws = tokio_tungstenite::accept_hdr_async(
                    tcp,
                    move |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                          resp| {
                        *p2.lock().unwrap() = req.uri().to_string();
                        Ok(resp)
                    },
                )
                .await
                .unwrap();
                let path = path.lock().unwrap().clone();
                if path.starts_with("/getCaseCount") {
                    ws.send(Message::text("2")).await.unwrap();
                } else if path.starts_with("/runCase") {
                    ws.send(Message::text(format!("t:{path}"))).await.unwrap();
                    ws.send(Message::binary(vec![0u8, 255])).await.unwrap();
                    for _ in 0..2 {
                        match ws.next().await {
                            Some(Ok(Message::Text(t))) => {
                                log2.lock().unwrap().push(format!("text {t}"))
                            }
                            Some(Ok(Message::Binary(b))) => {
                                log2.lock().unwrap().push(format!("binary {:?}", &b[..]))
                            }
                            other => log2.lock().unwrap().push(format!("unexpected {other:?}")),
                        }
                    }
                } else {
                    log2.lock().unwrap().push(format!("report {path}"));
                }
                let _ = ws.close(None).await;
                while let Some(Ok(_)) = ws.next().await {}
            }
        });
        (port, log)
    });
    let mut cmd = rtwire();
    cmd.args([
        "autobahn-client",
        &format!("ws://127.0.0.1:{port}"),
        "--agent",
        "rt",
    ]);
    let (code, stdout, stderr) = run_with_input(cmd, "", Duration::from_secs(20));
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        vec![
            "text t:/runCase?case=1&agent=rt".to_string(),
            "binary [0, 255]".to_string(),
            "text t:/runCase?case=2&agent=rt".to_string(),
            "binary [0, 255]".to_string(),
            "report /updateReports?agent=rt".to_string(),
        ]
    );
    drop(rt);
}

#[test]
fn connect_sse_prints_event_and_id_and_resumes_from_last_event_id() {
    let peer = python_peer("sse_server.py");
    let mut cmd = rtwire();
    cmd.args([
        "connect",
        "--json",
        "--transport",
        "sse",
        "--no-reconnect",
        "--last-event-id",
        "1",
        &format!("http://127.0.0.1:{}/events?total=3&per_conn=5", peer.port),
    ]);
    let (code, stdout, stderr) = run_with_input(cmd, "", Duration::from_secs(20));
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(events[0]["type"], "open", "{stdout}");
    assert_eq!(events[0]["transport"], "sse");
    assert_eq!(
        events[1],
        serde_json::json!({"type":"message","data":"event 2","binary":false,"event":"message","id":"2"})
    );
    assert_eq!(events[2]["event"], "tick");
    assert_eq!(events[2]["id"], "3");
    // The server ends the stream; without reconnect that is an error exit.
    assert_eq!(events.last().unwrap()["type"], "closed");
    assert_ne!(code, 0, "stderr: {stderr}");
    assert!(stderr.contains("ended the stream"), "{stderr}");
}

#[test]
fn serve_answers_health_and_stops_on_sigint() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = rtwire()
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.starts_with("rtwire server on http://127.0.0.1:"),
        "{first}"
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // SIGINT: a clean shutdown.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "serve did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `rtwire serve --echo --json` on a free port: the child, its log and the
/// `listening` line.
fn serve_echo_json() -> (
    std::process::Child,
    BufReader<std::process::ChildStdout>,
    Value,
) {
    let mut child = rtwire()
        .args(["serve", "--echo", "--json", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let listening: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(listening["event"], "listening", "{line}");
    (child, out, listening)
}

/// Sends SIGTERM to `child` and waits (10 s at most) for it to exit.
fn stop_with_sigterm(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_echo_json_logs_each_connection_and_echoes_to_the_sender_only() {
    let (mut child, mut out, listening) = serve_echo_json();
    let ws_url = format!(
        "{}/echo",
        listening["url"].as_str().unwrap().replacen("http", "ws", 1)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let connect = |url: String| async move {
            let authority = url
                .trim_start_matches("ws://")
                .split('/')
                .next()
                .unwrap()
                .to_string();
            let tcp = tokio::net::TcpStream::connect(authority).await.unwrap();
            tokio_tungstenite::client_async(url.as_str(), tcp)
                .await
                .unwrap()
                .0
        };
        let mut a = connect(ws_url.clone()).await;
        let mut b = connect(ws_url.clone()).await;
        a.send(Message::text("to a")).await.unwrap();
        let got = a.next().await.unwrap().unwrap();
        assert_eq!(got.into_text().unwrap().as_str(), "to a");
        // b got nothing of a's.
        let none = tokio::time::timeout(Duration::from_millis(200), b.next()).await;
        assert!(none.is_err(), "b got {none:?}");
        a.close(None).await.unwrap();
        b.close(None).await.unwrap();
    });
    let mut events = Vec::new();
    while events
        .iter()
        .filter(|e: &&Value| e["event"] == "close")
        .count()
        < 2
    {
        let mut l = String::new();
        assert!(out.read_line(&mut l).unwrap() > 0, "the log ended early");
        events.push(serde_json::from_str::<Value>(&l).unwrap());
    }
    let opens: Vec<_> = events.iter().filter(|e| e["event"] == "open").collect();
    assert_eq!(opens.len(), 2, "{events:?}");
    assert_eq!(opens[0]["path"], "/echo");
    let closes: Vec<_> = events.iter().filter(|e| e["event"] == "close").collect();
    assert!(
        closes
            .iter()
            .all(|c| c["code"] == 1000 || c["code"] == 1005),
        "{closes:?}"
    );
    stop_with_sigterm(&mut child);
}

/// Runs curl with `args` (5 s at most): its stdout.
fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5"])
        .args(args)
        .output()
        .expect("curl is installed (scripts/peers.sh)");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn serve_echo_answers_over_long_polling_and_sse_driven_by_curl() {
    let (mut child, _out, listening) = serve_echo_json();
    let base = listening["url"].as_str().unwrap().to_string();
    // Long polling: open, send with curl's default form content type, poll.
    let first: Value =
        serde_json::from_str(&curl(&[&format!("{base}/echo?transport=poll")])).unwrap();
    let send = first["send"].as_str().unwrap().to_string();
    let status = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-d",
        "hello",
        &format!("{base}{send}"),
    ]);
    assert_eq!(status, "204");
    let sid = first["sid"].as_str().unwrap();
    let answer: Value = serde_json::from_str(&curl(&[&format!(
        "{base}/echo?transport=poll&sid={sid}&wait=3"
    )]))
    .unwrap();
    assert_eq!(answer["messages"], serde_json::json!(["hello"]));
    // SSE: the session event comes first.
    let sse = curl(&[
        "-N",
        "--max-time",
        "1",
        &format!("{base}/echo?transport=sse"),
    ]);
    assert!(sse.starts_with("event: rtwire.session\ndata: {"), "{sse:?}");
    stop_with_sigterm(&mut child);
}

#[test]
fn serve_echo_answers_engine_io_polling_driven_by_curl() {
    let (mut child, _out, listening) = serve_echo_json();
    let base = listening["url"].as_str().unwrap().to_string();
    let eio = format!("{base}/engine.io/?EIO=4&transport=polling");
    // The open packet: `0` and the handshake JSON.
    let open = curl(&[&eio]);
    let handshake: Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    assert_eq!(handshake["upgrades"], serde_json::json!(["websocket"]));
    let sid = handshake["sid"].as_str().unwrap();
    let session = format!("{eio}&sid={sid}");
    assert_eq!(curl(&["-d", "4hello", &session]), "ok");
    assert_eq!(curl(&[&session]), "4hello");
    // An unknown session: the reference server's error.
    let unknown: Value = serde_json::from_str(&curl(&[&format!("{eio}&sid=nope")])).unwrap();
    assert_eq!(
        unknown,
        serde_json::json!({"code": 1, "message": "Session ID unknown"})
    );
    stop_with_sigterm(&mut child);
}

#[test]
fn connect_over_sse_and_long_polling_sends_to_a_route_of_serve_echo() {
    let (mut child, _out, listening) = serve_echo_json();
    let base = listening["url"].as_str().unwrap().to_string();
    for (transport, query) in [("sse", "sse"), ("long_poll", "poll")] {
        let mut cmd = rtwire();
        cmd.args([
            "connect",
            "--linger",
            "1500",
            "--json",
            "--transport",
            transport,
            &format!("{base}/echo?transport={query}"),
        ]);
        let (code, stdout, stderr) = run_with_input(cmd, "hello\n", Duration::from_secs(20));
        assert_eq!(code, 0, "{transport}: {stderr}");
        let events: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(events[0]["type"], "open", "{events:?}");
        assert_eq!(events[0]["transport"], transport, "{events:?}");
        assert_eq!(events[1]["type"], "message", "{transport}: {events:?}");
        assert_eq!(events[1]["data"], "hello", "{transport}: {events:?}");
        assert_eq!(events[1]["binary"], false, "{transport}: {events:?}");
    }
    stop_with_sigterm(&mut child);
}

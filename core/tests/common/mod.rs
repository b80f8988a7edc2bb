//! Helpers shared by the integration tests: the third-party Python echo
//! peer, bounded event waits and a deadline for every test.
#![allow(dead_code)]

pub mod tls;

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rtwire::{CloseInfo, Connection, Data, Error, ErrorKind, Event, OpenInfo};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, Command};

/// Upper bound on any single test.
pub const TEST_LIMIT: Duration = Duration::from_secs(20);
/// Upper bound on waiting for one event.
pub const EVENT_LIMIT: Duration = Duration::from_secs(10);

/// Runs `fut` within [`TEST_LIMIT`], failing the test when it takes longer.
pub async fn guard<T>(fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(TEST_LIMIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("test did not finish within {TEST_LIMIT:?}"),
    }
}

/// The workspace root (the parent of `core/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core/ has a parent directory")
        .to_path_buf()
}

/// The Python that has `websockets` installed: `$RTWIRE_TEST_PYTHON`, else
/// `<workspace>/.venv/bin/python`. Panics when it is missing.
pub fn python() -> PathBuf {
    let path = match std::env::var_os("RTWIRE_TEST_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(".venv").join("bin").join("python"),
    };
    if !path.exists() {
        panic!(
            "the Python test peer interpreter {} does not exist; run ./scripts/peers.sh \
             (or set RTWIRE_TEST_PYTHON to a python with `websockets` installed)",
            path.display()
        );
    }
    path
}

/// `tests/peers/node/<script>` run by `node`, with the pinned packages
/// installed by `scripts/peers.sh`.
pub fn node(script: &str) -> Command {
    let dir = workspace_root().join("tests/peers/node");
    if !dir.join("node_modules/ws").exists() || !dir.join("node_modules/eventsource").exists() {
        panic!(
            "the Node test peers are not installed in {}; run ./scripts/peers.sh",
            dir.display()
        );
    }
    let mut cmd = Command::new("node");
    cmd.arg(dir.join(script)).current_dir(&dir);
    cmd
}

/// A peer server as a child process: the Python `websockets` echo server
/// (tests/peers/ws_echo.py), another script of tests/peers, or a Node one.
/// It is killed when dropped, and it also stops by itself when its stdin
/// closes.
#[derive(Debug)]
pub struct PyPeer {
    child: Child,
    _stdin: ChildStdin,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl PyPeer {
    /// Starts the WebSocket echo peer and waits (bounded) for its
    /// `PORT <n>` line.
    pub async fn start() -> PyPeer {
        Self::start_script("ws_echo.py").await
    }

    /// Starts `tests/peers/<name>` (a peer that prints `PORT <n>` when ready
    /// and stops when its stdin closes) and waits for its port.
    pub async fn start_script(name: &str) -> PyPeer {
        let script = workspace_root().join("tests/peers").join(name);
        let mut cmd = Command::new(python());
        cmd.arg(&script);
        Self::spawn(cmd, &script).await
    }

    /// Starts the Node peer `tests/peers/node/<name>` the same way.
    pub async fn start_node(name: &str) -> PyPeer {
        let script = workspace_root().join("tests/peers/node").join(name);
        Self::spawn(node(name), &script).await
    }

    async fn spawn(mut cmd: Command, script: &std::path::Path) -> PyPeer {
        let mut child = cmd
            .arg("--idle")
            .arg("60")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(Duration::from_secs(15), async {
            while let Some(line) = lines.next_line().await.expect("reading the peer's stdout") {
                if let Some(p) = line.trim().strip_prefix("PORT ") {
                    return p.parse::<u16>().expect("PORT line holds a port number");
                }
            }
            panic!("{} exited before printing its PORT line", script.display());
        })
        .await
        .unwrap_or_else(|_| panic!("{} printed no PORT line within 15 s", script.display()));
        PyPeer {
            child,
            _stdin: stdin,
            port,
        }
    }

    /// `ws://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{}", self.port, path)
    }
}

impl Drop for PyPeer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The next event, within [`EVENT_LIMIT`]; panics on timeout or end.
pub async fn next_event(conn: &mut Connection) -> Event {
    match tokio::time::timeout(EVENT_LIMIT, conn.recv()).await {
        Ok(Some(ev)) => ev,
        Ok(None) => panic!("the connection ended without a Closed event"),
        Err(_) => panic!("no event within {EVENT_LIMIT:?}"),
    }
}

/// Expects the next event to be `Open`.
pub async fn expect_open(conn: &mut Connection) -> OpenInfo {
    match next_event(conn).await {
        Event::Open(info) => info,
        other => panic!("expected Open, got {other:?}"),
    }
}

/// Expects the next event to be a message and returns its payload.
pub async fn expect_message(conn: &mut Connection) -> Data {
    match next_event(conn).await {
        Event::Message(m) => m.data,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Reads events until `Closed` (bounded in count and time); returns the
/// events before it and the close info. Checks that nothing follows.
pub async fn until_closed(conn: &mut Connection) -> (Vec<Event>, CloseInfo) {
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        match next_event(conn).await {
            Event::Closed(info) => {
                assert!(conn.is_finished());
                assert!(conn.recv().await.is_none(), "nothing follows Closed");
                return (seen, info);
            }
            other => seen.push(other),
        }
    }
    panic!("no Closed event among {} events", seen.len());
}

/// The errors among `events`.
pub fn errors(events: &[Event]) -> Vec<&Error> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Error(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// Asserts that exactly one `Error` event of `kind` is among `events`.
pub fn assert_one_error(events: &[Event], kind: ErrorKind) -> Error {
    let errs = errors(events);
    assert_eq!(errs.len(), 1, "expected one Error event, got {events:?}");
    assert_eq!(errs[0].kind(), kind, "error: {:?}", errs[0]);
    errs[0].clone()
}

/// Reads an HTTP request head (up to the blank line), bounded in size.
pub async fn read_request_head(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert!(buf.len() < 64 * 1024, "request head too large");
        let n = stream.read(&mut byte).await.expect("reading the request");
        assert!(n == 1, "the client closed before finishing its request");
        buf.push(byte[0]);
    }
    String::from_utf8(buf).expect("the request head is UTF-8")
}

/// Completes a WebSocket server handshake by hand on a raw TCP stream, so the
/// test can then misbehave at the byte level.
pub async fn raw_handshake(stream: &mut TcpStream) {
    let head = read_request_head(stream).await;
    let key = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_string())
        })
        .expect("the request has a Sec-WebSocket-Key");
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream
        .write_all(response.as_bytes())
        .await
        .expect("writing the 101 response");
}

/// A bare tokio-tungstenite WebSocket over plain TCP.
pub type RawWs = tokio_tungstenite::WebSocketStream<TcpStream>;

/// Opens a bare tokio-tungstenite client to `url` (`ws://host:port/...`).
pub async fn raw_ws(url: &str) -> RawWs {
    let u = url::Url::parse(url).unwrap();
    let tcp = TcpStream::connect((u.host_str().unwrap(), u.port().unwrap()))
        .await
        .unwrap();
    tokio_tungstenite::client_async(url, tcp).await.unwrap().0
}

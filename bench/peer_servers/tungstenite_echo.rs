//! A tokio-tungstenite echo server for `bench/server_peers.sh`:
//! `bench_peer_tungstenite PORT [PATH] [--plain]`. By default it is the
//! shared echo loop of `bench/ws_echo.rs` (write coalescing: replies to all
//! messages already received are fed, then flushed once); `--plain` sends
//! and flushes every reply on its own. Echoes on any path; no broadcast.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;

#[path = "listen.rs"]
mod listen;
#[path = "../ws_echo.rs"]
mod ws_echo;

/// One reply per message, each flushed at once.
async fn plain(tcp: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_binary() || msg.is_text()) && ws.send(msg).await.is_err() {
            return;
        }
    }
}

fn main() -> std::io::Result<()> {
    if std::env::args().any(|a| a == "--plain") {
        listen::serve(plain)
    } else {
        listen::serve(ws_echo::echo)
    }
}

//! The echo loop shared by the WebSocket benchmarks (`core/benches/websocket.rs`
//! and `bench/echo_server.rs`): bare tokio-tungstenite, no rtwire code.

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;

/// Echoes every data message; replies to everything already received are
/// written together and flushed once, so that the server does not make the
/// pipelined workload syscall-bound on its side.
pub async fn echo(tcp: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            if (msg.is_binary() || msg.is_text()) && ws.feed(msg).await.is_err() {
                return;
            }
            // Take more only if it is already there.
            if let Some(Some(Ok(m))) = ws.next().now_or_never() {
                next = Some(m);
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}

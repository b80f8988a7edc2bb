//! A TCP proxy for the demo that refuses WebSocket upgrades with 403 and
//! passes every other request through, as some corporate proxies do.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Starts the proxy in front of `upstream`; returns its address.
pub async fn start(upstream: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, upstream));
        }
    });
    Ok(addr)
}

async fn relay(mut client: TcpStream, upstream: SocketAddr) {
    let mut head = Vec::with_capacity(1024);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= 64 * 1024 || client.read_exact(&mut byte).await.is_err() {
            return;
        }
        head.push(byte[0]);
    }
    let lower = String::from_utf8_lossy(&head).to_ascii_lowercase();
    if lower.contains("\r\nupgrade: websocket") {
        let refusal = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 24\r\nConnection: close\r\n\r\nWebSocket not allowed.\r\n";
        let _ = client.write_all(refusal).await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    if server.write_all(&head).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}

//! A WebSocket echo server for the binding benchmarks: bare
//! tokio-tungstenite on one thread, so that the clients compared
//! (`bench/python_ws.py`, `bench/node_ws.mjs`) are measured, not the server.
//!
//! ```sh
//! cargo run --release -p rtwire --example bench_echo_server
//! ```
//!
//! Listens on `127.0.0.1:0`, prints `PORT <n>`, echoes every text and
//! binary message on every connection, and exits when its standard input
//! closes.

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

#[path = "ws_echo.rs"]
mod ws_echo;

fn main() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("PORT {}", listener.local_addr()?.port());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(ws_echo::echo(tcp));
            }
        });
        // Until stdin closes.
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 64];
        while stdin.read(&mut buf).await.map(|n| n > 0).unwrap_or(false) {}
        Ok(())
    })
}

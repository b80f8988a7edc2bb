//! A small WebSocket echo server for the demo: every message comes back
//! unchanged; `cut()` drops every live connection without a close frame, as
//! a crashed proxy or a lost network would.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A running echo server.
#[derive(Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    cuts: watch::Sender<u64>,
}

impl EchoServer {
    /// Binds a free port on 127.0.0.1 and serves until the runtime stops.
    pub async fn start() -> std::io::Result<EchoServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (cuts, cut_rx) = watch::channel(0u64);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let mut cut_rx = cut_rx.clone();
                cut_rx.mark_unchanged();
                let _ = tcp.set_nodelay(true);
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    loop {
                        tokio::select! {
                            _ = cut_rx.changed() => return, // dropped: no close frame
                            msg = ws.next() => match msg {
                                Some(Ok(m)) if m.is_text() || m.is_binary() => {
                                    if ws.send(m).await.is_err() {
                                        return;
                                    }
                                }
                                Some(Ok(_)) => {}
                                _ => return,
                            }
                        }
                    }
                });
            }
        });
        Ok(EchoServer { addr, cuts })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every live connection at once.
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }
}

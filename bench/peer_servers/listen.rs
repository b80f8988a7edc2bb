//! What the Rust peer servers of `bench/server_peers.sh` share: the port
//! from the command line, a current-thread runtime, and an accept loop on
//! 127.0.0.1 that hands each TCP connection (`TCP_NODELAY` set) to a task.

use std::future::Future;

use tokio::net::{TcpListener, TcpStream};

/// Serves `127.0.0.1:<first argument>` with `session` per connection until
/// the process is killed.
pub fn serve<F, Fut>(session: F) -> std::io::Result<()>
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| std::io::Error::other("usage: <server> PORT [PATH]"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            tokio::task::spawn_local(session(tcp));
        }
    })
}

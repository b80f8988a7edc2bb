//! A fastwebsockets echo server (hyper 1 upgrade, one thread) for
//! `bench/server_peers.sh`: `bench_peer_fastws PORT [PATH]`. Echoes every
//! text and binary message on any path, as fastwebsockets' own example
//! server does; no broadcast.

use bytes::Bytes;
use fastwebsockets::{upgrade, FragmentCollector, OpCode, WebSocketError};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[path = "listen.rs"]
mod listen;

async fn echo(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = fut.await?;
    ws.set_max_message_size(64 << 20);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}

async fn upgrade(mut req: Request<Incoming>) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, fut) = upgrade::upgrade(&mut req)?;
    tokio::task::spawn_local(async move {
        let _ = tokio::task::unconstrained(echo(fut)).await;
    });
    Ok(response)
}

async fn session(tcp: TcpStream) {
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(tcp), service_fn(upgrade))
        .with_upgrades()
        .await;
}

fn main() -> std::io::Result<()> {
    listen::serve(session)
}

//! A chat server with rooms and token authentication, speaking the chat
//! protocol every rtwire chat example shares (examples/README.md):
//!
//! ```text
//! cargo run -p rtwire --example chat_server -- [PORT]
//! websocat 'ws://127.0.0.1:PORT/chat?room=lobby&name=ada&token=s3cret'
//! ```
//!
//! It prints `PORT <n>` once it listens, serves until SIGTERM or Ctrl-C
//! (300 s at most), and closes every client with 1001 on the way out.

use std::io::Write as _;
use std::time::Duration;

use rtwire::server::{Accept, Reject, Request, Server, ServerOptions};
use rtwire::{Connection, Event};

/// The longest the server runs.
const LIFETIME: Duration = Duration::from_secs(300);

/// Whether `req` carries `token` as `?token=` or `Authorization: Bearer`.
fn has_token(req: &Request, token: &str) -> bool {
    let bearer = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_string);
    [req.query_param("token"), bearer]
        .into_iter()
        .flatten()
        .any(|t| t == token)
}

/// One member of a room: greeted, announced, relayed, and announced again
/// when it leaves.
async fn chat(mut conn: Connection, req: Request) {
    let param = |name: &str, default: &str| {
        req.query_param(name)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    let (room, name) = (param("room", "lobby"), param("name", "anon"));
    let rooms = req.rooms();
    // A line for the rest of the room, also kept in the room's log channel
    // (an invalid channel name only means no log).
    let say = |line: String| {
        let _ = rooms.to(&room).except(req.id).send(line.as_str());
        let _ = rooms.publish(&format!("log-{room}"), line);
    };
    req.join(&room);
    if conn
        .send(format!("welcome {name} to {room}"))
        .await
        .is_err()
    {
        return;
    }
    say(format!("{name} joined"));
    while let Some(event) = conn.recv().await {
        match event {
            Event::Message(m) => match m.data.as_text() {
                Some("/who") => {
                    let n = rooms.members(&room).len();
                    if conn.send(format!("members {room}: {n}")).await.is_err() {
                        break;
                    }
                }
                Some(text) => say(format!("{name}: {text}")),
                None => {} // binary: not part of the chat
            },
            Event::Closed(_) => break,
            _ => {}
        }
    }
    req.leave(&room);
    say(format!("{name} left"));
}

/// Waits for SIGTERM, Ctrl-C or the end of [`LIFETIME`].
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = tokio::time::sleep(LIFETIME) => {}
        }
    }
    #[cfg(not(unix))]
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = tokio::time::sleep(LIFETIME) => {}
    }
}

#[tokio::main]
async fn main() -> Result<(), rtwire::Error> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().expect("the argument is a port number"),
        None => 0,
    };
    let token = std::env::var("CHAT_TOKEN").unwrap_or_else(|_| "s3cret".into());
    let mut opts = ServerOptions::new()
        .bind(([127, 0, 0, 1], port).into())
        .route("/chat", chat)
        .accept(move |req| {
            let ok = has_token(&req, &token);
            async move {
                if ok {
                    Ok(Accept::new())
                } else {
                    Err(Reject::new(401, "bad token"))
                }
            }
        });
    opts.cors = true;
    let server = Server::start(opts).await?;
    println!("PORT {}", server.local_addr().port());
    std::io::stdout().flush().ok();
    stopped().await;
    server.shutdown().await;
    Ok(())
}

//! `rtwire serve`: the embedded server on a port, logging one line per
//! connection event.

use std::sync::Arc;

use rtwire::server::{Server, ServerEvent};

use crate::options::ServerArgs;

/// Arguments of `rtwire serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server options (from the server option schema: `rtwire options`).
    #[command(flatten)]
    options: ServerArgs,
    /// Do not log publishes (connections are still logged).
    #[arg(long)]
    quiet_publish: bool,
    /// Serve /echo: an endpoint that sends every message back to its
    /// sender only, over WebSocket or over SSE, NDJSON streaming and long
    /// polling with POST up (the server under test for the Autobahn
    /// testsuite),
    /// and /broadcast, where every message goes to every client connected
    /// there, the sender included; and the same echo over Engine.IO v4 at
    /// /engine.io/ (for engine.io-client: polling, WebSocket, the upgrade).
    #[arg(long)]
    echo: bool,
    /// Print one JSON object per line for every connection event (and one
    /// `listening` line first) instead of the text log.
    #[arg(long)]
    json: bool,
    /// Check the options (each flag, then the rules between them), print
    /// them one per line (a token is not shown), and exit without listening.
    #[arg(long)]
    dry_run: bool,
}

/// Sends every message back to its sender, then lets the connection end.
async fn echo(mut conn: rtwire::Connection, _req: rtwire::server::Request) {
    while let Some(event) = conn.recv().await {
        if let rtwire::Event::Message(m) = event {
            if conn.send(m.data).await.is_err() {
                break;
            }
        }
    }
}

/// Puts the connection in the room `broadcast` and sends every message it
/// sends to the whole room.
async fn broadcast(mut conn: rtwire::Connection, req: rtwire::server::Request) {
    req.join("broadcast");
    let rooms = req.rooms();
    while let Some(event) = conn.recv().await {
        if let rtwire::Event::Message(m) = event {
            let _ = rooms.to("broadcast").send(m.data);
        }
    }
}

/// Runs `rtwire serve` until Ctrl-C.
pub async fn run(a: Args) -> Result<(), String> {
    let fail = |e: rtwire::Error| format!("{} ({})", e, e.kind());
    let mut opts = a.options.options().map_err(fail)?;
    if a.dry_run {
        // One line per option, as the schema names it; the token hidden.
        for spec in rtwire::options::SERVER_SCHEMA {
            let value = match (spec.kind, opts.get(spec.name)) {
                (rtwire::options::Kind::Text(rtwire::options::TextRule::Secret), Some(v))
                    if v != rtwire::options::Value::Off =>
                {
                    "(set, not shown)".to_string()
                }
                (_, Some(v)) => format!("{v:?}"),
                (_, None) => continue,
            };
            println!("{} = {value}", spec.name);
        }
        return Ok(());
    }
    if a.echo {
        opts = opts
            .route("/echo", echo)
            .route("/broadcast", broadcast)
            .engineio("/engine.io/", echo);
    }
    let server = Server::start(opts).await.map_err(|e| e.to_string())?;
    let quiet = a.quiet_publish;
    let json = a.json;
    server.set_observer(Arc::new(move |ev| {
        let Some(line) = event_json(ev, quiet) else {
            return;
        };
        if json {
            println!("{line}");
        } else {
            println!("{}", event_text(&line));
        }
    }));
    if json {
        println!(
            "{}",
            serde_json::json!({"event": "listening", "url": server.base_url(), "epoch": server.epoch()})
        );
        return wait_then_stop(server).await;
    }
    let base = server.base_url();
    println!("rtwire server on {base} (epoch {})", server.epoch());
    println!(
        "  WebSocket    {}/ws/CHANNEL",
        base.replacen("http", "ws", 1)
    );
    println!("  SSE          {base}/sse/CHANNEL");
    println!("  long poll    {base}/poll/CHANNEL?cursor=ID");
    println!("  short poll   {base}/latest/CHANNEL");
    println!("  stream       {base}/stream/CHANNEL");
    println!("  publish      POST {base}/publish/CHANNEL");
    println!("  negotiate    {base}/negotiate/CHANNEL");
    if a.echo {
        let ws = base.replacen("http", "ws", 1);
        println!("  echo         {ws}/echo");
        println!("  broadcast    {ws}/broadcast");
        println!("  engine.io    {base}/engine.io/ (Engine.IO v4 echo)");
    }
    wait_then_stop(server).await
}

/// Waits for Ctrl-C (or SIGTERM), then shuts the server down gracefully.
async fn wait_then_stop(server: Server) -> Result<(), String> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| format!("waiting for SIGTERM: {e}"))?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map_err(|e| format!("waiting for Ctrl-C: {e}"))?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
    eprintln!("rtwire: shutting down");
    server.shutdown().await;
    Ok(())
}

/// The text log line of an event: its name, then `key=value` pairs.
fn event_text(v: &serde_json::Value) -> String {
    let name = v["event"].as_str().unwrap_or("?");
    let fields: Vec<String> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "event")
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    format!("{name:<10} {}", fields.join(" "))
}

/// One server event as a JSON line (`--json`); publishes left out with
/// `quiet`.
fn event_json(ev: &ServerEvent, quiet: bool) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match ev {
        ServerEvent::Connected {
            transport,
            channel,
            peer,
        } => {
            json!({"event": "connect", "transport": transport, "channel": channel, "peer": peer.to_string()})
        }
        ServerEvent::Disconnected {
            transport,
            channel,
            peer,
        } => {
            json!({"event": "disconnect", "transport": transport, "channel": channel, "peer": peer.to_string()})
        }
        ServerEvent::Opened {
            id,
            path,
            peer,
            protocol,
        } => {
            json!({"event": "open", "id": id, "path": path, "peer": peer.to_string(), "protocol": protocol})
        }
        ServerEvent::Closed {
            id,
            path,
            peer,
            code,
            clean,
        } => {
            json!({"event": "close", "id": id, "path": path, "peer": peer.to_string(), "code": code, "clean": clean})
        }
        ServerEvent::Joined { id, room } => json!({"event": "join", "id": id, "room": room}),
        ServerEvent::Left { id, room } => json!({"event": "leave", "id": id, "room": room}),
        ServerEvent::SlowConsumer {
            id,
            room,
            disconnected,
        } => {
            json!({"event": "slow", "id": id, "room": room, "disconnected": disconnected})
        }
        ServerEvent::Published { channel, id, bytes } if !quiet => {
            json!({"event": "publish", "channel": channel, "id": id, "bytes": bytes})
        }
        _ => return None,
    })
}

//! `rtwire demo`: an in-process echo server on a free loopback port and a
//! client that sends, receives, is cut off, reconnects and flushes what was
//! queued meanwhile, printing each event. Exits 0 when every message came
//! back once and in order.

use std::time::{Duration, Instant};

use rtwire::{Event, Options, Reconnect};

use crate::echo_server::EchoServer;

/// Arguments of `rtwire demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Messages to send before and after the cut.
    #[arg(long, default_value_t = 3)]
    messages: usize,
}

fn say(start: Instant, who: &str, what: impl std::fmt::Display) {
    println!("{:>7.3}s  {who:<7} {what}", start.elapsed().as_secs_f64());
}

/// Runs the demo.
pub async fn run(a: Args) -> Result<(), String> {
    let start = Instant::now();
    let server = EchoServer::start()
        .await
        .map_err(|e| format!("cannot start the demo server: {e}"))?;
    let url = format!("ws://{}/echo", server.addr());
    say(
        start,
        "server",
        format_args!("echo server listening on {url}"),
    );

    let opts = Options::new().reconnect(
        Reconnect::default()
            .initial_delay(Duration::from_millis(300))
            .max_attempts(5),
    );
    let mut conn = rtwire::connect(&url, opts)
        .await
        .map_err(|e| format!("demo client could not connect: {e}"))?;

    let n = a.messages.max(1);
    let mut expected: Vec<String> = (1..=n).map(|i| format!("before cut #{i}")).collect();
    for m in &expected {
        conn.send(m.as_str()).await.map_err(|e| e.to_string())?;
        say(start, "client", format_args!("send {m:?}"));
    }
    let mut received: Vec<String> = Vec::new();
    let mut cut_done = false;
    let deadline = tokio::time::sleep(Duration::from_secs(20));
    tokio::pin!(deadline);
    loop {
        let event = tokio::select! {
            ev = conn.recv() => ev,
            _ = &mut deadline => return Err("the demo did not finish within 20 s".into()),
        };
        let Some(event) = event else { break };
        match &event {
            Event::Open(o) => say(
                start,
                "client",
                format_args!("open {} via {}", o.url, o.transport),
            ),
            Event::Message(m) => {
                let text = m.data.as_text().unwrap_or("<binary>").to_string();
                say(start, "client", format_args!("message {text:?}"));
                received.push(text);
                if received.len() == n && !cut_done {
                    cut_done = true;
                    say(start, "server", "cutting every connection (no close frame)");
                    server.cut();
                } else if received.len() == expected.len() && cut_done {
                    say(
                        start,
                        "client",
                        "every message came back; closing with 1000",
                    );
                    conn.close(1000, "demo done").map_err(|e| e.to_string())?;
                }
            }
            Event::Reconnecting {
                attempt,
                delay,
                cause,
            } => {
                say(
                    start,
                    "client",
                    format_args!(
                        "reconnecting: attempt {attempt} in {} ms ({cause})",
                        delay.as_millis()
                    ),
                );
                // Sent while there is no connection: queued, then flushed in
                // order once the new session opens.
                if expected.len() == n {
                    for i in 1..=n {
                        let m = format!("sent while cut off #{i}");
                        conn.send(m.as_str()).await.map_err(|e| e.to_string())?;
                        say(start, "client", format_args!("send {m:?} (queued)"));
                        expected.push(m);
                    }
                }
            }
            Event::Error(e) => say(start, "client", format_args!("error ({}): {e}", e.kind())),
            Event::Closed(c) => {
                say(
                    start,
                    "client",
                    format_args!(
                        "closed {} {:?} clean={} unsent={}",
                        c.code,
                        c.reason,
                        c.clean,
                        c.unsent.len()
                    ),
                );
                break;
            }
            other => say(start, "client", format_args!("{other:?}")),
        }
    }
    if received == expected {
        println!(
            "demo ok: {} messages echoed once each, in order, across one cut and reconnect",
            received.len()
        );
        Ok(())
    } else {
        Err(format!(
            "demo failed: expected {expected:?}, received {received:?}"
        ))
    }
}

//! `rtwire autobahn-client`: runs an Autobahn testsuite fuzzing server's
//! cases against the rtwire client, echoing every message back unchanged.

use std::time::Duration;

use rtwire::{Data, Event, Options, Reconnect};

/// Arguments of `rtwire autobahn-client`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the fuzzing server, e.g. ws://127.0.0.1:9001
    url: String,
    /// Agent name the reports are filed under.
    #[arg(long, default_value = "rtwire")]
    agent: String,
    /// Run only cases up to this number (default: all).
    #[arg(long)]
    limit: Option<u32>,
}

fn options() -> Options {
    Options::new()
        .reconnect(Reconnect::disabled())
        .keepalive(None, Duration::from_secs(20))
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .close_timeout(Duration::from_secs(5))
}

/// Connects, echoes every message until closed; returns the first text
/// message seen (for getCaseCount).
async fn echo_session(url: &str) -> Result<Option<String>, rtwire::Error> {
    let mut conn = rtwire::connect(url, options()).await?;
    let mut first_text = None;
    while let Some(ev) = conn.recv().await {
        match ev {
            Event::Message(m) => {
                if let (None, Data::Text(t)) = (&first_text, &m.data) {
                    first_text = Some(t.to_string());
                }
                // A send fails only once the connection is closing; the
                // closed event that follows says why.
                let _ = conn.send(m.data).await;
            }
            Event::Closed(_) => break,
            _ => {}
        }
    }
    Ok(first_text)
}

/// Runs every case.
pub async fn run(a: Args) -> Result<(), String> {
    let base = a.url.trim_end_matches('/');
    let count_url = format!("{base}/getCaseCount");
    let count: u32 = echo_session(&count_url)
        .await
        .map_err(|e| format!("getCaseCount: {e}"))?
        .and_then(|t| t.trim().parse().ok())
        .ok_or("getCaseCount returned no number")?;
    let last = a.limit.map_or(count, |l| l.min(count));
    eprintln!(
        "rtwire: running {last} of {count} cases as agent {:?}",
        a.agent
    );
    for case in 1..=last {
        let url = format!("{base}/runCase?case={case}&agent={}", a.agent);
        if let Err(e) = echo_session(&url).await {
            eprintln!("rtwire: case {case}: {e}");
        }
    }
    let report = format!("{base}/updateReports?agent={}", a.agent);
    echo_session(&report)
        .await
        .map_err(|e| format!("updateReports: {e}"))?;
    println!("ran {last} cases; reports updated for agent {}", a.agent);
    Ok(())
}

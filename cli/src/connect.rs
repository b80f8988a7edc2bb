//! `rtwire connect`: stdin → messages, events → stdout.

use std::io::Write;
use std::time::Duration;

use rtwire::Event;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot;

use crate::options::OptionArgs;
use crate::render;

/// Arguments of `rtwire connect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// ws://, wss://, http:// or https:// URL.
    url: String,
    /// Connection options (from the option schema: `rtwire options`).
    #[command(flatten)]
    options: OptionArgs,
    /// Check the options (each flag, then the rules between them), print
    /// them, and exit without connecting.
    #[arg(long)]
    dry_run: bool,
    /// Each stdin line is base64 and is sent as a binary message; binary
    /// messages are printed as base64.
    #[arg(long)]
    binary: bool,
    /// Print every event as one JSON object per line on stdout.
    #[arg(long)]
    json: bool,
    /// After stdin ends, keep reading replies until none has arrived for this
    /// many milliseconds, then close with 1000.
    #[arg(long, value_name = "MS", default_value_t = 300)]
    linger: u64,
}

/// Runs `rtwire connect`.
pub async fn run(a: Args) -> Result<(), String> {
    let fail = |e: rtwire::Error| format!("{} ({})", e, e.kind());
    let opts = a.options.options().map_err(fail)?;
    if a.dry_run {
        println!("{opts:?}");
        return Ok(());
    }
    let mut conn = rtwire::connect(&a.url, opts)
        .await
        .map_err(|e| format!("{} ({})", e, e.kind()))?;

    // stdin is read and sent by its own task, so a send waiting for room in
    // the queue never stops events from being read.
    let sender = conn.sender();
    let (eof_tx, mut eof_rx) = oneshot::channel::<Result<(), String>>();
    let binary = a.binary;
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let result = loop {
            match lines.next_line().await {
                Ok(Some(line)) => {
                    let sent = if binary {
                        match render::decode_base64(&line) {
                            Ok(bytes) => sender.send(bytes).await,
                            Err(e) => {
                                eprintln!("rtwire: skipped a stdin line that is not base64: {e}");
                                continue;
                            }
                        }
                    } else {
                        sender.send(line).await
                    };
                    if sent.is_err() {
                        break Ok(()); // closed: the event loop reports why
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(format!("reading stdin: {e}")),
            }
        };
        let _ = eof_tx.send(result);
    });

    let mut stdin_done = false;
    let mut failure: Option<String> = None;
    let stdout = std::io::stdout();
    let linger = Duration::from_millis(a.linger);
    // Set once stdin ended: close when this passes with nothing queued.
    let mut close_at: Option<tokio::time::Instant> = None;
    let sender = conn.sender();
    loop {
        let event = tokio::select! {
            ev = conn.recv() => ev,
            r = &mut eof_rx, if !stdin_done => {
                stdin_done = true;
                if let Ok(Err(e)) = r {
                    failure = Some(e);
                }
                close_at = Some(tokio::time::Instant::now() + linger);
                continue;
            }
            _ = tokio::time::sleep_until(close_at.unwrap_or_else(tokio::time::Instant::now)), if close_at.is_some() => {
                if sender.buffered_amount() > 0 {
                    close_at = Some(tokio::time::Instant::now() + linger);
                } else {
                    close_at = None;
                    let _ = conn.close(1000, "");
                }
                continue;
            }
        };
        let Some(event) = event else { break };
        if close_at.is_some() && matches!(event, Event::Message(_)) {
            close_at = Some(tokio::time::Instant::now() + linger);
        }
        match &event {
            Event::Error(e) => failure = Some(format!("{e} ({})", e.kind())),
            Event::Closed(c) if !c.clean && failure.is_none() => {
                failure = Some(format!("connection closed abnormally (code {})", c.code))
            }
            _ => {}
        }
        let mut out = stdout.lock();
        if a.json {
            let _ = writeln!(out, "{}", render::to_json(&event));
        } else {
            let (to_stdout, line) = render::to_plain(&event, a.binary);
            if to_stdout {
                let _ = writeln!(out, "{line}");
            } else {
                eprintln!("rtwire: {line}");
            }
        }
        let _ = out.flush();
        if matches!(event, Event::Closed(_)) {
            break;
        }
    }
    match failure {
        None => Ok(()),
        Some(f) => Err(f),
    }
}

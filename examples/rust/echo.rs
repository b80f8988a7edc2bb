//! Connects to a WebSocket echo server, sends a text and a binary message,
//! prints what comes back, and closes.
//!
//! `cargo run -p rtwire --example echo -- ws://127.0.0.1:9001/echo`

use rtwire::{Data, Event, Options};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rtwire::Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/echo".into());
    let mut conn = rtwire::connect(&url, Options::new()).await?;
    conn.send("hello").await?;
    conn.send(vec![1u8, 2, 3]).await?;
    let mut echoed = 0;
    while let Some(event) = conn.recv().await {
        match event {
            Event::Open(info) => println!("open {} via {}", info.url, info.transport),
            Event::Message(m) => {
                match &m.data {
                    Data::Text(t) => println!("text {t}"),
                    Data::Binary(b) => println!("binary {b:?}"),
                }
                echoed += 1;
                if echoed == 2 {
                    conn.close(1000, "done")?;
                }
            }
            Event::Closed(c) => println!("closed {} {:?} clean={}", c.code, c.reason, c.clean),
            other => println!("{other:?}"),
        }
    }
    Ok(())
}

//! Rooms of the application server: isolation, broadcast except the
//! sender, send-to-one by id, presence, channels publishing into rooms, and
//! slow consumers (disconnected or skipped) that never hold up the others.
//! Driven by rtwire clients and bare tokio-tungstenite clients.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{guard, raw_ws, RawWs};
use futures_util::{SinkExt, StreamExt};
use rtwire::server::{Server, ServerEvent, ServerOptions, SlowConsumer};
use rtwire::{Connection, Data, Event, Options, Reconnect};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Joins the room named by `?room=`, tells the client its id, and sends
/// each message to the rest of the room.
async fn chat(mut conn: Connection, req: rtwire::server::Request) {
    if let Some(room) = req.query_param("room") {
        req.join(&room);
    }
    if conn.send(format!("id {}", req.id)).await.is_err() {
        return;
    }
    let rooms = req.rooms();
    while let Some(event) = conn.recv().await {
        if let Event::Message(m) = event {
            for room in req.joined() {
                let _ = rooms.to(&room).except(req.id).send(m.data.clone());
            }
        }
    }
}

fn no_reconnect() -> Options {
    Options::new().reconnect(Reconnect::disabled())
}

async fn next_text(conn: &mut Connection) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), conn.recv())
            .await
            .expect("a message within 10 s")
            .expect("a message before the end")
        {
            Event::Message(m) => return m.data.as_text().expect("text").to_string(),
            Event::Open(_) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// Connects to the chat in `room`; returns the connection and its id.
async fn join(server: &Server, room: &str) -> (Connection, u64) {
    let url = format!("ws://{}/chat?room={room}", server.local_addr());
    let mut c = rtwire::connect(&url, no_reconnect()).await.unwrap();
    let id = next_text(&mut c).await;
    let id = id.strip_prefix("id ").unwrap().parse().unwrap();
    (c, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_message_reaches_its_members_but_the_sender_and_no_other_room() {
    guard(async {
        let server = Server::start(ServerOptions::new().route("/chat", chat))
            .await
            .unwrap();
        let (a1, a1_id) = join(&server, "a").await;
        let (mut a2, a2_id) = join(&server, "a").await;
        let (mut b1, b1_id) = join(&server, "b").await;
        let mut a1 = a1;
        let rooms = server.rooms();
        assert_eq!(rooms.members("a"), vec![a1_id, a2_id]);
        assert_eq!(rooms.members("b"), vec![b1_id]);
        assert_eq!(rooms.names(), ["a", "b"]);
        assert_eq!(rooms.rooms_of(a2_id), ["a"]);

        a1.send("hello a").await.unwrap();
        assert_eq!(next_text(&mut a2).await, "hello a");
        // A message to everybody is the next thing each one gets: b1 never
        // saw room a's message, a1 never saw its own.
        let d = rooms.all().send("to all");
        assert_eq!(d.queued, 3);
        for c in [&mut a1, &mut a2, &mut b1] {
            assert_eq!(next_text(c).await, "to all");
        }
        // Send to one, by id.
        rooms.send_to(b1_id, "just b1").unwrap();
        assert_eq!(next_text(&mut b1).await, "just b1");
        rooms.all().except(b1_id).send("not b1");
        rooms.to("b").send("b again");
        assert_eq!(next_text(&mut a1).await, "not b1");
        assert_eq!(next_text(&mut b1).await, "b again");
        // Unknown ids and bad room names are typed errors.
        let e = rooms.send_to(999_999, "x").unwrap_err();
        assert_eq!(e.kind(), rtwire::ErrorKind::Closed);
        assert_eq!(
            rooms.try_join(a1_id, "").unwrap_err().kind(),
            rtwire::ErrorKind::InvalidArgument
        );
        assert_eq!(
            rooms.close(a1_id, 1005, "").unwrap_err().kind(),
            rtwire::ErrorKind::InvalidArgument
        );
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_follows_joins_leaves_and_ends() {
    guard(async {
        let events = Arc::new(Mutex::new(Vec::<String>::new()));
        let server = Server::start(ServerOptions::new().route("/chat", chat))
            .await
            .unwrap();
        let log = events.clone();
        server.set_observer(Arc::new(move |ev: &ServerEvent| match ev {
            ServerEvent::Joined { id, room } => log.lock().unwrap().push(format!("+{id} {room}")),
            ServerEvent::Left { id, room } => log.lock().unwrap().push(format!("-{id} {room}")),
            _ => {}
        }));
        let (a, a_id) = join(&server, "lobby").await;
        let (mut b, b_id) = join(&server, "lobby").await;
        let rooms = server.rooms();
        assert!(rooms.join(b_id, "extra"));
        assert!(!rooms.join(b_id, "extra"), "already a member");
        assert!(rooms.leave(b_id, "extra"));
        assert!(!rooms.leave(b_id, "extra"));
        a.close(1000, "bye").unwrap();
        drop(a);
        // The leave on close happens before the server's side ends.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while rooms.is_open(a_id) {
            assert!(tokio::time::Instant::now() < deadline, "a never ended");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(rooms.members("lobby"), vec![b_id]);
        assert!(rooms.rooms_of(a_id).is_empty());
        assert!(
            !rooms.join(a_id, "lobby"),
            "a closed connection joins nothing"
        );
        let log = events.lock().unwrap().clone();
        assert_eq!(
            log,
            [
                format!("+{a_id} lobby"),
                format!("+{b_id} lobby"),
                format!("+{b_id} extra"),
                format!("-{b_id} extra"),
                format!("-{a_id} lobby"),
            ]
        );
        b.close(1000, "").unwrap();
        while b.recv().await.is_some() {}
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_to_a_channel_reaches_its_room_and_its_subscribers() {
    guard(async {
        let server = Server::start(ServerOptions::new().route("/chat", chat))
            .await
            .unwrap();
        let (mut member, _) = join(&server, "news").await;
        let sub_url = format!("ws://{}/ws/news", server.local_addr());
        let mut sub = rtwire::connect(&sub_url, no_reconnect()).await.unwrap();
        // Wait until the subscriber is live on the channel.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while server
            .stats()
            .channels
            .iter()
            .all(|c| c.name != "news" || c.subscribers == 0)
        {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.publish("news", "extra!");
        assert_eq!(next_text(&mut member).await, "extra!");
        assert_eq!(next_text(&mut sub).await, "extra!");
        server.shutdown().await;
    })
    .await
}

/// A bare client in `room` that reads nothing until told to; its id.
async fn raw_member(server: &Server, room: &str) -> (RawWs, u64) {
    let url = format!("ws://{}/chat?room={room}", server.local_addr());
    let mut ws = raw_ws(&url).await;
    let first = ws.next().await.unwrap().unwrap();
    let id = first
        .to_text()
        .unwrap()
        .strip_prefix("id ")
        .unwrap()
        .parse()
        .unwrap();
    (ws, id)
}

/// Broadcasts `n` messages of 16 KiB to room `slow`, each one only after
/// the fast member has it (so the fast member is never behind), while the
/// slow member reads nothing.
async fn flood(server: &Server, fast: &mut Connection, n: usize) {
    let rooms = server.rooms();
    let payload = vec![7u8; 16 << 10];
    for i in 0..n {
        let mut m = payload.clone();
        m[..8].copy_from_slice(&(i as u64).to_be_bytes());
        rooms.to("slow").send(Data::from(m));
        let got = loop {
            match tokio::time::timeout(Duration::from_secs(10), fast.recv())
                .await
                .expect("the fast member is never held up")
                .expect("open")
            {
                Event::Message(m) => break m.data,
                Event::Open(_) => {}
                other => panic!("fast member: {other:?}"),
            }
        };
        assert_eq!(&got.as_bytes()[..8], &(i as u64).to_be_bytes());
    }
}

const FLOOD: usize = 1500; // 24 MiB: more than loopback buffers hold

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_disconnected_with_1008_and_the_others_get_everything() {
    guard(async {
        let cut = Arc::new(Mutex::new(Vec::new()));
        let opts = ServerOptions::new()
            .route("/chat", chat)
            .send_queue_bytes(64 << 10);
        let server = Server::start(opts).await.unwrap();
        let log = cut.clone();
        server.set_observer(Arc::new(move |ev: &ServerEvent| {
            if let ServerEvent::SlowConsumer {
                id, disconnected, ..
            } = ev
            {
                log.lock().unwrap().push((*id, *disconnected));
            }
        }));
        let (mut fast, _) = join(&server, "slow").await;
        let (mut slow, slow_id) = raw_member(&server, "slow").await;
        flood(&server, &mut fast, FLOOD).await;
        assert_eq!(*cut.lock().unwrap(), [(slow_id, true)], "reported once");
        assert!(!server.rooms().is_open(slow_id), "out of the rooms at once");
        assert_eq!(server.rooms().members("slow").len(), 1);
        // What the slow one reads now ends with close 1008.
        let mut got = 0usize;
        let code = loop {
            match tokio::time::timeout(Duration::from_secs(10), slow.next()).await {
                Ok(Some(Ok(WsMessage::Binary(_)))) => got += 1,
                Ok(Some(Ok(WsMessage::Close(Some(f))))) => break u16::from(f.code),
                Ok(Some(Ok(_))) => {}
                other => panic!("slow member: {other:?}"),
            }
        };
        assert_eq!(code, 1008);
        assert!(got < FLOOD, "it was cut off before the end ({got})");
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_slow_consumer_stays_and_gets_all_but_what_it_missed() {
    guard(async {
        let opts = ServerOptions::new()
            .route("/chat", chat)
            .send_queue_bytes(64 << 10)
            .slow_consumer(SlowConsumer::Skip);
        let server = Server::start(opts).await.unwrap();
        let (mut fast, _) = join(&server, "slow").await;
        let (mut slow, slow_id) = raw_member(&server, "slow").await;
        flood(&server, &mut fast, FLOOD).await;
        let missed = server.rooms().missed(slow_id);
        assert!(missed > 0, "the slow member missed some");
        // Once it reads again it gets the rest, in order, then a marker sent
        // with backpressure (waiting for room rather than failing).
        let sender = server.rooms().sender(slow_id).expect("still open");
        let marker = tokio::spawn(async move { sender.send("end").await });
        let mut got = 0u64;
        let mut last = None;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), slow.next()).await {
                Ok(Some(Ok(WsMessage::Binary(b)))) => {
                    let i = u64::from_be_bytes(b[..8].try_into().unwrap());
                    assert!(last.is_none_or(|l| i > l), "in order");
                    last = Some(i);
                    got += 1;
                }
                Ok(Some(Ok(WsMessage::Text(t)))) if t.as_str() == "end" => break,
                Ok(Some(Ok(_))) => {}
                other => panic!("slow member: {other:?}"),
            }
        }
        marker.await.unwrap().unwrap();
        assert_eq!(
            got + missed,
            FLOOD as u64,
            "nothing lost beyond what was counted"
        );
        slow.send(WsMessage::Close(None)).await.unwrap();
        server.shutdown().await;
    })
    .await
}

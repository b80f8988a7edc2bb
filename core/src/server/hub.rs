//! Named channels with bounded history and increasing ids, shared by every
//! server transport.
//!
//! Ids are `{epoch}-{seq}`: the epoch is drawn when the server starts, so a
//! client holding an id from before a restart (whose history is gone) is
//! recognised and told to start over rather than left waiting for ids that
//! will never come.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::broadcast;

use crate::message::Data;

/// One published message.
#[derive(Debug)]
pub(crate) struct Entry {
    pub seq: u64,
    pub id: String,
    pub data: Data,
    /// `{id}\n{payload}`, made once on first use and shared by every
    /// `rtwire.v1` WebSocket subscriber.
    pub framed: std::sync::OnceLock<bytes::Bytes>,
    /// The payload and the framed payload compressed by permessage-deflate
    /// (window 15, no context takeover), made once on first use and shared
    /// by every subscriber that negotiated it; `None` inside when
    /// compression does not shrink it.
    pub compressed: [std::sync::OnceLock<Option<bytes::Bytes>>; 2],
}

impl Entry {
    /// The payload prefixed with the id and a line feed.
    pub fn framed(&self) -> &bytes::Bytes {
        self.framed.get_or_init(|| {
            let mut b = bytes::BytesMut::with_capacity(self.id.len() + 1 + self.data.len());
            b.extend_from_slice(self.id.as_bytes());
            b.extend_from_slice(b"\n");
            b.extend_from_slice(self.data.as_bytes());
            b.freeze()
        })
    }

    /// The payload (`framed`: with its id) compressed once for every
    /// subscriber, or `None` when compression does not shrink it.
    pub fn compressed(&self, framed: bool) -> Option<&bytes::Bytes> {
        self.compressed[usize::from(framed)]
            .get_or_init(|| {
                let plain = if framed {
                    self.framed().as_ref()
                } else {
                    self.data.as_bytes()
                };
                crate::proto::deflate::compress(plain, 15)
            })
            .as_ref()
    }
}

/// What a subscriber that comes with a cursor is owed before live messages.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// The cursor belongs to another epoch or is ahead of the channel: the
    /// client must start over; `entries` then holds the whole history.
    pub reset: bool,
    /// Messages the client missed that are no longer in history.
    pub missed: u64,
    /// Messages to deliver, oldest first.
    pub entries: Vec<Arc<Entry>>,
}

/// A subscription: the replay, then live messages.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub replay: Replay,
    pub live: broadcast::Receiver<Arc<Entry>>,
    /// The id of the newest message at subscription time.
    pub head: Option<String>,
}

#[derive(Debug)]
struct State {
    next: u64,
    history: VecDeque<Arc<Entry>>,
    published: u64,
}

/// One channel.
#[derive(Debug)]
pub(crate) struct Channel {
    state: Mutex<State>,
    live: broadcast::Sender<Arc<Entry>>,
}

/// Per-channel figures.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelStats {
    /// The channel name.
    pub name: String,
    /// Messages published since the server started.
    pub published: u64,
    /// Messages kept in history.
    pub history: usize,
    /// Live subscribers (WebSocket, SSE, streaming, held polls).
    pub subscribers: usize,
}

/// All channels of a server.
#[derive(Debug)]
pub(crate) struct Hub {
    epoch: String,
    history: usize,
    live_capacity: usize,
    channels: RwLock<HashMap<String, Arc<Channel>>>,
}

/// Parses `epoch-seq`.
fn parse_cursor(cursor: &str) -> Option<(&str, u64)> {
    let (epoch, seq) = cursor.rsplit_once('-')?;
    Some((epoch, seq.parse().ok()?))
}

impl Hub {
    /// A hub keeping `history` messages per channel; a subscriber more than
    /// `live_capacity` messages behind is cut off.
    pub fn new(history: usize, live_capacity: usize) -> Hub {
        let epoch = format!("{:08x}", rand::random::<u32>());
        Hub {
            epoch,
            history,
            live_capacity: live_capacity.max(1),
            channels: RwLock::new(HashMap::new()),
        }
    }

    /// The epoch part of every id.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    fn channel(&self, name: &str) -> Arc<Channel> {
        if let Some(c) = self.channels.read().expect("hub lock").get(name) {
            return c.clone();
        }
        let mut w = self.channels.write().expect("hub lock");
        w.entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(Channel {
                    state: Mutex::new(State {
                        next: 1,
                        history: VecDeque::new(),
                        published: 0,
                    }),
                    live: broadcast::channel(self.live_capacity).0,
                })
            })
            .clone()
    }

    /// Publishes to `name`; returns the new id.
    pub fn publish(&self, name: &str, data: Data) -> String {
        let ch = self.channel(name);
        let mut st = ch.state.lock().expect("channel lock");
        let seq = st.next;
        st.next += 1;
        st.published += 1;
        let entry = Arc::new(Entry {
            seq,
            id: format!("{}-{seq}", self.epoch),
            data,
            framed: std::sync::OnceLock::new(),
            compressed: Default::default(),
        });
        st.history.push_back(entry.clone());
        while st.history.len() > self.history {
            st.history.pop_front();
        }
        // Sent under the lock: a subscriber's replay and its live stream
        // meet exactly, with nothing missing or repeated.
        let _ = ch.live.send(entry.clone());
        entry.id.clone()
    }

    /// Subscribes to `name`, replaying what the client with `cursor` missed.
    /// Without a cursor, only new messages come.
    pub fn subscribe(&self, name: &str, cursor: Option<&str>) -> Subscription {
        let ch = self.channel(name);
        let st = ch.state.lock().expect("channel lock");
        let live = ch.live.subscribe();
        let head = st.history.back().map(|e| e.id.clone());
        let replay = match cursor {
            None => Replay::default(),
            Some(c) => self.replay(&st, c),
        };
        Subscription { replay, live, head }
    }

    fn replay(&self, st: &State, cursor: &str) -> Replay {
        let last = st.next - 1;
        let everything = || st.history.iter().cloned().collect::<Vec<_>>();
        match parse_cursor(cursor) {
            Some((epoch, seq)) if epoch == self.epoch && seq <= last => {
                let oldest = st.history.front().map_or(last + 1, |e| e.seq);
                let missed = oldest.saturating_sub(seq + 1);
                Replay {
                    reset: false,
                    missed,
                    entries: st.history.iter().filter(|e| e.seq > seq).cloned().collect(),
                }
            }
            // Another epoch, ahead of the channel, or not ours at all.
            _ => Replay {
                reset: true,
                missed: 0,
                entries: everything(),
            },
        }
    }

    /// The newest message of a channel, if any.
    pub fn latest(&self, name: &str) -> Option<Arc<Entry>> {
        let ch = self.channels.read().expect("hub lock").get(name)?.clone();
        let st = ch.state.lock().expect("channel lock");
        st.history.back().cloned()
    }

    /// Figures for every channel.
    pub fn stats(&self) -> Vec<ChannelStats> {
        let r = self.channels.read().expect("hub lock");
        let mut v: Vec<_> = r
            .iter()
            .map(|(name, ch)| {
                let st = ch.state.lock().expect("channel lock");
                ChannelStats {
                    name: name.clone(),
                    published: st.published,
                    history: st.history.len(),
                    subscribers: ch.live.receiver_count(),
                }
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(r: &Replay) -> Vec<String> {
        r.entries
            .iter()
            .map(|e| e.data.as_text().unwrap().to_string())
            .collect()
    }

    #[test]
    fn replay_after_cursor_without_gaps_or_repeats() {
        let hub = Hub::new(10, 16);
        let ids: Vec<_> = (1..=5)
            .map(|i| hub.publish("c", format!("m{i}").into()))
            .collect();
        let sub = hub.subscribe("c", Some(&ids[1]));
        assert!(!sub.replay.reset);
        assert_eq!(sub.replay.missed, 0);
        assert_eq!(texts(&sub.replay), ["m3", "m4", "m5"]);
        assert_eq!(sub.head.as_deref(), Some(ids[4].as_str()));
        let sub = hub.subscribe("c", Some(&ids[4]));
        assert!(sub.replay.entries.is_empty());
    }

    #[test]
    fn a_client_behind_history_is_told_how_much_it_missed() {
        let hub = Hub::new(3, 16);
        let ids: Vec<_> = (1..=6)
            .map(|i| hub.publish("c", format!("m{i}").into()))
            .collect();
        let sub = hub.subscribe("c", Some(&ids[0]));
        assert_eq!(sub.replay.missed, 2, "m2 and m3 are gone");
        assert_eq!(texts(&sub.replay), ["m4", "m5", "m6"]);
    }

    #[test]
    fn foreign_epoch_or_future_cursor_resets() {
        let hub = Hub::new(10, 16);
        hub.publish("c", "a".into());
        for cursor in [
            "deadbeef-1".to_string(),
            format!("{}-99", hub.epoch()),
            "junk".into(),
        ] {
            let sub = hub.subscribe("c", Some(&cursor));
            assert!(sub.replay.reset, "{cursor}");
            assert_eq!(texts(&sub.replay), ["a"]);
        }
    }

    #[tokio::test]
    async fn live_messages_follow_the_replay() {
        let hub = Hub::new(10, 16);
        let first = hub.publish("c", "a".into());
        let mut sub = hub.subscribe("c", Some(&first));
        hub.publish("c", "b".into());
        let e = sub.live.recv().await.unwrap();
        assert_eq!(e.data.as_text(), Some("b"));
        assert_eq!(hub.stats()[0].subscribers, 1);
        assert_eq!(hub.stats()[0].published, 2);
    }
}

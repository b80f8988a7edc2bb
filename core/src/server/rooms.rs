//! Rooms: named sets of application connections, and sending to one
//! connection, to a room (optionally but one member) or to everybody.
//!
//! Every connection of an application route is registered here by its id
//! ([`Request::id`](super::Request::id)) while it is open, and leaves all
//! its rooms when it ends. A broadcast queues the same payload (a
//! reference-counted [`Data`], not a copy) on every receiver's outgoing
//! queue without waiting; a receiver whose queue is over its bound
//! (`send_queue_bytes`) is a slow consumer and is dealt with by the
//! server's [`SlowConsumer`] policy, so one slow client never holds up the
//! others and never makes the server's memory grow.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rtwire::Error> {
//! use rtwire::server::{Server, ServerOptions};
//! use rtwire::Event;
//!
//! let opts = ServerOptions::new().route("/chat", |mut conn, req| async move {
//!     let rooms = req.rooms();
//!     rooms.join(req.id, "lobby");
//!     while let Some(event) = conn.recv().await {
//!         if let Event::Message(m) = event {
//!             // Everybody in the lobby but the sender.
//!             rooms.to("lobby").except(req.id).send(m.data);
//!         }
//!     }
//! });
//! let server = Server::start(opts).await?;
//! server.rooms().all().send("server going down soon");
//! # Ok(()) }
//! ```

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::client::Sender;
use crate::error::{Error, ErrorKind};
use crate::message::Data;
use crate::session::link::CloseRequest;
use crate::session::queue::CloseHandle;

use super::{ServerEvent, Shared};

/// What a broadcast does with a receiver whose outgoing queue is over its
/// bound (`ServerOptions::send_queue_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SlowConsumer {
    /// Close it with 1008 (policy violation) after what it already has
    /// queued; it leaves its rooms at once. The others are not affected.
    /// The default.
    #[default]
    Disconnect,
    /// Leave it out of this message and count what it missed
    /// ([`Rooms::missed`], [`ServerEvent::SlowConsumer`]).
    Skip,
}

/// One registered connection.
#[derive(Debug)]
struct Member {
    sender: Sender,
    closer: CloseHandle,
    rooms: BTreeSet<String>,
    /// Broadcasts it was left out of (with [`SlowConsumer::Skip`]).
    missed: AtomicU64,
    /// A close for being slow was asked for already.
    cut: std::sync::atomic::AtomicBool,
}

/// Every member and every room of a server.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    members: HashMap<u64, Member>,
    rooms: HashMap<String, BTreeSet<u64>>,
}

impl Registry {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers connection `id`.
    pub fn register(&self, id: u64, sender: Sender, closer: CloseHandle) {
        self.write().members.insert(
            id,
            Member {
                sender,
                closer,
                rooms: BTreeSet::new(),
                missed: AtomicU64::new(0),
                cut: Default::default(),
            },
        );
    }

    /// Removes connection `id` from every room and from the registry;
    /// returns the rooms it was in.
    pub fn unregister(&self, id: u64) -> Vec<String> {
        let mut st = self.write();
        let Some(m) = st.members.remove(&id) else {
            return Vec::new();
        };
        for room in &m.rooms {
            st.leave_room(room, id);
        }
        m.rooms.into_iter().collect()
    }
}

impl State {
    fn leave_room(&mut self, room: &str, id: u64) {
        if let Some(set) = self.rooms.get_mut(room) {
            set.remove(&id);
            if set.is_empty() {
                self.rooms.remove(room);
            }
        }
    }
}

/// A handle on a running server's application connections and rooms:
/// [`Server::rooms`](super::Server::rooms), or
/// [`Request::rooms`](super::Request::rooms) in a handler. Cheap to clone.
#[derive(Clone)]
pub struct Rooms {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms").finish_non_exhaustive()
    }
}

fn check_room(room: &str) -> Result<(), Error> {
    if room.is_empty() || room.len() > 256 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("room names are 1 to 256 bytes; got {} bytes", room.len()),
        ));
    }
    Ok(())
}

impl Rooms {
    pub(crate) fn new(shared: Arc<Shared>) -> Rooms {
        Rooms { shared }
    }

    fn registry(&self) -> &Registry {
        &self.shared.rooms
    }

    /// Adds connection `id` to `room`; `true` when it was not in it yet
    /// (the observer then gets [`ServerEvent::Joined`]). `false` also for
    /// an id that is not open. Room names are 1 to 256 bytes of any text;
    /// an empty or longer name is refused as if the id were unknown: see
    /// [`Rooms::try_join`] for the error.
    pub fn join(&self, id: u64, room: &str) -> bool {
        self.try_join(id, room).unwrap_or(false)
    }

    /// As [`Rooms::join`], with errors.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for an empty room name or one over
    /// 256 bytes; [`ErrorKind::Closed`] when connection `id` is not open.
    pub fn try_join(&self, id: u64, room: &str) -> Result<bool, Error> {
        check_room(room)?;
        let added = {
            let mut st = self.registry().write();
            let Some(m) = st.members.get_mut(&id) else {
                return Err(not_open(id));
            };
            if !m.rooms.insert(room.to_string()) {
                return Ok(false);
            }
            st.rooms.entry(room.to_string()).or_default().insert(id);
            true
        };
        self.shared.observe(ServerEvent::Joined {
            id,
            room: room.to_string(),
        });
        Ok(added)
    }

    /// Takes connection `id` out of `room`; `true` when it was in it (the
    /// observer then gets [`ServerEvent::Left`]).
    pub fn leave(&self, id: u64, room: &str) -> bool {
        let left = {
            let mut st = self.registry().write();
            let was = st
                .members
                .get_mut(&id)
                .is_some_and(|m| m.rooms.remove(room));
            if was {
                st.leave_room(room, id);
            }
            was
        };
        if left {
            self.shared.observe(ServerEvent::Left {
                id,
                room: room.to_string(),
            });
        }
        left
    }

    /// The rooms connection `id` is in, sorted (empty for an id that is not
    /// open).
    pub fn rooms_of(&self, id: u64) -> Vec<String> {
        self.registry()
            .read()
            .members
            .get(&id)
            .map(|m| m.rooms.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The ids of the members of `room`, in increasing order.
    pub fn members(&self, room: &str) -> Vec<u64> {
        self.registry()
            .read()
            .rooms
            .get(room)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Every room with at least one member, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<_> = self.registry().read().rooms.keys().cloned().collect();
        v.sort();
        v
    }

    /// The ids of every open application connection, in increasing order.
    pub fn connections(&self) -> Vec<u64> {
        let mut v: Vec<_> = self.registry().read().members.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Whether connection `id` is open.
    pub fn is_open(&self, id: u64) -> bool {
        self.registry().read().members.contains_key(&id)
    }

    /// Broadcasts connection `id` was left out of as a slow consumer.
    pub fn missed(&self, id: u64) -> u64 {
        self.registry()
            .read()
            .members
            .get(&id)
            .map_or(0, |m| m.missed.load(Ordering::Relaxed))
    }

    /// A handle on one connection's outgoing queue, for sending to it from
    /// anywhere with the client's backpressure (`send` waits while the
    /// queue is over its bound, `try_send` hands the message back).
    pub fn sender(&self, id: u64) -> Option<Sender> {
        self.registry()
            .read()
            .members
            .get(&id)
            .map(|m| m.sender.clone())
    }

    /// Queues `data` for connection `id` without waiting.
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] when `id` is not open,
    /// [`ErrorKind::QueueFull`] when its queue is over its bound; the
    /// message is handed back in both ([`Error::take_unsent`]).
    pub fn send_to(&self, id: u64, data: impl Into<Data>) -> Result<(), Error> {
        let data = data.into();
        match self.sender(id) {
            Some(s) => s.try_send(data),
            None => Err(not_open(id).with_unsent(data)),
        }
    }

    /// Closes connection `id` with `code` and `reason` after what it has
    /// queued; `false` when it is not open.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for a code an application may not
    /// send or a reason over 123 bytes (see
    /// [`Connection::close`](crate::Connection::close)).
    pub fn close(&self, id: u64, code: u16, reason: &str) -> Result<bool, Error> {
        crate::client::check_close(code, reason)?;
        let st = self.registry().read();
        let Some(m) = st.members.get(&id) else {
            return Ok(false);
        };
        m.closer.request(CloseRequest {
            code,
            reason: reason.to_string(),
        });
        Ok(true)
    }

    /// Publishes `data` to channel `channel` as [`Server::try_publish`]
    /// does (history, the channel's WebSocket, SSE, poll and stream
    /// subscribers, and the members of the room of that name); returns the
    /// message id.
    ///
    /// [`Server::try_publish`]: super::Server::try_publish
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for an invalid channel name (see
    /// [`validate_channel`](super::validate_channel)).
    pub fn publish(&self, channel: &str, data: impl Into<Data>) -> Result<String, Error> {
        super::validate_channel(channel)?;
        Ok(self.shared.publish(channel, data.into()))
    }

    /// A broadcast to the members of `room`.
    pub fn to(&self, room: &str) -> Broadcast<'_> {
        Broadcast {
            rooms: self,
            room: Some(room.to_string()),
            except: Vec::new(),
        }
    }

    /// A broadcast to every open application connection.
    pub fn all(&self) -> Broadcast<'_> {
        Broadcast {
            rooms: self,
            room: None,
            except: Vec::new(),
        }
    }

    /// Sends `data` to the members of `room` (every open application
    /// connection for `None`) but the connections of `except`: the one
    /// call behind `to(room).except(..).send(..)` for callers that hold
    /// the room and the ids as values.
    pub fn broadcast(
        &self,
        room: Option<&str>,
        except: impl IntoIterator<Item = u64>,
        data: impl Into<Data>,
    ) -> Delivery {
        Broadcast {
            rooms: self,
            room: room.map(str::to_string),
            except: except.into_iter().collect(),
        }
        .send(data)
    }
}

fn not_open(id: u64) -> Error {
    Error::new(ErrorKind::Closed, format!("connection {id} is not open"))
}

/// A message to many connections: built by [`Rooms::to`] or [`Rooms::all`],
/// sent by [`Broadcast::send`].
#[derive(Debug)]
#[must_use = "a broadcast does nothing until it is sent"]
pub struct Broadcast<'a> {
    rooms: &'a Rooms,
    room: Option<String>,
    except: Vec<u64>,
}

/// What a broadcast did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Delivery {
    /// Receivers it was queued for.
    pub queued: usize,
    /// Slow consumers left out of it ([`SlowConsumer::Skip`]).
    pub skipped: usize,
    /// Slow consumers being closed ([`SlowConsumer::Disconnect`]).
    pub disconnected: usize,
}

impl Broadcast<'_> {
    /// Leaves connection `id` out (the sender, typically); may be called
    /// more than once.
    pub fn except(mut self, id: u64) -> Self {
        self.except.push(id);
        self
    }

    /// Queues `data` for every receiver without waiting: the same payload
    /// bytes for all of them, not a copy each. A receiver over its queue
    /// bound is dealt with by the server's [`SlowConsumer`] policy.
    pub fn send(self, data: impl Into<Data>) -> Delivery {
        let data = data.into();
        let shared = &self.rooms.shared;
        let policy = shared.opts.slow_consumer;
        let mut done = Delivery::default();
        let mut slow = Vec::new();
        {
            let st = self.rooms.registry().read();
            let mut deliver = |id: u64, m: &Member| {
                if self.except.contains(&id) || m.cut.load(Ordering::Relaxed) {
                    return;
                }
                match m.sender.try_send(data.clone()) {
                    Ok(()) => done.queued += 1,
                    Err(e) if e.kind() == ErrorKind::QueueFull => {
                        match policy {
                            SlowConsumer::Skip => {
                                m.missed.fetch_add(1, Ordering::Relaxed);
                                done.skipped += 1;
                            }
                            SlowConsumer::Disconnect => {
                                m.cut.store(true, Ordering::Relaxed);
                                m.closer.request(CloseRequest {
                                    code: 1008,
                                    reason: "slow consumer: the send queue is full".into(),
                                });
                                done.disconnected += 1;
                            }
                        }
                        slow.push(id);
                    }
                    // Closing already: not a receiver any more.
                    Err(_) => {}
                }
            };
            match &self.room {
                Some(room) => {
                    if let Some(ids) = st.rooms.get(room) {
                        for id in ids {
                            if let Some(m) = st.members.get(id) {
                                deliver(*id, m);
                            }
                        }
                    }
                }
                None => {
                    for (id, m) in &st.members {
                        deliver(*id, m);
                    }
                }
            }
        }
        for id in slow {
            let disconnected = policy == SlowConsumer::Disconnect;
            shared.observe(ServerEvent::SlowConsumer {
                id,
                room: self.room.clone(),
                disconnected,
            });
            // Being closed: out of every room and broadcast at once, not
            // only once its socket has taken what it still has queued.
            if disconnected {
                for room in shared.rooms.unregister(id) {
                    shared.observe(ServerEvent::Left { id, room });
                }
            }
        }
        done
    }
}

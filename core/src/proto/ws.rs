//! The WebSocket session rules both sides share, without I/O: when to ping,
//! when the peer is dead, how the close handshake runs and how a session
//! ended; and which close code answers which fault (the frames themselves
//! are in [`super::frame`]). The client (`transport::ws`) and the server
//! (`server::ws`) drive it with tokio; the time is always passed in, never
//! read here.

use std::time::{Duration, Instant};

/// A close frame's content: code and reason, or `None` for a frame without
/// a status (reported as 1005).
pub(crate) type Closing = Option<(u16, String)>;

/// What is due when [`Liveness::deadline`] passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Nothing yet (the peer was heard from since; the deadline moved).
    Nothing,
    /// Send a ping now.
    Ping,
    /// The peer did not answer a ping in time: it is dead.
    Dead,
    /// The close handshake did not finish in time: drop the connection.
    CloseWaitOver,
}

/// How a session's close handshake ended (see [`Liveness::ending`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// We closed and the peer answered with this frame: clean.
    Answered(Closing),
    /// We closed with this code and reason; the peer never answered.
    Unanswered(u16, String),
    /// The peer closed first, with this frame.
    PeerClosed(Closing),
    /// Neither side sent a close frame: the connection was lost.
    Lost,
}

/// Keepalive and close-handshake state of one WebSocket session.
///
/// Keepalive: after `interval` without hearing from the peer, ping; when
/// nothing arrives within `timeout` after the ping, the peer is dead. Any
/// frame counts as life. The deadline is moved lazily: hearing from the
/// peer only sets a flag (no clock read, no timer), and the idle check that
/// finds it re-arms for an interval later. So a peer is pinged between one
/// and two intervals after it fell silent.
#[derive(Debug)]
pub(crate) struct Liveness {
    interval: Option<Duration>,
    timeout: Duration,
    close_timeout: Duration,
    /// The peer was heard from since the last deadline.
    heard: bool,
    ping_sent: Option<Instant>,
    idle_at: Option<Instant>,
    /// We are closing: until when we wait, and what the application asked
    /// (`None` when we only answer the peer's close).
    closing: Option<(Instant, Option<(u16, String)>)>,
    /// The peer's close frame, once it came.
    peer_close: Option<Closing>,
}

impl Liveness {
    /// A session opened at `now`.
    pub(crate) fn new(
        now: Instant,
        interval: Option<Duration>,
        timeout: Duration,
        close_timeout: Duration,
    ) -> Liveness {
        Liveness {
            interval,
            timeout,
            close_timeout,
            heard: false,
            ping_sent: None,
            idle_at: interval.map(|iv| now + iv),
            closing: None,
            peer_close: None,
        }
    }

    /// A frame (any frame) arrived at `now`.
    pub(crate) fn heard(&mut self) {
        self.heard = true;
        self.ping_sent = None;
    }

    /// When something is due next, if ever: the end of the close wait, the
    /// end of the pong wait, or the idle check.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match (&self.closing, self.ping_sent) {
            (Some((d, _)), _) => Some(*d),
            (None, Some(t)) => Some(t + self.timeout),
            (None, None) => self.idle_at,
        }
    }

    /// The deadline passed at `now`: what to do.
    pub(crate) fn on_deadline(&mut self, now: Instant) -> Due {
        if self.closing.is_some() {
            return Due::CloseWaitOver;
        }
        if self.ping_sent.is_some() {
            return Due::Dead;
        }
        let Some(iv) = self.interval else {
            return Due::Nothing;
        };
        if std::mem::take(&mut self.heard) {
            self.idle_at = Some(now + iv);
            return Due::Nothing;
        }
        self.ping_sent = Some(now);
        self.idle_at = Some(now + iv);
        Due::Ping
    }

    /// How long to wait for a pong.
    pub(crate) fn pong_timeout(&self) -> Duration {
        self.timeout
    }

    /// We sent our close frame at `now` (`request`: what the application
    /// asked for, if it did).
    pub(crate) fn we_closed(&mut self, now: Instant, request: Option<(u16, String)>) {
        self.closing = Some((now + self.close_timeout, request));
    }

    /// The peer's close frame arrived at `now` (its reply was queued).
    pub(crate) fn peer_closed(&mut self, now: Instant, frame: Closing) {
        self.peer_close = Some(frame);
        if self.closing.is_none() {
            self.closing = Some((now + self.close_timeout, None));
        }
    }

    /// A close handshake is under way: messages are no longer written.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.is_some()
    }

    /// Whether the application may still ask to close (neither side has
    /// started the close handshake).
    pub(crate) fn may_close(&self) -> bool {
        self.closing.is_none() && self.peer_close.is_none()
    }

    /// How the session ended, once the stream or the close wait is over.
    pub(crate) fn ending(&mut self) -> Ending {
        let asked = self.closing.take().and_then(|(_, req)| req);
        match (asked, self.peer_close.take()) {
            (Some(_), Some(frame)) => Ending::Answered(frame),
            (Some((code, reason)), None) => Ending::Unanswered(code, reason),
            (None, Some(frame)) => Ending::PeerClosed(frame),
            (None, None) => Ending::Lost,
        }
    }
}

/// What the peer did wrong, and the close code that tells it (RFC 6455
/// §7.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A message or frame over the limit: 1009.
    TooLarge(String),
    /// Invalid UTF-8 in a text message or a close reason: 1007.
    Utf8(String),
    /// Any other violation of RFC 6455: 1002.
    Protocol(String),
}

impl Fault {
    /// The close code to send for it.
    pub(crate) fn close_code(&self) -> u16 {
        match self {
            Fault::TooLarge(_) => 1009,
            Fault::Utf8(_) => 1007,
            Fault::Protocol(_) => 1002,
        }
    }

    /// The close frame's short reason for it.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Fault::TooLarge(_) => "message too big",
            Fault::Utf8(_) => "invalid UTF-8",
            Fault::Protocol(_) => "protocol error",
        }
    }

    /// What happened, for the error.
    pub(crate) fn message(&self) -> &str {
        match self {
            Fault::TooLarge(m) | Fault::Utf8(m) | Fault::Protocol(m) => m,
        }
    }
}

/// Whether a close code from the peer means "do not come back".
pub(crate) fn is_final_close(code: u16) -> bool {
    matches!(code, 1000 | 1002 | 1003 | 1007 | 1008 | 1009 | 1010)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn pings_after_silence_and_declares_a_silent_peer_dead() {
        let t0 = Instant::now();
        let mut l = Liveness::new(t0, Some(10 * S), 5 * S, 2 * S);
        assert_eq!(l.deadline(), Some(t0 + 10 * S));
        // Heard from the peer before 10 s: the idle check at 10 s re-arms
        // to 20 s.
        l.heard();
        assert_eq!(l.on_deadline(t0 + 10 * S), Due::Nothing);
        assert_eq!(l.deadline(), Some(t0 + 20 * S));
        assert_eq!(l.on_deadline(t0 + 20 * S), Due::Ping);
        assert_eq!(l.deadline(), Some(t0 + 25 * S));
        assert_eq!(l.on_deadline(t0 + 25 * S), Due::Dead);
        // A pong in time clears the wait.
        let mut l = Liveness::new(t0, Some(10 * S), 5 * S, 2 * S);
        assert_eq!(l.on_deadline(t0 + 10 * S), Due::Ping);
        l.heard();
        assert_eq!(l.deadline(), Some(t0 + 20 * S));
    }

    #[test]
    fn without_an_interval_nothing_is_due() {
        let t0 = Instant::now();
        let l = Liveness::new(t0, None, 5 * S, 2 * S);
        assert_eq!(l.deadline(), None);
    }

    #[test]
    fn close_handshake_endings() {
        let t0 = Instant::now();
        let mut l = Liveness::new(t0, Some(10 * S), 5 * S, 2 * S);
        assert!(l.may_close());
        l.we_closed(t0, Some((1000, "bye".into())));
        assert!(l.is_closing() && !l.may_close());
        assert_eq!(l.deadline(), Some(t0 + 2 * S));
        l.peer_closed(t0 + S, Some((1000, "ok".into())));
        assert_eq!(l.ending(), Ending::Answered(Some((1000, "ok".into()))));

        let mut l = Liveness::new(t0, Some(10 * S), 5 * S, 2 * S);
        l.we_closed(t0, Some((4000, "x".into())));
        assert_eq!(l.on_deadline(t0 + 2 * S), Due::CloseWaitOver);
        assert_eq!(l.ending(), Ending::Unanswered(4000, "x".into()));

        let mut l = Liveness::new(t0, Some(10 * S), 5 * S, 2 * S);
        l.peer_closed(t0, None);
        assert!(l.is_closing() && !l.may_close());
        assert_eq!(l.ending(), Ending::PeerClosed(None));

        let mut l = Liveness::new(t0, None, 5 * S, 2 * S);
        assert_eq!(l.ending(), Ending::Lost);
    }

    #[test]
    fn faults_map_to_close_codes() {
        assert_eq!(Fault::TooLarge("x".into()).close_code(), 1009);
        assert_eq!(Fault::Utf8("x".into()).close_code(), 1007);
        assert_eq!(Fault::Protocol("x".into()).close_code(), 1002);
        assert!(is_final_close(1000) && !is_final_close(1001) && !is_final_close(1011));
    }
}

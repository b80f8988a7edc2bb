//! What a running transport session shares with the connection: the event
//! sink, the outgoing queue and the close request; and how a session ends.

use crate::error::Error;
use crate::event::{CloseInfo, Event};
use crate::session::events::EventTx;
use crate::session::queue::{CloseRx, QueueRx};

/// A close asked for by the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloseRequest {
    pub code: u16,
    pub reason: String,
}

/// The application stopped listening (the `Connection` was dropped).
#[derive(Debug)]
pub(crate) struct Abandoned;

/// The session side of a connection.
#[derive(Debug)]
pub(crate) struct Link {
    pub events: EventTx,
    pub outgoing: QueueRx,
    pub close_req: CloseRx,
}

impl Link {
    /// Delivers an event, waiting while the application's queue is full.
    pub async fn emit(&self, event: Event) -> Result<(), Abandoned> {
        self.events.send(event).await.map_err(|_| Abandoned)
    }
}

/// Waits until a close is requested. A dropped `Connection` counts as a
/// request to close with 1001 (going away).
pub(crate) async fn close_requested(rx: &mut CloseRx) -> CloseRequest {
    rx.requested().await
}

/// How a session ended.
#[derive(Debug)]
pub(crate) enum SessionEnd {
    /// Over for good without an error: the application closed, or the peer
    /// closed in a way that asks us not to come back (1000, 1008, ...).
    Closed(CloseInfo),
    /// Lost: reconnect if the policy allows.
    Lost { cause: Error, close: CloseInfo },
    /// A fatal error: report it, then close.
    Failed { error: Error, close: CloseInfo },
    /// The application dropped the connection.
    Abandoned,
}

impl SessionEnd {
    /// The end of a session the peer closed with `close`: for good when its
    /// code asks not to come back (1000, 1008, ...), else lost (a reconnect
    /// follows if the policy allows).
    pub(crate) fn peer_closed(close: CloseInfo) -> SessionEnd {
        if crate::proto::ws::is_final_close(close.code) {
            return SessionEnd::Closed(close);
        }
        let cause = Error::new(
            crate::error::ErrorKind::Closed,
            format!(
                "the peer closed the connection with code {} {}",
                close.code, close.reason
            )
            .trim_end()
            .to_string(),
        )
        .with_close_code(close.code);
        SessionEnd::Lost { cause, close }
    }
}

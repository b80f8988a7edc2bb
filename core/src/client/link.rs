//! What a running transport session shares with the connection: the event
//! sink, the outgoing queue and the close request; and how a session ends.

use tokio::sync::watch;

use crate::client::events::EventTx;
use crate::client::queue::QueueRx;
use crate::error::Error;
use crate::event::{CloseInfo, Event};

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
    pub close_req: watch::Receiver<Option<CloseRequest>>,
}

impl Link {
    /// Delivers an event, waiting while the application's queue is full.
    pub async fn emit(&self, event: Event) -> Result<(), Abandoned> {
        self.events.send(event).await.map_err(|_| Abandoned)
    }
}

/// Waits until a close is requested. A dropped `Connection` counts as a
/// request to close with 1001 (going away).
pub(crate) async fn close_requested(
    rx: &mut watch::Receiver<Option<CloseRequest>>,
) -> CloseRequest {
    loop {
        if let Some(req) = rx.borrow_and_update().clone() {
            return req;
        }
        if rx.changed().await.is_err() {
            return rx.borrow().clone().unwrap_or(CloseRequest {
                code: 1001,
                reason: String::new(),
            });
        }
    }
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

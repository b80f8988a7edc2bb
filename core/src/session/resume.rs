//! What a connection carries from one session to the next so that a new
//! session resumes where the last one stopped: the SSE parser (last event
//! id, reconnection time), the long-poll cursor, the short-poll validators,
//! and a delay the server asked for.

use std::time::Duration;

use crate::proto::sse::SseParser;
use crate::reconnect::Reconnect;

/// Resume state of one connection, owned by its reconnect loop.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    /// SSE: one parser follows the event source across reconnections.
    /// Boxed: most connections are not SSE and should not carry it.
    pub sse: Option<Box<SseParser>>,
    /// Long polling: the cursor of the next request.
    pub cursor: Option<String>,
    /// Short polling: `ETag` of the last delivered response.
    pub etag: Option<String>,
    /// Short polling: `Last-Modified` of the last delivered response.
    pub last_modified: Option<String>,
    /// Short polling: the body of the last delivered response, kept only
    /// when it came without an `ETag` (to skip an identical body).
    pub last_body: Option<bytes::Bytes>,
    /// A delay the server asked for once (`Retry-After`).
    pub server_delay: Option<Duration>,
}

impl Resume {
    /// The wait before reconnect attempt `attempt` (1-based): a delay the
    /// server asked for wins; then the SSE reconnection time (exactly, on
    /// the first attempt; never less than the policy's backoff after);
    /// otherwise the policy.
    pub fn delay(&mut self, policy: &Reconnect, attempt: u32) -> Duration {
        if let Some(d) = self.server_delay.take() {
            return d.min(policy.max_delay.max(d.min(Duration::from_secs(3600))));
        }
        match self.sse.as_ref().and_then(|p| p.retry()) {
            Some(r) if attempt <= 1 => r,
            Some(r) => r.max(policy.delay(attempt)),
            None => policy.delay(attempt),
        }
    }
}

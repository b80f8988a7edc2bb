//! What a client session is made of, below the connection and above the
//! transports: the bounded event channel to the application, the bounded
//! outgoing queue, the link a transport's session is handed (events out,
//! messages in, close requests), and the resume state that survives a
//! reconnect. The transports (`crate::transport`) depend on this, and the
//! connection (`crate::client`) on both; nothing here depends on either.

pub(crate) mod events;
pub(crate) mod link;
pub(crate) mod queue;
pub(crate) mod resume;

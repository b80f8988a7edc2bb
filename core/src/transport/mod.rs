//! Transports: each opens a session over the network and runs it against the
//! connection's [`Link`]. One file per transport; the reconnect loop, queues
//! and events they share live in [`crate::client`].

use std::sync::Arc;

use crate::client::link::{Link, SessionEnd};
use crate::error::{Error, ErrorKind};
use crate::event::OpenInfo;
use crate::options::{Options, Transport};
use crate::target::Target;

pub(crate) mod ws;

/// Everything needed to open a session again and again.
#[derive(Debug)]
pub(crate) struct Plan {
    pub target: Target,
    pub transport: Transport,
    pub options: Arc<Options>,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// An open session of some transport.
#[derive(Debug)]
pub(crate) enum Session {
    WebSocket(ws::WsSession),
}

impl Plan {
    /// Checks the options and prepares TLS once for all attempts.
    pub fn new(url: &str, options: Options) -> Result<Plan, Error> {
        options.validate()?;
        let (target, transport) = crate::target::parse(url, options.transport)?;
        let alpn: &[&[u8]] = match transport {
            Transport::WebSocket => &[b"http/1.1"],
            _ => &[],
        };
        let tls = if target.tls {
            Some(crate::tls::client_config(&options.tls, alpn)?)
        } else {
            None
        };
        Ok(Plan {
            target,
            transport,
            options: Arc::new(options),
            tls,
        })
    }

    /// Opens one session, within `open_timeout`.
    pub async fn open(&self) -> Result<(Session, OpenInfo), Error> {
        let limit = self.options.open_timeout;
        let attempt = async {
            match self.transport {
                Transport::WebSocket => ws::open(self)
                    .await
                    .map(|(s, info)| (Session::WebSocket(s), info)),
                other => Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("the {other} transport is not available in this build yet"),
                )),
            }
        };
        match tokio::time::timeout(limit, attempt).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "opening {} did not finish within {} ms (open_timeout)",
                    self.target.display(),
                    limit.as_millis()
                ),
            )),
        }
    }
}

impl Session {
    /// Runs the session until it ends.
    pub async fn run(self, link: &mut Link, options: &Options) -> SessionEnd {
        match self {
            Session::WebSocket(s) => s.run(link, options).await,
        }
    }
}

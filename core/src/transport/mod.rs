//! Transports: each opens a session over the network and runs it against the
//! connection's [`Link`]. One file per transport; the queues, events and
//! resume state they share live in `crate::session`, the reconnect loop in
//! `crate::client`, the HTTP plumbing in [`crate::http`].

use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::event::OpenInfo;
use crate::http::HttpClient;
use crate::options::{Options, Transport};
use crate::proxy::ProxyConfig;
use crate::session::link::{Link, SessionEnd};
use crate::session::resume::Resume;
use crate::target::Target;

pub(crate) mod auto;
pub(crate) mod frames;
pub(crate) mod long_poll;
pub(crate) mod poll;
pub(crate) mod sse;
pub(crate) mod stream;
pub(crate) mod ws;

/// Everything needed to open a session again and again.
#[derive(Debug)]
pub(crate) struct Plan {
    pub target: Target,
    pub transport: Transport,
    pub options: Arc<Options>,
    /// TLS for WebSocket (`wss`, and `https://` proxies).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Proxy selection for WebSocket (the HTTP transports hand theirs to
    /// reqwest).
    pub proxy: ProxyConfig,
    /// The HTTP client of the HTTP transports.
    pub http: Option<HttpClient>,
    /// Fallback state of `transport=auto` on http(s).
    pub auto: Option<Box<auto::Auto>>,
    /// The host whose loop drives the connection, if any.
    #[cfg(unix)]
    pub hosted_by: Option<crate::hosted::HostRef>,
}

/// An open session of some transport.
#[derive(Debug)]
pub(crate) enum Session {
    WebSocket(ws::WsSession),
    Sse(sse::SseSession),
    LongPoll(long_poll::LongPollSession),
    Poll(poll::PollSession),
    Stream(stream::StreamSession),
}

impl Session {
    /// Whether the session itself knows where sends go (an rtwire route
    /// over SSE or streaming), so that `send` works without a `send_url`.
    pub fn sends_itself(&self) -> bool {
        match self {
            Session::Sse(s) => s.sends_itself(),
            Session::Stream(s) => s.sends_itself(),
            Session::LongPoll(s) => s.sends_itself(),
            _ => false,
        }
    }
}

impl Plan {
    /// The host whose loop drives this connection, if any.
    #[cfg(unix)]
    pub fn host(&self) -> Option<&crate::hosted::HostRef> {
        self.hosted_by.as_ref()
    }

    /// No hosts off unix.
    #[cfg(not(unix))]
    pub fn host(&self) -> Option<&std::convert::Infallible> {
        None
    }

    /// Checks the options and prepares TLS and HTTP once for all attempts.
    pub fn new(url: &str, options: Options) -> Result<Plan, Error> {
        options.validate()?;
        let (target, transport) = crate::target::parse(url, options.transport)?;
        let mut proxy = ProxyConfig::Direct;
        let (tls, http) = match transport {
            Transport::WebSocket => {
                proxy = ProxyConfig::from_process_env(&options.proxy)?;
                let tls = if target.tls || proxy.may_use_tls_proxy() {
                    Some(crate::tls::client_config(&options.tls, &[b"http/1.1"])?)
                } else {
                    None
                };
                (tls, None)
            }
            _ => {
                // Redirects may lead to https: always prepare TLS.
                let cfg = crate::tls::client_config(&options.tls, &[b"h2", b"http/1.1"])?;
                let http = HttpClient::new(&target, &options, (*cfg).clone())?;
                (None, Some(http))
            }
        };
        if let Some(u) = &options.http.send_url {
            crate::target::parse(u, Transport::Sse).map_err(|e| {
                Error::new(ErrorKind::InvalidUrl, format!("send_url: {}", e.message()))
            })?;
        }
        Ok(Plan {
            target,
            transport,
            options: Arc::new(options),
            tls,
            proxy,
            http,
            auto: (transport == Transport::Auto).then(Box::default),
            #[cfg(unix)]
            hosted_by: None,
        })
    }

    /// Why `send` cannot work on this connection, if it cannot.
    pub fn send_refusal(&self) -> Option<String> {
        let active = self.active();
        match active.transport {
            Transport::WebSocket => None,
            // Auto on a plain event stream.
            Transport::Auto if active.options.http.send_url.is_none() => {
                Some("the sse transport receives only: set a send_url to send with POST".into())
            }
            t if active.options.http.send_url.is_none() => Some(format!(
                "the {t} transport receives only: set a send_url to send with POST"
            )),
            _ => None,
        }
    }

    /// The plan of the session in use: for `auto` after negotiation, the
    /// chosen candidate; otherwise this plan.
    pub fn active(&self) -> &Plan {
        self.auto.as_ref().and_then(|a| a.active()).unwrap_or(self)
    }

    /// The HTTP client (HTTP transports only).
    pub fn http(&self) -> &HttpClient {
        self.http
            .as_ref()
            .expect("HTTP transports always have a client")
    }

    /// Opens one session, within `open_timeout`; for long polling within
    /// `open_timeout + long_poll_timeout`, as the session opens with the
    /// first answer and the server may hold it (connecting alone is still
    /// bounded by `open_timeout`).
    pub async fn open(&self, resume: &mut Resume) -> Result<(Session, OpenInfo), Error> {
        if self.transport == Transport::Auto {
            // Each step bounds itself (negotiation, then each candidate).
            return auto::open(self, resume).await;
        }
        let limit = match self.transport {
            Transport::LongPoll => self
                .options
                .open_timeout
                .saturating_add(self.options.http.long_poll_timeout),
            _ => self.options.open_timeout,
        };
        let attempt = async {
            match self.transport {
                Transport::WebSocket => ws::open(self, resume)
                    .await
                    .map(|(s, info)| (Session::WebSocket(s), info)),
                Transport::Sse => sse::open(self, resume)
                    .await
                    .map(|(s, info)| (Session::Sse(s), info)),
                Transport::LongPoll => long_poll::open(self, resume)
                    .await
                    .map(|(s, info)| (Session::LongPoll(s), info)),
                Transport::Poll => poll::open(self, resume)
                    .await
                    .map(|(s, info)| (Session::Poll(s), info)),
                Transport::Stream => stream::open(self, resume)
                    .await
                    .map(|(s, info)| (Session::Stream(s), info)),
                Transport::Auto => Err(Error::new(
                    ErrorKind::Internal,
                    "the transport was not resolved from the URL",
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
    pub async fn run(self, link: &mut Link, plan: &Plan, resume: &mut Resume) -> SessionEnd {
        let plan = plan.active();
        match self {
            Session::WebSocket(s) => s.run(link, &plan.options, resume).await,
            // Boxed: inline, the larger SSE future would size every
            // connection's task, WebSocket ones included.
            Session::Sse(s) => Box::pin(s.run(link, plan, resume)).await,
            Session::LongPoll(s) => Box::pin(s.run(link, plan, resume)).await,
            Session::Poll(s) => Box::pin(s.run(link, plan, resume)).await,
            Session::Stream(s) => Box::pin(s.run(link, plan, resume)).await,
        }
    }
}

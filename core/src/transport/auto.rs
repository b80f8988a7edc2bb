//! `transport=auto` on an http(s) URL: one GET that accepts either an rtwire
//! negotiate document or an event stream. An event stream is used as SSE
//! (any SSE server works); a negotiate document lists the server's
//! transports, which are tried in order — WebSocket, then SSE with POST for
//! sends, then long polling — moving down when one cannot be established
//! (a proxy refusing the upgrade, say) and staying there for reconnects.
//! The position in the channel carries over when the transport changes, so
//! nothing is lost or repeated across a fallback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use reqwest::header::CONTENT_TYPE;
use url::Url;

use crate::error::{Error, ErrorKind};
use crate::event::OpenInfo;
use crate::http;
use crate::options::{Cursor, CursorFrom, Options, Transport};
use crate::session::resume::Resume;
use crate::transport::{sse, Plan, Session};

/// Media type of the negotiate document.
pub(crate) const NEGOTIATE_TYPE: &str = "application/vnd.rtwire.negotiate+json";
const ACCEPT: &str = "application/vnd.rtwire.negotiate+json, text/event-stream;q=0.9";

/// Fallback state of an auto connection.
#[derive(Debug, Default)]
pub(crate) struct Auto {
    /// The candidates from the negotiate document (set once).
    candidates: tokio::sync::OnceCell<Vec<Plan>>,
    /// The candidate in use; attempts start here.
    current: AtomicUsize,
    /// The transport of the last session that opened: its position is the
    /// newest.
    last: Mutex<Option<Transport>>,
    /// The URL answered with an event stream: it is a plain SSE source.
    plain_sse: std::sync::atomic::AtomicBool,
}

impl Auto {
    /// The candidate plan in use, if negotiation happened.
    pub fn active(&self) -> Option<&Plan> {
        let c = self.candidates.get()?;
        c.get(self.current.load(Ordering::Relaxed))
    }
}

/// One entry of the negotiate document.
fn candidate(base: &Url, entry: &serde_json::Value, parent: &Plan) -> Option<Result<Plan, Error>> {
    let opts: &Options = &parent.options;
    let transport: Transport = entry.get("transport")?.as_str()?.parse().ok()?;
    if !matches!(
        transport,
        Transport::WebSocket | Transport::Sse | Transport::LongPoll
    ) {
        return None;
    }
    let session = entry.get("session").and_then(|v| v.as_bool()) == Some(true);
    let mut o = opts.clone().transport(transport);
    if session {
        // An application route: the client's own URL (its query is the
        // application's), upgraded or with `transport=sse|poll`; no
        // channel framing, and the server names where to send.
        let mut url = parent.target.url.clone();
        match transport {
            Transport::WebSocket => {
                let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
                url.set_scheme(scheme).ok()?;
            }
            Transport::Sse => {
                url.query_pairs_mut().append_pair("transport", "sse");
            }
            _ => {
                url.query_pairs_mut().append_pair("transport", "poll");
            }
        }
        o.rtwire_protocol = false;
        return Some(child(parent, url.as_str(), o));
    }
    let mut url = base.join(entry.get("url")?.as_str()?).ok()?;
    if transport == Transport::WebSocket {
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme).ok()?;
        o.rtwire_protocol = true;
    } else if let Some(send) = entry.get("send_url").and_then(|v| v.as_str()) {
        o.http.send_url = Some(base.join(send).ok()?.to_string());
    }
    if transport == Transport::LongPoll && o.http.cursor.is_none() {
        o.http.cursor = Some(Cursor::new(CursorFrom::JsonField("cursor".into())));
    }
    Some(child(parent, url.as_str(), o))
}

/// A candidate's plan: `url` with `o`, on the loop that hosts `parent`.
fn child(parent: &Plan, url: &str, o: Options) -> Result<Plan, Error> {
    Plan::new(url, o).map(|mut p| {
        #[cfg(unix)]
        {
            p.hosted_by = parent.hosted_by.clone();
        }
        p
    })
}

fn is_negotiate(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(NEGOTIATE_TYPE))
}

/// Moves the newest position to where the next transport reads it.
fn carry_over(auto: &Auto, resume: &mut Resume, to: &Plan) {
    let last = *auto.last.lock().expect("auto lock");
    let position = match last {
        Some(Transport::Sse) => resume
            .sse
            .as_ref()
            .map(|p| p.last_event_id().to_string())
            .filter(|s| !s.is_empty()),
        Some(_) => resume.cursor.clone(),
        None => None,
    };
    let Some(p) = position else { return };
    if to.transport == Transport::Sse {
        resume
            .sse
            .get_or_insert_with(|| Box::new(sse::parser(&to.options)))
            .set_last_event_id(p);
    } else {
        resume.cursor = Some(p);
    }
}

/// Opens a session of the first candidate that works.
pub(crate) async fn open(plan: &Plan, resume: &mut Resume) -> Result<(Session, OpenInfo), Error> {
    let auto = plan.auto.as_ref().expect("auto plans have fallback state");
    if auto.plain_sse.load(Ordering::Relaxed) {
        let (s, info) = sse::open(plan, resume).await?;
        return Ok((Session::Sse(s), info));
    }
    if auto.candidates.get().is_none() {
        let url = plan.target.display();
        let limit = plan.options.open_timeout;
        let first = async {
            let req = sse::request(plan, resume, ACCEPT);
            let mut resp = plan.http().send(req, &url).await?;
            if !(resp.status().is_success() && is_negotiate(&resp)) {
                let (s, info) = sse::accept(plan, resume, resp).await?;
                auto.plain_sse.store(true, Ordering::Relaxed);
                return Ok(Some((Session::Sse(s), info)));
            }
            let base = resp.url().clone();
            let body =
                http::read_body(&mut resp, 1 << 20, plan.options.http.read_timeout, &url).await?;
            let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                Error::new(
                    ErrorKind::Protocol,
                    format!("negotiate document from {url}: {e}"),
                )
            })?;
            let list = doc
                .get("transports")
                .and_then(|t| t.as_array())
                .cloned()
                .unwrap_or_default();
            let plans = list
                .iter()
                .filter_map(|e| candidate(&base, e, plan))
                .collect::<Result<Vec<_>, _>>()?;
            if plans.is_empty() {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{url} offers no transport this client speaks"),
                ));
            }
            let _ = auto.candidates.set(plans);
            Ok(None)
        };
        match tokio::time::timeout(limit, first).await {
            Ok(Ok(Some(sse_session))) => return Ok(sse_session),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("negotiating with {url} took over {} ms", limit.as_millis()),
                ))
            }
        }
    }
    let candidates = auto.candidates.get().expect("set above");
    let start = auto.current.load(Ordering::Relaxed);
    let mut failure = None;
    for (i, cand) in candidates.iter().enumerate().skip(start) {
        carry_over(auto, resume, cand);
        match Box::pin(cand.open(resume)).await {
            Ok(opened) => {
                auto.current.store(i, Ordering::Relaxed);
                *auto.last.lock().expect("auto lock") = Some(cand.transport);
                return Ok(opened);
            }
            Err(e) => failure = Some(e),
        }
    }
    // Nothing worked: the next attempt starts from the top again.
    auto.current.store(0, Ordering::Relaxed);
    Err(failure.expect("at least one candidate"))
}

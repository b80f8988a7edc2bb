//! Server-Sent Events (WHATWG HTML, "server-sent events"): a GET with
//! `Accept: text/event-stream` and `Last-Event-ID`, the body fed to the
//! sans-IO parser in [`crate::proto::sse`], which follows the source across
//! reconnections (last event id, `retry:`).

use reqwest::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use reqwest::{Method, Response, StatusCode};

use crate::error::{Error, ErrorKind};
use crate::event::Event;
use crate::event::OpenInfo;
use crate::http::{self, pump_events, Feed};
use crate::options::{Options, Transport};
use crate::proto::sse::{SseLimits, SseParser};
use crate::session::link::{Link, SessionEnd};
use crate::session::resume::Resume;
use crate::transport::Plan;

/// An open event stream.
#[derive(Debug)]
pub(crate) struct SseSession {
    resp: Response,
    url: String,
    /// Where an rtwire route session takes sends (its `rtwire-send`
    /// header), if it is one.
    send_url: Option<std::sync::Arc<str>>,
}

/// A parser with the connection's limits and initial Last-Event-ID.
pub(crate) fn parser(opts: &Options) -> SseParser {
    let limits = SseLimits::default()
        .max_line_length(opts.http.max_line)
        .max_data_size(opts.limits.max_message_size);
    let mut p = SseParser::new(limits);
    if let Some(id) = &opts.http.last_event_id {
        p.set_last_event_id(id.clone());
    }
    p
}

/// Whether a Content-Type's essence is `text/event-stream`.
fn is_event_stream(ctype: Option<&HeaderValue>) -> bool {
    ctype
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The SSE request: `Accept` as given, `Cache-Control: no-cache`, and
/// `Last-Event-ID` when the parser has one.
pub(crate) fn request(
    plan: &Plan,
    resume: &mut Resume,
    accept: &'static str,
) -> reqwest::RequestBuilder {
    let parser = resume
        .sse
        .get_or_insert_with(|| Box::new(parser(&plan.options)));
    let mut req = plan
        .http()
        .request(Method::GET, &plan.target.display())
        .header(ACCEPT, accept)
        .header(CACHE_CONTROL, "no-cache");
    if !parser.last_event_id().is_empty() {
        req = req.header("Last-Event-ID", parser.last_event_id());
    }
    req
}

/// Sends the request and checks the answer as the standard says: 200 with
/// `text/event-stream`, anything else fails the connection.
pub(crate) async fn open(
    plan: &Plan,
    resume: &mut Resume,
) -> Result<(SseSession, OpenInfo), Error> {
    let url = plan.target.display();
    let req = request(plan, resume, "text/event-stream");
    let resp = plan.http().send(req, &url).await?;
    accept(plan, resume, resp).await
}

/// Checks a response to an SSE request and makes it the session.
pub(crate) async fn accept(
    plan: &Plan,
    resume: &mut Resume,
    resp: Response,
) -> Result<(SseSession, OpenInfo), Error> {
    let opts = &plan.options;
    let url = plan.target.display();
    let status = resp.status();
    if status != StatusCode::OK {
        let retry_after = http::retry_after(resp.headers());
        let what = if status == StatusCode::NO_CONTENT {
            "event stream (204 No Content: the server asks not to reconnect)"
        } else {
            "event stream"
        };
        let mut e = http::refused(resp, &url, what).await;
        let retry = opts.http.retry_server_errors && http::is_retryable_status(status);
        if retry {
            resume.server_delay = retry_after;
        }
        e = e.with_retryable(retry);
        return Err(e);
    }
    if !is_event_stream(resp.headers().get(CONTENT_TYPE)) {
        let got = resp
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_else(|| "no Content-Type".into());
        let e = Error::new(
            ErrorKind::Handshake,
            format!(
                "{url} is not an event stream: expected Content-Type text/event-stream, got {got}"
            ),
        )
        .with_http(200, http::header_list(resp.headers()), None)
        .with_retryable(false);
        return Err(e);
    }
    let final_url = resp.url().to_string();
    let send_url = http::route_send_url(&resp);
    let info = OpenInfo {
        transport: Transport::Sse,
        url: final_url.clone(),
        protocol: None,
        headers: http::header_list(resp.headers()),
    };
    Ok((
        SseSession {
            resp,
            url: final_url,
            send_url,
        },
        info,
    ))
}

/// What an event of an rtwire route session (see the server's
/// `http_session`) asks of the client: `rtwire.session` names where sends
/// go, `rtwire.close` is the server's close. Other events are messages.
enum RouteEvent {
    Session(std::sync::Arc<str>),
    Close(crate::event::CloseInfo),
    Other,
}

fn route_event(ev: &crate::proto::sse::SseEvent, base: &str) -> RouteEvent {
    let field = |v: &serde_json::Value, k: &str| v.get(k).cloned();
    match ev.event.as_str() {
        "rtwire.session" => {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&ev.data) else {
                return RouteEvent::Other;
            };
            let send = field(&v, "send").and_then(|s| s.as_str().map(str::to_string));
            match send.and_then(|s| url::Url::parse(base).ok()?.join(&s).ok()) {
                Some(u) => RouteEvent::Session(u.as_str().into()),
                None => RouteEvent::Other,
            }
        }
        "rtwire.close" => {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&ev.data) else {
                return RouteEvent::Other;
            };
            let code = field(&v, "code")
                .and_then(|c| c.as_u64())
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(1005);
            let reason = field(&v, "reason")
                .and_then(|r| r.as_str().map(str::to_string))
                .unwrap_or_default();
            RouteEvent::Close(crate::event::CloseInfo {
                code,
                reason,
                clean: true,
                unsent: Vec::new(),
            })
        }
        _ => RouteEvent::Other,
    }
}

impl SseSession {
    /// Whether the server takes this session's sends (an rtwire route
    /// session), whatever `send_url` says.
    pub(crate) fn sends_itself(&self) -> bool {
        self.send_url.is_some()
    }

    /// Feeds the body to the parser and emits each dispatched event. The
    /// events of an rtwire route session are acted on instead: sends go
    /// where `rtwire.session` says, `rtwire.close` ends the session.
    pub(crate) async fn run(self, link: &mut Link, plan: &Plan, resume: &mut Resume) -> SessionEnd {
        let parser = resume
            .sse
            .get_or_insert_with(|| Box::new(parser(&plan.options)));
        let url = self.url.clone();
        let control = std::sync::Mutex::new(http::BodyControl {
            send_url: self.send_url.clone(),
            closed: None,
        });
        pump_events(
            link,
            plan.http(),
            &plan.options,
            self.resp,
            &url,
            &control,
            |feed, out| {
                let bytes = match feed {
                    Feed::Chunk(c) => c,
                    Feed::End | Feed::Cut => {
                        parser.finish();
                        return Ok(());
                    }
                };
                parser
                    .feed(bytes, |ev| match route_event(&ev, &url) {
                        RouteEvent::Session(send) => http::lock(&control).send_url = Some(send),
                        RouteEvent::Close(c) => http::lock(&control).closed = Some(c),
                        RouteEvent::Other => out.push(Event::Message(ev.into())),
                    })
                    .map_err(|e| e.with_retryable(true))
            },
        )
        .await
    }
}

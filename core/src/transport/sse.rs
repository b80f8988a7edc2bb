//! Server-Sent Events (WHATWG HTML, "server-sent events"): a GET with
//! `Accept: text/event-stream` and `Last-Event-ID`, the body fed to the
//! sans-IO parser in [`crate::proto::sse`], which follows the source across
//! reconnections (last event id, `retry:`).

use reqwest::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use reqwest::{Method, Response, StatusCode};

use crate::error::{Error, ErrorKind};
use crate::event::OpenInfo;
use crate::http::{self, pump_body};
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
        },
        info,
    ))
}

impl SseSession {
    /// Feeds the body to the parser and emits each dispatched event.
    pub(crate) async fn run(self, link: &mut Link, plan: &Plan, resume: &mut Resume) -> SessionEnd {
        let parser = resume
            .sse
            .get_or_insert_with(|| Box::new(parser(&plan.options)));
        let url = self.url.clone();
        pump_body(
            link,
            plan.http(),
            &plan.options,
            self.resp,
            &url,
            |chunk, out| match chunk {
                Some(bytes) => parser
                    .feed(bytes, |ev| out.push(ev.into()))
                    .map_err(|e| e.with_retryable(true)),
                None => {
                    parser.finish();
                    Ok(())
                }
            },
        )
        .await
    }
}

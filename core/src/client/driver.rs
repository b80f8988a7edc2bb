//! The reconnect loop, the same for every transport: run a session; when it
//! is lost, back off per the policy, open a new one, repeat; finally hand
//! back whatever was never sent and emit `closed`.

use tokio::time::sleep;

use crate::event::{CloseInfo, Event};
use crate::session::link::{close_requested, Link, SessionEnd};
use crate::session::resume::Resume;
use crate::transport::{Plan, Session};

/// Drives a connection whose first session is already open, until it is
/// closed for good.
pub(crate) async fn drive(plan: Plan, mut link: Link, first: Session, mut resume: Resume) {
    let mut session = first;
    let close = 'life: loop {
        let (mut cause, lost_close) = match session.run(&mut link, &plan, &mut resume).await {
            SessionEnd::Closed(info) => break 'life info,
            SessionEnd::Abandoned => return,
            SessionEnd::Failed { error, close } => {
                if link.emit(Event::Error(error)).await.is_err() {
                    return;
                }
                break 'life close;
            }
            SessionEnd::Lost { cause, close } => (cause, close),
        };
        let mut final_close = lost_close;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let policy = &plan.options.reconnect;
            if !cause.is_retryable() || !policy.allows(attempt) {
                if link.emit(Event::Error(cause)).await.is_err() {
                    return;
                }
                break 'life final_close;
            }
            let delay = resume.delay(policy, attempt);
            let event = Event::Reconnecting {
                attempt,
                delay,
                cause,
            };
            if link.emit(event).await.is_err() {
                return;
            }
            let opened = tokio::select! {
                req = close_requested(&mut link.close_req) => {
                    break 'life CloseInfo { code: req.code, reason: req.reason, clean: true, unsent: Vec::new() };
                }
                // Boxed: the handshake future is large and only needed
                // while reconnecting; inline it would enlarge every idle
                // connection's task.
                r = Box::pin(async { sleep(delay).await; plan.open(&mut resume).await }) => r,
            };
            match opened {
                Ok((s, info)) => {
                    if link.emit(Event::Open(info)).await.is_err() {
                        return;
                    }
                    session = s;
                    continue 'life;
                }
                Err(e) => {
                    final_close = CloseInfo::abnormal(e.message());
                    cause = e;
                }
            }
        }
    };
    finish(link, close).await;
}

/// Hands back what was never sent and emits the final `closed`.
pub(crate) async fn finish(mut link: Link, mut close: CloseInfo) {
    close.unsent = link.outgoing.close_and_drain();
    let _ = link.emit(Event::Closed(close)).await;
}

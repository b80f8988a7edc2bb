//! [`rtwire::Error`] as a plain object for JavaScript, and the table of
//! error codes.

use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;
use rtwire::{Error, ErrorKind};

use crate::events::data_value;

/// The Node error `code` of a kind: `ERR_RTWIRE_` and the kind's stable
/// name in upper case (`invalid_url` → `ERR_RTWIRE_INVALID_URL`).
pub(crate) fn code_of(kind: ErrorKind) -> String {
    format!("ERR_RTWIRE_{}", kind.as_str().to_ascii_uppercase())
}

/// An error of the core, as data. The JavaScript layer makes an
/// `RtwireError` of it.
#[napi(object)]
pub struct ErrorInfo {
    /// The stable kind name (`ErrorKind::as_str`).
    pub kind: String,
    /// The Node error code, `ERR_RTWIRE_<KIND>`.
    pub code: String,
    /// What was wrong, and with which input.
    pub message: String,
    /// The HTTP status of a refused handshake.
    pub status: Option<u32>,
    /// The response headers of a refused handshake, as `[name, value]`.
    pub headers: Option<Vec<Vec<String>>>,
    /// The start of the body of a refused handshake.
    pub body: Option<Buffer>,
    /// The WebSocket close code that came with the error.
    pub close_code: Option<u32>,
    /// The message handed back by a refused send.
    pub unsent: Option<Either<String, Buffer>>,
}

impl std::fmt::Debug for ErrorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorInfo")
            .field("code", &self.code)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl From<Error> for ErrorInfo {
    fn from(mut e: Error) -> Self {
        let headers = if e.headers().is_empty() {
            None
        } else {
            Some(
                e.headers()
                    .iter()
                    .map(|(k, v)| vec![k.clone(), v.clone()])
                    .collect(),
            )
        };
        ErrorInfo {
            kind: e.kind().as_str().to_string(),
            code: code_of(e.kind()),
            message: e.message().to_string(),
            status: e.status().map(u32::from),
            headers,
            body: e.body().map(|b| Buffer::from(b.to_vec())),
            close_code: e.close_code().map(u32::from),
            unsent: e.take_unsent().map(data_value),
        }
    }
}

/// One row of the error table.
#[napi(object)]
#[derive(Debug)]
pub struct ErrorKindInfo {
    /// The stable kind name.
    pub kind: String,
    /// Its Node error code.
    pub code: String,
}

/// Every error kind of the core with its Node error code, in declaration
/// order.
#[napi]
pub fn error_kinds() -> Vec<ErrorKindInfo> {
    ErrorKind::ALL
        .iter()
        .map(|k| ErrorKindInfo {
            kind: k.as_str().to_string(),
            code: code_of(*k),
        })
        .collect()
}

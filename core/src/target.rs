//! URL checking: everything wrong with a URL is found before any I/O.

use url::Url;

use crate::error::{Error, ErrorKind};
use crate::options::Transport;

/// A checked connection target.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The URL with user name and password removed.
    pub url: Url,
    /// `host` as used for DNS and SNI (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// `Authorization: Basic ...` from userinfo, never logged.
    pub basic_auth: Option<String>,
}

impl Target {
    /// The URL without credentials, for events and messages.
    pub fn display(&self) -> String {
        self.url.to_string()
    }
}

fn invalid(input: &str, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidUrl,
        format!("invalid URL {input:?}: {why}"),
    )
}

/// Parses and checks `input`, and picks the transport if `transport` is
/// [`Transport::Auto`].
pub(crate) fn parse(input: &str, transport: Transport) -> Result<(Target, Transport), Error> {
    if let Some(c) = input.chars().find(|c| c.is_control() || *c == ' ') {
        return Err(invalid(
            input,
            format_args!("contains the character {c:?}; percent-encode it"),
        ));
    }
    let mut url = Url::parse(input).map_err(|e| invalid(input, e))?;
    let (tls, default_transport) = match url.scheme() {
        "ws" => (false, Transport::WebSocket),
        "wss" => (true, Transport::WebSocket),
        // Auto on http(s): the negotiate document of an rtwire server, or
        // else an event stream.
        "http" => (false, Transport::Auto),
        "https" => (true, Transport::Auto),
        other => {
            return Err(invalid(
                input,
                format_args!("unsupported scheme {other:?} (use ws, wss, http or https)"),
            ))
        }
    };
    let transport = match transport {
        Transport::Auto => default_transport,
        t => t,
    };
    if transport == Transport::WebSocket && url.fragment().is_some() {
        return Err(invalid(
            input,
            "a WebSocket URL must not have a #fragment (RFC 6455 section 3)",
        ));
    }
    if transport != Transport::WebSocket && matches!(url.scheme(), "ws" | "wss") {
        return Err(invalid(
            input,
            format_args!("transport {transport} needs an http or https URL"),
        ));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        _ => return Err(invalid(input, "the host is empty")),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| invalid(input, "no port"))?;
    if port == 0 {
        return Err(invalid(input, "port 0 cannot be connected to"));
    }
    let basic_auth = if !url.username().is_empty() || url.password().is_some() {
        let user = percent_decode(url.username());
        let pass = percent_decode(url.password().unwrap_or(""));
        let _ = url.set_username("");
        let _ = url.set_password(None);
        use base64::Engine as _;
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        ))
    } else {
        None
    };
    url.set_fragment(None);
    Ok((
        Target {
            url,
            host,
            port,
            tls,
            basic_auth,
        },
        transport,
    ))
}

/// Decodes `%XX` escapes (user names and passwords of URLs); invalid
/// UTF-8 becomes U+FFFD.
pub(crate) fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(u: &str) -> ErrorKind {
        parse(u, Transport::Auto).unwrap_err().kind()
    }

    #[test]
    fn rejects_bad_urls_before_io() {
        for u in [
            "ws://",
            "wss://[::1",
            "ws://h:0/",
            "ws://h:65536/",
            "ws://h:80abc/",
            "ftp://h/",
            "ws://h/#frag",
            "ws://h/a\r\nX-Injected: 1",
            "ws://h/a\0",
            "ws:// h/",
            "not a url",
            "",
        ] {
            assert_eq!(err(u), ErrorKind::InvalidUrl, "{u:?}");
        }
    }

    #[test]
    fn picks_transport_and_port() {
        let (t, tr) = parse("wss://[::1]/x?y=1", Transport::Auto).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.tls, tr),
            ("::1", 443, true, Transport::WebSocket)
        );
        let (t, tr) = parse("http://127.0.0.1:8080/e", Transport::Auto).unwrap();
        assert_eq!((t.port, t.tls, tr), (8080, false, Transport::Auto));
        assert_eq!(
            parse("ws://h/", Transport::Sse).unwrap_err().kind(),
            ErrorKind::InvalidUrl
        );
    }

    #[test]
    fn userinfo_becomes_basic_auth_and_is_hidden() {
        let (t, _) = parse("ws://us%40er:p%3Ass@h/x", Transport::Auto).unwrap();
        assert_eq!(t.display(), "ws://h/x");
        // base64("us@er:p:ss")
        assert_eq!(t.basic_auth.as_deref(), Some("Basic dXNAZXI6cDpzcw=="));
    }

    #[test]
    fn encoded_crlf_stays_encoded() {
        let (t, _) = parse("ws://h/a%0d%0ab", Transport::Auto).unwrap();
        assert!(!t.url.as_str().contains('\r') && !t.url.as_str().contains('\n'));
    }
}

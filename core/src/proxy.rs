//! Proxies for every transport: which proxy a connection uses (from
//! [`Proxy`] and the `*_PROXY` / `NO_PROXY` environment variables), and the
//! tunnels the WebSocket transport opens through it — HTTP `CONNECT` (with
//! basic auth), `CONNECT` over TLS to an HTTPS proxy, and SOCKS5 (RFC 1928,
//! with RFC 1929 username/password). The HTTP transports hand the same
//! selection to reqwest ([`for_reqwest`]), so every transport follows one
//! rule set; the rules are written down on [`Proxy`].
//!
//! Selection is pure: [`ProxyConfig::from_options`] takes the environment as
//! a lookup function, so the rules are tested without touching the process
//! environment.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use url::Url;

use crate::error::{Error, ErrorKind};
use crate::net::{self, Io};
use crate::options::{redact, Proxy};
use crate::target::Target;

/// Largest proxy response head (status line and headers) read for `CONNECT`.
pub(crate) const MAX_CONNECT_HEAD: usize = 16 << 10;

/// The proxy variables read by [`ProxyConfig::from_process_env`].
const ENV_NAMES: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "REQUEST_METHOD",
];

/// How a proxy is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyScheme {
    /// `http://`: HTTP `CONNECT` over plain TCP.
    Http,
    /// `https://`: HTTP `CONNECT` over TLS to the proxy.
    Https,
    /// `socks5://`: SOCKS5; the host name is resolved here and the proxy is
    /// sent an IP address.
    Socks5,
    /// `socks5h://`: SOCKS5; the proxy is sent the host name and resolves it.
    Socks5h,
}

impl ProxyScheme {
    fn as_str(self) -> &'static str {
        match self {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
            ProxyScheme::Socks5 => "socks5",
            ProxyScheme::Socks5h => "socks5h",
        }
    }

    fn is_socks(self) -> bool {
        matches!(self, ProxyScheme::Socks5 | ProxyScheme::Socks5h)
    }
}

/// A checked proxy URL. Its `Debug` and [`display`](ProxyUrl::display) never
/// show the password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ProxyUrl {
    /// How to speak to the proxy.
    pub scheme: ProxyScheme,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port; defaults to 80 (`http`), 443 (`https`) and 1080 (SOCKS).
    pub port: u16,
    /// User name and password from the URL's userinfo, percent-decoded.
    credentials: Option<(String, String)>,
    /// The environment variable the URL came from, if it came from one.
    env_var: Option<&'static str>,
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("url", &self.display())
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

/// `host:port`, with brackets around an IPv6 address.
pub(crate) fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl ProxyUrl {
    /// Parses a proxy URL. A value without `scheme://` is an `http://`
    /// proxy. `source` names where the value came from, for the message.
    pub(crate) fn parse(value: &str, source: &str) -> Result<ProxyUrl, String> {
        let value = value.trim();
        let bad = |why: &dyn fmt::Display| {
            format!(
                "the proxy URL {:?} from {source} is not usable: {why}",
                redact(value)
            )
        };
        let with_scheme = if value.contains("://") {
            value.to_string()
        } else {
            format!("http://{value}")
        };
        if let Some(c) = with_scheme.chars().find(|c| c.is_control() || *c == ' ') {
            return Err(bad(&format_args!("it contains the character {c:?}")));
        }
        let url = Url::parse(&with_scheme).map_err(|e| bad(&e))?;
        let scheme = match url.scheme() {
            "http" => ProxyScheme::Http,
            "https" => ProxyScheme::Https,
            "socks5" => ProxyScheme::Socks5,
            "socks5h" => ProxyScheme::Socks5h,
            other => {
                return Err(bad(&format_args!(
                    "unsupported scheme {other:?} (use http, https, socks5 or socks5h)"
                )))
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(bad(&"the host is empty")),
        };
        let port = match scheme {
            ProxyScheme::Http | ProxyScheme::Https => url.port_or_known_default(),
            ProxyScheme::Socks5 | ProxyScheme::Socks5h => Some(url.port().unwrap_or(1080)),
        }
        .ok_or_else(|| bad(&"no port"))?;
        if port == 0 {
            return Err(bad(&"port 0 cannot be connected to"));
        }
        let credentials = if !url.username().is_empty() || url.password().is_some() {
            let user = crate::target::percent_decode(url.username());
            let pass = crate::target::percent_decode(url.password().unwrap_or(""));
            if scheme.is_socks() && (user.len() > 255 || pass.len() > 255) {
                return Err(bad(
                    &"SOCKS5 user names and passwords are at most 255 bytes",
                ));
            }
            Some((user, pass))
        } else {
            None
        };
        Ok(ProxyUrl {
            scheme,
            host,
            port,
            credentials,
            env_var: None,
        })
    }

    /// `scheme://host:port`: how the proxy is named in messages. Never holds
    /// the user name or password.
    pub(crate) fn display(&self) -> String {
        format!(
            "{}://{}",
            self.scheme.as_str(),
            host_port(&self.host, self.port)
        )
    }

    /// How the proxy is named in error messages: [`display`](Self::display)
    /// and the variable it came from.
    pub(crate) fn label(&self) -> String {
        match self.env_var {
            Some(var) => format!("{} (from {var})", self.display()),
            None => self.display(),
        }
    }

    /// The `Proxy-Authorization` value, if the URL has credentials.
    fn basic_auth(&self) -> Option<String> {
        use base64::Engine as _;
        self.credentials.as_ref().map(|(user, pass)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            )
        })
    }

    /// The URL with its credentials, for reqwest (which sends them to the
    /// proxy only).
    fn to_url_with_credentials(&self) -> Option<Url> {
        let mut url = Url::parse(&self.display()).ok()?;
        if let Some((user, pass)) = &self.credentials {
            url.set_username(user).ok()?;
            url.set_password(Some(pass)).ok()?;
        }
        Some(url)
    }
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NoProxyHost {
    /// `*`: every host.
    All,
    /// A domain and all its subdomains (lower case, no leading or trailing
    /// dot).
    Domain(String),
    /// One IP address.
    Ip(IpAddr),
    /// An IP network `address/prefix`.
    Net(IpAddr, u8),
}

/// A parsed `NO_PROXY` list. See [`Proxy`] for the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NoProxy {
    entries: Vec<(NoProxyHost, Option<u16>)>,
}

impl NoProxy {
    /// Parses a list separated by commas and/or white space. Entries that
    /// cannot be understood are skipped.
    pub(crate) fn parse(list: &str) -> NoProxy {
        let entries = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .filter_map(Self::entry)
            .collect();
        NoProxy { entries }
    }

    fn entry(raw: &str) -> Option<(NoProxyHost, Option<u16>)> {
        if raw == "*" {
            return Some((NoProxyHost::All, None));
        }
        // A network: `10.0.0.0/8`, `::1/128`, `[fd00::]/8`.
        if let Some((addr, bits)) = raw.split_once('/') {
            let addr = addr.trim_start_matches('[').trim_end_matches(']');
            let ip: IpAddr = addr.parse().ok()?;
            let bits: u8 = bits.parse().ok()?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            return (bits <= max).then_some((NoProxyHost::Net(ip, bits), None));
        }
        // An IPv6 address: bracketed, with an optional port, or bare.
        if let Some(rest) = raw.strip_prefix('[') {
            let (addr, after) = rest.split_once(']')?;
            let ip: IpAddr = addr.parse().ok()?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':')?.parse().ok()?),
            };
            return Some((NoProxyHost::Ip(ip), port));
        }
        if let Ok(ip) = raw.parse::<IpAddr>() {
            return Some((NoProxyHost::Ip(ip), None));
        }
        // `host:port` or `host`.
        let (host, port) = match raw.rsplit_once(':') {
            Some((h, p)) => (h, Some(p.parse::<u16>().ok()?)),
            None => (raw, None),
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some((NoProxyHost::Ip(ip), port));
        }
        let domain = host
            .strip_prefix("*.")
            .unwrap_or(host)
            .trim_start_matches('.')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if domain.is_empty() || domain.contains(['*', '/', '@', '[', ']']) {
            return None;
        }
        Some((NoProxyHost::Domain(domain), port))
    }

    /// Whether `host` (a domain, or an IP address with or without brackets)
    /// at `port` is to be reached directly.
    pub(crate) fn matches(&self, host: &str, port: u16) -> bool {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ip = bare.parse::<IpAddr>().ok();
        let domain = bare.trim_end_matches('.').to_ascii_lowercase();
        self.entries.iter().any(|(entry, want_port)| {
            if want_port.is_some_and(|p| p != port) {
                return false;
            }
            match (entry, ip) {
                (NoProxyHost::All, _) => true,
                (NoProxyHost::Ip(a), Some(ip)) => canonical(*a) == canonical(ip),
                (NoProxyHost::Net(net, bits), Some(ip)) => in_network(ip, *net, *bits),
                (NoProxyHost::Domain(d), None) => {
                    domain == *d
                        || (domain.len() > d.len()
                            && domain.ends_with(d.as_str())
                            && domain.as_bytes()[domain.len() - d.len() - 1] == b'.')
                }
                _ => false,
            }
        })
    }
}

/// An IPv4-mapped IPv6 address as IPv4; anything else unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (canonical(ip), canonical(net)) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The proxy variable chosen for one scheme, parsed; an unusable value
/// keeps its error message.
pub(crate) type EnvChoice = Result<ProxyUrl, String>;

/// Where connections of one [`Options`](crate::Options) go: directly, through
/// one proxy, or through proxies chosen from the environment per target.
#[derive(Debug, Clone)]
pub(crate) enum ProxyConfig {
    /// No proxy.
    Direct,
    /// [`Proxy::Url`]: this proxy for every host.
    Fixed(ProxyUrl),
    /// [`Proxy::FromEnv`] with at least one proxy variable set.
    Env {
        /// For `ws` and `http` targets.
        http: Option<EnvChoice>,
        /// For `wss` and `https` targets.
        https: Option<EnvChoice>,
        /// Hosts reached directly.
        no_proxy: NoProxy,
    },
}

impl ProxyConfig {
    /// The configuration for `proxy`, reading the environment through
    /// `env` (a variable's value, or `None` when it is unset). Fails only
    /// for a [`Proxy::Url`] that is not a usable proxy URL; a bad
    /// environment value fails the connections that would use it (see
    /// [`route`](ProxyConfig::route)).
    pub(crate) fn from_options(
        proxy: &Proxy,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ProxyConfig, Error> {
        match proxy {
            Proxy::Disabled => Ok(ProxyConfig::Direct),
            Proxy::Url(u) => ProxyUrl::parse(u, "the proxy option")
                .map(ProxyConfig::Fixed)
                .map_err(|m| Error::new(ErrorKind::InvalidArgument, m)),
            Proxy::FromEnv => Ok(Self::from_env(env)),
        }
    }

    /// [`from_options`](ProxyConfig::from_options) with the process
    /// environment.
    pub(crate) fn from_process_env(proxy: &Proxy) -> Result<ProxyConfig, Error> {
        let env = |name: &str| -> Option<String> {
            debug_assert!(ENV_NAMES.contains(&name), "{name} is not a proxy variable");
            std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
        };
        Self::from_options(proxy, &env)
    }

    fn from_env(env: &dyn Fn(&str) -> Option<String>) -> ProxyConfig {
        // The first of `names` that is set to something other than blanks.
        let first = |names: &[&'static str]| -> Option<(&'static str, String)> {
            names.iter().find_map(|&n| {
                env(n)
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .map(|v| (n, v))
            })
        };
        // In a CGI program `HTTP_PROXY` can come from a request's `Proxy:`
        // header ("httpoxy"): only the lower-case name is trusted there.
        let cgi = env("REQUEST_METHOD").is_some_and(|v| !v.is_empty());
        let http_names: &[&'static str] = if cgi {
            &["http_proxy"]
        } else {
            &["http_proxy", "HTTP_PROXY"]
        };
        let all = first(&["all_proxy", "ALL_PROXY"]);
        let choose = |own: Option<(&'static str, String)>| {
            own.or_else(|| all.clone()).map(|(var, value)| {
                ProxyUrl::parse(&value, var).map(|p| ProxyUrl {
                    env_var: Some(var),
                    ..p
                })
            })
        };
        let http = choose(first(http_names));
        let https = choose(first(&["https_proxy", "HTTPS_PROXY"]));
        if http.is_none() && https.is_none() {
            return ProxyConfig::Direct;
        }
        let no_proxy = first(&["no_proxy", "NO_PROXY"])
            .map(|(_, v)| NoProxy::parse(&v))
            .unwrap_or_default();
        ProxyConfig::Env {
            http,
            https,
            no_proxy,
        }
    }

    /// The proxy for a target (`tls`: `wss`/`https`), or `None` to connect
    /// directly. A proxy variable that is set but unusable is an
    /// `InvalidArgument` error here, never silently skipped.
    pub(crate) fn route(
        &self,
        tls: bool,
        host: &str,
        port: u16,
    ) -> Result<Option<&ProxyUrl>, Error> {
        match self {
            ProxyConfig::Direct => Ok(None),
            ProxyConfig::Fixed(p) => Ok(Some(p)),
            ProxyConfig::Env {
                http,
                https,
                no_proxy,
            } => {
                if no_proxy.matches(host, port) {
                    return Ok(None);
                }
                let choice = if tls { https } else { http };
                match choice {
                    None => Ok(None),
                    Some(Ok(p)) => Ok(Some(p)),
                    Some(Err(m)) => Err(Error::new(ErrorKind::InvalidArgument, m.clone())),
                }
            }
        }
    }

    /// Fails if any proxy variable that may be used (for either scheme) is
    /// unusable. The HTTP transports check this up front, as a redirect may
    /// take them to the other scheme.
    fn check_all(&self) -> Result<(), Error> {
        if let ProxyConfig::Env { http, https, .. } = self {
            for c in [http, https].into_iter().flatten() {
                if let Err(m) = c {
                    return Err(Error::new(ErrorKind::InvalidArgument, m.clone()));
                }
            }
        }
        Ok(())
    }

    /// Whether some target may go through an `https://` proxy (which needs
    /// a TLS configuration even for `ws://`).
    pub(crate) fn may_use_tls_proxy(&self) -> bool {
        let is_https = |p: &ProxyUrl| p.scheme == ProxyScheme::Https;
        match self {
            ProxyConfig::Direct => false,
            ProxyConfig::Fixed(p) => is_https(p),
            ProxyConfig::Env { http, https, .. } => [http, https]
                .into_iter()
                .flatten()
                .any(|c| c.as_ref().is_ok_and(is_https)),
        }
    }
}

/// The reqwest proxy for the HTTP transports, following the same rules as
/// the WebSocket transport (reqwest's own environment handling differs: it
/// prefers upper-case names, its `*` does not cover IP addresses, and it
/// ignores ports in `NO_PROXY`). `None` means "no proxy at all", for
/// `ClientBuilder::no_proxy`.
pub(crate) fn for_reqwest(proxy: &Proxy) -> Result<Option<reqwest::Proxy>, Error> {
    let config = ProxyConfig::from_process_env(proxy)?;
    config.check_all()?;
    if matches!(config, ProxyConfig::Direct) {
        return Ok(None);
    }
    let config = Arc::new(config);
    Ok(Some(reqwest::Proxy::custom(move |url: &Url| {
        let tls = url.scheme() == "https";
        let host = match url.host()? {
            url::Host::Domain(d) => d.to_string(),
            url::Host::Ipv4(a) => a.to_string(),
            url::Host::Ipv6(a) => a.to_string(),
        };
        let port = url.port_or_known_default()?;
        // Errors were ruled out by `check_all`.
        let proxy = config.route(tls, &host, port).ok()??;
        proxy.to_url_with_credentials()
    })))
}

// ---------------------------------------------------------------------------
// Tunnels

fn proxy_error(proxy: &ProxyUrl, msg: impl fmt::Display) -> Error {
    Error::new(
        ErrorKind::Connect,
        format!("proxy {}: {msg}", proxy.label()),
    )
}

fn io_error(proxy: &ProxyUrl, during: &str, e: io::Error) -> Error {
    let msg = if e.kind() == io::ErrorKind::UnexpectedEof {
        format!("the proxy closed the connection during {during}")
    } else {
        format!("{during} failed: {e}")
    };
    proxy_error(proxy, msg).with_source(e)
}

/// Opens a tunnel to `target` through `proxy`: TCP to the proxy, TLS to it
/// for an `https://` proxy (with `tls`), then `CONNECT` or SOCKS5. TLS to
/// the target is the caller's business.
pub(crate) async fn tunnel(
    proxy: &ProxyUrl,
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Box<dyn Io>, Error> {
    let tcp = net::tcp_to(&proxy.host, proxy.port).await.map_err(|e| {
        let msg = format!("cannot reach the proxy: {}", e.message());
        Error::new(e.kind(), format!("proxy {}: {msg}", proxy.label()))
    })?;
    let (host, port) = (target.host.as_str(), target.port);
    match proxy.scheme {
        ProxyScheme::Http => Ok(Box::new(http_connect(tcp, proxy, host, port).await?)),
        ProxyScheme::Https => {
            let Some(config) = tls else {
                return Err(Error::new(
                    ErrorKind::Internal,
                    "an https proxy without a TLS configuration",
                ));
            };
            let label = format!("proxy {}", proxy.label());
            let stream = net::tls_handshake(config, &proxy.host, &label, tcp).await?;
            Ok(Box::new(http_connect(stream, proxy, host, port).await?))
        }
        ProxyScheme::Socks5 | ProxyScheme::Socks5h => {
            Ok(Box::new(socks5(tcp, proxy, host, port).await?))
        }
    }
}

/// Where the response head ends (just past its blank line), CRLF or bare LF.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = memchr::memmem::find(buf, b"\r\n\r\n").map(|i| i + 4);
    let lf = memchr::memmem::find(buf, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Bytes shown from a response that is not HTTP.
fn excerpt(b: &[u8]) -> String {
    let shown = &b[..b.len().min(64)];
    let mut s = shown.escape_ascii().to_string();
    if b.len() > shown.len() {
        s.push_str("...");
    }
    s
}

/// The status and headers of a proxy's response head.
fn parse_head(head: &[u8]) -> Result<(u16, Vec<(String, String)>), String> {
    let text = std::str::from_utf8(head)
        .map_err(|_| format!("not HTTP (not UTF-8): \"{}\"", excerpt(head)))?;
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .take_while(|l| !l.is_empty());
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| {
            let code = rest.get(..3)?;
            let ok = code.bytes().all(|b| b.is_ascii_digit())
                && rest[3..].chars().next().is_none_or(|c| c == ' ');
            ok.then(|| code.parse::<u16>().ok()).flatten()
        })
        .filter(|s| (100..=599).contains(s))
        .ok_or_else(|| {
            format!(
                "not an HTTP status line: \"{}\"",
                excerpt(status_line.as_bytes())
            )
        })?;
    if status_line
        .bytes()
        .any(|b| b.is_ascii_control() && b != b'\t')
    {
        return Err(format!(
            "control characters in the status line: \"{}\"",
            excerpt(status_line.as_bytes())
        ));
    }
    let mut headers = Vec::new();
    for line in lines {
        let valid = line.bytes().all(|b| !b.is_ascii_control() || b == b'\t');
        let (name, value) = line
            .split_once(':')
            .filter(|(n, _)| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
            })
            .filter(|_| valid)
            .ok_or_else(|| format!("a malformed header line: \"{}\"", excerpt(line.as_bytes())))?;
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok((status, headers))
}

/// Runs `CONNECT host:port` on `stream`, already connected to `proxy`. The
/// proxy's credentials go in `Proxy-Authorization` here and nowhere else.
/// Bytes the proxy sent after its response head belong to the tunnel and are
/// kept.
pub(crate) async fn http_connect<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    proxy: &ProxyUrl,
    host: &str,
    port: u16,
) -> Result<Prefixed<S>, Error> {
    let authority = host_port(host, port);
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = proxy.basic_auth() {
        req.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    req.push_str(concat!(
        "User-Agent: rtwire/",
        env!("CARGO_PKG_VERSION"),
        "\r\n\r\n"
    ));
    let during = "the CONNECT request";
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| io_error(proxy, during, e))?;
    stream
        .flush()
        .await
        .map_err(|e| io_error(proxy, during, e))?;

    let mut buf = Vec::with_capacity(512);
    let end = loop {
        if let Some(end) = head_end(&buf) {
            break end;
        }
        if buf.len() >= MAX_CONNECT_HEAD {
            return Err(proxy_error(
                proxy,
                format_args!(
                    "its answer to CONNECT {authority} has a head over {MAX_CONNECT_HEAD} bytes"
                ),
            ));
        }
        let mut chunk = [0u8; 2048];
        let want = chunk.len().min(MAX_CONNECT_HEAD - buf.len());
        let n = stream
            .read(&mut chunk[..want])
            .await
            .map_err(|e| io_error(proxy, "the answer to CONNECT", e))?;
        if n == 0 {
            let what = if buf.is_empty() {
                "closed the connection without answering".to_string()
            } else {
                format!(
                    "closed the connection in the middle of its answer (\"{}\")",
                    excerpt(&buf)
                )
            };
            return Err(proxy_error(
                proxy,
                format_args!("CONNECT {authority}: the proxy {what}"),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let (status, headers) = parse_head(&buf[..end]).map_err(|why| {
        proxy_error(
            proxy,
            format_args!("invalid answer to CONNECT {authority}: {why}"),
        )
    })?;
    if (200..300).contains(&status) {
        // RFC 9110 §9.3.6: after a 2xx to CONNECT the connection is the
        // tunnel; whatever followed the head is the target's first bytes.
        let tail = buf.split_off(end);
        return Ok(Prefixed::new(tail, stream));
    }
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let err = if status == 407 {
        let hint = if proxy.credentials.is_some() {
            "the credentials in the proxy URL were refused"
        } else {
            "no credentials were given: put them in the proxy URL (http://user:password@host:port)"
        };
        proxy_error(
            proxy,
            format_args!(
                "proxy authentication required (407 {reason}) for CONNECT {authority}: {hint}"
            ),
        )
        .with_retryable(false)
    } else {
        let retry = matches!(status, 408 | 429 | 500..=599);
        proxy_error(
            proxy,
            format_args!("refused CONNECT {authority}: {status} {reason}")
                .to_string()
                .trim_end(),
        )
        .with_retryable(retry)
    };
    Err(err.with_http(status, headers, None))
}

/// SOCKS5 reply codes (RFC 1928 §6).
fn socks_reply(code: u8) -> (&'static str, bool) {
    match code {
        1 => ("general SOCKS server failure", true),
        2 => ("connection not allowed by ruleset", false),
        3 => ("network unreachable", true),
        4 => ("host unreachable", true),
        5 => ("connection refused", true),
        6 => ("TTL expired", true),
        7 => ("command not supported", false),
        8 => ("address type not supported", false),
        _ => ("unassigned reply code", false),
    }
}

/// Runs the SOCKS5 handshake (RFC 1928, with RFC 1929 username/password
/// when the proxy URL has credentials) for a TCP connection to
/// `host:port`. `socks5://` resolves `host` here and sends an address;
/// `socks5h://` sends the name.
pub(crate) async fn socks5<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    proxy: &ProxyUrl,
    host: &str,
    port: u16,
) -> Result<S, Error> {
    let during = "the SOCKS5 handshake";
    let io = |e| io_error(proxy, during, e);
    let creds = proxy.credentials.as_ref();
    let greeting: &[u8] = if creds.is_some() {
        &[5, 2, 0, 2]
    } else {
        &[5, 1, 0]
    };
    s.write_all(greeting).await.map_err(io)?;
    s.flush().await.map_err(io)?;
    let mut choice = [0u8; 2];
    s.read_exact(&mut choice).await.map_err(io)?;
    if choice[0] != 5 {
        return Err(proxy_error(
            proxy,
            format_args!(
                "not a SOCKS5 proxy (it answered with version {})",
                choice[0]
            ),
        )
        .with_retryable(false));
    }
    match (choice[1], creds) {
        (0, _) => {}
        (2, Some((user, pass))) => {
            let mut auth = Vec::with_capacity(3 + user.len() + pass.len());
            auth.push(1);
            auth.push(user.len() as u8);
            auth.extend_from_slice(user.as_bytes());
            auth.push(pass.len() as u8);
            auth.extend_from_slice(pass.as_bytes());
            s.write_all(&auth).await.map_err(io)?;
            s.flush().await.map_err(io)?;
            let mut status = [0u8; 2];
            s.read_exact(&mut status).await.map_err(io)?;
            if status[1] != 0 {
                return Err(proxy_error(
                    proxy,
                    format_args!(
                        "SOCKS5 username/password authentication failed (status {})",
                        status[1]
                    ),
                )
                .with_retryable(false));
            }
        }
        (0xff, None) => {
            return Err(proxy_error(
                proxy,
                "the SOCKS5 proxy requires authentication: put the user name and password in \
                 the proxy URL (socks5://user:password@host:port)",
            )
            .with_retryable(false))
        }
        (0xff, Some(_)) => {
            return Err(proxy_error(
                proxy,
                "the SOCKS5 proxy accepted none of the offered authentication methods \
                 (none, username/password)",
            )
            .with_retryable(false))
        }
        (m, _) => {
            return Err(proxy_error(
                proxy,
                format_args!(
                    "the SOCKS5 proxy chose authentication method {m:#04x}, which was not offered"
                ),
            )
            .with_retryable(false))
        }
    }

    let mut req = vec![5, 1, 0];
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip = match bare.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) if proxy.scheme == ProxyScheme::Socks5h => None,
        Err(_) => {
            let mut addrs = tokio::net::lookup_host((bare, port)).await.map_err(|e| {
                Error::new(
                    ErrorKind::Connect,
                    format!(
                        "cannot resolve {bare}: {e} (a socks5:// proxy is sent an address \
                         resolved here; socks5h:// lets the proxy {} resolve the name)",
                        proxy.display()
                    ),
                )
                .with_source(e)
            })?;
            let addr = addrs.next().ok_or_else(|| {
                Error::new(ErrorKind::Connect, format!("{bare} resolved to no address"))
            })?;
            Some(addr.ip())
        }
    };
    match ip {
        Some(IpAddr::V4(a)) => {
            req.push(1);
            req.extend_from_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            req.push(4);
            req.extend_from_slice(&a.octets());
        }
        None => {
            if bare.is_empty() || bare.len() > 255 {
                return Err(Error::new(
                    ErrorKind::InvalidUrl,
                    format!("host name {bare:?} is too long for SOCKS5 (255 bytes at most)"),
                ));
            }
            req.push(3);
            req.push(bare.len() as u8);
            req.extend_from_slice(bare.as_bytes());
        }
    }
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req).await.map_err(io)?;
    s.flush().await.map_err(io)?;

    let mut head = [0u8; 4];
    s.read_exact(&mut head).await.map_err(io)?;
    if head[0] != 5 {
        return Err(proxy_error(
            proxy,
            format_args!("invalid SOCKS5 reply (version {})", head[0]),
        ));
    }
    if head[1] != 0 {
        let (what, retry) = socks_reply(head[1]);
        return Err(proxy_error(
            proxy,
            format_args!(
                "the SOCKS5 proxy could not connect to {}: {what} (reply {})",
                host_port(bare, port),
                head[1]
            ),
        )
        .with_retryable(retry));
    }
    let addr_len = match head[3] {
        1 => 4,
        4 => 16,
        3 => {
            let mut len = [0u8; 1];
            s.read_exact(&mut len).await.map_err(io)?;
            usize::from(len[0])
        }
        other => {
            return Err(proxy_error(
                proxy,
                format_args!("invalid SOCKS5 reply (address type {other})"),
            ))
        }
    };
    let mut bound = vec![0u8; addr_len + 2];
    s.read_exact(&mut bound).await.map_err(io)?;
    Ok(s)
}

/// A stream whose first bytes were already read: they are returned first.
#[derive(Debug)]
pub(crate) struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    /// `prefix`, then whatever `inner` reads.
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = (this.prefix.len() - this.pos).min(buf.remaining());
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    /// The proxy chosen for `url` under `pairs`, as `scheme://host:port`.
    fn pick(pairs: &[(&str, &str)], url: &str) -> Option<String> {
        let url = Url::parse(url).unwrap();
        let config = ProxyConfig::from_options(&Proxy::FromEnv, &env_of(pairs)).unwrap();
        let tls = matches!(url.scheme(), "wss" | "https");
        let host = match url.host().unwrap() {
            url::Host::Domain(d) => d.to_string(),
            url::Host::Ipv4(a) => a.to_string(),
            url::Host::Ipv6(a) => a.to_string(),
        };
        let port = url.port_or_known_default().unwrap();
        config
            .route(tls, &host, port)
            .unwrap()
            .map(ProxyUrl::display)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn scheme_variables_and_all_proxy() {
        let env = [
            ("http_proxy", "http://hp:1"),
            ("https_proxy", "http://sp:2"),
            ("all_proxy", "socks5h://ap:3"),
        ];
        assert_eq!(pick(&env, "ws://h/"), some("http://hp:1"));
        assert_eq!(pick(&env, "http://h/"), some("http://hp:1"));
        assert_eq!(pick(&env, "wss://h/"), some("http://sp:2"));
        assert_eq!(pick(&env, "https://h/"), some("http://sp:2"));
        // ALL_PROXY fills in for the missing one only.
        let env = [("HTTPS_PROXY", "sp:2"), ("ALL_PROXY", "socks5://ap")];
        assert_eq!(pick(&env, "ws://h/"), some("socks5://ap:1080"));
        assert_eq!(pick(&env, "wss://h/"), some("http://sp:2"));
        // Only HTTPS_PROXY: ws goes direct.
        assert_eq!(pick(&[("HTTPS_PROXY", "sp:2")], "ws://h/"), None);
        assert_eq!(pick(&[], "wss://h/"), None);
    }

    #[test]
    fn lower_case_wins_over_upper_case() {
        let env = [
            ("HTTP_PROXY", "http://upper:1"),
            ("http_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:2"),
            ("https_proxy", "http://lower:2"),
        ];
        assert_eq!(pick(&env, "ws://h/"), some("http://lower:1"));
        assert_eq!(pick(&env, "wss://h/"), some("http://lower:2"));
        let env = [
            ("ALL_PROXY", "http://upper:3"),
            ("all_proxy", "http://lower:3"),
        ];
        assert_eq!(pick(&env, "wss://h/"), some("http://lower:3"));
        // An empty lower-case value counts as unset.
        let env = [("https_proxy", " "), ("HTTPS_PROXY", "http://upper:2")];
        assert_eq!(pick(&env, "wss://h/"), some("http://upper:2"));
        // NO_PROXY: lower case wins too.
        let env = [
            ("https_proxy", "http://p:1"),
            ("NO_PROXY", "a.example"),
            ("no_proxy", "b.example"),
        ];
        assert_eq!(pick(&env, "wss://a.example/"), some("http://p:1"));
        assert_eq!(pick(&env, "wss://b.example/"), None);
        let c = ProxyConfig::from_options(&Proxy::FromEnv, &env_of(&env)).unwrap();
        let p = c.route(true, "a.example", 443).unwrap().unwrap();
        assert_eq!(p.label(), "http://p:1 (from https_proxy)");
    }

    #[test]
    fn cgi_ignores_upper_case_http_proxy() {
        let env = [("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")];
        assert_eq!(pick(&env, "ws://h/"), None);
        let env = [("REQUEST_METHOD", "GET"), ("http_proxy", "http://ok:1")];
        assert_eq!(pick(&env, "ws://h/"), some("http://ok:1"));
        let env = [("HTTP_PROXY", "http://fine:1")];
        assert_eq!(pick(&env, "ws://h/"), some("http://fine:1"));
    }

    #[test]
    fn proxy_url_forms() {
        let p = ProxyUrl::parse("proxy.example:3128", "t").unwrap();
        assert_eq!(p.display(), "http://proxy.example:3128");
        assert_eq!(
            ProxyUrl::parse("proxy", "t").unwrap().display(),
            "http://proxy:80"
        );
        assert_eq!(
            ProxyUrl::parse("https://P.Example", "t").unwrap().display(),
            "https://p.example:443"
        );
        assert_eq!(
            ProxyUrl::parse("socks5h://[::1]", "t").unwrap().display(),
            "socks5h://[::1]:1080"
        );
        let p = ProxyUrl::parse("http://us%40er:p%3Ass@h:1", "t").unwrap();
        assert_eq!(p.basic_auth().as_deref(), Some("Basic dXNAZXI6cDpzcw=="));
        assert!(!format!("{p:?}").contains("p:ss") && !format!("{p:?}").contains("p%3Ass"));
        let u = p.to_url_with_credentials().unwrap();
        assert_eq!((u.username(), u.password()), ("us%40er", Some("p%3Ass")));
        for bad in [
            "ftp://h:1",
            "socks4://h",
            "http://:1",
            "http://h:0",
            "http://h:99999",
            "a b",
        ] {
            assert!(ProxyUrl::parse(bad, "t").is_err(), "{bad}");
        }
        let err = ProxyUrl::parse("ftp://user:s3cret@h:1", "HTTPS_PROXY").unwrap_err();
        assert!(
            err.contains("HTTPS_PROXY") && !err.contains("s3cret"),
            "{err}"
        );
        let long = format!("socks5://{}:p@h", "u".repeat(256));
        assert!(ProxyUrl::parse(&long, "t").is_err());
    }

    #[test]
    fn bad_env_value_fails_only_its_scheme() {
        let env = [("https_proxy", "ftp://x:1"), ("http_proxy", "http://ok:1")];
        let c = ProxyConfig::from_options(&Proxy::FromEnv, &env_of(&env)).unwrap();
        let e = c.route(true, "h", 443).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("https_proxy"), "{e}");
        assert!(c.route(false, "h", 80).unwrap().is_some());
        assert_eq!(
            c.check_all().unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        // A host in NO_PROXY never needs the proxy.
        let env = [("https_proxy", "ftp://x:1"), ("no_proxy", "h")];
        let c = ProxyConfig::from_options(&Proxy::FromEnv, &env_of(&env)).unwrap();
        assert!(c.route(true, "h", 443).unwrap().is_none());
    }

    #[test]
    fn disabled_and_url_ignore_the_environment() {
        let env = env_of(&[("http_proxy", "http://p:1"), ("https_proxy", "http://p:1")]);
        let c = ProxyConfig::from_options(&Proxy::Disabled, &env).unwrap();
        assert!(c.route(false, "h", 80).unwrap().is_none());
        assert!(c.route(true, "h", 443).unwrap().is_none());
        let env = env_of(&[("http_proxy", "http://p:1"), ("no_proxy", "*")]);
        let c = ProxyConfig::from_options(&Proxy::Url("socks5://s:9".into()), &env).unwrap();
        assert_eq!(
            c.route(false, "h", 80).unwrap().map(ProxyUrl::display),
            some("socks5://s:9")
        );
        let e = ProxyConfig::from_options(&Proxy::Url("gopher://x".into()), &env).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn no_proxy_star_domains_and_case() {
        let base = [("https_proxy", "http://p:1"), ("http_proxy", "http://p:1")];
        let with = |list: &'static str| {
            let mut v = base.to_vec();
            v.push(("no_proxy", list));
            v
        };
        let env = with("*");
        assert_eq!(pick(&env, "wss://any.example/"), None);
        assert_eq!(pick(&env, "ws://10.1.2.3/"), None);
        assert_eq!(pick(&env, "ws://[::1]/"), None);
        for list in [
            "example.com",
            ".example.com",
            "*.example.com",
            "EXAMPLE.com.",
        ] {
            let env = with(list);
            assert_eq!(pick(&env, "wss://example.com/"), None, "{list}");
            assert_eq!(pick(&env, "wss://a.b.Example.com/"), None, "{list}");
            assert_eq!(
                pick(&env, "wss://notexample.com/"),
                some("http://p:1"),
                "{list}"
            );
            assert_eq!(
                pick(&env, "wss://example.com.evil/"),
                some("http://p:1"),
                "{list}"
            );
        }
        // Separators: commas and white space; empty and junk entries skipped.
        let env = with(" a.test ,, b.test c.test,[bad ,  ");
        for host in ["a.test", "b.test", "c.test"] {
            assert_eq!(pick(&env, &format!("ws://{host}/")), None, "{host}");
        }
        assert_eq!(pick(&env, "ws://d.test/"), some("http://p:1"));
        // `*` inside a longer entry is not a wildcard.
        assert_eq!(
            pick(&with("*example.com"), "ws://a.example.com/"),
            some("http://p:1")
        );
    }

    #[test]
    fn no_proxy_ip_addresses_and_networks() {
        let env = [
            ("http_proxy", "http://p:1"),
            (
                "no_proxy",
                "127.0.0.1, ::1, [fd00::2], 10.0.0.0/8, [fe80::]/10",
            ),
        ];
        assert_eq!(pick(&env, "ws://127.0.0.1:9/"), None);
        assert_eq!(pick(&env, "ws://127.0.0.2/"), some("http://p:1"));
        assert_eq!(pick(&env, "ws://[::1]:9/"), None);
        assert_eq!(pick(&env, "ws://[fd00::2]/"), None);
        assert_eq!(pick(&env, "ws://[fd00::3]/"), some("http://p:1"));
        assert_eq!(pick(&env, "ws://10.200.3.4/"), None);
        assert_eq!(pick(&env, "ws://11.0.0.1/"), some("http://p:1"));
        assert_eq!(pick(&env, "ws://[fe80::1234]/"), None);
        // IPv4-mapped IPv6 is the IPv4 address.
        assert_eq!(pick(&env, "ws://[::ffff:127.0.0.1]/"), None);
        // Domain entries do not match IP hosts, nor IP entries names.
        let env = [("http_proxy", "http://p:1"), ("no_proxy", "localhost")];
        assert_eq!(pick(&env, "ws://127.0.0.1/"), some("http://p:1"));
        assert_eq!(pick(&env, "ws://localhost/"), None);
        // Hosts with brackets are accepted by the matcher directly.
        let np = NoProxy::parse("::1");
        assert!(np.matches("[::1]", 80) && np.matches("::1", 80));
    }

    #[test]
    fn no_proxy_ports() {
        let env = [
            ("http_proxy", "http://p:1"),
            ("https_proxy", "http://p:1"),
            (
                "no_proxy",
                "example.com:8080, 127.0.0.1:9000, [::1]:7000, plain.test",
            ),
        ];
        assert_eq!(pick(&env, "ws://example.com:8080/"), None);
        assert_eq!(pick(&env, "ws://sub.example.com:8080/"), None);
        assert_eq!(pick(&env, "ws://example.com/"), some("http://p:1"));
        assert_eq!(pick(&env, "wss://example.com/"), some("http://p:1"));
        assert_eq!(pick(&env, "ws://127.0.0.1:9000/"), None);
        assert_eq!(pick(&env, "ws://127.0.0.1:9001/"), some("http://p:1"));
        assert_eq!(pick(&env, "ws://[::1]:7000/"), None);
        assert_eq!(pick(&env, "ws://[::1]:7001/"), some("http://p:1"));
        // Without a port an entry matches every port.
        assert_eq!(pick(&env, "ws://plain.test:1234/"), None);
        assert_eq!(pick(&env, "wss://plain.test/"), None);
    }

    /// The example table of docs/proxies.md.
    #[test]
    fn documented_no_proxy_examples() {
        let urls = [
            "wss://api.example.com/",
            "wss://example.com:8443/",
            "wss://10.1.2.3/",
            "wss://[::1]:9000/",
        ];
        for (list, want) in [
            (None, [false, false, false, false]),
            (Some("*"), [true, true, true, true]),
            (Some("example.com"), [true, true, false, false]),
            (Some(".example.com:8443"), [false, true, false, false]),
            (Some("10.0.0.0/8, ::1"), [false, false, true, true]),
            (Some("[::1]:9001"), [false, false, false, false]),
        ] {
            let mut env = vec![("https_proxy", "http://proxy:3128")];
            env.extend(list.map(|l| ("no_proxy", l)));
            for (url, direct) in urls.iter().zip(want) {
                assert_eq!(pick(&env, url).is_none(), direct, "{list:?} {url}");
            }
        }
    }

    #[test]
    fn head_parsing() {
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r\nxyz"), Some(19));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\n\nxyz"), Some(17));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n"), None);
        let (s, h) = parse_head(b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n").unwrap();
        assert_eq!((s, h), (200, vec![("via".to_string(), "x".to_string())]));
        assert_eq!(parse_head(b"HTTP/1.0 407\r\n\r\n").unwrap().0, 407);
        for bad in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
        ] {
            assert!(
                parse_head(bad).is_err(),
                "{:?}",
                bad.escape_ascii().to_string()
            );
        }
    }

    fn http_proxy_url() -> ProxyUrl {
        ProxyUrl::parse("http://user:pw@proxy:3128", "t").unwrap()
    }

    /// Runs `http_connect` against a scripted peer that answers `answer`
    /// (then closes); returns the result and what the peer received.
    async fn connect_against(answer: &'static [u8]) -> (Result<Vec<u8>, Error>, String) {
        let (client, mut server) = tokio::io::duplex(64 << 10);
        let peer = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut b = [0u8; 1024];
            while head_end(&got).is_none() {
                let n = server.read(&mut b).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&b[..n]);
            }
            server.write_all(answer).await.unwrap();
            String::from_utf8(got).unwrap()
        });
        let res = match http_connect(client, &http_proxy_url(), "::1", 8443).await {
            Ok(mut s) => {
                let mut rest = Vec::new();
                s.read_to_end(&mut rest).await.unwrap();
                Ok(rest)
            }
            Err(e) => Err(e),
        };
        (res, peer.await.unwrap())
    }

    #[tokio::test]
    async fn connect_request_and_tail_kept() {
        let (res, req) =
            connect_against(b"HTTP/1.1 200 Connection established\r\n\r\nfirst bytes").await;
        assert_eq!(res.unwrap(), b"first bytes");
        assert!(
            req.starts_with("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n"),
            "{req}"
        );
        // base64("user:pw")
        assert!(
            req.contains("\r\nProxy-Authorization: Basic dXNlcjpwdw==\r\n"),
            "{req}"
        );
    }

    #[tokio::test]
    async fn connect_failures() {
        let (res, _) = connect_against(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
        )
        .await;
        let e = res.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect);
        assert!(
            e.message().contains("407") && e.message().contains("proxy authentication"),
            "{e}"
        );
        assert!(
            e.message().contains("http://proxy:3128") && !e.message().contains("pw"),
            "{e}"
        );
        assert!(!e.is_retryable());
        assert_eq!(e.status(), Some(407));

        let (res, _) = connect_against(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
        let e = res.unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::Connect, Some(403)));
        assert!(e.message().contains("403 Forbidden"), "{e}");

        let (res, _) = connect_against(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        assert!(res.unwrap_err().is_retryable());

        let (res, _) = connect_against(b"HTTP/1.1 200 OK\r\n").await;
        let e = res.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect);
        assert!(e.message().contains("in the middle of its answer"), "{e}");

        let (res, _) = connect_against(b"").await;
        assert!(res.unwrap_err().message().contains("without answering"));

        let (res, _) = connect_against(b"\x16\x03\x01garbage\r\n\r\n").await;
        let e = res.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect);
        assert!(e.message().contains("invalid answer"), "{e}");
    }

    #[tokio::test]
    async fn connect_head_is_capped() {
        let (client, mut server) = tokio::io::duplex(64 << 10);
        let peer = tokio::spawn(async move {
            let mut b = [0u8; 4096];
            let _ = server.read(&mut b).await;
            let _ = server.write_all(b"HTTP/1.1 200 OK\r\n").await;
            let line = format!("X: {}\r\n", "a".repeat(1000));
            for _ in 0..64 {
                if server.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
        let e = http_connect(client, &http_proxy_url(), "h", 1)
            .await
            .unwrap_err();
        assert!(e.message().contains("over 16384 bytes"), "{e}");
        peer.await.unwrap();
    }

    /// A scripted SOCKS5 peer: checks the greeting and request and answers
    /// with `reply` code.
    async fn socks_against(url: &str, host: &str, reply: u8) -> (Result<(), Error>, Vec<u8>) {
        let (client, mut server) = tokio::io::duplex(4096);
        let proxy = ProxyUrl::parse(url, "t").unwrap();
        let with_auth = proxy.credentials.is_some();
        let peer = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut g = [0u8; 2];
            server.read_exact(&mut g).await.unwrap();
            let mut m = vec![0u8; usize::from(g[1])];
            server.read_exact(&mut m).await.unwrap();
            if with_auth {
                assert_eq!(m, [0, 2]);
                server.write_all(&[5, 2]).await.unwrap();
                let mut v = [0u8; 2];
                server.read_exact(&mut v).await.unwrap();
                let mut user = vec![0u8; usize::from(v[1])];
                server.read_exact(&mut user).await.unwrap();
                let mut pl = [0u8; 1];
                server.read_exact(&mut pl).await.unwrap();
                let mut pass = vec![0u8; usize::from(pl[0])];
                server.read_exact(&mut pass).await.unwrap();
                let ok = user == b"u" && pass == b"p";
                server
                    .write_all(&[1, if ok { 0 } else { 1 }])
                    .await
                    .unwrap();
                if !ok {
                    return seen;
                }
            } else {
                assert_eq!(m, [0]);
                server.write_all(&[5, 0]).await.unwrap();
            }
            let mut r = [0u8; 4];
            server.read_exact(&mut r).await.unwrap();
            seen.extend_from_slice(&r);
            let len = match r[3] {
                1 => 4,
                4 => 16,
                _ => {
                    let mut l = [0u8; 1];
                    server.read_exact(&mut l).await.unwrap();
                    seen.push(l[0]);
                    usize::from(l[0])
                }
            };
            let mut rest = vec![0u8; len + 2];
            server.read_exact(&mut rest).await.unwrap();
            seen.extend_from_slice(&rest);
            server
                .write_all(&[5, reply, 0, 1, 0, 0, 0, 0, 0, 0])
                .await
                .unwrap();
            seen
        });
        let res = socks5(client, &proxy, host, 443).await.map(|_| ());
        (res, peer.await.unwrap())
    }

    #[tokio::test]
    async fn socks5_requests_and_replies() {
        let (res, seen) = socks_against("socks5h://px", "example.com", 0).await;
        res.unwrap();
        assert_eq!(&seen[..5], &[5, 1, 0, 3, 11]);
        assert_eq!(&seen[5..16], b"example.com");
        assert_eq!(&seen[16..], &443u16.to_be_bytes());

        let (res, seen) = socks_against("socks5://u:p@px", "::1", 0).await;
        res.unwrap();
        assert_eq!(&seen[..4], &[5, 1, 0, 4]);

        let (res, seen) = socks_against("socks5://px", "localhost", 0).await;
        res.unwrap();
        assert!(
            seen[3] == 1 || seen[3] == 4,
            "socks5 sends an address: {seen:?}"
        );

        let (res, _) = socks_against("socks5://u:bad@px", "1.2.3.4", 0).await;
        let e = res.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect);
        assert!(e.message().contains("authentication failed") && !e.message().contains("bad"));
        assert!(!e.is_retryable());

        for (code, text, retry) in [
            (1, "general SOCKS server failure", true),
            (2, "not allowed by ruleset", false),
            (3, "network unreachable", true),
            (4, "host unreachable", true),
            (5, "connection refused", true),
            (6, "TTL expired", true),
            (7, "command not supported", false),
            (8, "address type not supported", false),
            (9, "unassigned", false),
        ] {
            let (res, _) = socks_against("socks5h://px:1", "h.test", code).await;
            let e = res.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Connect);
            assert!(e.message().contains(text), "{code}: {e}");
            assert!(e.message().contains("socks5h://px:1") && e.message().contains("h.test:443"));
            assert_eq!(e.is_retryable(), retry, "{code}");
        }
    }

    #[tokio::test]
    async fn socks5_method_refusals() {
        for (url, answer, text) in [
            ("socks5://px", [5u8, 0xff], "requires authentication"),
            ("socks5://u:p@px", [5, 0xff], "none of the offered"),
            ("socks5://px", [5, 2], "was not offered"),
            ("socks5://px", [4, 0], "not a SOCKS5 proxy"),
        ] {
            let (client, mut server) = tokio::io::duplex(1024);
            let peer = tokio::spawn(async move {
                let mut b = [0u8; 16];
                let _ = server.read(&mut b).await;
                let _ = server.write_all(&answer).await;
            });
            let proxy = ProxyUrl::parse(url, "t").unwrap();
            let e = socks5(client, &proxy, "h", 1).await.unwrap_err();
            assert!(e.message().contains(text), "{url}: {e}");
            peer.await.unwrap();
        }
    }

    #[tokio::test]
    async fn prefixed_reads_prefix_then_inner() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut p = Prefixed::new(b"abc".to_vec(), a);
        b.write_all(b"def").await.unwrap();
        drop(b);
        let mut out = [0u8; 2];
        p.read_exact(&mut out).await.unwrap();
        assert_eq!(&out, b"ab");
        let mut rest = Vec::new();
        p.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"cdef");
    }
}

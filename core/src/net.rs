//! Opening the byte stream under the WebSocket transport: DNS, TCP (each
//! resolved address in turn) or a tunnel through a proxy ([`crate::proxy`]),
//! then TLS when the scheme asks for it.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::error::{Error, ErrorKind};
#[cfg(unix)]
use crate::hosted::HostRef;
#[cfg(not(unix))]
/// No hosts off unix.
pub(crate) type HostRef = std::convert::Infallible;
use crate::proxy::{self, ProxyConfig};
use crate::target::Target;
use crate::tls;

/// A byte stream that a tunnel or TLS can run over.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + fmt::Debug {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + fmt::Debug> Io for T {}

/// A TCP stream, plain or under TLS, or a stream through a proxy.
#[derive(Debug)]
pub(crate) enum NetStream {
    /// Direct TCP.
    Plain(TcpStream),
    /// Direct TCP under TLS (boxed: the TLS state is large, and plain connections
    /// should not pay for it).
    Tls(Box<TlsStream<TcpStream>>),
    /// Any other stream: a tunnel through a proxy (itself possibly under
    /// TLS to the proxy, under TLS to the target for `wss`), or a stream
    /// whose first bytes were read ahead.
    Boxed(Box<dyn Io>),
}

/// Connects TCP to `host:port`, trying each resolved address in turn.
pub(crate) async fn tcp_to(host: &str, port: u16) -> Result<TcpStream, Error> {
    let addrs: Vec<_> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            Error::new(ErrorKind::Connect, format!("cannot resolve {host}: {e}")).with_source(e)
        })?
        .collect();
    let mut last: Option<(std::net::SocketAddr, io::Error)> = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    Err(match last {
        Some((addr, e)) => {
            Error::new(ErrorKind::Connect, format!("connect to {addr}: {e}")).with_source(e)
        }
        None => Error::new(ErrorKind::Connect, format!("{host} resolved to no address")),
    })
}

/// Runs the TLS handshake with `host` over `stream`; `label` says what is
/// being connected to, for the error message.
pub(crate) async fn tls_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    config: &Arc<rustls::ClientConfig>,
    host: &str,
    label: &str,
    stream: S,
) -> Result<TlsStream<S>, Error> {
    let name = tls::server_name(host)?;
    tokio_rustls::TlsConnector::from(config.clone())
        .connect(name, stream)
        .await
        .map_err(|e| {
            let kind = if tls::is_tls_error(&e) {
                ErrorKind::Tls
            } else {
                ErrorKind::Connect
            };
            let msg = format!("{} (connecting to {label})", tls::describe(&e));
            Error::new(kind, msg).with_source(e)
        })
}

/// Connects to the target — directly, or through the proxy that `proxy`
/// picks for it — and, for `wss`/`https`, runs the TLS handshake with the
/// target (inside the tunnel when there is one). `tls_config` is needed for
/// a TLS target and for an `https://` proxy.
pub(crate) async fn dial(
    target: &Target,
    tls_config: Option<&Arc<rustls::ClientConfig>>,
    proxy: &ProxyConfig,
    host: Option<&HostRef>,
) -> Result<NetStream, Error> {
    let route = proxy.route(target.tls, &target.host, target.port)?;
    let target_tls = || {
        tls_config.ok_or_else(|| {
            Error::new(
                ErrorKind::Internal,
                "a TLS target without a TLS configuration",
            )
        })
    };
    let authority = proxy::host_port(&target.host, target.port);
    let Some(via) = route else {
        let tcp = tcp_to(&target.host, target.port).await?;
        #[cfg(unix)]
        if let Some(host) = host {
            let tcp = hosted_io(host, tcp)?;
            if !target.tls {
                return Ok(NetStream::Boxed(Box::new(tcp)));
            }
            let stream = tls_handshake(target_tls()?, &target.host, &authority, tcp).await?;
            return Ok(NetStream::Boxed(Box::new(stream)));
        }
        if !target.tls {
            return Ok(NetStream::Plain(tcp));
        }
        let stream = tls_handshake(target_tls()?, &target.host, &authority, tcp).await?;
        return Ok(NetStream::Tls(Box::new(stream)));
    };
    let tunnel = proxy::tunnel(via, target, tls_config).await?;
    if !target.tls {
        return Ok(NetStream::Boxed(tunnel));
    }
    let label = format!("{authority} through proxy {}", via.label());
    let stream = tls_handshake(target_tls()?, &target.host, &label, tunnel).await?;
    Ok(NetStream::Boxed(Box::new(stream)))
}

/// Hands a connected socket to the host's loop.
#[cfg(unix)]
fn hosted_io(host: &HostRef, tcp: TcpStream) -> Result<crate::hosted::HostIo, Error> {
    let host = host.upgrade().ok_or_else(crate::hosted::gone)?;
    crate::hosted::HostIo::new(&host, tcp).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot hand the socket to the event loop: {e}"),
        )
        .with_source(e)
    })
}

impl AsyncRead for NetStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            NetStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            NetStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            NetStream::Boxed(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for NetStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            NetStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            NetStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            NetStream::Boxed(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            NetStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            NetStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            NetStream::Boxed(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            NetStream::Plain(s) => s.is_write_vectored(),
            NetStream::Tls(s) => s.is_write_vectored(),
            NetStream::Boxed(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            NetStream::Plain(s) => Pin::new(s).poll_flush(cx),
            NetStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            NetStream::Boxed(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            NetStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            NetStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            NetStream::Boxed(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

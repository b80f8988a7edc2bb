//! Opening the byte stream under every transport: DNS, TCP (each resolved
//! address in turn), then TLS when the scheme asks for it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::error::{Error, ErrorKind};
use crate::target::Target;
use crate::tls;

/// A TCP stream, plain or under TLS.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum NetStream {
    Plain(TcpStream),
    Tls(TlsStream<TcpStream>),
}

/// Connects TCP to the target, trying each resolved address in turn.
pub(crate) async fn tcp(target: &Target) -> Result<TcpStream, Error> {
    let addrs: Vec<_> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Connect,
                format!("cannot resolve {}: {e}", target.host),
            )
            .with_source(e)
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
        None => Error::new(
            ErrorKind::Connect,
            format!("{} resolved to no address", target.host),
        ),
    })
}

/// Connects TCP and, for `wss`/`https`, runs the TLS handshake.
pub(crate) async fn dial(
    target: &Target,
    tls_config: Option<&Arc<rustls::ClientConfig>>,
) -> Result<NetStream, Error> {
    let tcp = tcp(target).await?;
    if !target.tls {
        return Ok(NetStream::Plain(tcp));
    }
    let config = tls_config.expect("TLS target without a TLS config").clone();
    let name = tls::server_name(&target.host)?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| {
            let kind = if tls::is_tls_error(&e) {
                ErrorKind::Tls
            } else {
                ErrorKind::Connect
            };
            let msg = format!(
                "{} (connecting to {}:{})",
                tls::describe(&e),
                target.host,
                target.port
            );
            Error::new(kind, msg).with_source(e)
        })?;
    Ok(NetStream::Tls(stream))
}

impl AsyncRead for NetStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            NetStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            NetStream::Tls(s) => Pin::new(s).poll_read(cx, buf),
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
            NetStream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            NetStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            NetStream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            NetStream::Plain(s) => s.is_write_vectored(),
            NetStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            NetStream::Plain(s) => Pin::new(s).poll_flush(cx),
            NetStream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            NetStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            NetStream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

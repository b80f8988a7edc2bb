//! rustls client configuration from [`TlsOptions`]: system roots by default,
//! a custom CA file, a client certificate, and `insecure` only on request.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, ErrorKind};
use crate::options::TlsOptions;

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn tls_err(msg: String) -> Error {
    Error::new(ErrorKind::Tls, msg)
}

/// The system's roots, read once per process; the bundled Mozilla roots when
/// the system has none.
fn default_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            Arc::new(roots)
        })
        .clone()
}

/// PEM from a file or from memory, and how to name it in errors.
enum Pem<'a> {
    File(&'a std::path::Path),
    Text(&'a [u8]),
}

impl Pem<'_> {
    fn pick<'a>(
        file: &'a Option<std::path::PathBuf>,
        text: &'a Option<Vec<u8>>,
    ) -> Option<Pem<'a>> {
        match (file, text) {
            (Some(f), _) => Some(Pem::File(f)),
            (None, Some(t)) => Some(Pem::Text(t)),
            (None, None) => None,
        }
    }

    fn label(&self, what: &str) -> String {
        match self {
            Pem::File(p) => format!("{what} {}", p.display()),
            Pem::Text(_) => format!("{what} (PEM text)"),
        }
    }

    fn certs(&self, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
        let label = self.label(what);
        let parsed: Result<Vec<_>, _> = match self {
            Pem::File(p) => CertificateDer::pem_file_iter(p)
                .map_err(|e| tls_err(format!("cannot read {label}: {e}")))?
                .collect(),
            Pem::Text(t) => CertificateDer::pem_slice_iter(t).collect(),
        };
        let certs = parsed.map_err(|e| tls_err(format!("bad PEM in {label}: {e}")))?;
        if certs.is_empty() {
            return Err(tls_err(format!("{label} holds no certificate")));
        }
        Ok(certs)
    }

    fn key(&self, what: &str) -> Result<PrivateKeyDer<'static>, Error> {
        let label = self.label(what);
        match self {
            Pem::File(p) => PrivateKeyDer::from_pem_file(p),
            Pem::Text(t) => PrivateKeyDer::from_pem_slice(t),
        }
        .map_err(|e| tls_err(format!("cannot read {label}: {e}")))
    }
}

/// Builds the client config; `alpn` is offered as given.
pub(crate) fn client_config(opts: &TlsOptions, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, Error> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(format!("TLS setup: {e}")))?;
    let builder = if opts.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider())))
    } else if let Some(ca) = Pem::pick(&opts.ca_file, &opts.ca_pem) {
        let mut roots = RootCertStore::empty();
        for cert in ca.certs("CA file")? {
            roots.add(cert).map_err(|e| {
                tls_err(format!(
                    "unusable certificate in {}: {e}",
                    ca.label("CA file")
                ))
            })?;
        }
        builder.with_root_certificates(roots)
    } else {
        builder.with_root_certificates(default_roots())
    };
    let cert = Pem::pick(&opts.client_cert_file, &opts.client_cert_pem);
    let key = Pem::pick(&opts.client_key_file, &opts.client_key_pem);
    let mut config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = cert.certs("client certificate")?;
            let key = key.key("client key")?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls_err(format!("client certificate rejected: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The server name to verify and send as SNI.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_string()).map_err(|e| {
        Error::new(
            ErrorKind::InvalidUrl,
            format!("bad TLS server name {host:?}: {e}"),
        )
    })
}

/// Describes a rustls error by its cause ("certificate expired", "unknown
/// issuer", "name mismatch"), which is what a user needs to fix it.
pub(crate) fn describe(err: &std::io::Error) -> String {
    if let Some(inner) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return match inner {
            rustls::Error::InvalidCertificate(c) => format!("invalid server certificate: {c:?}"),
            other => format!("TLS handshake failed: {other}"),
        };
    }
    format!("TLS handshake failed: {err}")
}

/// Whether an I/O error from the TLS handshake came from rustls (rather than
/// from the socket).
pub(crate) fn is_tls_error(err: &std::io::Error) -> bool {
    err.get_ref()
        .is_some_and(|e| e.downcast_ref::<rustls::Error>().is_some())
}

#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

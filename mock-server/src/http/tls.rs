//! TLS for the whole port (`--tls-cert FILE --tls-key FILE`, or `--tls-self-signed CERT_OUT`):
//! cozepy only accepts an `https://` base URL before it derives `wss://`. HTTP and WebSocket
//! are then served over rustls on the same port; `serve.rs` wraps each accepted stream in
//! [`Io`].

use std::fmt;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The names a self-signed certificate covers.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A TLS acceptor for the port.
#[derive(Clone)]
pub struct Tls(pub TlsAcceptor);

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    /// From a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_files(cert: &Path, key: &Path) -> io::Result<Tls> {
        let named = |path: &Path, e: &dyn fmt::Display| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: {e}", path.display()),
            )
        };
        let certs = CertificateDer::pem_file_iter(cert)
            .map_err(|e| named(cert, &e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| named(cert, &e))?;
        if certs.is_empty() {
            return Err(named(cert, &"no PEM certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| named(key, &e))?;
        Tls::new(certs, key)
    }

    /// Generates a certificate for `localhost`, `127.0.0.1` and `::1`, writes its PEM to
    /// `cert_out` (for clients to trust) and serves with it.
    pub fn self_signed(cert_out: &Path) -> io::Result<Tls> {
        let names = SELF_SIGNED_NAMES
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>();
        let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
        std::fs::write(cert_out, certified.cert.pem())
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", cert_out.display())))?;
        let key = PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
        Tls::new(vec![certified.cert.der().clone()], key)
    }

    fn new(certs: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> io::Result<Tls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls(TlsAcceptor::from(Arc::new(config))))
    }
}

/// A served connection: plain TCP or TLS over it.
#[derive(Debug)]
pub enum Io {
    /// `http://`, `ws://`.
    Plain(TcpStream),
    /// `https://`, `wss://`.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Io {
    /// The TCP stream underneath (socket options, resets).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Io::Plain(s) => s,
            Io::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

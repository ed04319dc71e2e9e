//! The server side of TLS on a listener: the rustls configuration from the agent's PEM files,
//! whether a client certificate is required, and the peer's certificate names handed to the
//! routes as a request extension ([`PeerCert`]).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use tokio_rustls::TlsAcceptor;

use crate::api::tls::{dns_names, read_certs, read_key, read_roots};

/// Lowest TLS version a listener accepts (`tls_min_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    /// TLS 1.2 (Nomad's default).
    #[default]
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// Reads `tls12` or `tls13` (Nomad's spellings; `tls10` and `tls11` are refused: rustls
    /// does not speak them).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "tls12" => Ok(Self::Tls12),
            "tls13" => Ok(Self::Tls13),
            other => Err(format!(
                "tls_min_version {other:?} is not supported; use \"tls12\" or \"tls13\""
            )),
        }
    }
}

/// What a TLS listener serves with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// The CA client certificates must chain to (required with `require_client_cert`).
    pub ca_file: Option<PathBuf>,
    /// The listener's certificate (PEM, leaf first).
    pub cert_file: PathBuf,
    /// Its key (PEM).
    pub key_file: PathBuf,
    /// Refuse a handshake without a client certificate signed by the CA.
    pub require_client_cert: bool,
    /// Lowest version accepted.
    pub min_version: TlsVersion,
}

/// The names of the certificate a TLS peer presented (none over plain TCP or without a
/// client certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerCert {
    /// Its DNS subject alternative names, e.g. `server.global.nomad`.
    pub dns_names: Vec<String>,
}

impl PeerCert {
    /// Whether the certificate carries `name`.
    pub fn has_name(&self, name: &str) -> bool {
        self.dns_names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// The names of the leaf of `certs` (what rustls reports as the peer's chain).
    pub fn from_chain(certs: Option<&[rustls::pki_types::CertificateDer<'static>]>) -> Option<Self> {
        let leaf = certs?.first()?;
        Some(Self {
            dns_names: dns_names(leaf),
        })
    }
}

/// A TLS acceptor for `files` (HTTP/1.1 by ALPN).
pub fn acceptor(files: &ServerTlsFiles) -> Result<TlsAcceptor, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match files.min_version {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS versions: {e}"))?;
    let builder = match (files.require_client_cert, &files.ca_file) {
        (true, Some(ca)) => {
            let roots = read_roots(Some(ca), None)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("client certificate verifier for {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        (true, None) => return Err("verifying client certificates needs ca_file".into()),
        (false, _) => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(read_certs(&files.cert_file)?, read_key(&files.key_file)?)
        .map_err(|e| format!("certificate {}: {e}", files.cert_file.display()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

//! TLS for HTTP clients: the rustls configuration behind the Nomad API client (`NOMAD_CACERT`,
//! `NOMAD_CAPATH`, `NOMAD_CLIENT_CERT`, `NOMAD_CLIENT_KEY`, `NOMAD_TLS_SERVER_NAME`,
//! `NOMAD_SKIP_VERIFY`) and behind the built-in cluster's RPC calls.
//!
//! ```text
//!  CA files ─► roots ─┐
//!  cert + key ────────┼─► rustls::ClientConfig ─► reqwest (use_preconfigured_tls)
//!  NameCheck ─────────┘      └─ verifier: chain to the roots, then the name NameCheck asks for
//! ```
//!
//! The name a certificate must carry is not always the host in the URL: an agent dialled at
//! `127.0.0.1:4647` must prove it is `server.<region>.nomad`, as Nomad's
//! `verify_server_hostname` asks, so the verifier takes the name to check from [`NameCheck`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Which name a server's certificate must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameCheck {
    /// The host of the URL (an HTTPS client's usual check).
    Url,
    /// This name, whatever host was dialled (`NOMAD_TLS_SERVER_NAME`,
    /// `server.<region>.nomad` under `verify_server_hostname`).
    Fixed(String),
    /// Any name: the chain to the CA is checked, the name is not (Nomad's RPC without
    /// `verify_server_hostname`).
    ChainOnly,
    /// Nothing at all (`NOMAD_SKIP_VERIFY`): for tests, never for production.
    Skip,
}

/// The files and checks of a TLS client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientTlsFiles {
    /// PEM CA certificates the server's chain must end in.
    pub ca_file: Option<PathBuf>,
    /// A directory of PEM CA certificates (`NOMAD_CAPATH`).
    pub ca_path: Option<PathBuf>,
    /// This client's certificate (mutual TLS).
    pub cert_file: Option<PathBuf>,
    /// This client's key.
    pub key_file: Option<PathBuf>,
    /// The name check.
    pub name: NameCheck,
}

/// Reads PEM certificates from `path`.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("reading certificates from {}: {e}", path.display()))?;
    match certs.is_empty() {
        true => Err(format!("{} holds no PEM certificate", path.display())),
        false => Ok(certs),
    }
}

/// Reads a PEM private key from `path`.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("reading the private key {}: {e}", path.display()))
}

/// The CA certificates of `ca_file` and of every `*.pem`/`*.crt` file in `ca_path`.
pub fn read_roots(ca_file: Option<&Path>, ca_path: Option<&Path>) -> Result<RootCertStore, String> {
    let mut files: Vec<PathBuf> = ca_file.map(Path::to_path_buf).into_iter().collect();
    if let Some(dir) = ca_path {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("reading CA directory {}: {e}", dir.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pem" || x == "crt"))
            .collect();
        found.sort();
        files.extend(found);
    }
    let mut roots = RootCertStore::empty();
    for file in &files {
        for cert in read_certs(file)? {
            roots
                .add(cert)
                .map_err(|e| format!("CA certificate in {}: {e}", file.display()))?;
        }
    }
    Ok(roots)
}

fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// A rustls client configuration for `files` (HTTP/1.1 only, TLS 1.2 and 1.3).
pub fn client_config(files: &ClientTlsFiles) -> Result<rustls::ClientConfig, String> {
    let provider = provider();
    let verifier = Arc::new(NamedVerifier::new(files, &provider)?);
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&files.cert_file, &files.key_file) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
            .map_err(|e| format!("client certificate {}: {e}", cert.display()))?,
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("a client certificate and its key must be given together".into()),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Checks the chain with webpki, then the name [`NameCheck`] asks for.
#[derive(Debug)]
struct NamedVerifier {
    inner: Option<Arc<WebPkiServerVerifier>>,
    name: NameCheck,
    algorithms: WebPkiSupportedAlgorithms,
}

impl NamedVerifier {
    fn new(files: &ClientTlsFiles, provider: &Arc<CryptoProvider>) -> Result<Self, String> {
        let inner = match files.name {
            NameCheck::Skip => None,
            _ => {
                let roots = read_roots(files.ca_file.as_deref(), files.ca_path.as_deref())?;
                if roots.is_empty() {
                    return Err("TLS needs a CA certificate to check the server against (ca_file)".into());
                }
                let v = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
                    .build()
                    .map_err(|e| format!("TLS verifier: {e}"))?;
                Some(v)
            }
        };
        Ok(Self {
            inner,
            name: files.name.clone(),
            algorithms: provider.signature_verification_algorithms,
        })
    }
}

/// The DNS names a certificate is issued for (its subject alternative names).
pub fn dns_names(cert: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return Vec::new();
    };
    let Ok(Some(san)) = parsed.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some((*d).to_owned()),
            _ => None,
        })
        .collect()
}

impl ServerCertVerifier for NamedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(inner) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        let bad_name = || rustls::Error::General("invalid server name to check".into());
        let expected = match &self.name {
            NameCheck::Url | NameCheck::Skip => server_name.to_owned(),
            NameCheck::Fixed(n) => ServerName::try_from(n.clone()).map_err(|_| bad_name())?,
            NameCheck::ChainOnly => {
                let first = dns_names(end_entity).into_iter().next().ok_or_else(|| {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName)
                })?;
                ServerName::try_from(first).map_err(|_| bad_name())?
            }
        };
        inner.verify_server_cert(end_entity, intermediates, &expected, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

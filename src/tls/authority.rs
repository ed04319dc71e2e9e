//! A private certificate authority and the certificates it issues (rcgen, ECDSA P-256), with
//! `nomad tls`'s names, lifetimes and subject alternative names.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// Why a CA or certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file to write exists already; nothing is overwritten.
    #[error("{0} already exists; remove it first")]
    Exists(PathBuf),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// rcgen refused the parameters or the CA files.
    #[error("{what}: {source}")]
    Certificate {
        /// What was being done.
        what: String,
        /// Why.
        source: rcgen::Error,
    },
}

/// What a certificate is for: it decides the name `<role>.<region>.<domain>` and the file names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertRole {
    /// A server agent (`server.<region>.nomad`).
    Server,
    /// A client agent (`client.<region>.nomad`).
    Client,
    /// The CLI and other API callers (`cli.<region>.nomad`).
    Cli,
}

impl CertRole {
    fn name(self) -> &'static str {
        match self {
            CertRole::Server => "server",
            CertRole::Client => "client",
            CertRole::Cli => "cli",
        }
    }
}

/// The files one command wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedFiles {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM, 0600).
    pub key: PathBuf,
}

/// Creates `<domain>-agent-ca.pem` and `<domain>-agent-ca-key.pem` in `dir`, valid `days` days.
pub fn create_ca(dir: &Path, domain: &str, days: u32) -> Result<IssuedFiles, TlsError> {
    let files = IssuedFiles {
        cert: dir.join(format!("{domain}-agent-ca.pem")),
        key: dir.join(format!("{domain}-agent-ca-key.pem")),
    };
    refuse_existing(&files)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err("CA parameters"))?;
    let serial = uuid::Uuid::new_v4().simple().to_string();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("Nomad Agent CA {}", &serial[..12]));
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.name_constraints = None;
    set_validity(&mut params, days);
    let key = KeyPair::generate().map_err(cert_err("CA key"))?;
    let cert = params.self_signed(&key).map_err(cert_err("signing the CA"))?;
    write_files(&files, &cert.pem(), &key.serialize_pem())?;
    Ok(files)
}

/// What `deploy tls cert create` asks for.
#[derive(Debug, Clone)]
pub struct CertRequest<'a> {
    /// Server, client or CLI.
    pub role: CertRole,
    /// Region (default `global`).
    pub region: &'a str,
    /// Domain (default `nomad`).
    pub domain: &'a str,
    /// Lifetime in days.
    pub days: u32,
    /// More DNS names.
    pub dns_names: &'a [String],
    /// More IP addresses.
    pub ip_addresses: &'a [IpAddr],
}

/// Issues a certificate signed by the CA in `ca_cert`/`ca_key`, written to `dir` as
/// `<region>-<role>-<domain>.pem` and `...-key.pem`.
pub fn create_cert(
    dir: &Path,
    ca_cert: &Path,
    ca_key: &Path,
    req: &CertRequest,
) -> Result<IssuedFiles, TlsError> {
    let stem = format!("{}-{}-{}", req.region, req.role.name(), req.domain);
    let files = IssuedFiles {
        cert: dir.join(format!("{stem}.pem")),
        key: dir.join(format!("{stem}-key.pem")),
    };
    refuse_existing(&files)?;
    let ca_key = KeyPair::from_pem(&read(ca_key)?).map_err(cert_err("reading the CA key"))?;
    let issuer =
        Issuer::from_ca_cert_pem(&read(ca_cert)?, ca_key).map_err(cert_err("reading the CA certificate"))?;
    let role_name = format!("{}.{}.{}", req.role.name(), req.region, req.domain);
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(cert_err("certificate parameters"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, role_name.clone());
    params.subject_alt_names = subject_alt_names(&role_name, req)?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = match req.role {
        // Agents both serve and call each other.
        CertRole::Server | CertRole::Client => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
        CertRole::Cli => vec![ExtendedKeyUsagePurpose::ClientAuth],
    };
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, req.days);
    let key = KeyPair::generate().map_err(cert_err("certificate key"))?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(cert_err("signing the certificate"))?;
    write_files(&files, &cert.pem(), &key.serialize_pem())?;
    Ok(files)
}

/// The role's own name, `localhost` and 127.0.0.1 (as `nomad tls cert create`), then the extras.
fn subject_alt_names(role_name: &str, req: &CertRequest) -> Result<Vec<SanType>, TlsError> {
    let mut names = vec![role_name.to_owned(), "localhost".to_owned()];
    names.extend(req.dns_names.iter().cloned());
    let mut sans = names
        .into_iter()
        .map(|n| n.try_into().map(SanType::DnsName).map_err(cert_err("a DNS name")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ips = vec![IpAddr::from([127, 0, 0, 1])];
    ips.extend(req.ip_addresses.iter().copied());
    sans.extend(ips.into_iter().map(SanType::IpAddress));
    Ok(sans)
}

fn set_validity(params: &mut CertificateParams, days: u32) {
    let now = time::OffsetDateTime::now_utc();
    // A minute of slack for clocks slightly behind ours.
    params.not_before = now - time::Duration::minutes(1);
    params.not_after = now + time::Duration::days(i64::from(days));
}

fn cert_err(what: &str) -> impl Fn(rcgen::Error) -> TlsError + '_ {
    move |source| TlsError::Certificate {
        what: what.to_owned(),
        source,
    }
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Io {
        path: path.to_owned(),
        source,
    })
}

fn refuse_existing(files: &IssuedFiles) -> Result<(), TlsError> {
    for path in [&files.cert, &files.key] {
        if path.exists() {
            return Err(TlsError::Exists(path.clone()));
        }
    }
    Ok(())
}

/// Writes the certificate (0644) and the key (0600 from its first byte), never over a file.
fn write_files(files: &IssuedFiles, cert: &str, key: &str) -> Result<(), TlsError> {
    write_new(&files.key, key, 0o600)?;
    write_new(&files.cert, cert, 0o644)
}

fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), TlsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| TlsError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn request<'a>(role: CertRole, dns: &'a [String], ips: &'a [IpAddr]) -> CertRequest<'a> {
        CertRequest {
            role,
            region: "global",
            domain: "nomad",
            days: 365,
            dns_names: dns,
            ip_addresses: ips,
        }
    }

    #[test]
    fn a_ca_signs_server_client_and_cli_certificates_named_as_nomad() {
        let dir = tempfile::tempdir().unwrap();
        let ca = create_ca(dir.path(), "nomad", 1825).unwrap();
        assert!(ca.cert.ends_with("nomad-agent-ca.pem") && ca.key.ends_with("nomad-agent-ca-key.pem"));
        let extra = ["nomad.example".to_owned()];
        let ips = ["10.0.0.5".parse().unwrap()];
        let server = create_cert(
            dir.path(),
            &ca.cert,
            &ca.key,
            &request(CertRole::Server, &extra, &ips),
        )
        .unwrap();
        assert!(server.cert.ends_with("global-server-nomad.pem"));
        assert!(server.key.ends_with("global-server-nomad-key.pem"));
        let client = create_cert(
            dir.path(),
            &ca.cert,
            &ca.key,
            &request(CertRole::Client, &[], &[]),
        )
        .unwrap();
        assert!(client.cert.ends_with("global-client-nomad.pem"));
        let cli = create_cert(dir.path(), &ca.cert, &ca.key, &request(CertRole::Cli, &[], &[])).unwrap();
        assert!(cli.cert.ends_with("global-cli-nomad.pem"));
        for key in [&ca.key, &server.key, &client.key, &cli.key] {
            let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", key.display());
        }
        for name in [
            "server.global.nomad",
            "localhost",
            "nomad.example",
            "127.0.0.1",
            "10.0.0.5",
        ] {
            verify(&ca.cert, &server.cert, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(verify(&ca.cert, &server.cert, "client.global.nomad").is_err());
        verify(&ca.cert, &client.cert, "client.global.nomad").unwrap();
        let other = tempfile::tempdir().unwrap();
        let other_ca = create_ca(other.path(), "nomad", 30).unwrap();
        assert!(
            verify(&other_ca.cert, &server.cert, "server.global.nomad").is_err(),
            "another CA's trust"
        );
    }

    /// Whether `cert` chains to `ca` and names `name`, as a TLS client checks it.
    fn verify(ca: &Path, cert: &Path, name: &str) -> Result<(), rustls::Error> {
        use rustls::client::danger::ServerCertVerifier;
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_file(ca).unwrap()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider)
            .build()
            .unwrap();
        let end = CertificateDer::from_pem_file(cert).unwrap();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        verifier
            .verify_server_cert(&end, &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        create_ca(dir.path(), "nomad", 30).unwrap();
        assert!(matches!(
            create_ca(dir.path(), "nomad", 30),
            Err(TlsError::Exists(_))
        ));
    }
}

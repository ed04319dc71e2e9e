//! Certificates for TLS tests, made by `deploy tls ca create` and `deploy tls cert create` in a
//! directory of their own, and the agent configuration files that use them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Which certificate an agent presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `server.global.nomad`.
    Server,
    /// `client.global.nomad`.
    Client,
}

/// A CA and the server, client and CLI certificates it signed.
pub struct Certs {
    /// The directory holding them.
    pub dir: PathBuf,
}

fn deploy_tls(bin: &str, dir: &Path, args: &[&str]) {
    let out = Command::new(bin)
        .arg("tls")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running deploy tls");
    assert!(
        out.status.success(),
        "deploy tls {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Certs {
    /// Makes a CA and a server, a client and a CLI certificate in `dir` (created).
    pub fn create(bin: &str, dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("certificate dir");
        deploy_tls(bin, dir, &["ca", "create"]);
        for role in ["--server", "--client", "--cli"] {
            deploy_tls(bin, dir, &["cert", "create", role]);
        }
        Self { dir: dir.to_owned() }
    }

    /// The CA certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("nomad-agent-ca.pem")
    }

    /// The certificate and key of `role` (`server`, `client`, `cli`).
    pub fn pair(&self, role: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("global-{role}-nomad.pem")),
            self.dir.join(format!("global-{role}-nomad-key.pem")),
        )
    }

    /// Writes (once) and returns an agent configuration with the full `tls {}` block for
    /// `role`.
    pub fn agent_config(&self, role: Role) -> PathBuf {
        let name = match role {
            Role::Server => "server",
            Role::Client => "client",
        };
        let (cert, key) = self.pair(name);
        let path = self.dir.join(format!("{name}-tls.hcl"));
        let text = format!(
            "tls {{\n  http = true\n  rpc = true\n  ca_file = {:?}\n  cert_file = {:?}\n  key_file = {:?}\n  verify_server_hostname = true\n  verify_https_client = true\n}}\n",
            self.ca(),
            cert,
            key
        );
        std::fs::write(&path, text).expect("agent TLS config");
        path
    }

    /// A reqwest builder trusting the CA and presenting the CLI certificate.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let ca = std::fs::read(self.ca()).expect("CA");
        let (cert, key) = self.pair("cli");
        let mut pem = std::fs::read(cert).expect("CLI cert");
        pem.extend(std::fs::read(key).expect("CLI key"));
        reqwest::Client::builder()
            .tls_backend_rustls()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA PEM"))
            .identity(reqwest::Identity::from_pem(&pem).expect("CLI identity"))
    }

    /// The `NOMAD_*` variables that point `deploy` (or the Nomad CLI) at this CA with the
    /// CLI certificate.
    pub fn nomad_env(&self) -> Vec<(&'static str, String)> {
        let (cert, key) = self.pair("cli");
        let s = |p: PathBuf| p.to_string_lossy().into_owned();
        vec![
            ("NOMAD_CACERT", s(self.ca())),
            ("NOMAD_CLIENT_CERT", s(cert)),
            ("NOMAD_CLIENT_KEY", s(key)),
        ]
    }
}

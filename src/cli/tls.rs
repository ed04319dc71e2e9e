//! `deploy tls ca create` and `deploy tls cert create -server|-client|-cli`: a cluster's TLS
//! files, made and named as `nomad tls` makes them, in the current directory.
//!
//! Exit codes: 0 when the files were written, 1 on an error (an existing file is never
//! overwritten).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::tls::{CertRole, IssuedFiles, create_ca, create_cert};

/// `deploy tls ...`.
#[derive(Debug, Args)]
pub struct TlsCommand {
    /// What to create.
    #[command(subcommand)]
    pub action: TlsAction,
}

/// TLS actions.
#[derive(Debug, Subcommand)]
pub enum TlsAction {
    /// The certificate authority.
    Ca {
        /// What to do with it.
        #[command(subcommand)]
        action: CaAction,
    },
    /// A certificate signed by the CA.
    Cert {
        /// What to do with it.
        #[command(subcommand)]
        action: CertAction,
    },
}

/// `deploy tls ca ...`.
#[derive(Debug, Subcommand)]
pub enum CaAction {
    /// Create `nomad-agent-ca.pem` and `nomad-agent-ca-key.pem`.
    Create(CaArgs),
}

/// `deploy tls cert ...`.
#[derive(Debug, Subcommand)]
pub enum CertAction {
    /// Create `<region>-<server|client|cli>-nomad.pem` and its key.
    Create(CertArgs),
}

/// `deploy tls ca create` flags.
#[derive(Debug, Args)]
pub struct CaArgs {
    /// Days the CA is valid.
    #[arg(long, default_value_t = 1825)]
    pub days: u32,
    /// Domain of the cluster's names.
    #[arg(long, default_value = "nomad")]
    pub domain: String,
}

/// `deploy tls cert create` flags.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("role").required(true).args(["server", "client", "cli"])))]
pub struct CertArgs {
    /// A server agent's certificate (`server.<region>.nomad`).
    #[arg(long)]
    pub server: bool,
    /// A client agent's certificate (`client.<region>.nomad`).
    #[arg(long)]
    pub client: bool,
    /// A certificate for the CLI and other API callers.
    #[arg(long)]
    pub cli: bool,
    /// The CA certificate (default `<domain>-agent-ca.pem`).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The CA key (default `<domain>-agent-ca-key.pem`).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Region.
    #[arg(long, default_value = "global")]
    pub region: String,
    /// Domain.
    #[arg(long, default_value = "nomad")]
    pub domain: String,
    /// Days the certificate is valid.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Another DNS name to include; may be repeated.
    #[arg(long = "additional-dnsname", value_name = "NAME")]
    pub additional_dnsname: Vec<String>,
    /// Another IP address to include; may be repeated.
    #[arg(long = "additional-ipaddress", value_name = "IP")]
    pub additional_ipaddress: Vec<IpAddr>,
}

/// Runs `deploy tls ...`.
pub fn run(cmd: &TlsCommand) -> anyhow::Result<ExitCode> {
    let dir = PathBuf::from(".");
    let files = match &cmd.action {
        TlsAction::Ca {
            action: CaAction::Create(a),
        } => create_ca(&dir, &a.domain, a.days)?,
        TlsAction::Cert {
            action: CertAction::Create(a),
        } => {
            let role = match (a.server, a.client) {
                (true, _) => CertRole::Server,
                (_, true) => CertRole::Client,
                _ => CertRole::Cli,
            };
            let ca =
                a.ca.clone()
                    .unwrap_or_else(|| format!("{}-agent-ca.pem", a.domain).into());
            let key = a
                .key
                .clone()
                .unwrap_or_else(|| format!("{}-agent-ca-key.pem", a.domain).into());
            let req = crate::tls::CertRequest {
                role,
                region: &a.region,
                domain: &a.domain,
                days: a.days,
                dns_names: &a.additional_dnsname,
                ip_addresses: &a.additional_ipaddress,
            };
            create_cert(&dir, &ca, &key, &req)?
        }
    };
    report(&files);
    Ok(ExitCode::SUCCESS)
}

fn report(files: &IssuedFiles) {
    let name = |p: &std::path::Path| {
        p.file_name()
            .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
    };
    println!("==> Certificate saved to: {}", name(&files.cert));
    println!("==> Key saved to: {}", name(&files.key));
}

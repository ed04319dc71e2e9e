//! `deploy acl bootstrap`: create the cluster's first management token (Nomad's `nomad acl
//! bootstrap`), on an agent started with `-acl-enabled` or `acl { enabled = true }`.
//!
//! The address and TLS settings come from `NOMAD_ADDR` and the other `NOMAD_*` variables, as
//! the Nomad CLI reads them; `-address` overrides the address.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;

use super::session::runtime;
use crate::api::{ClientConfig, Method, NomadClient};

/// `deploy acl ...`.
#[derive(Debug, Args)]
pub struct AclCommand {
    /// What to do.
    #[command(subcommand)]
    pub action: AclAction,
}

/// ACL actions.
#[derive(Debug, Subcommand)]
pub enum AclAction {
    /// Create the first management token; print its accessor and secret.
    Bootstrap(BootstrapArgs),
}

/// `deploy acl bootstrap` flags.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The agent's HTTP address (default `NOMAD_ADDR`, then http://127.0.0.1:4646).
    #[arg(long = "address", value_name = "URL")]
    pub address: Option<String>,
    /// Print the token as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `deploy acl ...`.
pub fn run(cmd: &AclCommand) -> anyhow::Result<ExitCode> {
    match &cmd.action {
        AclAction::Bootstrap(args) => bootstrap(args),
    }
}

fn bootstrap(args: &BootstrapArgs) -> anyhow::Result<ExitCode> {
    let mut config = ClientConfig::from_env(|k| std::env::var(k).ok());
    if let Some(a) = &args.address {
        config.address = Some(a.clone());
    }
    let address = config.address().to_string();
    let client = NomadClient::new(config).context("configuring the API client")?;
    let token: Value = runtime()?
        .block_on(client.write(Method::Post, "/v1/acl/bootstrap", &[], &Value::Null))
        .with_context(|| format!("bootstrapping ACLs at {address}"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&token)?);
        return Ok(ExitCode::SUCCESS);
    }
    let field = |k: &str| {
        token[k]
            .as_str()
            .map_or_else(|| token[k].to_string(), str::to_owned)
    };
    println!("Accessor ID  = {}", field("AccessorID"));
    println!("Secret ID    = {}", field("SecretID"));
    println!("Name         = {}", field("Name"));
    println!("Type         = {}", field("Type"));
    println!("Global       = {}", field("Global"));
    println!("Create Time  = {}", field("CreateTime"));
    println!("Policies     = n/a");
    Ok(ExitCode::SUCCESS)
}

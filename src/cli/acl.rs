//! `deploy acl ...`: Nomad's `nomad acl` commands against the built-in cluster (or Nomad):
//! `bootstrap`, `policy apply|list|info|delete`, `token create|list|info|update|delete|self`.
//!
//! The address, token and TLS settings come from `NOMAD_ADDR`, `NOMAD_TOKEN` and the other
//! `NOMAD_*` variables, as the Nomad CLI reads them; `-address` and `-token` override them.
//! Exit codes: 0 done, 1 the agent refused or could not be reached.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;

use super::acl_policy::{PolicyAction, run_policy};
use super::acl_token::{TokenAction, print_token, run_token};
use super::session::runtime;
use crate::api::{ClientConfig, Method, NomadClient, QueryOptions};

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
    Bootstrap(Conn),
    /// Manage ACL policies.
    #[command(subcommand)]
    Policy(PolicyAction),
    /// Manage ACL tokens.
    #[command(subcommand)]
    Token(TokenAction),
}

/// Where to connect and how to print: the flags every `deploy acl` command takes.
#[derive(Debug, Clone, Args)]
pub struct Conn {
    /// The agent's HTTP address (default `NOMAD_ADDR`, then http://127.0.0.1:4646).
    #[arg(long = "address", value_name = "URL")]
    pub address: Option<String>,
    /// The ACL token to send (default `NOMAD_TOKEN`).
    #[arg(long = "token", value_name = "SECRET")]
    pub token: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl Conn {
    /// An API client for these settings.
    pub fn client(&self) -> anyhow::Result<NomadClient> {
        let mut config = ClientConfig::from_env(|k| std::env::var(k).ok());
        if let Some(a) = &self.address {
            config.address = Some(a.clone());
        }
        if let Some(t) = &self.token {
            config.token = Some(t.clone());
        }
        NomadClient::new(config).context("configuring the API client")
    }

    /// Sends one request; the decoded JSON answer (`Null` for an empty one).
    pub fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let client = self.client()?;
        let address = client.config().address().to_string();
        let (bytes, _) = runtime()?
            .block_on(client.request_raw(method, path, &[], body, QueryOptions::default()))
            .with_context(|| format!("{method:?} {path} at {address}"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).with_context(|| format!("decoding the answer to {path}"))
    }
}

/// Runs `deploy acl ...`.
pub fn run(cmd: &AclCommand) -> anyhow::Result<ExitCode> {
    match &cmd.action {
        AclAction::Bootstrap(conn) => {
            let token = conn.call(Method::Post, "/v1/acl/bootstrap", Some(&Value::Null))?;
            print_token(&token, conn.json)?;
            Ok(ExitCode::SUCCESS)
        }
        AclAction::Policy(action) => run_policy(action),
        AclAction::Token(action) => run_token(action),
    }
}

/// A JSON field as text (strings bare, other values as JSON, missing as empty).
pub fn field(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Prints `value` as pretty JSON.
pub fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

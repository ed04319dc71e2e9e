//! `deploy operator root keyring rotate|list`: the cluster keyring, as Nomad's `nomad operator
//! root keyring` commands. `rotate` makes a new root key active (older keys stay to decrypt);
//! `-full` also re-encrypts every variable under it. `list` shows key IDs and states, never
//! key material.
//!
//! The address, token and TLS settings come from `NOMAD_ADDR`, `NOMAD_TOKEN` and the other
//! `NOMAD_*` variables; `-address` overrides the address. Exit codes: 0 done, 1 failed.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;

use super::session::runtime;
use crate::api::{ClientConfig, Method, NomadClient, QueryOptions};

/// `deploy operator ...`.
#[derive(Debug, Args)]
pub struct OperatorCommand {
    /// What to do.
    #[command(subcommand)]
    pub action: OperatorAction,
}

/// Operator areas.
#[derive(Debug, Subcommand)]
pub enum OperatorAction {
    /// The cluster's root keys (`deploy operator root keyring ...`).
    Root {
        /// What to do.
        #[command(subcommand)]
        action: RootAction,
    },
}

/// `deploy operator root ...`.
#[derive(Debug, Subcommand)]
pub enum RootAction {
    /// The keyring that encrypts Variables at rest.
    Keyring {
        /// What to do.
        #[command(subcommand)]
        action: KeyringAction,
    },
}

/// `deploy operator root keyring ...`.
#[derive(Debug, Subcommand)]
pub enum KeyringAction {
    /// Make a new root key active; `-full` re-encrypts every variable under it.
    Rotate(RotateArgs),
    /// List the root keys: ID, state, creation time.
    List(ListArgs),
}

/// `rotate` flags.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Re-encrypt every variable under the new key now.
    #[arg(long)]
    pub full: bool,
    /// Where and how to reach the agent.
    #[command(flatten)]
    pub target: Target,
}

/// `list` flags.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Where and how to reach the agent.
    #[command(flatten)]
    pub target: Target,
}

/// The agent to ask and the output form.
#[derive(Debug, Args)]
pub struct Target {
    /// The agent's HTTP address (default `NOMAD_ADDR`, then http://127.0.0.1:4646).
    #[arg(long = "address", value_name = "URL")]
    pub address: Option<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

impl Target {
    fn client(&self) -> anyhow::Result<(NomadClient, String)> {
        let mut config = ClientConfig::from_env(|k| std::env::var(k).ok());
        if let Some(a) = &self.address {
            config.address = Some(a.clone());
        }
        let address = config.address().to_string();
        Ok((
            NomadClient::new(config).context("configuring the API client")?,
            address,
        ))
    }
}

/// Runs `deploy operator ...`.
pub fn run(cmd: &OperatorCommand) -> anyhow::Result<ExitCode> {
    let OperatorAction::Root {
        action: RootAction::Keyring { action },
    } = &cmd.action;
    match action {
        KeyringAction::Rotate(args) => rotate(args),
        KeyringAction::List(args) => list(args),
    }
}

fn key_line(key: &Value) -> String {
    let text = |k: &str| key[k].as_str().map_or_else(|| key[k].to_string(), str::to_owned);
    format!(
        "{:<38} {:<9} {}",
        text("KeyID"),
        text("State"),
        text("CreateTime")
    )
}

fn rotate(args: &RotateArgs) -> anyhow::Result<ExitCode> {
    let (client, address) = args.target.client()?;
    let query = [("full", args.full.to_string())];
    let answer: Value = runtime()?
        .block_on(client.write(Method::Put, "/v1/operator/keyring/rotate", &query, &Value::Null))
        .with_context(|| format!("rotating the keyring at {address}"))?;
    if args.target.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<38} {:<9} Create Time", "Key", "State");
    println!("{}", key_line(&answer["Key"]));
    if args.full {
        println!(
            "Re-encrypted {} variable(s) under the new key.",
            answer["Rekeyed"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let (client, address) = args.target.client()?;
    let (keys, _): (Vec<Value>, _) = runtime()?
        .block_on(client.get("/v1/operator/keyring/keys", &[], QueryOptions::default()))
        .with_context(|| format!("listing the keyring at {address}"))?;
    if args.target.json {
        println!("{}", serde_json::to_string_pretty(&keys)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<38} {:<9} Create Time", "Key", "State");
    for key in &keys {
        println!("{}", key_line(key));
    }
    Ok(ExitCode::SUCCESS)
}

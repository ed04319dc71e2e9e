//! `deploy acl token create|list|info|update|delete|self` (Nomad's `nomad acl token ...`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::acl::{Conn, field, print_json};
use crate::api::{Method, encode_path};

/// Token actions.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token; print it with its secret (shown only now).
    Create(CreateArgs),
    /// List tokens (without secrets).
    List(Conn),
    /// Show one token by accessor ID.
    Info(AccessorArgs),
    /// Change a token's name or policies.
    Update(UpdateArgs),
    /// Delete a token by accessor ID.
    Delete(AccessorArgs),
    /// Show the token this command sends.
    #[command(name = "self")]
    Own(Conn),
}

/// `token create` flags.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name.
    #[arg(long = "name", default_value = "")]
    pub name: String,
    /// `client` (rights from its policies) or `management`.
    #[arg(long = "type", default_value = "client")]
    pub kind: String,
    /// A policy the token holds (repeat for more).
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// Replicate to every region.
    #[arg(long)]
    pub global: bool,
    /// Lifetime (`1h`, `30m`): the token is refused after it.
    #[arg(long = "ttl", value_name = "DURATION")]
    pub ttl: Option<String>,
    /// Connection and output.
    #[command(flatten)]
    pub conn: Conn,
}

/// `token update` flags.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Accessor ID.
    pub accessor: String,
    /// New name (default: unchanged).
    #[arg(long = "name")]
    pub name: Option<String>,
    /// The policies it holds now (default: unchanged).
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// Connection and output.
    #[command(flatten)]
    pub conn: Conn,
}

/// Flags of commands on one token.
#[derive(Debug, Args)]
pub struct AccessorArgs {
    /// Accessor ID.
    pub accessor: String,
    /// Connection and output.
    #[command(flatten)]
    pub conn: Conn,
}

/// Runs a token action.
pub fn run_token(action: &TokenAction) -> anyhow::Result<ExitCode> {
    match action {
        TokenAction::Create(a) => {
            let mut body =
                json!({"Name": a.name, "Type": a.kind, "Policies": a.policies, "Global": a.global});
            if let Some(ttl) = &a.ttl {
                body["ExpirationTTL"] = json!(ttl);
            }
            let token = a.conn.call(Method::Post, "/v1/acl/token", Some(&body))?;
            print_token(&token, a.conn.json)?;
        }
        TokenAction::List(conn) => {
            let list = conn.call(Method::Get, "/v1/acl/tokens", None)?;
            if conn.json {
                print_json(&list)?;
            } else {
                println!(
                    "{:<20} {:<38} {:<11} {:<7} Expiration Time",
                    "Name", "Accessor ID", "Type", "Global"
                );
                for t in list.as_array().into_iter().flatten() {
                    println!(
                        "{:<20} {:<38} {:<11} {:<7} {}",
                        field(t, "Name"),
                        field(t, "AccessorID"),
                        field(t, "Type"),
                        field(t, "Global"),
                        field(t, "ExpirationTime")
                    );
                }
            }
        }
        TokenAction::Info(a) => {
            let path = format!("/v1/acl/token/{}", encode_path(&a.accessor));
            print_token(&a.conn.call(Method::Get, &path, None)?, a.conn.json)?;
        }
        TokenAction::Update(a) => {
            let path = format!("/v1/acl/token/{}", encode_path(&a.accessor));
            let current = a.conn.call(Method::Get, &path, None)?;
            let mut body = current.clone();
            if let Some(n) = &a.name {
                body["Name"] = json!(n);
            }
            if !a.policies.is_empty() {
                body["Policies"] = json!(a.policies);
            }
            print_token(&a.conn.call(Method::Post, &path, Some(&body))?, a.conn.json)?;
        }
        TokenAction::Delete(a) => {
            let path = format!("/v1/acl/token/{}", encode_path(&a.accessor));
            a.conn.call(Method::Delete, &path, None)?;
            println!("Token {} successfully deleted", a.accessor);
        }
        TokenAction::Own(conn) => {
            print_token(&conn.call(Method::Get, "/v1/acl/token/self", None)?, conn.json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a token as Nomad's CLI does, or as JSON.
pub fn print_token(t: &Value, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(t);
    }
    let policies = match t["Policies"].as_array() {
        Some(p) if !p.is_empty() => p.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
        _ => "n/a".into(),
    };
    let expires = Some(field(t, "ExpirationTime")).filter(|e| !e.is_empty());
    println!("Accessor ID  = {}", field(t, "AccessorID"));
    println!("Secret ID    = {}", field(t, "SecretID"));
    println!("Name         = {}", field(t, "Name"));
    println!("Type         = {}", field(t, "Type"));
    println!("Global       = {}", field(t, "Global"));
    println!("Create Time  = {}", field(t, "CreateTime"));
    println!("Expiry Time  = {}", expires.as_deref().unwrap_or("<none>"));
    println!("Policies     = {policies}");
    Ok(())
}

//! `deploy acl policy apply|list|info|delete` (Nomad's `nomad acl policy ...`).

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::acl::{Conn, field, print_json};
use crate::api::{Method, encode_path};

/// Policy actions.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Create or replace policy NAME with the rules in FILE (HCL or JSON; `-` reads stdin).
    Apply(ApplyArgs),
    /// List policies.
    List(Conn),
    /// Show one policy with its rules.
    Info(NamedArgs),
    /// Delete a policy.
    Delete(NamedArgs),
}

/// `policy apply` flags.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Policy name.
    pub name: String,
    /// Rules file.
    pub file: String,
    /// Description.
    #[arg(long = "description", default_value = "")]
    pub description: String,
    /// Connection and output.
    #[command(flatten)]
    pub conn: Conn,
}

/// Flags of commands on one policy.
#[derive(Debug, Args)]
pub struct NamedArgs {
    /// Policy name.
    pub name: String,
    /// Connection and output.
    #[command(flatten)]
    pub conn: Conn,
}

/// The most rules text read from a file.
const MAX_RULES_FILE: u64 = 1024 * 1024;

fn read_rules(file: &str) -> anyhow::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    if file == "-" {
        std::io::stdin()
            .take(MAX_RULES_FILE)
            .read_to_string(&mut text)
            .context("reading rules from stdin")?;
    } else {
        std::fs::File::open(file)
            .and_then(|f| f.take(MAX_RULES_FILE).read_to_string(&mut text))
            .with_context(|| format!("reading rules from {file}"))?;
    }
    Ok(text)
}

/// Runs a policy action.
pub fn run_policy(action: &PolicyAction) -> anyhow::Result<ExitCode> {
    match action {
        PolicyAction::Apply(a) => {
            let rules = read_rules(&a.file)?;
            let body = json!({"Name": a.name, "Description": a.description, "Rules": rules});
            let path = format!("/v1/acl/policy/{}", encode_path(&a.name));
            a.conn.call(Method::Post, &path, Some(&body))?;
            println!("Successfully wrote {:?} ACL policy!", a.name);
        }
        PolicyAction::List(conn) => {
            let list = conn.call(Method::Get, "/v1/acl/policies", None)?;
            if conn.json {
                print_json(&list)?;
            } else {
                let rows = list.as_array().cloned().unwrap_or_default();
                if rows.is_empty() {
                    println!("No policies found");
                }
                for (i, p) in rows.iter().enumerate() {
                    if i == 0 {
                        println!("{:<24} Description", "Name");
                    }
                    println!("{:<24} {}", field(p, "Name"), field(p, "Description"));
                }
            }
        }
        PolicyAction::Info(n) => {
            let path = format!("/v1/acl/policy/{}", encode_path(&n.name));
            let p = n.conn.call(Method::Get, &path, None)?;
            if n.conn.json {
                print_json(&p)?;
            } else {
                print_policy(&p);
            }
        }
        PolicyAction::Delete(n) => {
            let path = format!("/v1/acl/policy/{}", encode_path(&n.name));
            n.conn.call(Method::Delete, &path, None)?;
            println!("Successfully deleted {:?} ACL policy!", n.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_policy(p: &Value) {
    println!("Name        = {}", field(p, "Name"));
    println!("Description = {}", field(p, "Description"));
    println!("CreateIndex = {}", field(p, "CreateIndex"));
    println!("ModifyIndex = {}", field(p, "ModifyIndex"));
    println!();
    println!("Rules");
    println!();
    println!("{}", field(p, "Rules"));
}

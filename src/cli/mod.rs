//! The command line: one file per command; each parses its flags into a checked options value,
//! makes one library call and renders the result. Exit codes are documented per command.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod acl;
pub mod acl_policy;
pub mod acl_token;
pub mod agent;
pub mod apply;
pub mod completion;
pub mod destroy;
pub mod dispatch;
pub mod fmt;
pub mod graph;
pub mod import;
pub mod inspect;
pub mod logs;
pub mod operator;
pub mod output;
pub mod plan;
mod progress;
pub mod promote;
pub mod rollback;
mod session;
mod stack_input;
pub mod state;
pub mod status;
pub mod test;
pub mod tls;
pub mod validate;

/// `deploy`: plan, apply and roll back stacks of Nomad jobs.
#[derive(Debug, Parser)]
#[command(name = "deploy", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a stack or jobspec; every problem with file:line:col.
    Validate(validate::ValidateArgs),
    /// Print the canonical Nomad JSON of a stack's jobs.
    Inspect(inspect::InspectArgs),
    /// Show what apply would change.
    Plan(plan::PlanArgs),
    /// Print the stack's dependency graph.
    Graph(graph::GraphArgs),
    /// Read the recorded state.
    State(state::StateArgs),
    /// Make the stack so, in dependency order, gated on health.
    Apply(apply::ApplyArgs),
    /// Return the stack to an earlier revision (as a new revision).
    Rollback(rollback::RollbackArgs),
    /// Stop every job of the stack, dependents first.
    Destroy(destroy::DestroyArgs),
    /// Promote the canaries of a job's deployment and follow it to its end.
    Promote(promote::PromoteArgs),
    /// The stack's jobs, versions and allocations.
    Status(status::StatusArgs),
    /// The outputs the latest revision recorded.
    Output(output::OutputArgs),
    /// Run a built-in cluster agent, or stop the local one.
    Agent(Box<agent::AgentCommand>),
    /// Compare stacks' plans with committed snapshots.
    Test(test::TestArgs),
    /// Manage ACL policies and tokens (`deploy acl bootstrap`, `policy`, `token`).
    Acl(acl::AclCommand),
    /// Cluster operations (`deploy operator root keyring rotate`).
    Operator(operator::OperatorCommand),
    /// Create a cluster's TLS CA and certificates (`deploy tls ca create`, `deploy tls cert create`).
    Tls(tls::TlsCommand),
    /// Print a stack job's task log (`-f` follows it).
    Logs(logs::LogsArgs),
    /// Launch a child of a stack's parameterized job.
    Dispatch(dispatch::DispatchArgs),
    /// Record a job that already runs as the stack's, without registering it.
    Import(import::ImportArgs),
    /// Rewrite HCL files in the canonical layout (`-check` lists them instead).
    Fmt(fmt::FmtArgs),
    /// Print a shell completion script (bash, zsh or fish).
    Completion(completion::CompletionArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::State(args) => state::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Rollback(args) => rollback::run(&args),
        Command::Destroy(args) => destroy::run(&args),
        Command::Promote(args) => promote::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Output(args) => output::run(&args),
        Command::Agent(cmd) => agent::run(&cmd),
        Command::Acl(cmd) => acl::run(&cmd),
        Command::Operator(cmd) => operator::run(&cmd),
        Command::Tls(cmd) => tls::run(&cmd),
        Command::Test(args) => test::run(&args),
        Command::Logs(args) => logs::run(&args),
        Command::Dispatch(args) => dispatch::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Completion(args) => completion::run(&args),
    }
}

/// Accepts Nomad's and Terraform's single-dash long flags (`-var`, `-out=FILE`) by rewriting
/// them to clap's `--var` form. Single-letter flags (`-h`) and negative numbers are kept.
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut after_separator = false;
    for arg in args {
        if after_separator {
            out.push(arg);
            continue;
        }
        let Some(s) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if s == "--" {
            after_separator = true;
            out.push(arg);
            continue;
        }
        let is_single_dash_long = s.starts_with('-')
            && !s.starts_with("--")
            && s.len() > 2
            && s.as_bytes()[1].is_ascii_alphabetic()
            && s[1..].split('=').next().is_some_and(|name| name.len() > 1);
        if is_single_dash_long {
            out.push(OsString::from(format!("-{s}")));
        } else {
            out.push(arg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(OsString::from))
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn single_dash_long_flags_become_double_dash() {
        assert_eq!(
            norm(&[
                "deploy",
                "plan",
                "-var",
                "a=b",
                "-out=p.json",
                "-h",
                "--json",
                "-5",
                "--",
                "-x"
            ]),
            [
                "deploy",
                "plan",
                "--var",
                "a=b",
                "--out=p.json",
                "-h",
                "--json",
                "-5",
                "--",
                "-x"
            ]
        );
    }
}

//! `deploy`: a declarative plan/apply/rollback tool for Nomad-style workloads.
//!
//! Temporary entry point exposing only `deploy agent`, for testing the built-in cluster.

use clap::{Parser, Subcommand};
use deploy::cluster::{AgentArgs, run_agent};

#[derive(Parser)]
#[command(name = "deploy", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a built-in cluster agent (server and/or client).
    Agent(AgentArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_from(AgentArgs::normalize(std::env::args()));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEPLOY_LOG")
                .unwrap_or_else(|_| "warn,openraft=error".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Agent(args) => runtime.block_on(run_agent(args.to_config()?)),
    }
}

//! `deploy agent`: run a built-in cluster node (`-dev`, `-config FILE`, flags), or manage the
//! local cluster that `deploy` starts for stacks with no backend (`deploy agent stop|status`).
//!
//! Exit codes: 0 on a clean shutdown or success, 1 on an error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::backend::{agent_status, stop_local_agent};
use crate::cluster::{AgentArgs, run_agent};

/// `deploy agent [flags] | deploy agent stop|status`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AgentCommand {
    /// Manage the local cluster instead of running an agent.
    #[command(subcommand)]
    pub action: Option<AgentAction>,
    /// Agent flags.
    #[command(flatten)]
    pub args: AgentArgs,
}

/// Local-cluster management.
#[derive(Debug, Subcommand)]
pub enum AgentAction {
    /// Stop the local cluster that `deploy` started in the background.
    Stop(LocalArgs),
    /// Say whether the local cluster runs.
    Status(LocalArgs),
}

/// Where the local cluster's data lives.
#[derive(Debug, Args)]
pub struct LocalArgs {
    /// The state root whose `.agent/` holds the local cluster (default `state`).
    #[arg(long = "state", value_name = "DIR", default_value = "state")]
    pub state: PathBuf,
}

/// An agent must outlive its peers: `main` restores the default SIGPIPE action for the CLI's
/// pipes (`deploy inspect | head`), under which a write to a connection whose peer has died
/// (a vectored write: `writev` has no `MSG_NOSIGNAL`) kills the process without a word. Under
/// mutual TLS, killing one server killed the servers still writing to it, and the cluster lost
/// its quorum. Ignored, such a write is an error on that one connection.
fn ignore_broken_pipes() {
    // SAFETY: SIG_IGN is always a valid disposition; changing it has no memory effects.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Runs `deploy agent`.
pub fn run(cmd: &AgentCommand) -> anyhow::Result<ExitCode> {
    match &cmd.action {
        Some(AgentAction::Stop(local)) => {
            match stop_local_agent(&local.state)? {
                Some(pid) => println!("Stopped the local cluster (pid {pid})."),
                None => println!("No local cluster runs for {}.", local.state.display()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(AgentAction::Status(local)) => {
            match agent_status(&local.state) {
                Some(pid) => println!("The local cluster runs (pid {pid})."),
                None => println!("No local cluster runs for {}.", local.state.display()),
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let mut config = cmd.args.to_config()?;
            init_logging();
            ignore_broken_pipes();
            let runtime = tokio::runtime::Runtime::new()?;
            // `/v1/jobs/parse` answers with deploy's own HCL front end.
            config.job_parser = Some(crate::cluster::JobParser::new(|hcl: &str, vars: &str| {
                crate::frontend::parse_job_with_variables(hcl, vars)
                    .map_err(|d| d.render(&crate::diag::RenderOptions::plain()))
            }));
            let result = runtime.block_on(run_agent(config));
            // Dropping a runtime waits for all its blocking work; a plan still giving up or
            // a stuck file read must not hold the exit.
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            result?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Logs to stderr at `DEPLOY_LOG` (default `warn,openraft=error`), and to whoever follows
/// `/v1/agent/monitor` at the level they ask for.
fn init_logging() {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEPLOY_LOG")
                .unwrap_or_else(|_| "warn,openraft=error".into()),
        );
    let monitor =
        crate::cluster::log_hub::layer().with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            crate::cluster::log_hub::hub().wants(*meta.level())
        }));
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(monitor)
        .try_init();
}

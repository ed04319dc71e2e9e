//! `deploy destroy`: stop every job of the stack, dependents first.
//!
//! Exit codes: 0 destroyed (or nothing to do), 1 error, a job failed, or not approved.

use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::{View, sink};
use super::session::{approve, finish, runtime, show_plan};
use super::stack_input::{self, LockArgs, VarArgs};
use crate::operation::{RunOptions, StackSession, plan_destroy, run_change};

/// Flags of `deploy destroy`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 destroyed (or nothing to do), 1 error, a job failed, or not approved.")]
pub struct DestroyArgs {
    /// The stack directory.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Skip the question.
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
    /// Purge the jobs from the backend (no history kept there).
    #[arg(long = "purge")]
    pub purge: bool,
    /// Jobs stopped at once.
    #[arg(long = "parallelism", value_name = "N")]
    pub parallelism: Option<usize>,
    /// How long each job may take to stop.
    #[arg(long = "timeout", value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Progress as NDJSON events on stdout.
    #[arg(long = "json")]
    pub json: bool,
    /// `-var NAME=VALUE` and `-var-file FILE` (repeatable).
    #[command(flatten)]
    pub vars: VarArgs,
    /// State directory.
    #[arg(long = "state", value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Destroy only these jobs or modules.
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// `-lock-timeout DURATION`.
    #[command(flatten)]
    pub lock: LockArgs,
}

/// Runs `deploy destroy`.
pub fn run(args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_async(args))
}

async fn run_async(args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    let request = stack_input::request(
        &args.path,
        &args.vars,
        args.state.as_deref(),
        &args.lock,
        "deploy destroy",
    );
    let session = StackSession::open_connected(&request, &stack_input::notice).await?;
    let view = View::choose(args.json);
    let change = plan_destroy(&session, args.targets.clone(), args.purge).await?;
    show_plan(&change.plan, view);
    if !change.has_work {
        if view != View::Json {
            println!("\nNothing runs; nothing to destroy.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !approve(args.auto_approve, "destroy every job of the stack")? {
        eprintln!("Destroy cancelled.");
        return Ok(ExitCode::from(1));
    }
    let options = RunOptions {
        parallelism: args.parallelism,
        timeout: args.timeout.clone(),
        atomic: false,
    };
    let report = run_change(&session, change, &options, sink(view)).await?;
    Ok(finish(&report, view, "Destroy"))
}

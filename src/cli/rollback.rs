//! `deploy rollback [REV]`: plan the stack back to revision REV (default: the one before the
//! latest), show that plan, and apply it as a new revision. Stops go dependents first; jobs
//! that change go in dependency order, reverting where the backend still keeps the version.
//!
//! Exit codes: 0 rolled back (or nothing to do), 1 error, a job failed, or not approved.

use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::{View, sink};
use super::session::{approve, finish, runtime, show_plan};
use super::stack_input::{self, LockArgs, VarArgs};
use crate::operation::{RunOptions, StackSession, plan_rollback, run_change};

/// Flags of `deploy rollback`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 rolled back (or nothing to do), 1 error, a job failed, or not approved."
)]
pub struct RollbackArgs {
    /// The revision to return to (default: the one before the latest).
    pub revision: Option<u64>,
    /// The stack directory.
    #[arg(long = "stack", value_name = "PATH", default_value = ".")]
    pub stack: PathBuf,
    /// Skip the question.
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
    /// Jobs in flight at once.
    #[arg(long = "parallelism", value_name = "N")]
    pub parallelism: Option<usize>,
    /// How long each job's gate may take.
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
    /// `-lock-timeout DURATION`.
    #[command(flatten)]
    pub lock: LockArgs,
}

/// Runs `deploy rollback`.
pub fn run(args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_async(args))
}

async fn run_async(args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let request = stack_input::request(
        &args.stack,
        &args.vars,
        args.state.as_deref(),
        &args.lock,
        "deploy rollback",
    );
    let session = StackSession::open_connected(&request, &stack_input::notice).await?;
    let view = View::choose(args.json);
    let change = plan_rollback(&session, args.revision).await?;
    let serial = change.revision.unwrap_or_default();
    if view != View::Json {
        let latest = session.state.as_ref().map_or(0, |s| s.serial);
        println!("Rolling back to revision {serial} (latest is {latest}).\n");
    }
    show_plan(&change.plan, view);
    if !change.has_work {
        if view != View::Json {
            println!("\nThe stack already matches revision {serial}.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !approve(args.auto_approve, &format!("roll back to revision {serial}"))? {
        eprintln!("Rollback cancelled.");
        return Ok(ExitCode::from(1));
    }
    let options = RunOptions {
        parallelism: args.parallelism,
        timeout: args.timeout.clone(),
        atomic: false,
    };
    let report = run_change(&session, change, &options, sink(view)).await?;
    Ok(finish(&report, view, "Rollback"))
}

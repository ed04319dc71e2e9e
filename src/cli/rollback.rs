//! `deploy rollback [REV]`: plan the stack back to revision REV (default: the one before the
//! latest), show that plan, and apply it as a new revision. Stops go dependents first, and so
//! do jobs that change (undo order; dependency order where the rollback re-creates a job),
//! reverting where the backend still keeps the version.
//!
//! Exit codes: 0 rolled back (or nothing to do), 1 error, a job failed, or not approved.

use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::{View, sink};
use super::session::{approve, finish, runtime, show_plan};
use super::stack_input::{self, LockArgs, RunArgs, StateDirArgs, VarArgs};
use crate::operation::{StackSession, plan_rollback, run_change};

/// Flags of `deploy rollback`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("parallelism", |a| a.help("Jobs in flight at once")),
    mut_arg("timeout", |a| a.help("How long each job's gate may take")),
    mut_arg("state", |a| a.help("State directory")),
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
    /// `-parallelism N`, `-timeout DURATION`, `-json`.
    #[command(flatten)]
    pub run: RunArgs,
    /// `-var NAME=VALUE` and `-var-file FILE` (repeatable).
    #[command(flatten)]
    pub vars: VarArgs,
    /// `-state DIR`.
    #[command(flatten)]
    pub state: StateDirArgs,
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
        &args.state,
        &args.lock,
        "deploy rollback",
    );
    let session = StackSession::open_connected(&request, &stack_input::notice).await?;
    let view = View::choose(args.run.json);
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
    let options = args.run.options(false);
    let report = run_change(&session, change, &options, sink(view)).await?;
    Ok(finish(&report, view, "Rollback"))
}

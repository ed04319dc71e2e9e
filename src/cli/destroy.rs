//! `deploy destroy`: stop every job of the stack, dependents first.
//!
//! Exit codes: 0 destroyed (or nothing to do), 1 error, a job failed, or not approved.

use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::{View, sink};
use super::session::{approve, finish, runtime, show_plan};
use super::stack_input::{self, LockArgs, RunArgs, StateDirArgs, VarArgs};
use crate::operation::{StackSession, plan_destroy, run_change};

/// Flags of `deploy destroy`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("parallelism", |a| a.help("Jobs stopped at once")),
    mut_arg("timeout", |a| a.help("How long each job may take to stop")),
    mut_arg("state", |a| a.help("State directory")),
    after_help = "Exit codes: 0 destroyed (or nothing to do), 1 error, a job failed, or not approved.")]
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
    /// `-parallelism N`, `-timeout DURATION`, `-json`.
    #[command(flatten)]
    pub run: RunArgs,
    /// `-var NAME=VALUE` and `-var-file FILE` (repeatable).
    #[command(flatten)]
    pub vars: VarArgs,
    /// `-state DIR`.
    #[command(flatten)]
    pub state: StateDirArgs,
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
    let request = stack_input::request(&args.path, &args.vars, &args.state, &args.lock, "deploy destroy");
    let session = StackSession::open_connected(&request, &stack_input::notice).await?;
    let view = View::choose(args.run.json);
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
    let options = args.run.options(false);
    let report = run_change(&session, change, &options, sink(view)).await?;
    Ok(finish(&report, view, "Destroy"))
}

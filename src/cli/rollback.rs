//! `deploy rollback [REV]`: plan the stack back to revision REV (default: the one before the
//! latest), show that plan, and apply it as a new revision. Stops go dependents first; jobs
//! that change go in dependency order, reverting where the backend still keeps the version.
//!
//! Exit codes: 0 rolled back (or nothing to do), 1 error, a job failed, or not approved.

use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::View;
use super::session::{Session, approve, finish, open_revision, runtime, show_plan};
use super::stack_input::VarArgs;
use crate::apply::{ApplyOptions, StepOptions, build_steps, current_edges, stack_at};
use crate::graph::StackGraph;
use crate::plan::live_view;
use crate::plan::{PlanOptions, plan};

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
    /// How long to wait for the state lock.
    #[arg(long = "lock-timeout", default_value = "0s", value_name = "DURATION")]
    pub lock_timeout: String,
}

/// Runs `deploy rollback`.
pub fn run(args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_async(args))
}

async fn run_async(args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let vars = &args.vars;
    let session = Session::open(
        &args.stack,
        vars,
        args.state.as_deref(),
        "deploy rollback",
        &args.lock_timeout,
    )
    .await?;
    let view = View::choose(args.json);
    let Some(latest) = session.state.as_ref() else {
        anyhow::bail!("the stack has no recorded revision to roll back from");
    };
    let serial = match args.revision {
        Some(r) => r,
        None if latest.serial > 1 => latest.serial - 1,
        None => anyhow::bail!(
            "revision {} is the first one; there is nothing before it",
            latest.serial
        ),
    };
    let target_rev = open_revision(session.store.read(serial)?)?;
    let target = stack_at(&target_rev, &session.stack);
    let graph = StackGraph::build(&target)?;
    let live = live_view(session.backend.as_ref(), &target, session.state.as_ref(), false).await?;
    let the_plan = plan(
        &target,
        &graph,
        session.state.as_ref(),
        Some(&live),
        &PlanOptions::default(),
    )?;
    if view != View::Json {
        println!(
            "Rolling back to revision {serial} (latest is {}).\n",
            latest.serial
        );
    }
    show_plan(&the_plan, view);
    if !the_plan.has_changes() {
        if view != View::Json {
            println!("\nThe stack already matches revision {serial}.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !approve(args.auto_approve, &format!("roll back to revision {serial}"))? {
        eprintln!("Rollback cancelled.");
        return Ok(ExitCode::from(1));
    }
    let options = ApplyOptions {
        parallelism: args
            .parallelism
            .or(session.stack.settings.parallelism)
            .unwrap_or(10),
        atomic: false,
    };
    let step_options = StepOptions {
        default_timeout: session.default_timeout(args.timeout.as_deref())?,
        purge: false,
        prefer_revert: true,
    };
    let mut edges = current_edges(&session.graph);
    edges.extend(current_edges(&graph));
    let steps = build_steps(
        session.backend.as_ref(),
        &the_plan,
        &target,
        session.state.as_ref(),
        Some(&live),
        &edges,
        &step_options,
    )
    .await?;
    let stored = session.store.read(serial)?;
    let report = session
        .run(steps, &options, (stored.variables, stored.outputs), view)
        .await?;
    Ok(finish(&report, view, "Rollback"))
}

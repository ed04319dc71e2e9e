//! `deploy destroy`: stop every job of the stack, dependents first.
//!
//! Exit codes: 0 destroyed (or nothing to do), 1 error, a job failed, or not approved.

use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::View;
use super::session::{Session, approve, finish, runtime, show_plan};
use super::stack_input::VarArgs;
use crate::apply::{ApplyOptions, StepOptions, build_steps, current_edges};
use crate::plan::live_view;
use crate::plan::{PlanOptions, plan};

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
    /// How long to wait for the state lock.
    #[arg(long = "lock-timeout", default_value = "0s", value_name = "DURATION")]
    pub lock_timeout: String,
}

/// Runs `deploy destroy`.
pub fn run(args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_async(args))
}

async fn run_async(args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    let vars = &args.vars;
    let session = Session::open(
        &args.path,
        vars,
        args.state.as_deref(),
        "deploy destroy",
        &args.lock_timeout,
    )
    .await?;
    let view = View::choose(args.json);
    let live = live_view(
        session.backend.as_ref(),
        &session.stack,
        session.state.as_ref(),
        false,
    )
    .await?;
    let options = PlanOptions {
        destroy: true,
        targets: args.targets.clone(),
    };
    let mut the_plan = plan(
        &session.stack,
        &session.graph,
        session.state.as_ref(),
        Some(&live),
        &options,
    )?;
    // Jobs of the stack that do not run are not stopped again.
    the_plan.jobs.retain(|j| live.jobs.contains_key(&j.address));
    the_plan.summary = crate::plan::Summary {
        destroy: the_plan.jobs.len(),
        ..Default::default()
    };
    show_plan(&the_plan, view);
    if !the_plan.has_changes() {
        if view != View::Json {
            println!("\nNothing runs; nothing to destroy.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !approve(args.auto_approve, "destroy every job of the stack")? {
        eprintln!("Destroy cancelled.");
        return Ok(ExitCode::from(1));
    }
    let apply_options = ApplyOptions {
        parallelism: args
            .parallelism
            .or(session.stack.settings.parallelism)
            .unwrap_or(10),
        atomic: false,
    };
    let step_options = StepOptions {
        default_timeout: session.default_timeout(args.timeout.as_deref())?,
        purge: args.purge,
        prefer_revert: false,
    };
    let steps = build_steps(
        session.backend.as_ref(),
        &the_plan,
        &session.stack,
        session.state.as_ref(),
        Some(&live),
        &current_edges(&session.graph),
        &step_options,
    )
    .await?;
    let base = session.store.latest()?;
    let values = base.map(|b| (b.variables, b.outputs)).unwrap_or_default();
    let report = session.run(steps, &apply_options, values, view).await?;
    Ok(finish(&report, view, "Destroy"))
}

//! `deploy apply [PLANFILE | PATH]`: make the stack so, in dependency order, gated on health.
//!
//! Exit codes: 0 applied (or nothing to do), 1 error, a job failed, or the answer was not `yes`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::View;
use super::session::{Session, approve, finish, runtime, show_plan, stack_values};
use super::stack_input::VarArgs;
use crate::apply::{ApplyOptions, StepOptions, build_steps, current_edges};
use crate::plan::live_view;
use crate::plan::{Action, Plan, PlanOptions, check_current, load_plan, plan};

/// Flags of `deploy apply`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 applied (or nothing to do), 1 error, a job failed, or not approved.")]
pub struct ApplyArgs {
    /// A stack directory, or a plan saved with `deploy plan -out FILE`.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// With a plan file: the stack it was made from (its sensitive values are read there).
    #[arg(long = "stack", value_name = "PATH", default_value = ".")]
    pub stack: PathBuf,
    /// Skip the question.
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
    /// Jobs in flight at once (default: the stack's apply.parallelism, else 10).
    #[arg(long = "parallelism", value_name = "N")]
    pub parallelism: Option<usize>,
    /// How long each job's gate may take (default: the stack's apply.timeout, else 5m).
    #[arg(long = "timeout", value_name = "DURATION")]
    pub timeout: Option<String>,
    /// On failure, undo everything this apply changed.
    #[arg(long = "atomic")]
    pub atomic: bool,
    /// Progress as NDJSON events on stdout.
    #[arg(long = "json")]
    pub json: bool,
    /// `-var NAME=VALUE` and `-var-file FILE` (repeatable).
    #[command(flatten)]
    pub vars: VarArgs,
    /// State directory (default: state/<stack> beside the stack).
    #[arg(long = "state", value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Apply only these jobs or modules and what they depend on (repeatable).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// How long to wait for the state lock.
    #[arg(long = "lock-timeout", default_value = "0s", value_name = "DURATION")]
    pub lock_timeout: String,
}

fn is_plan_file(path: &std::path::Path) -> Option<Plan> {
    if !path.is_file() {
        return None;
    }
    load_plan(path).ok()
}

/// Runs `deploy apply`.
pub fn run(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_async(args))
}

async fn run_async(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let saved = is_plan_file(&args.path);
    let stack_path = if saved.is_some() { &args.stack } else { &args.path };
    let vars = &args.vars;
    let session = Session::open(
        stack_path,
        vars,
        args.state.as_deref(),
        "deploy apply",
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
    let targets = saved
        .as_ref()
        .map(|p| p.targets.clone())
        .unwrap_or_else(|| args.targets.clone());
    let fresh = plan(
        &session.stack,
        &session.graph,
        session.state.as_ref(),
        Some(&live),
        &PlanOptions {
            destroy: saved.as_ref().is_some_and(|p| p.destroy),
            targets,
        },
    )?;
    let the_plan = match saved {
        Some(saved) => {
            check_current(&saved, session.state.as_ref(), Some(&live))?;
            let same = |a: &Plan, b: &Plan| {
                a.jobs.len() == b.jobs.len()
                    && a.jobs
                        .iter()
                        .zip(&b.jobs)
                        .all(|(x, y)| x.address == y.address && x.action == y.action && x.after == y.after)
            };
            if !same(&saved, &fresh) {
                anyhow::bail!(
                    "the saved plan is stale: the stack at {} no longer plans the same changes; run deploy plan again",
                    args.stack.display()
                );
            }
            saved
        }
        None => fresh,
    };
    let unrecorded = the_plan.jobs.iter().any(|j| {
        j.action == Action::Noop && session.state.as_ref().and_then(|s| s.job(&j.address)).is_none()
    });
    show_plan(&the_plan, view);
    if !the_plan.has_changes() && !unrecorded {
        if view != View::Json {
            println!("\nNothing to apply.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !approve(args.auto_approve, "apply")? {
        eprintln!("Apply cancelled.");
        return Ok(ExitCode::from(1));
    }
    let options = ApplyOptions {
        parallelism: args
            .parallelism
            .or(session.stack.settings.parallelism)
            .unwrap_or(10),
        atomic: args.atomic || session.stack.settings.atomic,
    };
    let step_options = StepOptions {
        default_timeout: session.default_timeout(args.timeout.as_deref())?,
        purge: false,
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
    let report = session
        .run(steps, &options, stack_values(&session.stack)?, view)
        .await?;
    Ok(finish(&report, view, "Apply"))
}

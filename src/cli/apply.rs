//! `deploy apply [PLANFILE | PATH]`: make the stack so, in dependency order, gated on health.
//!
//! Exit codes: 0 applied (or nothing to do), 1 error, a job failed, the answer was not `yes`,
//! or some job would not be placed (without `-allow-unplaced`).

use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::{View, sink};
use super::session::{approve, finish, runtime, show_plan};
use super::stack_input::{self, LockArgs, RunArgs, StateDirArgs, VarArgs};
use crate::operation::{StackSession, plan_apply, plan_refresh_only, refuse_unplaced, run_change};
use crate::plan::{Adoption, Plan, load_plan};

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
    /// `-parallelism N`, `-timeout DURATION`, `-json`.
    #[command(flatten)]
    pub run: RunArgs,
    /// On failure, undo everything this apply changed.
    #[arg(long = "atomic")]
    pub atomic: bool,
    /// `-var NAME=VALUE` and `-var-file FILE` (repeatable).
    #[command(flatten)]
    pub vars: VarArgs,
    /// `-state DIR`.
    #[command(flatten)]
    pub state: StateDirArgs,
    /// Apply only these jobs or modules and what they depend on (repeatable).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// `-lock-timeout DURATION`.
    #[command(flatten)]
    pub lock: LockArgs,
    /// Change nothing on the backend: record the live spec of every recorded job that drifted
    /// (or forget one that is gone), as Terraform's `-refresh-only`.
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    /// Take over this job although another stack owns it, or it was registered by hand
    /// (repeatable); it is registered with this stack's `deploy.stack` / `deploy.lineage` meta.
    #[arg(long = "adopt", value_name = "ADDR")]
    pub adopt: Vec<String>,
    /// Take over every job of the stack whatever owns it.
    #[arg(long = "adopt-all")]
    pub adopt_all: bool,
    /// Promote canaries as soon as they are healthy, instead of stopping at the
    /// `canaries healthy, awaiting promotion` gate.
    #[arg(long = "auto-promote")]
    pub auto_promote: bool,
    /// Apply even when the scheduler's dry run says some job would not be placed.
    #[arg(long = "allow-unplaced")]
    pub allow_unplaced: bool,
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
    let request = stack_input::request(stack_path, &args.vars, &args.state, &args.lock, "deploy apply");
    let session = StackSession::open_connected(&request, &stack_input::notice).await?;
    let view = View::choose(args.run.json);
    let change = match (args.refresh_only, saved) {
        (true, Some(_)) => anyhow::bail!("-refresh-only plans afresh; it does not apply a saved plan"),
        (true, None) => plan_refresh_only(&session, args.targets.clone()).await?,
        (false, saved) => {
            let adoption = Adoption {
                all: args.adopt_all,
                addresses: args.adopt.clone(),
            };
            plan_apply(&session, saved, args.targets.clone(), adoption).await?
        }
    };
    show_plan(&change.plan, view);
    if !args.allow_unplaced
        && let Err(refusal) = refuse_unplaced(&change.plan)
    {
        return Err(refusal.into());
    }
    if !change.has_work {
        if view != View::Json {
            println!("\nNothing to apply.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !approve(args.auto_approve, "apply")? {
        eprintln!("Apply cancelled.");
        return Ok(ExitCode::from(1));
    }
    let mut options = args.run.options(args.atomic);
    options.auto_promote = args.auto_promote;
    let report = run_change(&session, change, &options, sink(view)).await?;
    Ok(finish(&report, view, "Apply"))
}

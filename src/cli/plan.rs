//! `deploy plan [PATH]`: show what apply would change.
//!
//! Exit codes: 0 success (with `-detailed-exitcode`: no changes), 1 error, 2 changes present
//! (only with `-detailed-exitcode`), 3 changes present and some job would not be placed (only
//! with `-detailed-exitcode`). Scripts that gate on 2 already treat an unknown code as a stop,
//! so a failing placement cannot pass for "changes, go ahead" without any new flag.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::stack_input::{self, LockArgs, StateDirArgs, VarArgs};
use crate::operation::{Refresh, plan_stack};
use crate::plan::{
    Adoption, PlanOptions, TextOptions, refresh_only, render_markdown, render_text, save_plan,
};

/// The `-detailed-exitcode` status of a plan in which some job would not be placed.
pub const UNPLACED_EXIT: u8 = 3;

/// How the plan is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Human text (colour on a terminal unless NO_COLOR is set).
    Text,
    /// The versioned JSON schema of docs/plan-json.md.
    Json,
    /// Markdown for pull-request comments.
    Markdown,
}

/// Flags of `deploy plan`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 success (no changes with -detailed-exitcode), 1 error, \
                        2 changes present (with -detailed-exitcode), 3 changes present and \
                        some job would not be placed (with -detailed-exitcode)."
)]
pub struct PlanArgs {
    /// The stack directory (or a stack in JSON).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// `-var NAME=VALUE` and `-var-file FILE` (repeatable).
    #[command(flatten)]
    pub vars: VarArgs,
    /// `-state DIR`.
    #[command(flatten)]
    pub state: StateDirArgs,
    /// Plan only these jobs or modules and what they depend on (repeatable).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Plan destroying every job.
    #[arg(long = "destroy")]
    pub destroy: bool,
    /// Ask the backend for live jobs and placement; false plans against recorded state alone.
    #[arg(long = "refresh", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// Live jobs and placements as JSON (a LiveView), standing in for a backend.
    #[arg(long = "live-view", value_name = "FILE", hide = true)]
    pub live_view: Option<PathBuf>,
    /// Save the plan for `deploy apply FILE`.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON (same as -format json).
    #[arg(long = "json")]
    pub json: bool,
    /// Output format.
    #[arg(long = "format", value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Exit 2 when there are changes, 3 when some job would not be placed, 0 when there are none.
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
    /// `-lock-timeout DURATION`.
    #[command(flatten)]
    pub lock: LockArgs,
    /// Print every field of created and destroyed jobs.
    #[arg(long = "verbose")]
    pub verbose: bool,
    /// Show only drift: the recorded jobs whose live job differs, which `deploy apply
    /// -refresh-only` would record as they run (Terraform's `-refresh-only`).
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    /// Take over this job although another stack owns it, or it was registered by hand
    /// (repeatable); it is registered with this stack's `deploy.stack` / `deploy.lineage` meta.
    #[arg(long = "adopt", value_name = "ADDR")]
    pub adopt: Vec<String>,
    /// Take over every job of the stack whatever owns it.
    #[arg(long = "adopt-all")]
    pub adopt_all: bool,
}

/// Runs `deploy plan`.
pub fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    if args.refresh_only && args.out.is_some() {
        anyhow::bail!("-refresh-only plans are not saved: run deploy apply -refresh-only");
    }
    let request = stack_input::request(&args.path, &args.vars, &args.state, &args.lock, "deploy plan");
    let refresh = match (&args.live_view, args.refresh) {
        (_, false) => Refresh::Off,
        (Some(f), true) => Refresh::File(f.clone()),
        (None, true) => Refresh::Backend,
    };
    let options = PlanOptions {
        destroy: args.destroy,
        targets: args.targets.clone(),
        adoption: Adoption {
            all: args.adopt_all,
            addresses: args.adopt.clone(),
        },
    };
    let plan = plan_stack(&request, &refresh, &options, &stack_input::notice)?;
    let plan = if args.refresh_only {
        refresh_only(plan)
    } else {
        plan
    };
    if let Some(out) = &args.out {
        save_plan(&plan, out)?;
    }
    let format = if args.json { PlanFormat::Json } else { args.format };
    let text = match format {
        PlanFormat::Json => {
            let mut s = serde_json::to_string_pretty(&plan)?;
            s.push('\n');
            s
        }
        PlanFormat::Markdown => render_markdown(&plan)?,
        PlanFormat::Text => {
            let color =
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            render_text(
                &plan,
                &TextOptions {
                    color,
                    verbose: args.verbose,
                },
            )
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if let Some(out) = &args.out
        && format == PlanFormat::Text
    {
        writeln!(
            stdout,
            "\nSaved the plan to {}; apply it with: deploy apply {}",
            out.display(),
            out.display()
        )?;
    }
    Ok(match (args.detailed_exitcode, plan.has_changes()) {
        (true, _) if plan.unplaced().next().is_some() => ExitCode::from(UNPLACED_EXIT),
        (true, true) => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    })
}

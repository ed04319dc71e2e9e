//! `deploy test [STACK]...`: snapshot tests of stacks. Each stack is planned offline
//! (`-refresh=false`) and its plan JSON compared with `snapshots/<stack>.plan.json`. By default
//! the plan is made against an empty state, so the snapshot holds every job exactly as the stack
//! would deploy it; `-state DIR` plans against a recorded state kept as a fixture instead.
//!
//! Exit codes: 0 every snapshot matches, 1 a mismatch, a missing snapshot or an error.
//! `-update` writes new snapshots (never when `CI=true`).

use std::path::PathBuf;
use std::process::ExitCode;

use super::stack_input::{self, VarArgs};
use crate::graph::StackGraph;
use crate::plan::{PlanOptions, compare_snapshot, plan, snapshot_text};
use crate::state::StateStore;

/// Flags of `deploy test`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 all snapshots match, 1 a mismatch, a missing snapshot or an error.")]
pub struct TestArgs {
    /// Stack directories (or stacks in JSON).
    #[arg(default_value = ".")]
    pub stacks: Vec<PathBuf>,
    /// Where snapshots live.
    #[arg(long = "snapshots", default_value = "snapshots", value_name = "DIR")]
    pub snapshots: PathBuf,
    /// Plan against the recorded state in DIR instead of an empty state.
    #[arg(long = "state", value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// `-var NAME=VALUE` and `-var-file FILE` (repeatable).
    #[command(flatten)]
    pub vars: VarArgs,
    /// Write snapshots that are missing or differ (refused when CI=true).
    #[arg(long = "update")]
    pub update: bool,
}

/// Runs `deploy test`.
pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if args.update && in_ci {
        anyhow::bail!(
            "-update is refused when CI=true: snapshots are reviewed and committed, not written by CI"
        );
    }
    let vars = &args.vars;
    let mut failed = 0;
    for path in &args.stacks {
        let stack = stack_input::load(path, vars)?;
        let graph = StackGraph::build(&stack)?;
        let state = match &args.state {
            Some(dir) => StateStore::new(dir).latest()?,
            None => None,
        };
        let p = plan(&stack, &graph, state.as_ref(), None, &PlanOptions::default())?;
        let actual = snapshot_text(&p);
        let file = args.snapshots.join(format!("{}.plan.json", stack.settings.name));
        let name = file.display().to_string();
        match std::fs::read_to_string(&file) {
            Ok(expected) => match compare_snapshot(&name, &expected, &actual) {
                Ok(()) => println!("ok      {name}"),
                Err(_) if args.update => {
                    std::fs::write(&file, &actual)?;
                    println!("updated {name}");
                }
                Err(diff) => {
                    failed += 1;
                    println!("FAILED  {name}: the plan changed\n{diff}");
                }
            },
            Err(_) if args.update => {
                std::fs::create_dir_all(&args.snapshots)?;
                std::fs::write(&file, &actual)?;
                println!("created {name}");
            }
            Err(_) => {
                failed += 1;
                println!("FAILED  {name}: no snapshot; run `deploy test -update` and review it");
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

//! `deploy state list|show [REV]|history`: read the recorded state. Sensitive values stay
//! encrypted in what is shown.
//!
//! Exit codes: 0 success, 1 error (no such revision, a newer or corrupt state file).

use std::path::PathBuf;
use std::process::ExitCode;

use super::stack_input::{self, VarArgs};
use crate::state::StateStore;

/// What to show.
#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// Jobs in the latest revision.
    List,
    /// A revision (default: the latest) as JSON.
    Show {
        /// Serial of the revision.
        rev: Option<u64>,
    },
    /// Every revision: serial, time, job count.
    History,
}

/// Flags of `deploy state`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 success, 1 error.")]
pub struct StateArgs {
    /// What to show.
    #[command(subcommand)]
    pub command: StateCommand,
    /// The stack directory (or a stack in JSON), used to find the state directory.
    #[arg(long = "stack", default_value = ".", global = true)]
    pub stack: PathBuf,
    /// State directory (overrides the stack's).
    #[arg(long = "state", value_name = "DIR", global = true)]
    pub state: Option<PathBuf>,
}

/// Runs `deploy state`.
pub fn run(args: &StateArgs) -> anyhow::Result<ExitCode> {
    let dir = match &args.state {
        Some(d) => d.clone(),
        None => stack_input::state_dir(&stack_input::load(&args.stack, &VarArgs::default())?, None),
    };
    let store = StateStore::new(&dir);
    match &args.command {
        StateCommand::List => match store.latest()? {
            Some(rev) => {
                for j in &rev.jobs {
                    let v = j.job_version.map_or("-".to_string(), |v| v.to_string());
                    println!("{}\tversion {v}", j.address);
                }
            }
            None => eprintln!("No state in {}: the stack was never applied.", dir.display()),
        },
        StateCommand::Show { rev } => {
            let rev = match rev {
                Some(s) => store.read(*s)?,
                None => store.latest()?.ok_or_else(|| {
                    anyhow::anyhow!("no state in {}: the stack was never applied", dir.display())
                })?,
            };
            print!("{}", rev.to_pretty());
        }
        StateCommand::History => {
            for s in store.serials()? {
                let rev = store.read(s)?;
                println!(
                    "{:>6}  {}  {} jobs  lineage {}",
                    rev.serial,
                    rev.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    rev.jobs.len(),
                    rev.lineage
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

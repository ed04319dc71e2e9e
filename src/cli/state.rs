//! `deploy state list|show [REV]|history|rm ADDR|mv FROM TO|migrate -to local|cluster|nomad`:
//! read the recorded state, forget or re-address a job in it (a new revision; the backend is
//! not touched), or move it between local files, the built-in cluster's KV and Nomad
//! Variables. Sensitive values stay encrypted
//! in what is shown and what is moved.
//!
//! Exit codes: 0 success, 1 error (no such revision or address, a newer or corrupt state file,
//! the state locked by another command).

use std::path::PathBuf;
use std::process::ExitCode;

use super::stack_input::{self, VarArgs};
use crate::operation::{self, client_config, cluster_store, nomad_store, parse_duration};
use crate::stack::{Stack, StateBackendKind};
use crate::state::{LockHolder, StateEdit, StateStore, edit_state, migrate, parse_address};

/// A place `deploy state migrate` copies the state from or to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateTarget {
    /// The local state directory.
    Local,
    /// The built-in cluster's KV.
    Cluster,
    /// Nomad Variables (Nomad >= 1.7, or the built-in cluster).
    Nomad,
}

impl MigrateTarget {
    fn of(kind: &StateBackendKind) -> MigrateTarget {
        match kind {
            StateBackendKind::Local => MigrateTarget::Local,
            StateBackendKind::Cluster => MigrateTarget::Cluster,
            StateBackendKind::Nomad => MigrateTarget::Nomad,
        }
    }

    fn name(self) -> &'static str {
        match self {
            MigrateTarget::Local => "local",
            MigrateTarget::Cluster => "cluster",
            MigrateTarget::Nomad => "nomad",
        }
    }

    /// Where a migration to `self` copies from by default: the stack's own store, unless
    /// that is the target (then the local directory; for a local target, the cluster).
    fn default_source(self, configured: MigrateTarget) -> MigrateTarget {
        match (configured == self, self) {
            (false, _) => configured,
            (true, MigrateTarget::Local) => MigrateTarget::Cluster,
            (true, _) => MigrateTarget::Local,
        }
    }
}

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
    /// Forget a job (it keeps running; the stack no longer owns it), as a new revision.
    Rm {
        /// The job's address (`job.web`, `module.api.job.web`, or the job ID).
        address: String,
        /// Print the new revision's serial and jobs as JSON.
        #[arg(long = "json")]
        json: bool,
    },
    /// Record a job under another address (moved into or out of a module), as a new revision.
    Mv {
        /// The recorded address.
        from: String,
        /// The new address (same job ID).
        to: String,
        /// Print the new revision's serial and jobs as JSON.
        #[arg(long = "json")]
        json: bool,
    },
    /// Copy every revision (and an interrupted apply's journal) to local files or the cluster,
    /// keeping lineage and serials; then set `state { backend = ... }` to match.
    Migrate {
        /// local, cluster or nomad.
        #[arg(long = "to", value_enum)]
        to: MigrateTarget,
        /// Where from (default: the stack's own state store, or local files when that is the
        /// target; for `-to local`, the cluster).
        #[arg(long = "from", value_enum)]
        from: Option<MigrateTarget>,
        /// How long to wait for the locks (default: fail at once).
        #[arg(long = "lock-timeout", default_value = "0s")]
        lock_timeout: String,
    },
}

/// What `state rm -json` and `state mv -json` print.
#[derive(Debug, serde::Serialize)]
pub struct EditOutcome {
    /// The revision written.
    pub serial: u64,
    /// Its lineage (unchanged).
    pub lineage: String,
    /// The addresses it records.
    pub jobs: Vec<String>,
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
    if let StateCommand::Migrate {
        to,
        from,
        lock_timeout,
    } = &args.command
    {
        return run_migrate(args, (*from, *to), lock_timeout);
    }
    let store = match (&args.state, stack_input::load(&args.stack, &VarArgs::default())) {
        (_, Ok(stack)) => operation::state_store(&stack, args.state.as_deref())?,
        (Some(d), Err(_)) => StateStore::new(d),
        (None, Err(e)) => return Err(e),
    };
    let dir = std::path::PathBuf::from(store.location());
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
        StateCommand::Rm { address, json } => {
            let edit = StateEdit::Remove(parse_address(address)?);
            return edit_and_show(&store, &edit, "deploy state rm", *json);
        }
        StateCommand::Mv { from, to, json } => {
            let edit = StateEdit::Move {
                from: parse_address(from)?,
                to: parse_address(to)?,
            };
            return edit_and_show(&store, &edit, "deploy state mv", *json);
        }
        StateCommand::Migrate { .. } => {}
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

/// The stack's state at `place`, `local` being its directory.
fn store_at(place: MigrateTarget, stack: &Stack, local: &StateStore) -> anyhow::Result<StateStore> {
    Ok(match place {
        MigrateTarget::Local => local.clone(),
        MigrateTarget::Cluster => cluster_store(stack, local.dir(), client_config(stack))?,
        MigrateTarget::Nomad => nomad_store(stack, local.dir(), client_config(stack))?,
    })
}

/// `deploy state migrate -to local|cluster|nomad [-from ...]`.
fn run_migrate(
    args: &StateArgs,
    (from, to): (Option<MigrateTarget>, MigrateTarget),
    lock_timeout: &str,
) -> anyhow::Result<ExitCode> {
    let stack = stack_input::load(&args.stack, &VarArgs::default())?;
    let local = StateStore::new(stack_input::state_dir(&stack, args.state.as_deref()));
    let from = from.unwrap_or_else(|| to.default_source(MigrateTarget::of(&stack.settings.state.backend)));
    if from == to {
        anyhow::bail!("-from and -to are both {}: nothing to migrate", to.name());
    }
    let source = store_at(from, &stack, &local)?;
    let target = store_at(to, &stack, &local)?;
    let holder = LockHolder {
        command: "deploy state migrate".into(),
    };
    let timeout = parse_duration("-lock-timeout", lock_timeout)?;
    let done = migrate(&source, &target, &holder, timeout)?;
    println!(
        "Copied {} revision(s){} of lineage {} from {} to {}.\nSet `state {{ backend = \"{}\" }}` in the stack block to use it.",
        done.copied.len(),
        if done.journal { " and the journal" } else { "" },
        done.lineage,
        source.location(),
        target.location(),
        to.name()
    );
    Ok(ExitCode::SUCCESS)
}

fn edit_and_show(
    store: &StateStore,
    edit: &StateEdit,
    command: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let holder = LockHolder {
        command: command.to_owned(),
    };
    let rev = edit_state(store, edit, &holder)?;
    if json {
        let outcome = EditOutcome {
            serial: rev.serial,
            lineage: rev.lineage.clone(),
            jobs: rev.jobs.iter().map(|j| j.address.0.clone()).collect(),
        };
        println!("{}", serde_json::to_string_pretty(&outcome)?);
        return Ok(ExitCode::SUCCESS);
    }
    match edit {
        StateEdit::Remove(a) => println!(
            "Removed {a} from the state (revision {}); it still runs on the backend.",
            rev.serial
        ),
        StateEdit::Move { from, to } => println!("Moved {from} to {to} (revision {}).", rev.serial),
    }
    Ok(ExitCode::SUCCESS)
}

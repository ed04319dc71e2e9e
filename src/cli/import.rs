//! `deploy import ADDR ID [-stack PATH]`: record job ID, already running on the backend, as the
//! stack's job at ADDR without registering it (as `terraform import`). Refused, with the diff,
//! when the running job is not what the stack declares.
//!
//! Exit codes: 0 recorded, 1 error or refused (the spec differs, another stack owns the job,
//! the address is already recorded, the state is locked).

use std::path::PathBuf;
use std::process::ExitCode;

use super::session::runtime;
use super::stack_input::{self, LockArgs, StateDirArgs, VarArgs};
use crate::operation::{StackSession, import_job};
use crate::state::parse_address;

/// Flags of `deploy import`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 recorded, 1 error or refused (the live spec differs from the stack's: \
the diff is shown)."
)]
pub struct ImportArgs {
    /// The job's address in the stack (`job.web`, `module.api.job.web`, or the job ID).
    pub address: String,
    /// The job's ID on the backend.
    pub id: String,
    /// The stack directory.
    #[arg(long = "stack", value_name = "PATH", default_value = ".")]
    pub stack: PathBuf,
    /// Print what was recorded as JSON.
    #[arg(long = "json")]
    pub json: bool,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub state: StateDirArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// Runs `deploy import`.
pub fn run(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let address = parse_address(&args.address)?;
    runtime()?.block_on(async {
        let request = stack_input::request(&args.stack, &args.vars, &args.state, &args.lock, "deploy import");
        let session = StackSession::open_connected(&request, &stack_input::notice).await?;
        let report = import_job(&session, &address, &args.id).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!(
                "Imported {} as {} (version {}): revision {}. Nothing was registered.",
                report.job_id, report.address, report.job_version, report.serial
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

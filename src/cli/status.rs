//! `deploy status [PATH]`: the stack's jobs as recorded and as they run: version, allocations
//! placed/running/healthy/failed, and the recorded revision.
//!
//! Exit codes: 0 shown, 1 error.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use super::session::runtime;
use super::stack_input::{self, VarArgs};
use crate::api::{ClientStatus, DesiredStatus, QueryOptions};
use crate::backend::Backend;

/// Flags of `deploy status`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 shown, 1 error.")]
pub struct StatusArgs {
    /// The stack directory.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// State directory.
    #[arg(long = "state", value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Print JSON.
    #[arg(long = "json")]
    pub json: bool,
    /// Set a variable: NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

/// One job's row.
#[derive(Debug, Serialize)]
pub struct JobStatus {
    /// Address.
    pub address: String,
    /// Version recorded by the last apply.
    pub recorded_version: Option<u64>,
    /// Version live on the backend (`None`: not running).
    pub live_version: Option<u64>,
    /// Live status.
    pub status: String,
    /// Allocations of the live version not stopped.
    pub placed: u64,
    /// Running.
    pub running: u64,
    /// Healthy per the deployment.
    pub healthy: u64,
    /// Complete.
    pub complete: u64,
    /// Failed or lost.
    pub failed: u64,
}

/// Runs `deploy status`.
pub fn run(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_async(args))
}

async fn run_async(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let stack = stack_input::load(
        &args.path,
        &VarArgs {
            vars: args.vars.clone(),
            var_files: Vec::new(),
        },
    )?;
    let dir = stack_input::state_dir(&stack, args.state.as_deref());
    let store = crate::operation::state_store(&stack, args.state.as_deref())?;
    let Some(rev) = store.latest()? else {
        println!(
            "Stack {} has never been applied (no revision in {}).",
            stack.settings.name,
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let backend = crate::operation::connect(&stack, &dir, &super::stack_input::notice).await?;
    let mut rows = Vec::new();
    for r in &rev.jobs {
        let (ns, id) = (r.spec.namespace(), r.spec.id());
        let live = backend.read_job(ns, id).await?;
        let mut row = JobStatus {
            address: r.address.0.clone(),
            recorded_version: r.job_version,
            live_version: live.as_ref().map(|l| l.version),
            status: match &live {
                Some(l) if l.job.stop == Some(true) => "stopped".into(),
                Some(l) => l.job.status.clone().unwrap_or_else(|| "registered".into()),
                None => "not running".into(),
            },
            placed: 0,
            running: 0,
            healthy: 0,
            complete: 0,
            failed: 0,
        };
        if let Some(l) = &live {
            let allocs = match backend.job_allocations(ns, id, QueryOptions::default()).await {
                Ok((a, _)) => a,
                Err(e) if e.status() == Some(404) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            for a in allocs
                .iter()
                .filter(|a| a.job_version == l.version && a.desired_status == DesiredStatus::Run)
            {
                row.placed += 1;
                match a.client_status {
                    ClientStatus::Running => row.running += 1,
                    ClientStatus::Complete => row.complete += 1,
                    ClientStatus::Failed | ClientStatus::Lost => row.failed += 1,
                    _ => {}
                }
                if a.deployment_status.as_ref().and_then(|d| d.healthy) == Some(true) {
                    row.healthy += 1;
                }
            }
        }
        rows.push(row);
    }
    if args.json {
        let v = serde_json::json!({"stack": rev.stack, "revision": rev.serial, "backend": backend.describe(), "jobs": rows});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Stack {} at revision {} ({}), on {}\n",
        rev.stack,
        rev.serial,
        rev.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        backend.describe()
    );
    let width = rows.iter().map(|r| r.address.len()).max().unwrap_or(3).max(3);
    println!(
        "{:width$}  {:>8}  {:>7}  {:<11}  {:>6}  {:>7}  {:>7}  {:>8}  {:>6}",
        "JOB", "RECORDED", "VERSION", "STATUS", "PLACED", "RUNNING", "HEALTHY", "COMPLETE", "FAILED"
    );
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    for r in &rows {
        println!(
            "{:width$}  {:>8}  {:>7}  {:<11}  {:>6}  {:>7}  {:>7}  {:>8}  {:>6}",
            r.address,
            opt(r.recorded_version),
            opt(r.live_version),
            r.status,
            r.placed,
            r.running,
            r.healthy,
            r.complete,
            r.failed
        );
    }
    Ok(ExitCode::SUCCESS)
}

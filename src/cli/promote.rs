//! `deploy promote ADDR [PATH]`: promote the canaries of a stack job's running deployment
//! (as `nomad deployment promote`), then follow the deployment to its end.
//!
//! Exit codes: 0 the deployment completed, 1 error, refused or the deployment failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

use super::session::runtime;
use super::stack_input::{self, StateDirArgs, VarArgs};
use crate::api::{Deployment, DeploymentStatus, QueryOptions};
use crate::apply::short;
use crate::backend::Backend;
use crate::stack::JobAddress;

/// How long one blocking read of the deployment may be held.
const BLOCKING_WAIT: Duration = Duration::from_secs(5);

/// Flags of `deploy promote`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 the deployment completed, 1 error, refused or the deployment failed.")]
pub struct PromoteArgs {
    /// The job's address in the stack (`job.web`, `module.api.job.web`, or the job ID).
    pub address: String,
    /// The stack directory.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub state: StateDirArgs,
    /// Print the outcome as JSON.
    #[arg(long = "json")]
    pub json: bool,
    #[command(flatten)]
    pub vars: VarArgs,
}

/// What `-json` prints.
#[derive(Debug, Serialize)]
pub struct PromoteOutcome {
    /// The job's address.
    pub address: String,
    /// The deployment promoted.
    pub deployment_id: String,
    /// Its final status.
    pub status: String,
    /// Its final description.
    pub description: String,
}

/// Runs `deploy promote`.
pub fn run(args: &PromoteArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_async(args))
}

async fn run_async(args: &PromoteArgs) -> anyhow::Result<ExitCode> {
    let stack = stack_input::load(&args.path, &args.vars)?;
    let address = if args.address.contains('.') {
        JobAddress(args.address.clone())
    } else {
        JobAddress::root(&args.address)
    };
    let Some(job) = stack.job(&address) else {
        anyhow::bail!(
            "no job {} in the stack at {}: give its address as `deploy plan` shows it",
            address.0,
            args.path.display()
        );
    };
    let (ns, id) = (job.job.namespace().to_owned(), job.job.id().to_owned());
    let dir = stack_input::state_dir(&stack, args.state.state.as_deref());
    let backend = crate::operation::connect(&stack, &dir, &stack_input::notice).await?;
    let (deployment, _) = backend
        .latest_deployment(&ns, &id, QueryOptions::default())
        .await?;
    let Some(d) = deployment else {
        anyhow::bail!("job {id} has no deployment to promote");
    };
    backend
        .promote_deployment(&ns, &d.id)
        .await
        .map_err(|e| anyhow::anyhow!("promoting deployment {} of {}: {e}", short(&d.id), address.0))?;
    if !args.json {
        println!("{}: deployment {} promoted", address.0, short(&d.id));
    }
    let end = follow(&backend, &ns, &id, &d.id, args.json).await?;
    let outcome = PromoteOutcome {
        address: address.0.clone(),
        deployment_id: end.id.clone(),
        status: end.status.as_str().to_owned(),
        description: end.status_description.clone(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        println!(
            "{}: deployment {} {} ({})",
            address.0,
            short(&end.id),
            outcome.status,
            outcome.description
        );
    }
    Ok(match end.status {
        DeploymentStatus::Successful => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

/// Follows deployment `deployment_id` of the job with blocking reads until it ends.
async fn follow<B: Backend>(
    backend: &B,
    ns: &str,
    id: &str,
    deployment_id: &str,
    quiet: bool,
) -> anyhow::Result<Deployment> {
    let mut index = None;
    let mut last = String::new();
    loop {
        let opts = QueryOptions {
            index,
            wait: Some(BLOCKING_WAIT),
        };
        let (d, meta) = backend.latest_deployment(ns, id, opts).await?;
        index = Some(meta.last_index);
        let Some(d) = d.filter(|d| d.id == deployment_id) else {
            anyhow::bail!(
                "deployment {} was superseded by a newer one",
                short(deployment_id)
            );
        };
        if !d.status.is_active() {
            return Ok(d);
        }
        let healthy: i64 = d.task_groups.values().map(|g| g.healthy_allocs).sum();
        let desired: i64 = d.task_groups.values().map(|g| g.desired_total).sum();
        let line = format!("{healthy}/{desired} healthy");
        if !quiet && line != last {
            println!("{id}: {line}");
            last = line;
        }
    }
}

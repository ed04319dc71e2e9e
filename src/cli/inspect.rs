//! `deploy inspect PATH [-job ID] [-json]`: the canonical Nomad JSON of a stack's jobs, exactly
//! what `POST /v1/jobs` would receive (`{"Job": {...}}` per job).
//!
//! Exit codes: 0 printed, 1 the stack does not load or no job matches.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::stack_input::{VarArgs, frontend_inputs};
use crate::diag::RenderOptions;
use crate::frontend::load_stack;
use crate::spec;

/// Flags of `deploy inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A stack directory or a jobspec file.
    pub path: PathBuf,
    /// Only this job (its ID or its stack address, e.g. `module.store.job.store`).
    #[arg(long = "job", value_name = "ID")]
    pub job: Option<String>,
    /// One JSON document (an array of register payloads) instead of one per job.
    #[arg(long)]
    pub json: bool,
    /// Print the job as parsed, without Nomad's defaults (as `nomad job run -output`).
    #[arg(long = "raw")]
    pub raw: bool,
    /// `-var NAME=VALUE` and `-var-file FILE` (repeatable).
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Runs `deploy inspect`.
pub fn run(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let inputs = frontend_inputs(&args.vars)?;
    let stack = match load_stack(&args.path, &inputs) {
        Ok((stack, _warnings)) => stack,
        Err(diags) => {
            eprint!("{}", diags.render(&RenderOptions::for_stderr()));
            return Ok(ExitCode::from(1));
        }
    };
    let payloads: Vec<serde_json::Value> = stack
        .jobs
        .iter()
        .filter(|j| {
            args.job
                .as_deref()
                .is_none_or(|want| want == j.job.id() || want == j.address.0)
        })
        .map(|j| {
            let job = if args.raw {
                j.job.clone()
            } else {
                spec::canonicalize(&j.job)
            };
            serde_json::json!({ "Job": job })
        })
        .collect();
    if payloads.is_empty() {
        eprintln!(
            "{}: no job {}",
            args.path.display(),
            args.job
                .as_deref()
                .map(|j| format!("`{j}`"))
                .unwrap_or_else(|| "at all".into())
        );
        return Ok(ExitCode::from(1));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&payloads)?);
    } else {
        for p in &payloads {
            println!("{}", serde_json::to_string_pretty(p)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

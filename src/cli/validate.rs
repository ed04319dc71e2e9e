//! `deploy validate [PATH]`: reads a stack (or one jobspec) and checks every job the way Nomad's
//! servers would, reporting every problem with file:line:col.
//!
//! Exit codes: 0 valid (warnings may be printed), 1 invalid.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::stack_input::{VarArgs, frontend_inputs};
use crate::diag::{Diagnostics, RenderOptions};
use crate::frontend::{load_stack, validate_jobs};

/// Flags of `deploy validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A stack directory or a jobspec file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// `-var NAME=VALUE` and `-var-file FILE` (repeatable).
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Loads the stack and checks its jobs; returns the stack's diagnostics, errors included.
pub fn check(args: &ValidateArgs) -> anyhow::Result<(usize, Diagnostics)> {
    let inputs = frontend_inputs(&args.vars)?;
    let (stack, mut diags) = match load_stack(&args.path, &inputs) {
        Ok(loaded) => loaded,
        Err(diags) => return Ok((0, diags)),
    };
    for d in validate_jobs(&stack.jobs) {
        diags.push(d);
    }
    Ok((stack.jobs.len(), diags))
}

/// Runs `deploy validate`.
pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let (jobs, diags) = check(args)?;
    if !diags.is_empty() {
        eprint!("{}", diags.render(&RenderOptions::for_stderr()));
    }
    if diags.has_errors() {
        let errors = diags.iter().filter(|d| d.is_error()).count();
        eprintln!("{}: {errors} error(s)", args.path.display());
        return Ok(ExitCode::from(1));
    }
    println!("{}: {jobs} job(s), valid", args.path.display());
    Ok(ExitCode::SUCCESS)
}

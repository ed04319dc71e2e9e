//! `deploy graph [PATH]`: the stack's dependency graph as DOT or text, waves visible.
//!
//! Exit codes: 0 success, 1 error (a cycle, a dependency on a missing job, an unreadable stack).

use std::path::PathBuf;
use std::process::ExitCode;

use super::stack_input::{self, VarArgs};
use crate::graph::{GraphFormat, StackGraph, render_dot, render_text};

/// Flags of `deploy graph`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 success, 1 error.")]
pub struct GraphArgs {
    /// The stack directory (or a stack in JSON).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long = "format", value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Set a variable: NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a file (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

/// Runs `deploy graph`.
pub fn run(args: &GraphArgs) -> anyhow::Result<ExitCode> {
    let stack = stack_input::load(
        &args.path,
        &VarArgs {
            vars: args.vars.clone(),
            var_files: args.var_files.clone(),
        },
    )?;
    let graph = StackGraph::build(&stack)?;
    let out = match args.format {
        GraphFormat::Dot => render_dot(&graph, &stack.settings.name),
        GraphFormat::Text => render_text(&graph),
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

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
    /// `-var NAME=VALUE` and `-var-file FILE` (repeatable).
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Runs `deploy graph`.
pub fn run(args: &GraphArgs) -> anyhow::Result<ExitCode> {
    let stack = stack_input::load(&args.path, &args.vars)?;
    let graph = StackGraph::build(&stack)?;
    let out = match args.format {
        GraphFormat::Dot => render_dot(&graph, &stack.settings.name),
        GraphFormat::Text => render_text(&graph),
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

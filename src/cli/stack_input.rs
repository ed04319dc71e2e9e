//! The flags every stack command shares, as clap structs that commands `#[command(flatten)]`,
//! and their hand-off to [`crate::operation`].

use std::path::{Path, PathBuf};

use crate::operation::{self, RunOptions, SessionRequest, VarInput};
use crate::stack::Stack;

/// `-var` and `-var-file` values as given.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct VarArgs {
    /// Set a variable: NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variable values from a file (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

impl VarArgs {
    /// The values for the operation layer.
    pub fn input(&self) -> VarInput {
        VarInput {
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
        }
    }
}

/// `-lock-timeout`: shared by every command that takes the state lock.
#[derive(Clone, Debug, clap::Args)]
pub struct LockArgs {
    /// How long to wait for the state lock.
    #[arg(long = "lock-timeout", default_value = "0s", value_name = "DURATION")]
    pub lock_timeout: String,
}

/// `-state DIR`: shared by every command that reads a stack's state. Commands that word it
/// differently override the help with `mut_arg("state", ...)`.
#[derive(Clone, Debug, clap::Args)]
pub struct StateDirArgs {
    /// State directory (default: state/<stack> beside the stack).
    #[arg(long = "state", value_name = "DIR")]
    pub state: Option<PathBuf>,
}

/// `-parallelism`, `-timeout` and `-json`: how a change runs and shows its progress. Commands
/// that word them differently override the help with `mut_arg`.
#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    /// Jobs in flight at once (default: the stack's apply.parallelism, else 10).
    #[arg(long = "parallelism", value_name = "N")]
    pub parallelism: Option<usize>,
    /// How long each job's gate may take (default: the stack's apply.timeout, else 5m).
    #[arg(long = "timeout", value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Progress as NDJSON events on stdout.
    #[arg(long = "json")]
    pub json: bool,
}

impl RunArgs {
    /// The run options, with `-atomic` where the command has it.
    pub fn options(&self, atomic: bool) -> RunOptions {
        RunOptions {
            parallelism: self.parallelism,
            timeout: self.timeout.clone(),
            atomic,
            auto_promote: false,
        }
    }
}

/// Prints an operation's notice on stderr.
pub fn notice(message: &str) {
    eprintln!("{message}");
}

/// The session request for a command on the stack at `path`.
pub fn request(
    path: &Path,
    vars: &VarArgs,
    state: &StateDirArgs,
    lock: &LockArgs,
    command: &str,
) -> SessionRequest {
    SessionRequest {
        path: path.to_path_buf(),
        vars: vars.input(),
        state: state.state.clone(),
        lock_timeout: lock.lock_timeout.clone(),
        command: command.to_string(),
    }
}

/// Loads the stack at `path` (warnings on stderr).
pub fn load(path: &Path, vars: &VarArgs) -> anyhow::Result<Stack> {
    Ok(operation::load_stack(path, &vars.input(), &notice)?)
}

/// The front end's inputs for `vars` and the environment.
pub fn frontend_inputs(vars: &VarArgs) -> anyhow::Result<crate::frontend::Inputs> {
    Ok(operation::frontend_inputs(&vars.input())?)
}

/// The state directory: `-state DIR`, else the stack's setting, else `state/<name>`.
pub fn state_dir(stack: &Stack, flag: Option<&Path>) -> PathBuf {
    operation::state_dir(stack, flag)
}

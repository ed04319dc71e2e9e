//! The flags every stack command shares, as clap structs that commands `#[command(flatten)]`,
//! and their hand-off to [`crate::operation`].

use std::path::{Path, PathBuf};

use crate::operation::{self, SessionRequest, VarInput};
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

/// Prints an operation's notice on stderr.
pub fn notice(message: &str) {
    eprintln!("{message}");
}

/// The session request for a command on the stack at `path`.
pub fn request(
    path: &Path,
    vars: &VarArgs,
    state: Option<&Path>,
    lock: &LockArgs,
    command: &str,
) -> SessionRequest {
    SessionRequest {
        path: path.to_path_buf(),
        vars: vars.input(),
        state: state.map(Path::to_path_buf),
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

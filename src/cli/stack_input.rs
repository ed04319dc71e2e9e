//! Shared by `plan`, `graph` and `state`: finding the stack, its state directory and the
//! recorded state. A path ending in `.json` is a [`Stack`] in JSON (what the front end
//! produces, handy for generated stacks); anything else is a stack directory of HCL files read
//! by the front end.

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use anyhow::Context;

use crate::stack::Stack;
use crate::state::{LockHolder, Revision, StateLock, StateStore};

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

/// Loads the stack at `path`.
pub fn load(path: &Path, vars: &VarArgs) -> anyhow::Result<Stack> {
    if path.extension().is_some_and(|e| e == "json") {
        if !vars.vars.is_empty() || !vars.var_files.is_empty() {
            anyhow::bail!(
                "-var and -var-file apply to HCL stacks; {} is an evaluated stack in JSON",
                path.display()
            );
        }
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let mut stack: Stack = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a stack in JSON", path.display()))?;
        stack.jobs.sort_by(|a, b| a.address.cmp(&b.address));
        if stack.root.as_os_str().is_empty() {
            stack.root = path.to_path_buf();
        }
        if stack.settings.name.is_empty() {
            stack.settings.name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("stack")
                .to_string();
        }
        return Ok(stack);
    }
    load_hcl(path, vars)
}

/// The front end's inputs: `-var` pairs, `-var-file` paths and the `DEPLOY_VAR_*` /
/// `NOMAD_VAR_*` environment.
pub fn frontend_inputs(vars: &VarArgs) -> anyhow::Result<crate::frontend::Inputs> {
    let mut pairs = Vec::with_capacity(vars.vars.len());
    for v in &vars.vars {
        let Some((name, value)) = v.split_once('=') else {
            anyhow::bail!("-var {v}: expected NAME=VALUE");
        };
        pairs.push((name.trim().to_string(), value.to_string()));
    }
    let env = std::env::vars()
        .filter(|(k, _)| k.starts_with("DEPLOY_VAR_") || k.starts_with("NOMAD_VAR_"))
        .collect();
    Ok(crate::frontend::Inputs {
        vars: pairs,
        var_files: vars.var_files.clone(),
        env,
    })
}

fn load_hcl(path: &Path, vars: &VarArgs) -> anyhow::Result<Stack> {
    let inputs = frontend_inputs(vars)?;
    match crate::frontend::load_stack(path, &inputs) {
        Ok((stack, warnings)) => {
            if !warnings.is_empty() {
                eprintln!("{warnings}");
            }
            Ok(stack)
        }
        Err(diags) => anyhow::bail!("{diags}"),
    }
}

/// The state directory: `-state DIR`, else the stack setting (relative to the stack), else
/// `state/<name>` beside the stack directory.
pub fn state_dir(stack: &Stack, flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    let base = if stack.root.is_dir() {
        stack.root.clone()
    } else {
        stack.root.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    match &stack.settings.state_dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => base.join(d),
        None => base
            .parent()
            .unwrap_or(Path::new("."))
            .join("state")
            .join(&stack.settings.name),
    }
}

/// Takes the state lock for `command`.
pub fn lock(dir: &Path, command: &str, timeout: StdDuration) -> anyhow::Result<StateLock> {
    Ok(StateLock::acquire(
        dir,
        &LockHolder {
            command: command.to_string(),
        },
        timeout,
    )?)
}

/// The latest revision with its sensitive values decrypted (with `DEPLOY_AGE_IDENTITY`).
pub fn latest_opened(store: &StateStore) -> anyhow::Result<Option<Revision>> {
    Ok(crate::state::latest_opened(store, age_identity().as_deref())?)
}

/// `DEPLOY_AGE_IDENTITY`: an age identity, or a file of them, that opens sealed state values.
pub fn age_identity() -> Option<String> {
    std::env::var("DEPLOY_AGE_IDENTITY").ok()
}

/// Parses `-lock-timeout` (`0s`, `30s`, `5m`).
pub fn parse_timeout(s: &str) -> anyhow::Result<StdDuration> {
    let d =
        crate::spec::Duration::parse(s).map_err(|e| anyhow::anyhow!("-lock-timeout {s}: {}", e.reason))?;
    Ok(StdDuration::from_nanos(d.0.max(0) as u64))
}

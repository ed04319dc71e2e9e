//! Finding a stack and its state: loading it (HCL through the front end, or an evaluated
//! stack in JSON), the front end's inputs, the state directory, and duration flags.
//!
//! A path ending in `.json` is a [`Stack`] in JSON (what the front end produces, handy for
//! generated stacks); anything else is a stack directory of HCL files.

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use super::error::OperationError;
use crate::frontend::Inputs;
use crate::stack::Stack;

/// `-var NAME=VALUE` pairs and `-var-file` paths as given on the command line.
#[derive(Clone, Debug, Default)]
pub struct VarInput {
    /// `NAME=VALUE` strings.
    pub vars: Vec<String>,
    /// Variable files.
    pub var_files: Vec<PathBuf>,
}

/// Loads the stack at `path`; front-end warnings go to `notice`.
pub fn load_stack(path: &Path, vars: &VarInput, notice: &dyn Fn(&str)) -> Result<Stack, OperationError> {
    if path.extension().is_some_and(|e| e == "json") {
        if !vars.vars.is_empty() || !vars.var_files.is_empty() {
            return Err(OperationError::Input(format!(
                "-var and -var-file apply to HCL stacks; {} is an evaluated stack in JSON",
                path.display()
            )));
        }
        return load_json(path);
    }
    let inputs = frontend_inputs(vars)?;
    match crate::frontend::load_stack(path, &inputs) {
        Ok((stack, warnings)) => {
            if !warnings.is_empty() {
                notice(&warnings.to_string());
            }
            Ok(stack)
        }
        Err(diags) => Err(OperationError::Load(diags)),
    }
}

fn load_json(path: &Path) -> Result<Stack, OperationError> {
    let bytes = std::fs::read(path).map_err(|e| OperationError::File {
        message: format!("reading {}", path.display()),
        detail: e.to_string(),
    })?;
    let mut stack: Stack = serde_json::from_slice(&bytes).map_err(|e| OperationError::File {
        message: format!("{} is not a stack in JSON", path.display()),
        detail: e.to_string(),
    })?;
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
    Ok(stack)
}

/// The front end's inputs: `-var` pairs, `-var-file` paths and the `DEPLOY_VAR_*` /
/// `NOMAD_VAR_*` environment.
pub fn frontend_inputs(vars: &VarInput) -> Result<Inputs, OperationError> {
    let mut pairs = Vec::with_capacity(vars.vars.len());
    for v in &vars.vars {
        let Some((name, value)) = v.split_once('=') else {
            return Err(OperationError::Input(format!("-var {v}: expected NAME=VALUE")));
        };
        pairs.push((name.trim().to_string(), value.to_string()));
    }
    let env = std::env::vars()
        .filter(|(k, _)| k.starts_with("DEPLOY_VAR_") || k.starts_with("NOMAD_VAR_"))
        .collect();
    Ok(Inputs {
        vars: pairs,
        var_files: vars.var_files.clone(),
        env,
    })
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

/// Parses a duration flag (`0s`, `30s`, `5m`); `flag` names it in the error.
pub fn parse_duration(flag: &str, s: &str) -> Result<StdDuration, OperationError> {
    let d = crate::spec::Duration::parse(s)
        .map_err(|e| OperationError::Input(format!("{flag} {s}: {}", e.reason)))?;
    Ok(StdDuration::from_nanos(d.0.max(0) as u64))
}

/// `DEPLOY_AGE_IDENTITY`: an age identity, or a file of them, that opens sealed state values.
pub fn age_identity() -> Option<String> {
    std::env::var("DEPLOY_AGE_IDENTITY").ok()
}

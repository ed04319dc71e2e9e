//! `deploy output [NAME]`: the outputs the latest revision recorded. Sensitive values show as
//! `(sensitive)`; with `-json` they are decrypted when `DEPLOY_AGE_IDENTITY` is set.
//!
//! Exit codes: 0 shown, 1 error (no such output, never applied).

use std::path::PathBuf;
use std::process::ExitCode;

use super::stack_input::{self, VarArgs};
use crate::state::{Opener, ValueRecord};

/// Flags of `deploy output`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 shown, 1 error.")]
pub struct OutputArgs {
    /// One output's name (default: all).
    pub name: Option<String>,
    /// The stack directory.
    #[arg(long = "stack", value_name = "PATH", default_value = ".")]
    pub stack: PathBuf,
    /// State directory.
    #[arg(long = "state", value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Print JSON.
    #[arg(long = "json")]
    pub json: bool,
}

fn value_of(o: &ValueRecord, reveal: bool) -> anyhow::Result<serde_json::Value> {
    if !o.sensitive {
        return Ok(o.value.clone().unwrap_or(serde_json::Value::Null));
    }
    if !reveal {
        return Ok(serde_json::Value::String("(sensitive)".into()));
    }
    let (Some(ct), Ok(id)) = (&o.encrypted, std::env::var("DEPLOY_AGE_IDENTITY")) else {
        return Ok(serde_json::Value::String("(sensitive)".into()));
    };
    let plain = Opener::from_env_value(&id)?.open(ct)?;
    Ok(serde_json::from_slice(&plain)?)
}

/// Runs `deploy output`.
pub fn run(args: &OutputArgs) -> anyhow::Result<ExitCode> {
    let stack = stack_input::load(&args.stack, &VarArgs::default())?;
    let dir = stack_input::state_dir(&stack, args.state.as_deref());
    let Some(rev) = crate::operation::state_store(&stack, args.state.as_deref())?.latest()? else {
        anyhow::bail!(
            "stack {} has never been applied: no outputs recorded in {}",
            stack.settings.name,
            dir.display()
        );
    };
    let selected: Vec<&ValueRecord> = match &args.name {
        Some(n) => {
            let o = rev.outputs.iter().find(|o| &o.name == n).ok_or_else(|| {
                let names: Vec<&str> = rev.outputs.iter().map(|o| o.name.as_str()).collect();
                anyhow::anyhow!(
                    "no output {n} in revision {}; outputs: {}",
                    rev.serial,
                    names.join(", ")
                )
            })?;
            vec![o]
        }
        None => rev.outputs.iter().collect(),
    };
    if args.json {
        let v: serde_json::Value = if let (Some(_), [o]) = (&args.name, selected.as_slice()) {
            value_of(o, true)?
        } else {
            let mut m = serde_json::Map::new();
            for o in &selected {
                m.insert(
                    o.name.clone(),
                    serde_json::json!({"value": value_of(o, true)?, "sensitive": o.sensitive}),
                );
            }
            serde_json::Value::Object(m)
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    for o in selected {
        let v = value_of(o, false)?;
        let text = match &v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if args.name.is_some() {
            println!("{text}");
        } else {
            println!("{} = {text}", o.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

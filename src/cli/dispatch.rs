//! `deploy dispatch ADDR [-meta k=v]... [-idempotency-token T] [-stack DIR] [PAYLOAD|-]`:
//! launch a child of a stack's parameterized job (as `nomad job dispatch`) and print the
//! child's ID and its evaluation.
//!
//! Exit codes: 0 dispatched, 1 error (not a parameterized job, meta or payload refused).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use super::session::runtime;
use super::stack_input::{self, StateDirArgs, VarArgs};
use crate::operation::{MAX_PAYLOAD_BYTES, dispatch, stack_job};

/// Flags of `deploy dispatch`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 dispatched, 1 error.")]
pub struct DispatchArgs {
    /// The parameterized job's address in the stack (`job.web`, or the job ID).
    pub address: String,
    /// The payload: a file, or `-` for standard input (at most 16 KiB).
    #[arg(value_name = "PAYLOAD|-")]
    pub payload: Option<PathBuf>,
    /// The stack directory.
    #[arg(long = "stack", value_name = "DIR", default_value = ".")]
    pub path: PathBuf,
    /// Meta for the child, `KEY=VALUE` (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Dispatch only once while a child with this token lives.
    #[arg(long = "idempotency-token", value_name = "TOKEN")]
    pub idempotency_token: Option<String>,
    /// Print the server's answer as JSON.
    #[arg(long = "json")]
    pub json: bool,
    #[command(flatten)]
    pub state: StateDirArgs,
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Runs `deploy dispatch`.
pub fn run(args: &DispatchArgs) -> anyhow::Result<ExitCode> {
    let meta = parse_meta(&args.meta)?;
    let payload = match &args.payload {
        Some(p) => read_payload(p)?,
        None => Vec::new(),
    };
    runtime()?.block_on(async {
        let stack = stack_input::load(&args.path, &args.vars)?;
        let job = stack_job(&stack, &args.address)?;
        let dir = stack_input::state_dir(&stack, args.state.state.as_deref());
        let backend = crate::operation::connect(&stack, &dir, &stack_input::notice).await?;
        let token = args.idempotency_token.clone();
        let answer = dispatch(&backend, job, meta, payload, token).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&answer)?);
        } else {
            println!("Dispatched Job ID = {}", answer.dispatched_job_id);
            let eval = if answer.eval_id.is_empty() {
                "(none: the idempotency token matched a running child)"
            } else {
                &answer.eval_id
            };
            println!("Evaluation ID     = {eval}");
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `KEY=VALUE` pairs; a key given twice is an error.
fn parse_meta(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut meta = BTreeMap::new();
    for pair in pairs {
        let Some((k, v)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            anyhow::bail!("-meta {pair:?}: write KEY=VALUE");
        };
        if meta.insert(k.to_owned(), v.to_owned()).is_some() {
            anyhow::bail!("-meta {k} is given twice");
        }
    }
    Ok(meta)
}

fn read_payload(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let limit = MAX_PAYLOAD_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().take(limit).read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .map_err(|e| anyhow::anyhow!("reading payload {}: {e}", path.display()))?;
    }
    if bytes.len() > MAX_PAYLOAD_BYTES {
        anyhow::bail!("the payload is more than {MAX_PAYLOAD_BYTES} bytes, Nomad's limit");
    }
    Ok(bytes)
}

//! `deploy logs ADDR [PATH] [-task T] [-stderr] [-f] [-n N] [-alloc ID]`: print a stack job's
//! task log (as `nomad alloc logs`), from the job's latest running allocation unless `-alloc`
//! names one.
//!
//! Exit codes: 0 success (with `-f`: the log ended), 1 error (no such job, allocation or task).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use super::session::runtime;
use super::stack_input::{self, StateDirArgs, VarArgs};
use crate::apply::short;
use crate::backend::LogRequest;
use crate::operation::{
    MAX_TAIL_BYTES, last_lines, open_log, pick_allocation, pick_task, stack_job, take_lines,
};

/// Flags of `deploy logs`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 success (with -f: the log ended), 1 error.")]
pub struct LogsArgs {
    /// The job's address in the stack (`job.web`, `module.api.job.web`, or the job ID).
    pub address: String,
    /// The stack directory.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The task (default: the only task of the allocation's group).
    #[arg(long = "task")]
    pub task: Option<String>,
    /// An allocation ID or unique prefix (default: the job's latest running allocation).
    #[arg(long = "alloc")]
    pub alloc: Option<String>,
    /// Read stderr instead of stdout.
    #[arg(long = "stderr")]
    pub stderr: bool,
    /// Keep printing what the task writes.
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(short = 'n', long = "lines", value_name = "N")]
    pub lines: Option<usize>,
    /// Print JSON: one object with the lines, or with `-f` one object per line.
    #[arg(long = "json")]
    pub json: bool,
    #[command(flatten)]
    pub state: StateDirArgs,
    #[command(flatten)]
    pub vars: VarArgs,
}

/// What `-json` prints (with `-f`, one per line with `line` set).
#[derive(Clone, Debug, Serialize)]
pub struct LogOutput<'a> {
    /// The allocation read.
    pub alloc_id: &'a str,
    /// The task read.
    pub task: &'a str,
    /// `stdout` or `stderr`.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// The lines (without `-f`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<&'a str>>,
    /// One line (with `-f`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<&'a str>,
}

/// Runs `deploy logs`.
pub fn run(args: &LogsArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_async(args))
}

async fn run_async(args: &LogsArgs) -> anyhow::Result<ExitCode> {
    let stack = stack_input::load(&args.path, &args.vars)?;
    let job = stack_job(&stack, &args.address)?;
    let dir = stack_input::state_dir(&stack, args.state.state.as_deref());
    let backend = crate::operation::connect(&stack, &dir, &stack_input::notice).await?;
    let (alloc, running) = pick_allocation(&backend, job, args.alloc.as_deref()).await?;
    let task = pick_task(job, &alloc, args.task.as_deref())?;
    if !running && args.alloc.is_none() {
        eprintln!(
            "No allocation of {} is running; reading the latest, {} ({}).",
            job.address,
            short(&alloc.id),
            format!("{:?}", alloc.client_status).to_lowercase()
        );
    }
    let req = LogRequest {
        alloc_id: alloc.id.clone(),
        task: task.clone(),
        stderr: args.stderr,
        tail_bytes: args
            .lines
            .map(|n| (n as u64).saturating_mul(4096).min(MAX_TAIL_BYTES)),
        follow: args.follow,
    };
    let mut stream = open_log(&backend, &req).await?;
    let kind = if args.stderr { "stderr" } else { "stdout" };
    let out = LogOutput {
        alloc_id: &alloc.id,
        task: &task,
        kind,
        lines: None,
        line: None,
    };
    let mut stdout = std::io::stdout();
    let mut pending = Vec::new();
    let mut first = true;
    while let Some(chunk) = stream.next_chunk().await? {
        pending.extend_from_slice(&chunk);
        if !args.follow {
            continue;
        }
        if first && let Some(n) = args.lines {
            // The first read is the log's end as it was: cut it to the last N lines.
            let text = String::from_utf8_lossy(&pending).into_owned();
            let keep = last_lines(&text, n).join("\n");
            pending = keep.into_bytes();
            if text.ends_with('\n') && !pending.is_empty() {
                pending.push(b'\n');
            }
        }
        first = false;
        if args.json {
            for line in take_lines(&mut pending) {
                let one = LogOutput {
                    line: Some(&line),
                    ..out.clone()
                };
                println!("{}", serde_json::to_string(&one)?);
            }
        } else {
            stdout.write_all(&pending)?;
            stdout.flush()?;
            pending.clear();
        }
    }
    if args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    let text = String::from_utf8_lossy(&pending);
    let lines = match args.lines {
        Some(n) => last_lines(&text, n),
        None => text.lines().collect(),
    };
    if args.json {
        let all = LogOutput {
            lines: Some(lines),
            ..out
        };
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        for line in lines {
            writeln!(stdout, "{line}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

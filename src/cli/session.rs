//! What `apply`, `rollback` and `destroy` share in the terminal: showing a plan, asking for
//! approval, and printing the end of a run with its exit code.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;

use super::progress::View;
use crate::apply::ApplyReport;
use crate::plan::{Plan, TextOptions, render_text};

/// Prints the plan for people (not in the JSON view, where stdout is NDJSON).
pub fn show_plan(plan: &Plan, view: View) {
    if view == View::Json {
        return;
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let text = render_text(
        plan,
        &TextOptions {
            color,
            verbose: false,
        },
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Asks `Do you want to apply? Only 'yes' will be accepted:` on a terminal; refuses off one.
pub fn approve(auto_approve: bool, question: &str) -> anyhow::Result<bool> {
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("input is not a terminal: pass -auto-approve to {question} without asking");
    }
    print!("\nDo you want to {question}? Only 'yes' will be accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    Ok(answer.trim() == "yes")
}

/// Prints the report's end and picks the exit code (0 success, 1 failure).
pub fn finish(report: &ApplyReport, view: View, verb: &str) -> ExitCode {
    if view != View::Json {
        let mut err = std::io::stderr().lock();
        for f in &report.failures {
            let _ = write!(err, "\n{f}");
        }
        if !report.rolled_back.is_empty() {
            let _ = writeln!(err, "\n-atomic: rolled back this apply's changes, newest first:");
            for (a, d) in &report.rolled_back {
                let _ = writeln!(err, "  {a}: {d}");
            }
        }
        let secs = report.elapsed_ms as f64 / 1000.0;
        let rev = report
            .revision
            .map_or("no new revision".to_string(), |r| format!("revision {r}"));
        if report.success {
            println!("\n{verb} complete in {secs:.1}s: {rev}.");
        } else {
            let _ = writeln!(err, "\n{verb} failed after {secs:.1}s: {rev}.");
        }
    }
    if report.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A tokio runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(crate::operation::runtime()?)
}

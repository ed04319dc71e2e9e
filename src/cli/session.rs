//! What `apply`, `rollback` and `destroy` share: the stack, its graph, the state under the
//! lock (a journal left by a killed apply recovered first), the backend, showing a plan,
//! asking for approval, and running the executor with a view.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::backend_select::connect;
use super::progress::{View, sink};
use super::stack_input::{self, VarArgs};
use crate::apply::{ApplyOptions, ApplyReport, Journal, Step, execute};
use crate::backend::NomadBackend;
use crate::graph::StackGraph;
use crate::plan::{Plan, TextOptions, render_text};
use crate::stack::Stack;
use crate::state::{Revision, Sealer, StateLock, StateStore, ValueRecord};

/// The default per-job timeout when neither `-timeout` nor the stack sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// A loaded stack with its state locked and its backend connected.
pub struct Session {
    /// The stack.
    pub stack: Stack,
    /// Its graph.
    pub graph: StackGraph,
    /// The state store.
    pub store: StateStore,
    /// The latest revision, sensitive values opened.
    pub state: Option<Revision>,
    /// The backend.
    pub backend: Arc<NomadBackend>,
    _lock: StateLock,
}

impl Session {
    /// Loads `path`, takes the lock for `command`, recovers a leftover journal and connects.
    pub async fn open(
        path: &Path,
        vars: &VarArgs,
        state_flag: Option<&Path>,
        command: &str,
        lock_timeout: &str,
    ) -> anyhow::Result<Session> {
        let stack = stack_input::load(path, vars)?;
        let graph = StackGraph::build(&stack)?;
        let dir = stack_input::state_dir(&stack, state_flag);
        let lock = stack_input::lock(&dir, command, stack_input::parse_timeout(lock_timeout)?)?;
        let store = StateStore::new(&dir);
        if let Some(serial) = crate::state::recover_journal(&store)? {
            eprintln!("Recovered revision {serial} from the journal of an interrupted apply.");
        }
        let state = stack_input::latest_opened(&store)?;
        let backend = Arc::new(connect(&stack, &dir).await?);
        Ok(Session {
            stack,
            graph,
            store,
            state,
            backend,
            _lock: lock,
        })
    }

    /// The timeout for jobs without their own: `-timeout`, else the stack's, else 5m.
    pub fn default_timeout(&self, flag: Option<&str>) -> anyhow::Result<Duration> {
        match flag {
            Some(s) => stack_input::parse_timeout(s).map_err(|e| anyhow::anyhow!("-timeout: {e}")),
            None => Ok(self
                .stack
                .settings
                .timeout
                .map(|d| Duration::from_nanos(d.0.max(0) as u64))
                .unwrap_or(DEFAULT_TIMEOUT)),
        }
    }

    /// Runs `steps` with a journal on top of the stored latest revision; `values` are the
    /// variables and outputs the new revision records.
    pub async fn run(
        &self,
        steps: Vec<Step>,
        options: &ApplyOptions,
        values: (Vec<ValueRecord>, Vec<ValueRecord>),
        view: View,
    ) -> anyhow::Result<ApplyReport> {
        let sealer = sealer(&self.stack)?;
        if steps.iter().any(|s| !s.sensitive_paths.is_empty()) && !sealer.has_recipients() {
            anyhow::bail!(
                "the stack has sensitive values but no age recipients to encrypt them to in the state: set \
                 `age_recipients` in the stack block or DEPLOY_AGE_RECIPIENTS (nothing is written in clear)"
            );
        }
        let base = self.store.latest()?;
        let mut journal = Journal::begin(&self.store, base.as_ref(), &self.stack.settings.name);
        journal.revision.variables = values.0;
        journal.revision.outputs = values.1;
        Ok(execute(
            self.backend.clone(),
            steps,
            options,
            journal,
            &self.store,
            &sealer,
            sink(view),
        )
        .await?)
    }
}

/// The stack's age recipients (or `DEPLOY_AGE_RECIPIENTS`).
pub fn sealer(stack: &Stack) -> anyhow::Result<Sealer> {
    Ok(Sealer::from_settings(
        &stack.settings.age_recipients,
        std::env::var("DEPLOY_AGE_RECIPIENTS").ok().as_deref(),
    )?)
}

/// Opens a stored revision's sensitive values with `DEPLOY_AGE_IDENTITY`.
pub fn open_revision(rev: Revision) -> anyhow::Result<Revision> {
    Ok(crate::state::open_revision(
        rev,
        stack_input::age_identity().as_deref(),
    )?)
}

/// The stack's variables and outputs as the revision records them (sensitive ones sealed).
pub fn stack_values(stack: &Stack) -> anyhow::Result<(Vec<ValueRecord>, Vec<ValueRecord>)> {
    let sealer = sealer(stack)?;
    let record = |name: &str, value: &serde_json::Value, sensitive: bool| -> anyhow::Result<ValueRecord> {
        if sensitive {
            let encrypted = if sealer.has_recipients() {
                Some(sealer.seal(value.to_string().as_bytes())?)
            } else {
                None
            };
            Ok(ValueRecord {
                name: name.to_string(),
                sensitive: true,
                value: None,
                encrypted,
            })
        } else {
            Ok(ValueRecord {
                name: name.to_string(),
                sensitive: false,
                value: Some(value.clone()),
                encrypted: None,
            })
        }
    };
    let vars = stack
        .variables
        .iter()
        .map(|v| record(&v.name, &v.value, v.sensitive))
        .collect::<anyhow::Result<_>>()?;
    let outs = stack
        .outputs
        .iter()
        .map(|o| record(&o.name, &o.value, o.sensitive))
        .collect::<anyhow::Result<_>>()?;
    Ok((vars, outs))
}

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
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

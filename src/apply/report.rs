//! Failure reports: what Levant's failure inspector showed. For the job that failed: the
//! reason, the allocation to blame, its tasks' events and the last lines of their stderr.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::gate::short;
use crate::api::Allocation;
use crate::backend::Backend;
use crate::stack::JobAddress;

/// Lines of stderr kept per task.
pub const STDERR_LINES: usize = 12;

/// One task of the blamed allocation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskReport {
    /// Task name.
    pub task: String,
    /// `pending`, `running`, `dead`.
    pub state: String,
    /// The task failed.
    pub failed: bool,
    /// Its events, oldest first, as `Type: message`.
    pub events: Vec<String>,
    /// The last lines of its stderr.
    pub stderr_tail: Vec<String>,
}

/// The allocation blamed for a failure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AllocReport {
    /// Allocation ID.
    pub id: String,
    /// `job.group[index]`.
    pub name: String,
    /// Node name.
    pub node: String,
    /// Client status.
    pub client_status: String,
    /// Tasks.
    pub tasks: Vec<TaskReport>,
}

/// Why a job's step failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureReport {
    /// The job.
    pub address: JobAddress,
    /// A sentence.
    pub reason: String,
    /// The allocation to blame, when there is one.
    pub alloc: Option<AllocReport>,
}

impl FailureReport {
    /// A report without an allocation.
    pub fn new(address: &JobAddress, reason: impl Into<String>) -> Self {
        FailureReport {
            address: address.clone(),
            reason: reason.into(),
            alloc: None,
        }
    }
}

fn event_line(ev: &crate::api::TaskEvent) -> String {
    let msg = [
        &ev.display_message,
        &ev.message,
        &ev.driver_error,
        &ev.setup_error,
    ]
    .into_iter()
    .find(|m| !m.is_empty())
    .cloned()
    .unwrap_or_default();
    // Nomad's own message already reads "Exit Code: 2, ..."; say it once.
    let code = if ev.r#type == "Terminated" && !msg.to_lowercase().contains("exit code") {
        format!(" (exit code {})", ev.exit_code)
    } else {
        String::new()
    };
    if msg.is_empty() {
        format!("{}{code}", ev.r#type)
    } else {
        format!("{}: {msg}{code}", ev.r#type)
    }
}

/// Reads the allocation and its failing tasks' stderr. Errors reading them are reported in
/// the text rather than hiding the failure.
pub async fn inspect_alloc<B: Backend>(backend: &B, alloc_id: &str) -> AllocReport {
    let alloc: Allocation = match backend.allocation(alloc_id).await {
        Ok(a) => a,
        Err(e) => {
            return AllocReport {
                id: alloc_id.to_string(),
                client_status: format!("(could not read the allocation: {e})"),
                ..Default::default()
            };
        }
    };
    let mut tasks = Vec::new();
    for (name, state) in alloc.task_states.iter().flatten() {
        let events: Vec<String> = state.events.iter().flatten().map(event_line).collect();
        let exited_badly = state
            .events
            .iter()
            .flatten()
            .any(|e| e.r#type == "Terminated" && e.exit_code != 0);
        let stderr_tail = if state.failed || exited_badly || alloc.client_status.is_terminal() {
            match backend.task_log_tail(&alloc.id, name, true, 4096).await {
                Ok(text) => last_lines(&text, STDERR_LINES),
                Err(e) => vec![format!("(could not read stderr: {e})")],
            }
        } else {
            Vec::new()
        };
        tasks.push(TaskReport {
            task: name.clone(),
            state: state.state.clone(),
            failed: state.failed,
            events,
            stderr_tail,
        });
    }
    AllocReport {
        id: alloc.id.clone(),
        name: alloc.name.clone(),
        node: alloc.node_name.clone(),
        client_status: format!("{:?}", alloc.client_status).to_lowercase(),
        tasks,
    }
}

/// The last `n` non-empty lines of `text`.
pub fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

impl fmt::Display for FailureReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} failed: {}", self.address, self.reason)?;
        if let Some(a) = &self.alloc {
            writeln!(
                f,
                "  allocation {} ({}) on {}: {}",
                short(&a.id),
                a.name,
                a.node,
                a.client_status
            )?;
            for t in &a.tasks {
                writeln!(
                    f,
                    "  task {} ({}{}):",
                    t.task,
                    t.state,
                    if t.failed { ", failed" } else { "" }
                )?;
                for e in &t.events {
                    writeln!(f, "    {e}")?;
                }
                if !t.stderr_tail.is_empty() {
                    writeln!(f, "    last lines of stderr:")?;
                    for l in &t.stderr_tail {
                        writeln!(f, "      | {l}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TaskEvent;

    fn terminated(message: &str, code: i64) -> TaskEvent {
        TaskEvent {
            r#type: "Terminated".into(),
            display_message: message.into(),
            exit_code: code,
            ..Default::default()
        }
    }

    #[test]
    fn a_terminated_event_names_its_exit_code_once() {
        assert_eq!(event_line(&terminated("", 3)), "Terminated (exit code 3)");
        assert_eq!(
            event_line(&terminated("Exit Code: 2", 2)),
            "Terminated: Exit Code: 2"
        );
        assert_eq!(
            event_line(&terminated("Exit Code: 1, Exit Message: \"oom\"", 1)),
            "Terminated: Exit Code: 1, Exit Message: \"oom\""
        );
        let started = TaskEvent {
            r#type: "Started".into(),
            display_message: "Task started by client".into(),
            ..Default::default()
        };
        assert_eq!(event_line(&started), "Started: Task started by client");
    }
}

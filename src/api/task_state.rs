//! `TaskState` and `TaskEvent`: what a client reports about each task of an allocation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The state of one task, as in an allocation's `TaskStates`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskState {
    /// `pending`, `running` or `dead`.
    pub state: String,
    /// The task failed.
    pub failed: bool,
    /// Restarts so far.
    pub restarts: u64,
    /// Last restart (RFC 3339).
    pub last_restart: Option<String>,
    /// Start time (RFC 3339).
    pub started_at: Option<String>,
    /// Finish time (RFC 3339).
    pub finished_at: Option<String>,
    /// Events, oldest first.
    pub events: Option<Vec<TaskEvent>>,
    /// Driver handle (free-form).
    pub task_handle: Option<serde_json::Value>,
}

/// One task event (`Started`, `Terminated`, `Restarting`, ...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskEvent {
    /// Event type.
    pub r#type: String,
    /// Unix nanoseconds.
    pub time: i64,
    /// Message.
    pub message: String,
    /// Human message.
    pub display_message: String,
    /// Details by key.
    pub details: Option<BTreeMap<String, String>>,
    /// The event fails the task.
    pub fails_task: bool,
    /// Why restarted.
    pub restart_reason: String,
    /// Setup error.
    pub setup_error: String,
    /// Driver error.
    pub driver_error: String,
    /// Driver message.
    pub driver_message: String,
    /// Exit code.
    pub exit_code: i64,
    /// Signal that ended the task.
    pub signal: i64,
    /// Kill timeout (nanoseconds).
    pub kill_timeout: i64,
    /// Kill error.
    pub kill_error: String,
    /// Kill reason.
    pub kill_reason: String,
    /// Restart delay (nanoseconds).
    pub start_delay: i64,
    /// Artifact download error.
    pub download_error: String,
    /// Validation error.
    pub validation_error: String,
    /// Disk limit (MB).
    pub disk_limit: i64,
    /// Sibling that failed.
    pub failed_sibling: String,
    /// Vault error.
    pub vault_error: String,
    /// Signal sent to the task.
    pub task_signal: String,
    /// Why the signal was sent.
    pub task_signal_reason: String,
    /// Source of a generic event.
    pub generic_source: String,
}

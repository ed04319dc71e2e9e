//! Task states and task events in Nomad's wire shape (`TaskStates` of an allocation), with
//! Nomad's event type strings.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Nomad's task event types.
pub mod event {
    /// The client received the allocation.
    pub const RECEIVED: &str = "Received";
    /// Directories, artifacts and templates are being prepared.
    pub const SETUP: &str = "Task Setup";
    /// Artifacts are downloading.
    pub const DOWNLOADING_ARTIFACTS: &str = "Downloading Artifacts";
    /// An artifact could not be fetched.
    pub const ARTIFACT_FAILED: &str = "Failed Artifact Download";
    /// The driver started the task.
    pub const STARTED: &str = "Started";
    /// The task exited.
    pub const TERMINATED: &str = "Terminated";
    /// The task will be restarted.
    pub const RESTARTING: &str = "Restarting";
    /// The restart policy gave up.
    pub const NOT_RESTARTING: &str = "Not Restarting";
    /// The client is stopping the task.
    pub const KILLING: &str = "Killing";
    /// The task was stopped.
    pub const KILLED: &str = "Killed";
    /// The driver failed to start the task.
    pub const DRIVER_FAILURE: &str = "Driver Failure";
    /// Setup failed.
    pub const SETUP_FAILURE: &str = "Setup Failure";
    /// A restart was asked for (template change, check_restart).
    pub const RESTART_SIGNAL: &str = "Restart Signaled";
    /// A signal was sent (template change_mode = signal).
    pub const SIGNALING: &str = "Signaling";
    /// A template re-rendered.
    pub const TEMPLATE: &str = "Template";
    /// The task failed and the allocation fails with it.
    pub const SIBLING_FAILED: &str = "Sibling Task Failed";
    /// The task was re-attached after a client restart.
    pub const RESTORED: &str = "Task Restored";
}

/// Unix nanoseconds now.
pub fn now_nanos() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// RFC 3339 time now, as Nomad's `StartedAt` / `FinishedAt`.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// One task event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskEvent {
    /// Event type (see [`event`]).
    #[serde(rename = "Type")]
    pub kind: String,
    /// Unix nanoseconds.
    pub time: i64,
    /// Short message.
    pub message: String,
    /// Message for humans.
    pub display_message: String,
    /// Key/value details.
    pub details: BTreeMap<String, String>,
    /// Exit code (Terminated).
    pub exit_code: i64,
    /// Signal (Terminated, Signaling).
    pub signal: i64,
    /// Why the task restarts (Restarting).
    pub restart_reason: String,
    /// Setup or driver error.
    pub driver_error: String,
    /// Whether the task fails the allocation.
    pub fails_task: bool,
    /// Delay before the restart, nanoseconds (Restarting).
    pub start_delay: i64,
}

impl TaskEvent {
    /// An event of `kind` with a message, now.
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self { kind: kind.into(), time: now_nanos(), display_message: message.clone(), message, ..Default::default() }
    }
}

/// A task's state as the allocation reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskState {
    /// pending, running, dead.
    pub state: String,
    /// Whether the task failed.
    pub failed: bool,
    /// Restarts so far.
    pub restarts: u64,
    /// Time of the last restart (RFC 3339), if any.
    pub last_restart: Option<String>,
    /// Time the task last started (RFC 3339).
    pub started_at: Option<String>,
    /// Time the task finished (RFC 3339).
    pub finished_at: Option<String>,
    /// Events, oldest first (at most [`MAX_EVENTS`]).
    pub events: Vec<TaskEvent>,
}

/// How many events a task keeps, as Nomad.
pub const MAX_EVENTS: usize = 10;

impl Default for TaskState {
    fn default() -> Self {
        Self {
            state: "pending".into(),
            failed: false,
            restarts: 0,
            last_restart: None,
            started_at: None,
            finished_at: None,
            events: Vec::new(),
        }
    }
}

impl TaskState {
    /// Appends an event, dropping the oldest past [`MAX_EVENTS`].
    pub fn push(&mut self, event: TaskEvent) {
        self.events.push(event);
        if self.events.len() > MAX_EVENTS {
            let extra = self.events.len() - MAX_EVENTS;
            self.events.drain(..extra);
        }
    }
}

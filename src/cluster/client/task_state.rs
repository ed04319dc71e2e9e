//! Task events with Nomad's event type strings, recorded on the `api` wire types
//! [`TaskState`] / [`TaskEvent`] that allocations carry in `TaskStates`.

use std::time::{SystemTime, UNIX_EPOCH};

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
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// RFC 3339 time now, as Nomad's `StartedAt` / `FinishedAt`.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

pub use crate::api::{TaskEvent, TaskState};

/// How many events a task keeps, as Nomad.
pub const MAX_EVENTS: usize = 10;

/// Building task events.
pub trait EventExt {
    /// An event of `kind` with a message, now.
    fn new(kind: &str, message: impl Into<String>) -> Self;
    /// Adds a detail.
    fn detail(&mut self, key: &str, value: impl Into<String>);
}

impl EventExt for TaskEvent {
    fn new(kind: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            r#type: kind.into(),
            time: now_nanos(),
            display_message: message.clone(),
            message,
            ..Default::default()
        }
    }

    fn detail(&mut self, key: &str, value: impl Into<String>) {
        self.details
            .get_or_insert_default()
            .insert(key.to_owned(), value.into());
    }
}

/// Recording events on a task state.
pub trait StateExt {
    /// Appends an event, dropping the oldest past [`MAX_EVENTS`]; a new state is `pending`.
    fn push(&mut self, event: TaskEvent);
}

impl StateExt for TaskState {
    fn push(&mut self, event: TaskEvent) {
        if self.state.is_empty() {
            self.state = "pending".into();
        }
        let events = self.events.get_or_insert_default();
        events.push(event);
        if events.len() > MAX_EVENTS {
            let extra = events.len() - MAX_EVENTS;
            events.drain(..extra);
        }
    }
}

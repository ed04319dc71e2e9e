//! The state one allocation's runners share, and its persistence in the client's data dir
//! (`client-state/allocs/<id>.json`: the allocation, each task's state and driver handle), so a
//! restarted client re-attaches to running tasks instead of starting them again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};

use super::driver::TaskHandle;
use super::task_runner::TaskCommand;
use super::task_state::{StateExt, TaskEvent, TaskState};
use crate::api::ClientStatus;
use crate::cluster::fsm::Allocation;

/// Format version of the persisted file.
pub const FORMAT_VERSION: u32 = 1;

/// One task's persisted slot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskSlot {
    /// Nomad task state.
    pub state: TaskState,
    /// Driver handle while the task runs.
    pub handle: Option<TaskHandle>,
}

/// What is persisted per allocation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AllocRecord {
    /// File format version.
    pub format_version: u32,
    /// The allocation as last received.
    pub alloc: Allocation,
    /// Task name → slot.
    pub tasks: BTreeMap<String, TaskSlot>,
    /// Whether the allocation's health was reported (`Some(healthy)`).
    pub healthy: Option<bool>,
    /// Client status last computed.
    pub client_status: ClientStatus,
}

/// Shared, persisted state of one allocation.
pub struct AllocShared {
    path: PathBuf,
    record: Mutex<AllocRecord>,
    /// Woken on every change, for status reports.
    pub changed: Notify,
    /// Set once the allocation's lifecycle has ended: after its last report, the reporter
    /// ends too (and with it the last reference to this state).
    closed: AtomicBool,
    /// Task name → the channel to its running task runner (signal and restart requests).
    commands: Mutex<BTreeMap<String, mpsc::Sender<TaskCommand>>>,
}

/// Why a request to the allocation's tasks could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The allocation has no task of that name.
    UnknownTask(String),
    /// No task (of those asked for) is running.
    NotRunning(String),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownTask(t) => write!(f, "unknown task {t:?} in this allocation"),
            Self::NotRunning(t) if t.is_empty() => write!(f, "no task of this allocation is running"),
            Self::NotRunning(t) => write!(f, "task {t:?} is not running"),
        }
    }
}

impl AllocShared {
    /// State for `alloc`, persisted under `state_dir`.
    pub fn new(state_dir: &Path, record: AllocRecord) -> Arc<Self> {
        let path = state_dir.join("allocs").join(format!("{}.json", record.alloc.id));
        Arc::new(Self {
            path,
            record: Mutex::new(record),
            changed: Notify::new(),
            closed: AtomicBool::new(false),
            commands: Mutex::default(),
        })
    }

    /// Records the channel to task `task`'s runner.
    pub fn register_task(&self, task: &str, tx: mpsc::Sender<TaskCommand>) {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(task.to_owned(), tx);
    }

    /// Sends `cmd` to task `task` (every running task when empty); the tasks it reached.
    pub async fn command(&self, task: &str, cmd: TaskCommand) -> Result<Vec<String>, CommandError> {
        let known = task.is_empty() || self.lock().tasks.contains_key(task);
        if !known {
            return Err(CommandError::UnknownTask(task.to_owned()));
        }
        let targets: Vec<(String, mpsc::Sender<TaskCommand>)> = self
            .commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(n, tx)| (task.is_empty() || *n == task) && !tx.is_closed())
            .map(|(n, tx)| (n.clone(), tx.clone()))
            .collect();
        let running: Vec<(String, mpsc::Sender<TaskCommand>)> = targets
            .into_iter()
            .filter(|(n, _)| self.lock().tasks.get(n).is_some_and(|s| s.handle.is_some()))
            .collect();
        let mut reached = Vec::new();
        for (n, tx) in running {
            if tx.send(cmd.clone()).await.is_ok() {
                reached.push(n);
            }
        }
        if reached.is_empty() {
            return Err(CommandError::NotRunning(task.to_owned()));
        }
        Ok(reached)
    }

    /// Marks the lifecycle ended and wakes the reporter for its last report.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.changed.notify_one();
    }

    /// Whether the lifecycle has ended: nothing changes this state any more.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Locks the record.
    pub fn lock(&self) -> MutexGuard<'_, AllocRecord> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes a task's slot, persists, and wakes the reporter.
    pub fn update_task(&self, task: &str, change: impl FnOnce(&mut TaskSlot)) {
        {
            let mut r = self.lock();
            change(r.tasks.entry(task.to_owned()).or_default());
        }
        self.persist();
        self.changed.notify_one();
    }

    /// Appends an event to a task.
    pub fn event(&self, task: &str, event: TaskEvent) {
        self.update_task(task, |s| s.state.push(event));
    }

    /// Writes the record to disk (atomically: temp file + rename).
    pub fn persist(&self) {
        let bytes = match serde_json::to_vec(&*self.lock()) {
            Ok(b) => b,
            Err(e) => return tracing::warn!("encoding alloc state: {e}"),
        };
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = self.path.with_extension("json.tmp");
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &self.path)
        };
        if let Err(e) = write() {
            tracing::warn!("persisting alloc state {}: {e}", self.path.display());
        }
    }

    /// Removes the persisted file (the allocation is finished and cleaned up).
    pub fn forget(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Every persisted allocation record under `state_dir`.
pub fn load_all(state_dir: &Path) -> Vec<AllocRecord> {
    let dir = state_dir.join("allocs");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match std::fs::read(&p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<AllocRecord>(&b).map_err(|e| e.to_string()))
        {
            Ok(r) if r.format_version == FORMAT_VERSION => out.push(r),
            Ok(r) => tracing::warn!("{}: unsupported format version {}", p.display(), r.format_version),
            Err(e) => tracing::warn!("{}: {e}", p.display()),
        }
    }
    out
}

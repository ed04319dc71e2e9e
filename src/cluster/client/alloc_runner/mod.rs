//! Runs one allocation: its task group's tasks in lifecycle order, service registration,
//! checks and allocation health, and the status reports sent to the servers.
//!
//! ```text
//!  prestart (run to completion) + prestart sidecars ─► main tasks ─► poststart
//!        ─► main tasks done (or stop/kill) ─► sidecars stopped ─► poststop ─► dead
//!  health: all main tasks running (+ checks passing) for min_healthy_time ─► healthy
//!          a failed task or healthy_deadline passed                         ─► unhealthy
//! ```
//!
//! The phases live in `lifecycle`, checks, services and health in `checks`.

mod checks;
mod lifecycle;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::alloc_dir::AllocDir;
use super::alloc_state::{AllocRecord, AllocShared, FORMAT_VERSION};
use super::context::ClientContext;
use super::error::ClientError;
use super::task_runner::AllocInfo;
use super::task_state::{EventExt, TaskEvent, event, now_nanos};
use crate::api::{AllocDeploymentStatus, ClientStatus};
use crate::cluster::fsm::{AllocClientUpdate, Allocation};
use crate::spec::{Job, Task};

/// A running allocation, as the client holds it.
pub struct AllocRunnerHandle {
    /// Shared state (task states and handles).
    pub shared: Arc<AllocShared>,
    kill: watch::Sender<bool>,
    join: tokio::task::JoinHandle<()>,
}

impl AllocRunnerHandle {
    /// Asks every task to stop.
    pub fn kill(&self) {
        let _ = self.kill.send(true);
    }

    /// Whether the runner finished.
    pub fn finished(&self) -> bool {
        self.join.is_finished()
    }
}

/// Parses the allocation's job and finds its group.
pub fn alloc_info(alloc: &Allocation, alloc_root: &std::path::Path) -> Result<AllocInfo, ClientError> {
    if !super::beneath::is_single_component(&alloc.id) {
        return Err(ClientError::InvalidAlloc(format!(
            "allocation ID {:?} cannot name a directory",
            alloc.id
        )));
    }
    let job: Job = alloc
        .job
        .as_deref()
        .cloned()
        .ok_or_else(|| ClientError::InvalidAlloc("allocation has no Job".into()))?;
    let group = job
        .task_groups
        .iter()
        .flatten()
        .find(|g| g.name.as_deref() == Some(alloc.task_group.as_str()))
        .cloned()
        .ok_or_else(|| ClientError::InvalidAlloc(format!("job has no group {:?}", alloc.task_group)))?;
    Ok(AllocInfo {
        alloc: alloc.clone(),
        job,
        group,
        dir: AllocDir::new(alloc_root, &alloc.id),
    })
}

/// Starts (or, with a restored record, resumes) an allocation.
pub fn start(
    ctx: Arc<ClientContext>,
    info: AllocInfo,
    restored: Option<AllocRecord>,
    reports: mpsc::UnboundedSender<AllocClientUpdate>,
) -> AllocRunnerHandle {
    let fresh = restored.is_none();
    let record = restored.unwrap_or_else(|| AllocRecord {
        format_version: FORMAT_VERSION,
        alloc: info.alloc.clone(),
        client_status: ClientStatus::Pending,
        ..Default::default()
    });
    let shared = AllocShared::new(&ctx.config.state_dir(), record);
    let (kill, kill_rx) = watch::channel(false);
    let info = Arc::new(info);
    if fresh {
        for t in info.group.tasks.iter().flatten() {
            shared.event(
                &t.name,
                TaskEvent::new(event::RECEIVED, "Task received by client"),
            );
        }
    }
    tokio::spawn(report_loop(Arc::clone(&shared), Arc::clone(&info), reports));
    let lifecycle_shared = Arc::clone(&shared);
    let join = tokio::spawn(async move {
        lifecycle::run(ctx, info, Arc::clone(&lifecycle_shared), kill_rx).await;
        lifecycle_shared.close();
    });
    AllocRunnerHandle { shared, kill, join }
}

fn hook(t: &Task) -> (&str, bool) {
    t.lifecycle
        .as_ref()
        .map_or(("", false), |l| (l.hook.as_str(), l.sidecar))
}

/// Nomad's client status from the task states: failed, complete, running or pending.
pub fn compute_status(record: &AllocRecord, tasks: &[Task]) -> ClientStatus {
    let state = |name: &str| record.tasks.get(name).map(|s| &s.state);
    if record.tasks.values().any(|s| s.state.failed) {
        return ClientStatus::Failed;
    }
    let main: Vec<&Task> = tasks.iter().filter(|t| hook(t).0.is_empty()).collect();
    if !main.is_empty()
        && main
            .iter()
            .all(|t| state(&t.name).is_some_and(|s| s.state == "dead"))
    {
        return ClientStatus::Complete;
    }
    if main
        .iter()
        .any(|t| state(&t.name).is_some_and(|s| s.state == "running"))
    {
        return ClientStatus::Running;
    }
    ClientStatus::Pending
}

async fn report_loop(
    shared: Arc<AllocShared>,
    info: Arc<AllocInfo>,
    reports: mpsc::UnboundedSender<AllocClientUpdate>,
) {
    let tasks: Vec<Task> = info.group.tasks.clone().unwrap_or_default();
    drop(info);
    loop {
        // Read before the report is built: a closed state changes no more, so the report
        // built next is the last one, and the loop (with its references) ends after it.
        let last = shared.is_closed();
        let update = {
            let mut r = shared.lock();
            let status = compute_status(&r, &tasks);
            r.client_status = status;
            AllocClientUpdate {
                id: r.alloc.id.clone(),
                client_status: status,
                client_description: describe(status).into(),
                task_states: r
                    .tasks
                    .iter()
                    .map(|(k, s)| (k.clone(), s.state.clone()))
                    .collect(),
                deployment_status: r.healthy.map(|h| AllocDeploymentStatus {
                    healthy: Some(h),
                    timestamp: Some(chrono::Utc::now().to_rfc3339()),
                    ..Default::default()
                }),
                modify_time: now_nanos(),
            }
        };
        if reports.send(update).is_err() || last {
            return;
        }
        shared.changed.notified().await;
        // Coalesce bursts of events into one report.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn describe(status: ClientStatus) -> &'static str {
    match status {
        ClientStatus::Running => "Tasks are running",
        ClientStatus::Complete => "All tasks have completed",
        ClientStatus::Failed => "Failed tasks",
        _ => "No tasks have started",
    }
}

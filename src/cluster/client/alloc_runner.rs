//! Runs one allocation: its task group's tasks in lifecycle order, service registration,
//! checks and allocation health, and the status reports sent to the servers.
//!
//! ```text
//!  prestart (run to completion) + prestart sidecars ─► main tasks ─► poststart
//!        ─► main tasks done (or stop/kill) ─► sidecars stopped ─► poststop ─► dead
//!  health: all main tasks running (+ checks passing) for min_healthy_time ─► healthy
//!          a failed task or healthy_deadline passed                         ─► unhealthy
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::alloc_dir::AllocDir;
use super::alloc_state::{AllocRecord, AllocShared, FORMAT_VERSION};
use super::context::ClientContext;
use super::env::{TaskEnv, TaskPaths};
use super::error::ClientError;
use super::health::{self, CheckResults};
use super::services;
use super::task_runner::{AllocInfo, TaskCommand, TaskOutcome, TaskRunner};
use super::task_state::{EventExt, TaskEvent, event, now_nanos};
use crate::api::{AllocDeploymentStatus, ClientStatus};
use crate::cluster::fsm::{AllocClientUpdate, Allocation};
use crate::spec::{Job, Task, UpdateStrategy};

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
    let join = tokio::spawn(run(ctx, info, Arc::clone(&shared), kill_rx));
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
    loop {
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
        if reports.send(update).is_err() {
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

struct Phase {
    runners: JoinSet<(String, TaskOutcome)>,
    senders: BTreeMap<String, mpsc::Sender<TaskCommand>>,
}

impl Phase {
    fn new() -> Self {
        Self {
            runners: JoinSet::new(),
            senders: BTreeMap::new(),
        }
    }

    fn spawn(
        &mut self,
        ctx: &Arc<ClientContext>,
        info: &Arc<AllocInfo>,
        shared: &Arc<AllocShared>,
        task: &Task,
    ) {
        let (handle, state) = {
            let r = shared.lock();
            let slot = r.tasks.get(&task.name);
            (
                slot.and_then(|s| s.handle.clone()),
                slot.map(|s| s.state.state.clone()),
            )
        };
        let name = task.name.clone();
        // A task that finished before a client restart is not run again.
        if state.as_deref() == Some("dead") && handle.is_none() {
            let failed = shared.lock().tasks.get(&name).is_some_and(|s| s.state.failed);
            self.runners.spawn(async move { (name, TaskOutcome { failed }) });
            return;
        }
        let (runner, tx) = TaskRunner::new(
            Arc::clone(ctx),
            Arc::clone(info),
            task.clone(),
            Arc::clone(shared),
        );
        self.senders.insert(name.clone(), tx);
        self.runners
            .spawn(async move { (name, runner.run(handle).await) });
    }

    async fn send_all(&self, cmd: TaskCommand) {
        for tx in self.senders.values() {
            let _ = tx.send(cmd.clone()).await;
        }
    }

    /// Tells the other tasks that `name` failed and kills them.
    async fn sibling_failed(&self, shared: &AllocShared, name: &str) {
        for (n, tx) in self.senders.iter().filter(|(n, _)| *n != name) {
            shared.event(
                n,
                TaskEvent::new(event::SIBLING_FAILED, format!("Task's sibling {name:?} failed")),
            );
            let _ = tx.send(TaskCommand::Kill(format!("sibling {name} failed"))).await;
        }
    }

    /// Restarts task `task` (every task when empty).
    async fn restart(&self, task: &str, reason: &str) {
        for (n, tx) in &self.senders {
            if task.is_empty() || n == task {
                let _ = tx.send(TaskCommand::Restart(reason.to_owned())).await;
            }
        }
    }
}

fn update_strategy(info: &AllocInfo) -> Option<UpdateStrategy> {
    info.group
        .update
        .clone()
        .or_else(|| info.job.update.clone())
        .filter(|u| u.max_parallel.unwrap_or(1) > 0)
}

fn nanos(d: Option<crate::spec::Duration>, default: Duration) -> Duration {
    d.and_then(|d| u64::try_from(d.0).ok())
        .map_or(default, Duration::from_nanos)
}

/// The tasks of the allocation's group by lifecycle hook (`""` = main), and whether sidecar.
struct Hooks {
    tasks: Vec<Task>,
}

impl Hooks {
    /// Tasks of hook `h`, only sidecars or non-sidecars when `side` says.
    fn of(&self, h: &str, side: Option<bool>) -> Vec<Task> {
        self.tasks
            .iter()
            .filter(|t| hook(t).0 == h && side.is_none_or(|s| hook(t).1 == s))
            .cloned()
            .collect()
    }
}

/// What every phase of one allocation's run reads.
struct Run {
    ctx: Arc<ClientContext>,
    info: Arc<AllocInfo>,
    shared: Arc<AllocShared>,
    hooks: Hooks,
}

impl Run {
    fn phase(&self, tasks: Vec<Task>) -> Phase {
        let mut p = Phase::new();
        for t in tasks {
            p.spawn(&self.ctx, &self.info, &self.shared, &t);
        }
        p
    }

    /// Runs the prestart (non-sidecar) tasks to completion; (any failed, killed meanwhile).
    async fn prestart(&self, kill: &mut watch::Receiver<bool>) -> (bool, bool) {
        let mut pre = self.phase(self.hooks.of("prestart", Some(false)));
        let mut failed = false;
        let mut killed = *kill.borrow();
        while !killed {
            tokio::select! {
                next = pre.runners.join_next() => match next {
                    Some(Ok((_, o))) => failed |= o.failed,
                    _ => break,
                },
                _ = kill.changed() => { killed = true; pre.send_all(TaskCommand::Kill("allocation stopped".into())).await; }
            }
        }
        (failed, killed)
    }

    /// Runs the main tasks until they end or the allocation is stopped, starting poststart
    /// tasks, services and checks once all run, and deciding health on the way.
    async fn main(
        &self,
        kill: &mut watch::Receiver<bool>,
        post: &mut Phase,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let (ctx, info, shared) = (&self.ctx, &self.info, &self.shared);
        let mut main = self.phase(self.hooks.of("", None));
        // A stop that came in after the prestart phase is still unseen and wakes `changed`.
        let mut killed = false;
        let (restart_tx, mut restart_rx) = mpsc::channel::<(String, String)>(8);
        let mut checks = Vec::new();
        let mut started_extras = false;
        let results = CheckResults::default();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut health = update_strategy(info)
            .filter(|_| shared.lock().healthy.is_none())
            .map(|u| HealthWatch::new(&u));
        loop {
            tokio::select! {
                next = main.runners.join_next() => match next {
                    Some(Ok((name, o))) => if o.failed { main.sibling_failed(shared, &name).await },
                    _ => break,
                },
                _ = kill.changed(), if !killed => { killed = true; main.send_all(TaskCommand::Kill("allocation stopped".into())).await; }
                Some((task, reason)) = restart_rx.recv() => main.restart(&task, &reason).await,
                _ = tick.tick() => {
                    let all_running = {
                        let r = shared.lock();
                        self.hooks.of("", None).iter().all(|t| r.tasks.get(&t.name).is_some_and(|s| s.state.state == "running"))
                    };
                    if all_running && !started_extras {
                        started_extras = true;
                        *post = self.phase(self.hooks.of("poststart", None));
                        checks = start_checks(ctx, info, &results, restart_tx.clone());
                        register_services(ctx, info).await;
                    }
                    if let Some(h) = &mut health
                        && self.health_step(h, all_running, &results)
                    {
                        health = None;
                    }
                }
            }
        }
        checks
    }

    /// One health observation; true once the verdict is recorded.
    fn health_step(&self, h: &mut HealthWatch, all_running: bool, results: &CheckResults) -> bool {
        let names: Vec<String> = checks_names(&self.ctx, &self.info);
        let any_failed = self.shared.lock().tasks.values().any(|s| s.state.failed);
        let Some(verdict) = h.step(all_running, any_failed, results.all_passing(&names)) else {
            return false;
        };
        self.shared.lock().healthy = Some(verdict);
        self.shared.persist();
        self.shared.changed.notify_one();
        true
    }
}

async fn run(
    ctx: Arc<ClientContext>,
    info: Arc<AllocInfo>,
    shared: Arc<AllocShared>,
    mut kill: watch::Receiver<bool>,
) {
    if let Err(e) = info.dir.build() {
        tracing::warn!("building alloc dir {}: {e}", info.dir.root.display());
    }
    let hooks = Hooks {
        tasks: info.group.tasks.clone().unwrap_or_default(),
    };
    let run = Run {
        ctx,
        info,
        shared,
        hooks,
    };
    let sidecars = run.phase(run.hooks.of("prestart", Some(true)));
    let (failed, killed) = run.prestart(&mut kill).await;
    let mut post = Phase::new();
    let mut checks = Vec::new();
    if !killed && !failed {
        checks = run.main(&mut kill, &mut post).await;
    }
    for c in checks {
        c.abort();
    }
    let (ctx, info, shared) = (&run.ctx, &run.info, &run.shared);
    if let Err(e) = ctx.api.register_services(&info.alloc.id, &[]).await {
        tracing::debug!("deregistering services of {}: {e}", info.alloc.id);
    }
    let mut sidecars = sidecars;
    post.send_all(TaskCommand::Kill("main tasks finished".into()))
        .await;
    sidecars
        .send_all(TaskCommand::Kill("main tasks finished".into()))
        .await;
    while post.runners.join_next().await.is_some() {}
    while sidecars.runners.join_next().await.is_some() {}
    let mut stop = run.phase(run.hooks.of("poststop", None));
    while stop.runners.join_next().await.is_some() {}
    shared.changed.notify_one();
}

fn checks_names(ctx: &ClientContext, info: &AllocInfo) -> Vec<String> {
    let _ = ctx;
    services::check_plans(info, |_| (Vec::new(), std::path::PathBuf::new()))
        .into_iter()
        .map(|p| p.name)
        .collect()
}

fn start_checks(
    ctx: &Arc<ClientContext>,
    info: &Arc<AllocInfo>,
    results: &CheckResults,
    restart: mpsc::Sender<(String, String)>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let node = ctx.node();
    let env_of = |task: &str| {
        let t = info
            .group
            .tasks
            .iter()
            .flatten()
            .find(|t| t.name == task)
            .cloned()
            .unwrap_or_default();
        let d = &info.dir;
        let s = |p: std::path::PathBuf| p.display().to_string();
        let paths = TaskPaths {
            alloc_dir: s(d.shared()),
            task_dir: s(d.local(task)),
            secrets_dir: s(d.secrets(task)),
        };
        let mut env = TaskEnv::build(
            &info.alloc,
            &info.job,
            &info.group,
            &t,
            &node,
            &ctx.config.region,
            &paths,
        );
        if let Some(e) = &t.env {
            env.add_task_env(e);
        }
        // Only raw_exec tasks run on the host as the client's user; a script for any other
        // task would escape that task's sandbox.
        let dir = if t.driver == "raw_exec" && !task.is_empty() {
            d.task(task)
        } else {
            std::path::PathBuf::new()
        };
        (env.pairs(), dir)
    };
    services::check_plans(info, env_of)
        .into_iter()
        .map(|plan| {
            let (tx, mut rx) = mpsc::channel::<String>(4);
            let task = plan.task.clone();
            let fwd = restart.clone();
            tokio::spawn(async move {
                while let Some(reason) = rx.recv().await {
                    let _ = fwd.send((task.clone(), reason)).await;
                }
            });
            tokio::spawn(health::watch(ctx.http.clone(), plan, results.clone(), tx))
        })
        .collect()
}

async fn register_services(ctx: &ClientContext, info: &AllocInfo) {
    let regs = services::registrations(info, &ctx.node().id, &ctx.config.datacenter);
    if regs.is_empty() {
        return;
    }
    if let Err(e) = ctx.api.register_services(&info.alloc.id, &regs).await {
        tracing::warn!("registering services of {}: {e}", info.alloc.id);
    }
}

/// Allocation health per the `update` block.
struct HealthWatch {
    by_checks: bool,
    min_healthy: Duration,
    deadline: Instant,
    healthy_since: Option<Instant>,
}

impl HealthWatch {
    fn new(u: &UpdateStrategy) -> Self {
        Self {
            by_checks: u.health_check.as_deref() != Some("task_states"),
            min_healthy: nanos(u.min_healthy_time, Duration::from_secs(10)),
            deadline: Instant::now() + nanos(u.healthy_deadline, Duration::from_secs(300)),
            healthy_since: None,
        }
    }

    /// `Some(verdict)` once health is decided.
    fn step(&mut self, all_running: bool, any_failed: bool, checks_passing: bool) -> Option<bool> {
        let now = Instant::now();
        if any_failed || now >= self.deadline {
            return Some(false);
        }
        let ok = all_running && (!self.by_checks || checks_passing);
        match (ok, self.healthy_since) {
            (true, None) => self.healthy_since = Some(now),
            (true, Some(t)) if now.duration_since(t) >= self.min_healthy => return Some(true),
            (false, _) => self.healthy_since = None,
            _ => {}
        }
        None
    }
}

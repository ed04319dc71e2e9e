//! One allocation's run through its lifecycle phases: prestart sidecars and prestart tasks,
//! the main tasks (with poststart tasks, services, checks and health once all run), then
//! sidecars and poststart stopped and poststop run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::checks::{HealthWatch, checks_names, register_services, start_checks, update_strategy};
use super::hook;
use crate::cluster::client::alloc_state::AllocShared;
use crate::cluster::client::context::ClientContext;
use crate::cluster::client::health::CheckResults;
use crate::cluster::client::task_runner::{AllocInfo, TaskCommand, TaskOutcome, TaskRunner};
use crate::cluster::client::task_state::{EventExt, TaskEvent, event};
use crate::spec::Task;

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
        shared.register_task(&name, tx.clone());
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
        // A task that failed between two observations still makes the allocation unhealthy.
        if let Some(h) = &mut health {
            self.health_step(h, false, &results);
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

pub(super) async fn run(
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

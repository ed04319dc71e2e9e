//! Runs one task through its life: setup (directories, artifacts, templates), start or
//! re-attach, wait, restart per policy, react to kill / restart / signal requests and
//! template changes, and record Nomad task events on the way.
//!
//! ```text
//!  setup ─► start (or recover handle) ─► wait ─┬─ exit ─► restart policy ─► start | dead
//!                 ▲                            ├─ Kill ─► stop (kill_signal, kill_timeout) ─► dead
//!                 └──────── Restart ◄──────────┴─ Signal ─► driver.signal
//! ```
//!
//! `setup` (directories, artifacts, templates) and `launch` (environment, [`TaskLaunch`])
//! live in their own files beside this run loop.
//!
//! [`TaskLaunch`]: super::driver::TaskLaunch

mod launch;
mod setup;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::alloc_dir::{AllocDir, check_task_name};
use super::alloc_state::AllocShared;
use super::context::ClientContext;
use super::driver::{Driver, ExitResult, TaskHandle};
use super::restart::{Decision, RestartTracker};
use super::task_state::{EventExt, StateExt, TaskEvent, event, now_rfc3339};
use crate::cluster::fsm::Allocation;
use crate::spec::{Job, Task, TaskGroup};

/// A request to a running task.
#[derive(Debug, Clone)]
pub enum TaskCommand {
    /// Stop for good (reason).
    Kill(String),
    /// Restart (reason).
    Restart(String),
    /// Send a signal.
    Signal(String),
}

/// The allocation a task belongs to.
pub struct AllocInfo {
    /// The allocation.
    pub alloc: Allocation,
    /// Its job.
    pub job: Job,
    /// Its task group.
    pub group: TaskGroup,
    /// Its directory.
    pub dir: AllocDir,
}

impl AllocInfo {
    /// The job type (`service` when unset).
    pub fn job_type(&self) -> &str {
        self.job.r#type.as_deref().unwrap_or("service")
    }

    /// The job's namespace.
    pub fn namespace(&self) -> &str {
        self.job.namespace.as_deref().unwrap_or("default")
    }
}

/// How a task run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskOutcome {
    /// Whether the task failed.
    pub failed: bool,
}

/// Runs one task.
pub struct TaskRunner {
    ctx: Arc<ClientContext>,
    info: Arc<AllocInfo>,
    task: Task,
    shared: Arc<AllocShared>,
    commands: mpsc::Receiver<TaskCommand>,
    self_tx: mpsc::Sender<TaskCommand>,
    rendered: BTreeMap<usize, String>,
    template_env: BTreeMap<String, String>,
}

fn dur(d: Option<crate::spec::Duration>, default: Duration) -> Duration {
    d.and_then(|d| u64::try_from(d.0).ok())
        .map_or(default, Duration::from_nanos)
}

impl TaskRunner {
    /// A runner and the sender that controls it.
    pub fn new(
        ctx: Arc<ClientContext>,
        info: Arc<AllocInfo>,
        task: Task,
        shared: Arc<AllocShared>,
    ) -> (Self, mpsc::Sender<TaskCommand>) {
        let (tx, rx) = mpsc::channel(16);
        let runner = Self {
            ctx,
            info,
            task,
            shared,
            commands: rx,
            self_tx: tx.clone(),
            rendered: BTreeMap::new(),
            template_env: BTreeMap::new(),
        };
        (runner, tx)
    }

    fn name(&self) -> &str {
        &self.task.name
    }

    fn event(&self, e: TaskEvent) {
        self.shared.event(&self.task.name, e);
    }

    fn driver(&self) -> Result<Arc<dyn Driver>, String> {
        self.ctx
            .drivers
            .get(&self.task.driver)
            .ok_or_else(|| format!("unknown driver {:?}", self.task.driver))
    }

    /// Runs the task to its end; `restored` is a handle from before a client restart.
    pub async fn run(mut self, restored: Option<TaskHandle>) -> TaskOutcome {
        // Defence in depth: the servers validate names too, but nothing is made on the host
        // for a name that would leave the allocation directory.
        if let Err(e) = check_task_name(self.name()) {
            return self.dead_with(event::SETUP_FAILURE, e.to_string());
        }
        let driver = match self.driver() {
            Ok(d) => d,
            Err(e) => return self.dead_with(event::DRIVER_FAILURE, e),
        };
        if let Err(e) = self.setup().await {
            return self.dead_with(event::SETUP_FAILURE, e);
        }
        let watch = self.spawn_template_watch();
        let policy = self
            .task
            .restart_policy
            .clone()
            .or_else(|| self.info.group.restart_policy.clone());
        let mut tracker = RestartTracker::new(policy.as_ref(), self.info.job_type());
        if self
            .task
            .lifecycle
            .as_ref()
            .is_some_and(|l| !l.sidecar && matches!(l.hook.as_str(), "prestart" | "poststart"))
        {
            tracker = tracker.ephemeral();
        }
        let mut restored = restored;
        let outcome = loop {
            let Some(handle) = self.start_or_recover(&*driver, restored.take()).await else {
                match tracker.on_exit(false, Instant::now()) {
                    Decision::Restart(d) if self.pause(d).await => continue,
                    _ => break TaskOutcome { failed: true },
                }
            };
            match self.supervise(&*driver, &handle).await {
                Supervised::Exited(exit) => {
                    let _ = driver.destroy(&handle).await;
                    self.shared.update_task(self.name(), |s| s.handle = None);
                    if let Some(outcome) = self.after_exit(exit, &mut tracker).await {
                        break outcome;
                    }
                }
                Supervised::Killed => break TaskOutcome { failed: false },
                Supervised::Restarted => {
                    self.shared.update_task(self.name(), |s| {
                        s.state.restarts += 1;
                        s.state.last_restart = Some(now_rfc3339());
                        s.state.push(TaskEvent::new(event::RESTARTING, "Task restarting"));
                    });
                }
            }
        };
        if let Some(w) = watch {
            w.abort();
        }
        self.shared.update_task(self.name(), |s| {
            s.handle = None;
            s.state.state = "dead".into();
            s.state.failed = outcome.failed;
            s.state.finished_at = Some(now_rfc3339());
        });
        outcome
    }

    /// Re-attaches to the task behind `restored` if it still runs, else starts it; `None`
    /// (with a driver failure event) when the driver could not start it.
    async fn start_or_recover(
        &self,
        driver: &dyn Driver,
        restored: Option<TaskHandle>,
    ) -> Option<TaskHandle> {
        let env = self.env();
        let launch = self.launch(&env);
        if let Some(h) = restored
            && driver.recover(&h, &launch).await.unwrap_or(false)
        {
            self.event(TaskEvent::new(
                event::RESTORED,
                "Task re-attached after a client restart",
            ));
            return Some(h);
        }
        match driver.start(&launch).await {
            Ok(h) => {
                self.shared.update_task(self.name(), |s| {
                    s.handle = Some(h.clone());
                    s.state.state = "running".into();
                    s.state.started_at = Some(now_rfc3339());
                    s.state
                        .push(TaskEvent::new(event::STARTED, "Task started by client"));
                });
                Some(h)
            }
            Err(e) => {
                let mut ev = TaskEvent::new(event::DRIVER_FAILURE, e.to_string());
                ev.driver_error = e.to_string();
                self.event(ev);
                None
            }
        }
    }

    /// Records how the task ended and applies the restart policy: `Some(outcome)` when the
    /// task is done, `None` to start it again (after the policy's delay).
    async fn after_exit(&mut self, exit: ExitResult, tracker: &mut RestartTracker) -> Option<TaskOutcome> {
        let mut ev = TaskEvent::new(event::TERMINATED, format!("Exit Code: {}", exit.exit_code));
        ev.exit_code = exit.exit_code;
        ev.signal = exit.signal;
        ev.detail("exit_code", exit.exit_code.to_string());
        if !exit.known {
            ev.detail("exit_status", "unknown: the task ended while the client was away");
        }
        self.event(ev);
        match tracker.on_exit(exit.successful(), Instant::now()) {
            Decision::Restart(d) => {
                let mut ev = TaskEvent::new(event::RESTARTING, format!("Task restarting in {d:?}"));
                ev.restart_reason = "Restart within policy".into();
                ev.start_delay = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
                self.shared.update_task(self.name(), |s| {
                    s.state.restarts += 1;
                    s.state.last_restart = Some(now_rfc3339());
                    s.state.push(ev);
                });
                (!self.pause(d).await).then_some(TaskOutcome { failed: false })
            }
            Decision::Stop => {
                let failed = !exit.successful();
                if failed {
                    let mut ev = TaskEvent::new(event::NOT_RESTARTING, "Exceeded allowed attempts");
                    ev.fails_task = true;
                    self.event(ev);
                }
                Some(TaskOutcome { failed })
            }
        }
    }

    fn dead_with(&self, kind: &str, message: String) -> TaskOutcome {
        let mut ev = TaskEvent::new(kind, message.clone());
        ev.fails_task = true;
        ev.driver_error = message;
        self.shared.update_task(self.name(), |s| {
            s.state.push(ev);
            s.state.state = "dead".into();
            s.state.failed = true;
            s.state.finished_at = Some(now_rfc3339());
        });
        TaskOutcome { failed: true }
    }

    /// Sleeps `d` unless killed meanwhile; true to go on.
    async fn pause(&mut self, d: Duration) -> bool {
        let sleep = tokio::time::sleep(d);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return true,
                cmd = self.commands.recv() => match cmd {
                    Some(TaskCommand::Kill(_)) | None => return false,
                    _ => {}
                }
            }
        }
    }

    async fn stop(&self, driver: &dyn Driver, handle: &TaskHandle) {
        let signal = if self.task.kill_signal.is_empty() {
            "SIGINT"
        } else {
            self.task.kill_signal.as_str()
        };
        let timeout = dur(self.task.kill_timeout, Duration::from_secs(5));
        let mut ev = TaskEvent::new(
            event::KILLING,
            format!("Sent interrupt. Waiting {timeout:?} before force killing"),
        );
        ev.detail("kill_timeout", format!("{timeout:?}"));
        self.event(ev);
        if let Err(e) = driver.stop(handle, signal, timeout).await {
            tracing::warn!("stopping task {}: {e}", self.name());
        }
    }

    async fn supervise(&mut self, driver: &dyn Driver, handle: &TaskHandle) -> Supervised {
        let wait = driver.wait(handle);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                exit = &mut wait => {
                    return Supervised::Exited(exit.unwrap_or(ExitResult { exit_code: -1, signal: 0, known: false }));
                }
                cmd = self.commands.recv() => match cmd {
                    Some(TaskCommand::Kill(reason)) => {
                        self.finish_kill(driver, handle, &mut wait, &reason).await;
                        return Supervised::Killed;
                    }
                    None => {
                        self.finish_kill(driver, handle, &mut wait, "client shutting down").await;
                        return Supervised::Killed;
                    }
                    Some(TaskCommand::Restart(reason)) => {
                        self.restart_now(driver, handle, &mut wait, reason).await;
                        return Supervised::Restarted;
                    }
                    Some(TaskCommand::Signal(sig)) if sig == RERENDER => {
                        if let Some(action) = self.on_rerender().await {
                            match action {
                                TaskCommand::Restart(reason) => {
                                    self.restart_now(driver, handle, &mut wait, reason).await;
                                    return Supervised::Restarted;
                                }
                                TaskCommand::Signal(sig) => self.send_signal(driver, handle, &sig).await,
                                TaskCommand::Kill(_) => {}
                            }
                        }
                    }
                    Some(TaskCommand::Signal(sig)) => self.send_signal(driver, handle, &sig).await,
                }
            }
        }
    }

    async fn send_signal(&self, driver: &dyn Driver, handle: &TaskHandle, sig: &str) {
        let mut ev = TaskEvent::new(event::SIGNALING, format!("Task being sent {sig}"));
        ev.detail("signal", sig.to_owned());
        self.event(ev);
        if let Err(e) = driver.signal(handle, sig).await {
            tracing::warn!("signalling task {}: {e}", self.name());
        }
    }

    async fn restart_now(
        &self,
        driver: &dyn Driver,
        handle: &TaskHandle,
        wait: &mut std::pin::Pin<&mut super::driver::DriverFuture<'_, ExitResult>>,
        reason: String,
    ) {
        let mut ev = TaskEvent::new(event::RESTART_SIGNAL, reason.clone());
        ev.restart_reason = reason;
        self.event(ev);
        self.stop(driver, handle).await;
        let _ = wait.as_mut().await;
        let _ = driver.destroy(handle).await;
        self.shared.update_task(self.name(), |s| s.handle = None);
    }

    async fn finish_kill(
        &self,
        driver: &dyn Driver,
        handle: &TaskHandle,
        wait: &mut std::pin::Pin<&mut super::driver::DriverFuture<'_, ExitResult>>,
        reason: &str,
    ) {
        tracing::debug!("killing task {}: {reason}", self.name());
        self.stop(driver, handle).await;
        let _ = wait.as_mut().await;
        let _ = driver.destroy(handle).await;
        self.event(TaskEvent::new(event::KILLED, "Task successfully killed"));
    }
}

/// Internal signal name meaning "variables changed: re-render templates".
const RERENDER: &str = "__rerender_templates";

enum Supervised {
    Exited(ExitResult),
    Killed,
    Restarted,
}

//! Runs one task through its life: setup (directories, artifacts, templates), start or
//! re-attach, wait, restart per policy, react to kill / restart / signal requests and
//! template changes, and record Nomad task events on the way.
//!
//! ```text
//!  setup ─► start (or recover handle) ─► wait ─┬─ exit ─► restart policy ─► start | dead
//!                 ▲                            ├─ Kill ─► stop (kill_signal, kill_timeout) ─► dead
//!                 └──────── Restart ◄──────────┴─ Signal ─► driver.signal
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::alloc_dir::AllocDir;
use super::alloc_state::AllocShared;
use super::artifact;
use super::context::ClientContext;
use super::driver::{Driver, ExitResult, TaskHandle, TaskLaunch};
use super::env::{TaskEnv, TaskPaths, alloc_ports};
use super::logs::LogLimits;
use super::restart::{Decision, RestartTracker};
use super::task_state::{EventExt, StateExt, TaskEvent, event, now_rfc3339};
use super::template::{TemplateData, parse_env_file, render};
use crate::cluster::fsm::Allocation;
use crate::spec::{Job, Task, TaskGroup, Template};

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

fn set_mode(path: &Path, perms: Option<&str>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = perms
        .and_then(|p| u32::from_str_radix(p, 8).ok())
        .unwrap_or(0o644);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
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

    fn paths(&self) -> TaskPaths {
        let d = &self.info.dir;
        if self.task.driver == "docker" {
            return TaskPaths {
                alloc_dir: "/alloc".into(),
                task_dir: "/local".into(),
                secrets_dir: "/secrets".into(),
            };
        }
        let s = |p: std::path::PathBuf| p.display().to_string();
        TaskPaths {
            alloc_dir: s(d.shared()),
            task_dir: s(d.local(self.name())),
            secrets_dir: s(d.secrets(self.name())),
        }
    }

    fn env(&self) -> TaskEnv {
        let node = self.ctx.node();
        let i = &self.info;
        let mut env = TaskEnv::build(
            &i.alloc,
            &i.job,
            &i.group,
            &self.task,
            &node,
            &self.ctx.config.region,
            &self.paths(),
        );
        env.vars.extend(self.template_env.clone());
        if let Some(e) = &self.task.env {
            env.add_task_env(e);
        }
        env
    }

    fn launch(&self, env: &TaskEnv) -> TaskLaunch {
        let i = &self.info;
        let config = self.task.config.clone().unwrap_or_default();
        let config = config
            .into_iter()
            .map(|(k, v)| (k, env.interpolate_value(&v)))
            .collect();
        let res = self.task.resources.as_ref();
        let logs = self.task.log_config.as_ref();
        let limits = LogLimits {
            max_files: logs
                .and_then(|l| l.max_files)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(10),
            max_file_bytes: logs
                .and_then(|l| l.max_file_size_mb)
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(10)
                .saturating_mul(1024 * 1024),
        };
        let labels = BTreeMap::from([
            ("com.hashicorp.nomad.alloc_id".to_owned(), i.alloc.id.clone()),
            ("com.hashicorp.nomad.job_name".to_owned(), i.alloc.job_id.clone()),
            (
                "com.hashicorp.nomad.task_group_name".to_owned(),
                i.alloc.task_group.clone(),
            ),
            ("com.hashicorp.nomad.task_name".to_owned(), self.task.name.clone()),
            (
                "com.hashicorp.nomad.namespace".to_owned(),
                i.namespace().to_owned(),
            ),
            (
                "com.hashicorp.nomad.node_name".to_owned(),
                self.ctx.config.node_name.clone(),
            ),
        ]);
        TaskLaunch {
            alloc_id: i.alloc.id.clone(),
            task_name: self.task.name.clone(),
            config,
            env: env.pairs(),
            task_dir: i.dir.task(self.name()),
            shared_alloc_dir: i.dir.shared(),
            log_dir: i.dir.logs(),
            log_limits: limits,
            user: self.task.user.clone(),
            cpu_mhz: res
                .and_then(|r| r.cpu)
                .and_then(|c| u64::try_from(c).ok())
                .unwrap_or(0),
            memory_mb: res
                .and_then(|r| r.memory_mb)
                .and_then(|m| u64::try_from(m).ok())
                .unwrap_or(0),
            ports: alloc_ports(&i.alloc),
            labels,
        }
    }

    /// Renders every template; returns the change modes of those whose output changed.
    async fn render_templates(&mut self) -> Result<Vec<Template>, String> {
        let templates = self.task.templates.clone().unwrap_or_default();
        let mut changed = Vec::new();
        let env = self.env();
        for (i, t) in templates.iter().enumerate() {
            let text = match (&t.embedded_tmpl, &t.source_path) {
                (Some(s), _) if !s.is_empty() => s.clone(),
                (_, Some(src)) if !src.is_empty() => {
                    let p = self
                        .info
                        .dir
                        .resolve(self.name(), src)
                        .ok_or_else(|| format!("bad source {src:?}"))?;
                    tokio::fs::read_to_string(&p)
                        .await
                        .map_err(|e| format!("{src}: {e}"))?
                }
                _ => String::new(),
            };
            let data = TemplateData {
                api: Arc::clone(&self.ctx.api),
                namespace: self.info.namespace().to_owned(),
                env: env.vars.clone(),
            };
            let (l, r) = (
                t.left_delim.clone().unwrap_or_default(),
                t.right_delim.clone().unwrap_or_default(),
            );
            let out = tokio::task::spawn_blocking(move || render(&text, &l, &r, &data))
                .await
                .map_err(|e| e.to_string())??;
            if self.rendered.get(&i) == Some(&out) {
                continue;
            }
            let dest = t.dest_path.clone().unwrap_or_default();
            let path = self
                .info
                .dir
                .resolve(self.name(), &dest)
                .ok_or_else(|| format!("bad destination {dest:?}"))?;
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await.map_err(|e| e.to_string())?;
            }
            tokio::fs::write(&path, &out)
                .await
                .map_err(|e| format!("{dest}: {e}"))?;
            set_mode(&path, t.perms.as_deref()).map_err(|e| format!("{dest}: {e}"))?;
            if t.envvars == Some(true) {
                self.template_env.extend(parse_env_file(&out));
            }
            if self.rendered.insert(i, out).is_some() {
                changed.push(t.clone());
            }
        }
        Ok(changed)
    }

    /// Prepares the task directory: artifacts, then templates (retrying until their data exists).
    async fn setup(&mut self) -> Result<(), String> {
        self.event(TaskEvent::new(event::SETUP, "Building Task Directory"));
        self.info.dir.build_task(self.name()).map_err(|e| e.to_string())?;
        let artifacts = self.task.artifacts.clone().unwrap_or_default();
        if !artifacts.is_empty() {
            self.event(TaskEvent::new(
                event::DOWNLOADING_ARTIFACTS,
                "Client is downloading artifacts",
            ));
            for a in &artifacts {
                if let Err(e) = artifact::fetch(&self.ctx.http, a, &self.info.dir.task(self.name())).await {
                    let mut ev = TaskEvent::new(event::ARTIFACT_FAILED, e.to_string());
                    ev.fails_task = true;
                    self.event(ev);
                    return Err(e.to_string());
                }
            }
        }
        let mut warned = false;
        loop {
            match self.render_templates().await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    if !warned {
                        self.event(TaskEvent::new(event::TEMPLATE, format!("Missing: {e}")));
                        warned = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        cmd = self.commands.recv() => if matches!(cmd, Some(TaskCommand::Kill(_)) | None) {
                            return Err("killed while waiting for template data".into());
                        }
                    }
                }
            }
        }
    }

    /// Watches the variables table and re-renders on change, turning template changes into
    /// restart or signal requests.
    fn spawn_template_watch(&self) -> Option<tokio::task::JoinHandle<()>> {
        let templates = self.task.templates.clone().unwrap_or_default();
        if templates.is_empty() {
            return None;
        }
        let api = Arc::clone(&self.ctx.api);
        let ns = self.info.namespace().to_owned();
        let tx = self.self_tx.clone();
        Some(tokio::spawn(async move {
            let mut index = 0;
            loop {
                match api.variables(&ns, "", index, Duration::from_secs(30)).await {
                    Ok(r) if r.index > index => {
                        if index != 0 && tx.send(TaskCommand::Signal(RERENDER.into())).await.is_err() {
                            return;
                        }
                        index = r.index;
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
        }))
    }

    /// Runs the task to its end; `restored` is a handle from before a client restart.
    pub async fn run(mut self, restored: Option<TaskHandle>) -> TaskOutcome {
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
        let mut restored = restored;
        let outcome = loop {
            let env = self.env();
            let launch = self.launch(&env);
            let handle = match restored.take() {
                Some(h) if driver.recover(&h, &launch).await.unwrap_or(false) => {
                    self.event(TaskEvent::new(
                        event::RESTORED,
                        "Task re-attached after a client restart",
                    ));
                    h
                }
                _ => match driver.start(&launch).await {
                    Ok(h) => {
                        self.shared.update_task(self.name(), |s| {
                            s.handle = Some(h.clone());
                            s.state.state = "running".into();
                            s.state.started_at = Some(now_rfc3339());
                            s.state
                                .push(TaskEvent::new(event::STARTED, "Task started by client"));
                        });
                        h
                    }
                    Err(e) => {
                        let mut ev = TaskEvent::new(event::DRIVER_FAILURE, e.to_string());
                        ev.driver_error = e.to_string();
                        self.event(ev);
                        match tracker.on_exit(false, Instant::now()) {
                            Decision::Restart(d) if self.pause(d).await => continue,
                            _ => break TaskOutcome { failed: true },
                        }
                    }
                },
            };
            match self.supervise(&*driver, &handle).await {
                Supervised::Exited(exit) => {
                    let _ = driver.destroy(&handle).await;
                    self.shared.update_task(self.name(), |s| s.handle = None);
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
                            let mut ev =
                                TaskEvent::new(event::RESTARTING, format!("Task restarting in {d:?}"));
                            ev.restart_reason = "Restart within policy".into();
                            ev.start_delay = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
                            self.shared.update_task(self.name(), |s| {
                                s.state.restarts += 1;
                                s.state.last_restart = Some(now_rfc3339());
                                s.state.push(ev);
                            });
                            if !self.pause(d).await {
                                break TaskOutcome { failed: false };
                            }
                        }
                        Decision::Stop => {
                            let failed = !exit.successful();
                            if failed {
                                let mut ev =
                                    TaskEvent::new(event::NOT_RESTARTING, "Exceeded allowed attempts");
                                ev.fails_task = true;
                                self.event(ev);
                            }
                            break TaskOutcome { failed };
                        }
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
        self.event(TaskEvent::new(event::RESTART_SIGNAL, reason));
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

    /// Re-renders after a variable change; the strongest change mode among changed templates.
    async fn on_rerender(&mut self) -> Option<TaskCommand> {
        let changed = match self.render_templates().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("re-rendering templates of {}: {e}", self.name());
                return None;
            }
        };
        if changed.is_empty() {
            return None;
        }
        self.event(TaskEvent::new(event::TEMPLATE, "Template re-rendered"));
        let mode = |t: &Template| t.change_mode.clone().unwrap_or_else(|| "restart".into());
        if changed
            .iter()
            .any(|t| mode(t) == "restart" || t.envvars == Some(true))
        {
            return Some(TaskCommand::Restart(
                "Template with change_mode restart re-rendered".into(),
            ));
        }
        changed
            .iter()
            .find(|t| mode(t) == "signal")
            .map(|t| TaskCommand::Signal(t.change_signal.clone().unwrap_or_else(|| "SIGHUP".into())))
    }
}

/// Internal signal name meaning "variables changed: re-render templates".
const RERENDER: &str = "__rerender_templates";

enum Supervised {
    Exited(ExitResult),
    Killed,
    Restarted,
}

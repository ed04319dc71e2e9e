//! Service checks, service registration and allocation health of a running allocation, as
//! the `update` block asks (`health_check`, `min_healthy_time`, `healthy_deadline`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::cluster::client::context::ClientContext;
use crate::cluster::client::driver::chroot::ChrootDirs;
use crate::cluster::client::driver::{docker, exec};
use crate::cluster::client::env::{TaskEnv, TaskPaths};
use crate::cluster::client::health::{self, CheckResults, ScriptPlace};
use crate::cluster::client::services;
use crate::cluster::client::task_runner::AllocInfo;
use crate::spec::{Task, UpdateStrategy};

pub(super) fn update_strategy(info: &AllocInfo) -> Option<UpdateStrategy> {
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

pub(super) fn checks_names(ctx: &ClientContext, info: &AllocInfo) -> Vec<String> {
    let _ = ctx;
    services::check_plans(info, |_| (Vec::new(), ScriptPlace::Refused))
        .into_iter()
        .map(|p| p.name)
        .collect()
}

/// The sandbox for script checks of the `exec` task `t`; refused (critical) if it cannot be made.
fn exec_script_place(ctx: &ClientContext, info: &AllocInfo, t: &Task) -> ScriptPlace {
    let (task_dir, shared) = (info.dir.task(&t.name), info.dir.shared());
    let dirs = ChrootDirs {
        task_name: &t.name,
        task_dir: &task_dir,
        shared_alloc_dir: &shared,
    };
    match exec::script_isolation(&ctx.config.sandbox, &dirs, &t.user) {
        Ok(iso) => ScriptPlace::Sandbox(iso),
        Err(e) => {
            tracing::warn!("script checks of task {:?} cannot run: {e}", t.name);
            ScriptPlace::Refused
        }
    }
}

pub(super) fn start_checks(
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
        let paths = if t.driver == "exec" || t.driver == "docker" {
            TaskPaths {
                alloc_dir: "/alloc".into(),
                task_dir: "/local".into(),
                secrets_dir: "/secrets".into(),
            }
        } else {
            TaskPaths {
                alloc_dir: s(d.shared()),
                task_dir: s(d.local(task)),
                secrets_dir: s(d.secrets(task)),
            }
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
        // A script runs where its task runs: a raw_exec task on the host, a docker task in
        // its container, an exec task in a sandbox like its own; never on the host otherwise.
        let place = match t.driver.as_str() {
            _ if task.is_empty() => ScriptPlace::Refused,
            "raw_exec" => ScriptPlace::Host(d.task(task)),
            "docker" => ScriptPlace::Container(docker::container_name_of(task, &info.alloc.id)),
            "exec" => exec_script_place(ctx, info, &t),
            _ => ScriptPlace::Refused,
        };
        (env.pairs(), place)
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

pub(super) async fn register_services(ctx: &ClientContext, info: &AllocInfo) {
    let regs = services::registrations(info, &ctx.node().id, &ctx.config.datacenter);
    if regs.is_empty() {
        return;
    }
    if let Err(e) = ctx.api.register_services(&info.alloc.id, &regs).await {
        tracing::warn!("registering services of {}: {e}", info.alloc.id);
    }
}

/// Allocation health per the `update` block.
pub(super) struct HealthWatch {
    /// `health_check = "manual"`: the operator sets health through the API, never the client.
    manual: bool,
    by_checks: bool,
    min_healthy: Duration,
    deadline: Instant,
    healthy_since: Option<Instant>,
}

impl HealthWatch {
    pub(super) fn new(u: &UpdateStrategy) -> Self {
        Self {
            manual: u.health_check.as_deref() == Some("manual"),
            by_checks: u.health_check.as_deref() != Some("task_states"),
            min_healthy: nanos(u.min_healthy_time, Duration::from_secs(10)),
            deadline: Instant::now() + nanos(u.healthy_deadline, Duration::from_secs(300)),
            healthy_since: None,
        }
    }

    /// `Some(verdict)` once health is decided.
    pub(super) fn step(&mut self, all_running: bool, any_failed: bool, checks_passing: bool) -> Option<bool> {
        if self.manual {
            return None;
        }
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

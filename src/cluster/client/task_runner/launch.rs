//! What a task is started with: its environment (Nomad's `NOMAD_*` variables, template
//! `env` output, the task's own `env`) and the [`TaskLaunch`] handed to its driver.

use std::collections::BTreeMap;

use super::TaskRunner;
use crate::cluster::client::driver::TaskLaunch;
use crate::cluster::client::env::{TaskEnv, TaskPaths, alloc_ports};
use crate::cluster::client::logs::LogLimits;

impl TaskRunner {
    pub(super) fn paths(&self) -> TaskPaths {
        let d = &self.info.dir;
        // Tasks in a container or chroot see the allocation at fixed paths, as in Nomad.
        if self.task.driver == "docker" || self.task.driver == "exec" {
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

    pub(super) fn env(&self) -> TaskEnv {
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

    pub(super) fn launch(&self, env: &TaskEnv) -> TaskLaunch {
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
}

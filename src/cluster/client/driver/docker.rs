//! `docker`: runs a container through the local engine (bollard) with a sandbox by default:
//! `no-new-privileges`, every capability dropped but Nomad's default set, memory (no extra swap), CPU
//! shares and a PID limit; what a task asks for beyond that (capabilities, privileged mode,
//! host binds and volumes, devices, network mode, a higher PID limit) is checked against the
//! client's docker plugin policy first (see [`super::docker_policy`]). The allocation's
//! `alloc/`, `local/` and `secrets/` are bind-mounted at `/alloc`, `/local`, `/secrets`.
//! Images must already be present locally (no registry pull).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions};
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, KillContainerOptions, LogsOptions,
    RemoveContainerOptions, StatsOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::docker_policy;
use super::{Driver, DriverError, DriverFuture, DriverInfo, ExitResult, TaskHandle, TaskLaunch, string_list};
use crate::cluster::client::logs::RotatingWriter;
use crate::cluster::client::sandbox_config::DockerPolicy;

/// The `docker` driver.
pub struct DockerDriver {
    policy: DockerPolicy,
}

fn docker_err(e: bollard::errors::Error) -> DriverError {
    DriverError::Docker(e.to_string())
}

fn connect() -> Result<Docker, DriverError> {
    Docker::connect_with_local_defaults().map_err(docker_err)
}

impl DockerDriver {
    /// A driver enforcing the client's docker plugin `policy`.
    pub fn new(policy: DockerPolicy) -> Self {
        Self { policy }
    }

    /// The container configuration for `task` (pure; exposed for tests).
    pub fn container_body(&self, task: &TaskLaunch) -> Result<ContainerCreateBody, DriverError> {
        let c = &task.config;
        let image = c.get("image").and_then(Value::as_str).filter(|s| !s.is_empty());
        let image = image.ok_or_else(|| DriverError::Config("missing image".into()))?;
        let grants = docker_policy::grant(&self.policy, task)?;
        let mut exposed = Vec::new();
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for label in string_list(c.get("ports")) {
            let p = task.ports.iter().find(|p| p.label == label);
            let p = p.ok_or_else(|| {
                DriverError::Config(format!("port {label:?} is not allocated to the group"))
            })?;
            let inner = if p.to == 0 { p.value } else { p.to };
            let key = format!("{inner}/tcp");
            exposed.push(key.clone());
            bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: Some(p.host_ip.clone()),
                    host_port: Some(p.value.to_string()),
                }]),
            );
        }
        let d = |p: &std::path::Path| p.display().to_string();
        let mut binds = vec![
            format!("{}:/alloc", d(&task.shared_alloc_dir)),
            format!("{}:/local", d(&task.task_dir.join("local"))),
            format!("{}:/secrets", d(&task.task_dir.join("secrets"))),
        ];
        binds.extend(grants.binds);
        let memory = i64::try_from(task.memory_mb.saturating_mul(1024 * 1024)).unwrap_or(i64::MAX);
        let host = HostConfig {
            security_opt: Some(vec!["no-new-privileges".into()]),
            cap_drop: Some(vec!["ALL".into()]),
            cap_add: Some(grants.caps),
            privileged: Some(grants.privileged),
            devices: (!grants.devices.is_empty()).then_some(grants.devices),
            tmpfs: (!grants.tmpfs.is_empty())
                .then(|| grants.tmpfs.into_iter().map(|t| (t, String::new())).collect()),
            memory: (memory > 0).then_some(memory),
            memory_swap: (memory > 0).then_some(memory),
            cpu_shares: (task.cpu_mhz > 0).then(|| i64::try_from(task.cpu_mhz.max(2)).unwrap_or(1024)),
            pids_limit: grants.pids_limit,
            port_bindings: Some(bindings),
            binds: Some(binds),
            network_mode: grants.network_mode,
            ..Default::default()
        };
        let mut labels: HashMap<String, String> = task.labels.clone().into_iter().collect();
        if let Some(Value::Object(extra)) = c.get("labels") {
            for (k, v) in extra {
                labels.insert(k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            }
        }
        let mut cmd = Vec::new();
        if let Some(command) = c.get("command").and_then(Value::as_str) {
            cmd.push(command.to_owned());
        }
        cmd.extend(string_list(c.get("args")));
        let entrypoint = string_list(c.get("entrypoint"));
        Ok(ContainerCreateBody {
            image: Some(image.to_owned()),
            cmd: (!cmd.is_empty()).then_some(cmd),
            entrypoint: (!entrypoint.is_empty()).then_some(entrypoint),
            env: Some(task.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            working_dir: c.get("work_dir").and_then(Value::as_str).map(str::to_owned),
            user: (!task.user.is_empty()).then(|| task.user.clone()),
            host_config: Some(host),
            ..Default::default()
        })
    }
}

/// Container name of a task.
pub fn container_name(task: &TaskLaunch) -> String {
    container_name_of(&task.task_name, &task.alloc_id)
}

/// Container name of task `task` of allocation `alloc_id`.
pub fn container_name_of(task: &str, alloc_id: &str) -> String {
    format!("{task}-{alloc_id}")
}

/// Runs `argv` in the running container `name` (a script check): its exit code, or `None`
/// when it could not run or did not finish within `timeout`.
pub async fn exec_check(
    name: &str,
    argv: Vec<String>,
    env: &[(String, String)],
    timeout: Duration,
) -> Option<i64> {
    let docker = connect().ok()?;
    let config = CreateExecOptions {
        cmd: Some(argv),
        env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        attach_stdout: Some(false),
        attach_stderr: Some(false),
        ..Default::default()
    };
    let run = async {
        let id = docker.create_exec(name, config).await.ok()?.id;
        let detached = StartExecOptions {
            detach: true,
            ..Default::default()
        };
        docker.start_exec(&id, Some(detached)).await.ok()?;
        loop {
            let state = docker.inspect_exec(&id).await.ok()?;
            if state.running != Some(true) {
                return state.exit_code;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(timeout, run).await.ok().flatten()
}

fn follow_logs(docker: Docker, id: String, task: &TaskLaunch, since: i32) -> Result<(), DriverError> {
    let mut out = RotatingWriter::open(
        &task.log_dir,
        &format!("{}.stdout", task.task_name),
        task.log_limits,
    )?;
    let mut err = RotatingWriter::open(
        &task.log_dir,
        &format!("{}.stderr", task.task_name),
        task.log_limits,
    )?;
    tokio::spawn(async move {
        let opts = LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            since,
            ..Default::default()
        };
        let mut stream = docker.logs(&id, Some(opts));
        while let Some(item) = stream.next().await {
            let res = match item {
                Ok(LogOutput::StdErr { message }) => err.write_all(&message),
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => out.write_all(&message),
                Ok(LogOutput::StdIn { .. }) => Ok(()),
                Err(_) => break,
            };
            if let Err(e) = res {
                tracing::warn!("writing container log: {e}");
            }
        }
    });
    Ok(())
}

fn container_id(handle: &TaskHandle) -> Result<&str, DriverError> {
    handle
        .container_id
        .as_deref()
        .ok_or_else(|| DriverError::Config("handle has no container ID".into()))
}

async fn running(docker: &Docker, id: &str) -> bool {
    match docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
    {
        Ok(c) => c.state.and_then(|s| s.running).unwrap_or(false),
        Err(_) => false,
    }
}

impl Driver for DockerDriver {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn fingerprint(&self) -> DriverFuture<'_, DriverInfo> {
        Box::pin(async {
            let Ok(docker) = connect() else {
                return Ok(DriverInfo::default());
            };
            match tokio::time::timeout(Duration::from_secs(2), docker.version()).await {
                Ok(Ok(v)) => {
                    let mut attrs = BTreeMap::from([("driver.docker".to_owned(), "1".to_owned())]);
                    if let Some(ver) = v.version {
                        attrs.insert("driver.docker.version".into(), ver);
                    }
                    attrs.insert(
                        "driver.docker.privileged.enabled".into(),
                        self.policy.allow_privileged.to_string(),
                    );
                    Ok(DriverInfo {
                        detected: true,
                        healthy: true,
                        attributes: attrs,
                    })
                }
                _ => Ok(DriverInfo::default()),
            }
        })
    }

    fn start<'a>(&'a self, task: &'a TaskLaunch) -> DriverFuture<'a, TaskHandle> {
        Box::pin(async move {
            let body = self.container_body(task)?;
            let docker = connect()?;
            let name = container_name(task);
            // A container left by an earlier attempt of this task would block the name.
            let _ = docker
                .remove_container(
                    &name,
                    Some(RemoveContainerOptions {
                        force: true,
                        ..Default::default()
                    }),
                )
                .await;
            let created = docker
                .create_container(
                    Some(CreateContainerOptions {
                        name: Some(name),
                        ..Default::default()
                    }),
                    body,
                )
                .await
                .map_err(docker_err)?;
            docker
                .start_container(&created.id, None)
                .await
                .map_err(docker_err)?;
            follow_logs(docker, created.id.clone(), task, 0)?;
            Ok(TaskHandle {
                driver: "docker".into(),
                container_id: Some(created.id),
                ..Default::default()
            })
        })
    }

    fn recover<'a>(&'a self, handle: &'a TaskHandle, task: &'a TaskLaunch) -> DriverFuture<'a, bool> {
        Box::pin(async move {
            let docker = connect()?;
            let id = container_id(handle)?.to_owned();
            if !running(&docker, &id).await {
                return Ok(false);
            }
            let now = chrono::Utc::now().timestamp();
            follow_logs(docker, id, task, i32::try_from(now).unwrap_or(0))?;
            Ok(true)
        })
    }

    fn wait<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, ExitResult> {
        Box::pin(async move {
            let docker = connect()?;
            let id = container_id(handle)?;
            let mut stream = docker.wait_container(id, None::<WaitContainerOptions>);
            let code = match stream.next().await {
                Some(Ok(r)) => r.status_code,
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
                Some(Err(e)) => return Err(docker_err(e)),
                None => -1,
            };
            Ok(ExitResult {
                exit_code: code,
                signal: 0,
                known: true,
            })
        })
    }

    fn signal<'a>(&'a self, handle: &'a TaskHandle, signal: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let docker = connect()?;
            let opts = KillContainerOptions {
                signal: signal.to_owned(),
            };
            docker
                .kill_container(container_id(handle)?, Some(opts))
                .await
                .map_err(docker_err)
        })
    }

    fn stop<'a>(
        &'a self,
        handle: &'a TaskHandle,
        signal: &'a str,
        timeout: Duration,
    ) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let docker = connect()?;
            let id = container_id(handle)?;
            let _ = docker
                .kill_container(
                    id,
                    Some(KillContainerOptions {
                        signal: signal.to_owned(),
                    }),
                )
                .await;
            let deadline = tokio::time::Instant::now() + timeout;
            while running(&docker, id).await && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if running(&docker, id).await {
                let _ = docker
                    .kill_container(
                        id,
                        Some(KillContainerOptions {
                            signal: "SIGKILL".into(),
                        }),
                    )
                    .await;
            }
            Ok(())
        })
    }

    fn destroy<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let docker = connect()?;
            let opts = RemoveContainerOptions {
                force: true,
                ..Default::default()
            };
            let _ = docker.remove_container(container_id(handle)?, Some(opts)).await;
            Ok(())
        })
    }

    fn stats<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, Value> {
        Box::pin(async move {
            let docker = connect()?;
            let opts = StatsOptions {
                stream: false,
                one_shot: true,
            };
            let mut stream = docker.stats(container_id(handle)?, Some(opts));
            let s = match stream.next().await {
                Some(Ok(s)) => s,
                Some(Err(e)) => return Err(docker_err(e)),
                None => return Ok(json!({})),
            };
            let mem = s.memory_stats.as_ref();
            let cpu = s.cpu_stats.as_ref().and_then(|c| c.cpu_usage.as_ref());
            Ok(json!({
                "MemoryStats": {"Usage": mem.and_then(|m| m.usage), "Limit": mem.and_then(|m| m.limit), "Measured": ["Usage"]},
                "CpuStats": {"TotalTicks": cpu.and_then(|c| c.total_usage), "Measured": ["Total Ticks"]},
            }))
        })
    }
}

//! What a docker task may have, checked against the client's docker plugin policy (Nomad's
//! `allow_caps`, `allow_privileged`, `volumes { enabled }`, `pids_limit`, and our
//! `allow_network_modes`): capabilities, privileged mode, bind mounts and volumes, devices,
//! network mode and PID limit. Pure: the task's driver config and policy in, the container's
//! grants out, or a refusal naming the client setting that would allow the request.

use std::path::{Component, Path, PathBuf};

use bollard::models::DeviceMapping;
use serde_json::Value;

use super::{DriverError, TaskLaunch, string_list};
use crate::cluster::client::beneath::Beneath;
use crate::cluster::client::sandbox_config::{DEFAULT_ALLOW_CAPS, DockerPolicy, cap_name};

/// Capabilities every container keeps (after `cap_drop = ALL`) unless `cap_drop` removes them:
/// Nomad's, Docker's default set less `NET_RAW`. Images written for Docker expect them (the
/// official PostgreSQL entrypoint `chmod`s its data directory as root, which needs `FOWNER`).
pub const BASE_CAPS: [&str; 13] = DEFAULT_ALLOW_CAPS;

/// What the container is given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grants {
    /// Capabilities added after dropping all.
    pub caps: Vec<String>,
    /// Privileged container.
    pub privileged: bool,
    /// `host:container[:ro]` binds besides the allocation's own.
    pub binds: Vec<String>,
    /// tmpfs mounts (container path → options).
    pub tmpfs: Vec<String>,
    /// Devices.
    pub devices: Vec<DeviceMapping>,
    /// Network mode, if the task set one.
    pub network_mode: Option<String>,
    /// PID limit (`None` = unlimited).
    pub pids_limit: Option<i64>,
}

fn refused(what: String, setting: &str) -> DriverError {
    DriverError::Refused(format!(
        "{what} is not allowed on this client (plugin \"docker\" config {setting})"
    ))
}

/// Checks the task's docker config against `policy`.
pub fn grant(policy: &DockerPolicy, task: &TaskLaunch) -> Result<Grants, DriverError> {
    let c = &task.config;
    let privileged = c.get("privileged").and_then(Value::as_bool).unwrap_or(false);
    if privileged && !policy.allow_privileged {
        return Err(DriverError::Refused(
            "privileged containers are not allowed on this client (plugin \"docker\" config allow_privileged)".into(),
        ));
    }
    let (binds, tmpfs) = mounts(policy, task)?;
    Ok(Grants {
        caps: caps(policy, task, privileged)?,
        privileged,
        binds,
        tmpfs,
        devices: devices(task)?,
        network_mode: network_mode(policy, task)?,
        pids_limit: pids_limit(policy, task)?,
    })
}

fn caps(policy: &DockerPolicy, task: &TaskLaunch, privileged: bool) -> Result<Vec<String>, DriverError> {
    let allowed = |cap: &str| policy.allow_caps.iter().any(|a| a == cap || a == "ALL");
    let drop: Vec<String> = string_list(task.config.get("cap_drop"))
        .iter()
        .map(|c| cap_name(c))
        .collect();
    let mut caps: Vec<String> = BASE_CAPS
        .iter()
        .map(|s| (*s).to_owned())
        .filter(|c| !drop.iter().any(|d| d == c || d == "ALL"))
        .collect();
    for cap in string_list(task.config.get("cap_add"))
        .iter()
        .map(|c| cap_name(c))
    {
        if !privileged && !allowed(&cap) {
            return Err(refused(format!("capability {cap}"), "allow_caps"));
        }
        if !caps.contains(&cap) {
            caps.push(cap);
        }
    }
    Ok(caps)
}

fn network_mode(policy: &DockerPolicy, task: &TaskLaunch) -> Result<Option<String>, DriverError> {
    let Some(mode) = task.config.get("network_mode").and_then(Value::as_str) else {
        return Ok(None);
    };
    if mode.is_empty() {
        return Ok(None);
    }
    if !policy.allow_network_modes.iter().any(|m| m == mode) {
        return Err(refused(format!("network_mode {mode:?}"), "allow_network_modes"));
    }
    Ok(Some(mode.to_owned()))
}

fn pids_limit(policy: &DockerPolicy, task: &TaskLaunch) -> Result<Option<i64>, DriverError> {
    let cap = policy.pids_limit;
    match task.config.get("pids_limit").and_then(Value::as_i64) {
        Some(n) if cap > 0 && (n <= 0 || n > cap) => Err(DriverError::Refused(format!(
            "pids_limit {n} exceeds this client's limit of {cap} (plugin \"docker\" config pids_limit)"
        ))),
        Some(n) if n > 0 => Ok(Some(n)),
        _ => Ok((cap > 0).then_some(cap)),
    }
}

fn devices(task: &TaskLaunch) -> Result<Vec<DeviceMapping>, DriverError> {
    let Some(Value::Array(list)) = task.config.get("devices") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for d in list {
        let host = d.get("host_path").and_then(Value::as_str).unwrap_or_default();
        if !host.starts_with("/dev/") || host.split('/').any(|p| p == "..") {
            return Err(DriverError::Config(format!(
                "device host_path {host:?} must be a path under /dev"
            )));
        }
        let inside = d.get("container_path").and_then(Value::as_str).unwrap_or(host);
        let perms = d
            .get("cgroup_permissions")
            .and_then(Value::as_str)
            .unwrap_or("rwm");
        if perms.is_empty() || !perms.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            return Err(DriverError::Config(format!(
                "device cgroup_permissions {perms:?} must be letters of \"rwm\""
            )));
        }
        out.push(DeviceMapping {
            path_on_host: Some(host.to_owned()),
            path_in_container: Some(inside.to_owned()),
            cgroup_permissions: Some(perms.to_owned()),
        });
    }
    Ok(out)
}

/// `volumes = ["src:dst[:ro]"]` and `mount { type, source, target, readonly }` as binds and
/// tmpfs mounts.
fn mounts(policy: &DockerPolicy, task: &TaskLaunch) -> Result<(Vec<String>, Vec<String>), DriverError> {
    let mut binds = Vec::new();
    let mut tmpfs = Vec::new();
    for v in string_list(task.config.get("volumes")) {
        let (src, rest) = v
            .split_once(':')
            .ok_or_else(|| DriverError::Config(format!("volume {v:?} is not source:target")))?;
        binds.push(format!("{}:{rest}", bind_source(policy, task, src)?));
    }
    let list = task.config.get("mount").or_else(|| task.config.get("mounts"));
    let list = match list {
        Some(Value::Array(a)) => a.clone(),
        Some(m @ Value::Object(_)) => vec![m.clone()],
        _ => Vec::new(),
    };
    for m in &list {
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (kind, src, dst) = (s("type"), s("source"), s("target"));
        if dst.is_empty() {
            return Err(DriverError::Config("a mount needs a target".into()));
        }
        let ro = if m.get("readonly").and_then(Value::as_bool).unwrap_or(false) {
            ":ro"
        } else {
            ""
        };
        match kind.as_str() {
            "tmpfs" => tmpfs.push(dst),
            "bind" => binds.push(format!("{}:{dst}{ro}", bind_source(policy, task, &src)?)),
            // Nomad's default mount type is a named volume.
            "" | "volume" => {
                if !policy.volumes_enabled {
                    return Err(refused(format!("volume mount {src:?}"), "volumes.enabled"));
                }
                binds.push(format!("{src}:{dst}{ro}"));
            }
            other => return Err(DriverError::Config(format!("unknown mount type {other:?}"))),
        }
    }
    Ok((binds, tmpfs))
}

/// The host path to bind for `src`: a path relative to the task directory must stay inside
/// the allocation directory (with no symlink on the way); any other host path needs
/// `volumes { enabled = true }`.
fn bind_source(policy: &DockerPolicy, task: &TaskLaunch, src: &str) -> Result<String, DriverError> {
    let alloc_root = task.shared_alloc_dir.parent().unwrap_or(Path::new("/"));
    if Path::new(src).is_absolute() {
        if !policy.volumes_enabled {
            return Err(refused(format!("host bind mount {src:?}"), "volumes.enabled"));
        }
        return Ok(src.to_owned());
    }
    let task_rel = task.task_dir.strip_prefix(alloc_root).unwrap_or(Path::new(""));
    let rel = normalize(&task_rel.join(src)).ok_or_else(|| {
        refused(
            format!("bind mount {src:?} outside the allocation directory"),
            "volumes.enabled",
        )
    })?;
    // The engine resolves the source itself, following symlinks and creating what is
    // missing as root: check there is no symlink on the way, and create a missing source here.
    let root = Beneath::open(alloc_root).map_err(DriverError::Io)?;
    let checked = match root.check(&rel) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => root.create_dir_all(&rel, 0o755).map(|_| ()),
        other => other,
    };
    checked.map_err(|e| DriverError::Refused(format!("bind mount {src:?}: {e}")))?;
    Ok(alloc_root.join(rel).display().to_string())
}

/// `p` with `.` and `..` folded lexically; `None` if it climbs above its start.
fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(x) => out.push(x),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(config: Value, root: &Path) -> TaskLaunch {
        TaskLaunch {
            alloc_id: "a1".into(),
            task_name: "t".into(),
            config: config.as_object().cloned().unwrap_or_default(),
            env: Vec::new(),
            task_dir: root.join("t"),
            shared_alloc_dir: root.join("alloc"),
            log_dir: root.join("alloc/logs"),
            log_limits: Default::default(),
            user: String::new(),
            cpu_mhz: 0,
            memory_mb: 0,
            ports: Vec::new(),
            labels: Default::default(),
        }
    }

    fn err(policy: &DockerPolicy, config: Value, root: &Path) -> String {
        grant(policy, &task(config, root)).unwrap_err().to_string()
    }

    #[test]
    fn caps_need_allow_caps() {
        let tmp = tempfile::tempdir().unwrap();
        let mut p = DockerPolicy::default();
        let e = err(&p, json!({"cap_add": ["NET_ADMIN"]}), tmp.path());
        assert!(e.contains("NET_ADMIN") && e.contains("allow_caps"), "{e}");
        p.allow_caps.push("NET_ADMIN".into());
        let g = grant(
            &p,
            &task(
                json!({"cap_add": ["net_admin"], "cap_drop": ["KILL"]}),
                tmp.path(),
            ),
        )
        .unwrap();
        assert!(g.caps.contains(&"NET_ADMIN".to_owned()) && !g.caps.contains(&"KILL".to_owned()));
    }

    #[test]
    fn privileged_network_and_pids() {
        let tmp = tempfile::tempdir().unwrap();
        let p = DockerPolicy::default();
        let e = err(&p, json!({"privileged": true}), tmp.path());
        assert!(
            e.contains("privileged containers are not allowed") && e.contains("allow_privileged"),
            "{e}"
        );
        let e = err(&p, json!({"network_mode": "host"}), tmp.path());
        assert!(e.contains("allow_network_modes"), "{e}");
        let e = err(&p, json!({"pids_limit": 100000}), tmp.path());
        assert!(e.contains("config pids_limit"), "{e}");
        let g = grant(&p, &task(json!({"pids_limit": 10}), tmp.path())).unwrap();
        assert_eq!(g.pids_limit, Some(10));
        assert_eq!(
            grant(&p, &task(json!({}), tmp.path())).unwrap().pids_limit,
            Some(4096)
        );
    }

    #[test]
    fn host_binds_need_volumes_enabled() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("t/local")).unwrap();
        std::fs::create_dir_all(tmp.path().join("alloc/data")).unwrap();
        let mut p = DockerPolicy::default();
        let e = err(&p, json!({"volumes": ["/etc:/host-etc"]}), tmp.path());
        assert!(e.contains("volumes.enabled"), "{e}");
        let e = err(
            &p,
            json!({"mount": [{"type": "bind", "source": "/", "target": "/h"}]}),
            tmp.path(),
        );
        assert!(e.contains("volumes.enabled"), "{e}");
        let e = err(&p, json!({"volumes": ["../../x:/x"]}), tmp.path());
        assert!(e.contains("volumes.enabled"), "{e}");
        let g = grant(
            &p,
            &task(json!({"volumes": ["../alloc/data:/data:ro"]}), tmp.path()),
        )
        .unwrap();
        assert_eq!(
            g.binds,
            vec![format!("{}/alloc/data:/data:ro", tmp.path().display())]
        );
        std::os::unix::fs::symlink("/etc", tmp.path().join("t/local/etc")).unwrap();
        assert!(grant(&p, &task(json!({"volumes": ["local/etc:/e"]}), tmp.path())).is_err());
        p.volumes_enabled = true;
        let g = grant(&p, &task(json!({"volumes": ["/srv:/srv"]}), tmp.path())).unwrap();
        assert_eq!(g.binds, vec!["/srv:/srv"]);
    }

    #[test]
    fn devices_are_mapped() {
        let tmp = tempfile::tempdir().unwrap();
        let p = DockerPolicy::default();
        let g = grant(
            &p,
            &task(
                json!({"devices": [{"host_path": "/dev/net/tun", "cgroup_permissions": "rw"}]}),
                tmp.path(),
            ),
        )
        .unwrap();
        assert_eq!(g.devices[0].path_in_container.as_deref(), Some("/dev/net/tun"));
        assert!(
            grant(
                &p,
                &task(json!({"devices": [{"host_path": "/etc/shadow"}]}), tmp.path())
            )
            .is_err()
        );
    }
}

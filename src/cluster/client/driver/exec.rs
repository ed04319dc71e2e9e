//! `exec`: a task isolated as Nomad's `exec` driver isolates it: a chroot of its task directory
//! populated from the client's `chroot_env` (read-only bind mounts), new mount, PID, IPC and
//! UTS namespaces, memory and CPU limits in its own cgroup (creating or joining it is never
//! skipped), and the user `nobody` unless the task names another user that the client's
//! `user.denylist` does not refuse, with supplementary groups cleared.

use std::collections::BTreeMap;
use std::ffi::CString;

use serde_json::Value;

use super::cgroup::{self, Layout};
use super::chroot;
use super::process::Isolation;
use super::process_driver::{ProcessDriver, ProcessSandbox};
use super::{DriverError, DriverInfo, TaskHandle, TaskLaunch};
use crate::cluster::client::sandbox_config::SandboxConfig;

/// The user an `exec` task runs as unless it sets `user`, as in Nomad.
pub const DEFAULT_USER: &str = "nobody";

/// The `exec` driver.
pub type Exec = ProcessDriver<Isolated>;

/// `exec`'s sandbox settings.
pub struct Isolated {
    chroot_env: BTreeMap<String, String>,
    user_denylist: Vec<String>,
}

/// An `exec` driver with the client's sandbox settings.
pub fn exec(config: &SandboxConfig) -> Exec {
    ProcessDriver::new(Isolated {
        chroot_env: config.chroot_env.clone(),
        user_denylist: config.user_denylist.clone(),
    })
}

/// The uid and gid of `name` (thread-safe lookup through NSS).
pub fn lookup_user(name: &str) -> Result<(u32, u32), DriverError> {
    let c = CString::new(name).map_err(|_| DriverError::Config(format!("bad user {name:?}")))?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: passwd is plain old data; getpwnam_r fills it with pointers into `buf`, which
    // outlives every read below.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the sizes given.
    let rc = unsafe {
        libc::getpwnam_r(
            c.as_ptr(),
            &raw mut pw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &raw mut found,
        )
    };
    if rc != 0 || found.is_null() {
        return Err(DriverError::Config(format!(
            "user {name:?} not found on this client"
        )));
    }
    Ok((pw.pw_uid, pw.pw_gid))
}

/// The sandbox a script check of an `exec` task runs in: the task's chroot, namespaces and
/// user, in a PID namespace of its own (its limit is the check's timeout, not a cgroup).
pub fn script_isolation(
    config: &SandboxConfig,
    dirs: &chroot::ChrootDirs<'_>,
    user: &str,
) -> Result<Isolation, DriverError> {
    let user = user_of(&config.user_denylist, user)?;
    Ok(Isolation {
        cgroup_procs: Vec::new(),
        namespaces: true,
        chroot: Some(chroot::prepare(dirs, &config.chroot_env, user)?),
        user: Some(user),
    })
}

/// The uid and gid an `exec` task named `user` runs as (`nobody` when empty), unless the
/// client's denylist refuses it.
fn user_of(denylist: &[String], user: &str) -> Result<(u32, u32), DriverError> {
    let name = if user.is_empty() { DEFAULT_USER } else { user };
    if denylist.iter().any(|u| u == name) {
        return Err(DriverError::Refused(format!(
            "user {name:?} is in this client's user.denylist (client options)"
        )));
    }
    lookup_user(name)
}

impl Isolated {
    fn user(&self, task: &TaskLaunch) -> Result<(u32, u32), DriverError> {
        user_of(&self.user_denylist, &task.user)
    }
}

impl ProcessSandbox for Isolated {
    fn name(&self) -> &'static str {
        "exec"
    }

    fn fingerprint(&self) -> DriverInfo {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let layout = cgroup::layout();
        let cg = match layout {
            Layout::V2 => "v2",
            Layout::V1 => "v1",
            Layout::None => "none",
        };
        let attrs = BTreeMap::from([
            ("driver.exec".to_owned(), "1".to_owned()),
            ("driver.exec.cgroups".to_owned(), cg.to_owned()),
        ]);
        // Namespaces, chroot and cgroups need root: without them exec is not offered.
        let usable = root && layout != Layout::None;
        DriverInfo {
            detected: usable,
            healthy: usable,
            attributes: if usable { attrs } else { BTreeMap::new() },
        }
    }

    fn prepare(&self, task: &TaskLaunch) -> Result<Isolation, DriverError> {
        let user = self.user(task)?;
        let plan = chroot::prepare(&chroot::ChrootDirs::of(task), &self.chroot_env, user)?;
        let name = format!("{}.{}", task.alloc_id, task.task_name);
        let dirs = cgroup::create(&name, task.memory_mb, task.cpu_mhz)?;
        Ok(Isolation {
            cgroup_procs: dirs.iter().map(|d| d.join("cgroup.procs")).collect(),
            namespaces: true,
            chroot: Some(plan),
            user: Some(user),
        })
    }

    fn abandon(&self, iso: &Isolation) {
        let dirs: Vec<_> = iso
            .cgroup_procs
            .iter()
            .filter_map(|p| p.parent().map(std::path::Path::to_path_buf))
            .collect();
        cgroup::destroy(&dirs);
    }

    fn release(&self, handle: &TaskHandle) {
        cgroup::destroy(&handle.cgroups);
    }

    fn stats(&self, handle: &TaskHandle, stats: &mut Value) {
        // The handle's process is the waiter outside the PID namespace; the cgroup holds the
        // whole task.
        if let Some(usage) = handle.cgroups.iter().find_map(|d| cgroup::memory_usage(d)) {
            stats["MemoryStats"]["Usage"] = usage.into();
            stats["MemoryStats"]["Measured"] = serde_json::json!(["Usage"]);
        }
        if let Some(limit) = handle.cgroups.iter().find_map(|d| cgroup::memory_limit(d)) {
            stats["MemoryStats"]["Limit"] = limit.into();
        }
    }
}

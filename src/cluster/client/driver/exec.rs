//! `exec`: like `raw_exec` but isolated as far as the machine allows: its own session and
//! process group, memory and CPU limits in a cgroup (v2, else v1), private mount, UTS and IPC
//! namespaces when the client runs as root, and the task's `user` if one is set. No chroot:
//! the task sees the host's filesystem (read-write where its user may write).

use std::collections::BTreeMap;
use std::ffi::CString;
use std::time::Duration;

use serde_json::Value;

use super::cgroup::{self, Layout};
use super::process::{self, Children, Isolation};
use super::{Driver, DriverError, DriverFuture, DriverInfo, ExitResult, TaskHandle, TaskLaunch};

/// The `exec` driver.
#[derive(Default)]
pub struct Exec {
    children: Children,
}

impl Exec {
    /// A new driver.
    pub fn new() -> Self {
        Self::default()
    }
}

fn lookup_user(name: &str) -> Result<(u32, u32), DriverError> {
    let c = CString::new(name).map_err(|_| DriverError::Config(format!("bad user {name:?}")))?;
    // SAFETY: getpwnam returns a pointer to static storage or null; it is read at once,
    // before any other call could overwrite it.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    if pw.is_null() {
        return Err(DriverError::Config(format!("user {name:?} not found")));
    }
    // SAFETY: `pw` is non-null and points to a valid passwd record.
    Ok(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

impl Driver for Exec {
    fn name(&self) -> &'static str {
        "exec"
    }

    fn fingerprint(&self) -> DriverFuture<'_, DriverInfo> {
        Box::pin(async {
            let cg = match cgroup::layout() {
                Layout::V2 => "v2",
                Layout::V1 => "v1",
                Layout::None => "none",
            };
            let attrs = BTreeMap::from([
                ("driver.exec".to_owned(), "1".to_owned()),
                ("driver.exec.cgroups".to_owned(), cg.to_owned()),
            ]);
            Ok(DriverInfo {
                detected: true,
                healthy: true,
                attributes: attrs,
            })
        })
    }

    fn start<'a>(&'a self, task: &'a TaskLaunch) -> DriverFuture<'a, TaskHandle> {
        Box::pin(async move {
            let name = format!("{}.{}", task.alloc_id, task.task_name);
            let dirs = cgroup::create(&name, task.memory_mb, task.cpu_mhz)?;
            // SAFETY: geteuid has no preconditions.
            let root = unsafe { libc::geteuid() } == 0;
            let user = if task.user.is_empty() {
                None
            } else {
                Some(lookup_user(&task.user)?)
            };
            let iso = Isolation {
                cgroup_procs: dirs.iter().map(|d| d.join("cgroup.procs")).collect(),
                namespaces: root,
                user,
            };
            let result = self.children.spawn(task, "exec", iso);
            if result.is_err() {
                cgroup::destroy(&dirs);
            }
            result
        })
    }

    fn recover<'a>(&'a self, handle: &'a TaskHandle, task: &'a TaskLaunch) -> DriverFuture<'a, bool> {
        Box::pin(async move {
            if !process::alive(handle) {
                return Ok(false);
            }
            self.children.reattach_logs(task)?;
            Ok(true)
        })
    }

    fn wait<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, ExitResult> {
        Box::pin(self.children.wait(handle))
    }

    fn signal<'a>(&'a self, handle: &'a TaskHandle, signal: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move { process::signal(handle, signal) })
    }

    fn stop<'a>(
        &'a self,
        handle: &'a TaskHandle,
        signal: &'a str,
        timeout: Duration,
    ) -> DriverFuture<'a, ()> {
        Box::pin(process::stop(handle, signal, timeout))
    }

    fn destroy<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            cgroup::destroy(&handle.cgroups);
            Ok(())
        })
    }

    fn stats<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, Value> {
        Box::pin(async move {
            let mut v = process::stats(handle);
            if let Some(limit) = handle.cgroups.iter().find_map(|d| cgroup::memory_limit(d)) {
                v["MemoryStats"]["Limit"] = limit.into();
            }
            Ok(v)
        })
    }
}

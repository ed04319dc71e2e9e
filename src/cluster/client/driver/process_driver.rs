//! The one [`Driver`] behind `raw_exec` and `exec`: both run a host process in its own session
//! and differ only in the sandbox they prepare around it, which a [`ProcessSandbox`] says.
//!
//! ```text
//!  start ─► sandbox.prepare(task) ─► Isolation ─► Children::spawn ─► TaskHandle
//!  wait / signal / stop / stats: shared;  destroy ─► sandbox.release(handle)
//! ```

use std::time::Duration;

use serde_json::Value;

use super::process::{self, Children, Isolation};
use super::{Driver, DriverError, DriverFuture, DriverInfo, ExitResult, TaskHandle, TaskLaunch};

/// What distinguishes one process driver from another.
pub trait ProcessSandbox: Send + Sync {
    /// The driver's name.
    fn name(&self) -> &'static str;
    /// Whether and how the driver runs on this node.
    fn fingerprint(&self) -> DriverInfo;
    /// Prepares the task's sandbox (cgroups, chroot, user) before it is spawned.
    fn prepare(&self, task: &TaskLaunch) -> Result<Isolation, DriverError>;
    /// Undoes what `prepare` made for a task that did not start.
    fn abandon(&self, iso: &Isolation);
    /// Releases what the task left behind once it ended.
    fn release(&self, handle: &TaskHandle);
    /// Adds sandbox figures (a cgroup's memory limit) to the process statistics.
    fn stats(&self, handle: &TaskHandle, stats: &mut Value);
}

/// A driver running host processes inside the sandbox `S` prepares.
pub struct ProcessDriver<S> {
    sandbox: S,
    children: Children,
}

impl<S: ProcessSandbox> ProcessDriver<S> {
    /// A driver with `sandbox`.
    pub fn new(sandbox: S) -> Self {
        Self {
            sandbox,
            children: Children::default(),
        }
    }
}

impl<S: ProcessSandbox> Driver for ProcessDriver<S> {
    fn name(&self) -> &'static str {
        self.sandbox.name()
    }

    fn fingerprint(&self) -> DriverFuture<'_, DriverInfo> {
        let info = self.sandbox.fingerprint();
        Box::pin(async move { Ok(info) })
    }

    fn start<'a>(&'a self, task: &'a TaskLaunch) -> DriverFuture<'a, TaskHandle> {
        Box::pin(async move {
            let iso = self.sandbox.prepare(task)?;
            let result = self.children.spawn(task, self.sandbox.name(), &iso);
            if result.is_err() {
                self.sandbox.abandon(&iso);
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
            self.sandbox.release(handle);
            Ok(())
        })
    }

    fn stats<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, Value> {
        Box::pin(async move {
            let mut v = process::stats(handle);
            self.sandbox.stats(handle, &mut v);
            Ok(v)
        })
    }
}

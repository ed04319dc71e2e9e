//! `raw_exec`: runs a command as the client's user with no isolation beyond its own process
//! group. Disabled unless the client enables it (as in Nomad; `-dev` enables it).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::process::{self, Children, Isolation};
use super::{Driver, DriverError, DriverFuture, DriverInfo, ExitResult, TaskHandle, TaskLaunch};

/// The `raw_exec` driver.
pub struct RawExec {
    enabled: bool,
    children: Children,
}

impl RawExec {
    /// A driver that runs tasks only if `enabled`.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            children: Children::default(),
        }
    }
}

impl Driver for RawExec {
    fn name(&self) -> &'static str {
        "raw_exec"
    }

    fn fingerprint(&self) -> DriverFuture<'_, DriverInfo> {
        let attrs = BTreeMap::from([("driver.raw_exec".to_owned(), "1".to_owned())]);
        let enabled = self.enabled;
        Box::pin(async move {
            Ok(DriverInfo {
                detected: enabled,
                healthy: enabled,
                attributes: if enabled { attrs } else { BTreeMap::new() },
            })
        })
    }

    fn start<'a>(&'a self, task: &'a TaskLaunch) -> DriverFuture<'a, TaskHandle> {
        Box::pin(async move {
            if !self.enabled {
                return Err(DriverError::Disabled("raw_exec"));
            }
            self.children.spawn(task, "raw_exec", Isolation::default())
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

    fn destroy<'a>(&'a self, _handle: &'a TaskHandle) -> DriverFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn stats<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, Value> {
        Box::pin(async move { Ok(process::stats(handle)) })
    }
}

//! `raw_exec`: runs a command as the client's user with no isolation beyond its own session
//! and process group. Disabled unless the client enables it (as in Nomad; `-dev` enables it).

use std::collections::BTreeMap;

use serde_json::Value;

use super::process::Isolation;
use super::process_driver::{ProcessDriver, ProcessSandbox};
use super::{DriverError, DriverInfo, TaskHandle, TaskLaunch};

/// The `raw_exec` driver.
pub type RawExec = ProcessDriver<Unsandboxed>;

/// `raw_exec`'s (absent) sandbox: only the on/off switch.
pub struct Unsandboxed {
    enabled: bool,
}

/// A `raw_exec` driver that runs tasks only if `enabled`.
pub fn raw_exec(enabled: bool) -> RawExec {
    ProcessDriver::new(Unsandboxed { enabled })
}

impl ProcessSandbox for Unsandboxed {
    fn name(&self) -> &'static str {
        "raw_exec"
    }

    fn fingerprint(&self) -> DriverInfo {
        let attrs = BTreeMap::from([("driver.raw_exec".to_owned(), "1".to_owned())]);
        DriverInfo {
            detected: self.enabled,
            healthy: self.enabled,
            attributes: if self.enabled { attrs } else { BTreeMap::new() },
        }
    }

    fn prepare(&self, _task: &TaskLaunch) -> Result<Isolation, DriverError> {
        if !self.enabled {
            return Err(DriverError::Disabled("raw_exec"));
        }
        Ok(Isolation::default())
    }

    fn abandon(&self, _iso: &Isolation) {}

    fn release(&self, _handle: &TaskHandle) {}

    fn stats(&self, _handle: &TaskHandle, _stats: &mut Value) {}
}

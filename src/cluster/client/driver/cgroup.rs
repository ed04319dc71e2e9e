//! Cgroups for the `exec` driver: cgroup v2 (`memory.max`, `cpu.weight`) where the unified
//! hierarchy is mounted at `/sys/fs/cgroup`, else cgroup v1 (`memory`, `cpu` controllers) on
//! hybrid machines whose v2 hierarchy carries no controllers. A task joins them itself between
//! fork and exec by writing `0` to `cgroup.procs`; failing to create or join them fails the task.

use std::io;
use std::path::{Path, PathBuf};

use super::DriverError;

const ROOT: &str = "/sys/fs/cgroup";

/// Which cgroup layout the machine has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Unified hierarchy.
    V2,
    /// Per-controller hierarchies.
    V1,
    /// No writable cgroups.
    None,
}

/// Detects the layout (and whether this process may create cgroups).
pub fn layout() -> Layout {
    let root = Path::new(ROOT);
    if root.join("cgroup.controllers").exists() {
        return if writable(root) { Layout::V2 } else { Layout::None };
    }
    if root.join("memory").is_dir() && writable(&root.join("memory")) {
        return Layout::V1;
    }
    Layout::None
}

fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!("deploy-probe-{}", std::process::id()));
    let ok = std::fs::create_dir(&probe).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok
}

fn failed(what: &Path, e: io::Error) -> DriverError {
    DriverError::Start(format!("cgroup {}: {e}", what.display()))
}

/// Creates the task's cgroups with limits; returns their directories. Without writable
/// cgroups the task is not started: its limits could not be enforced.
pub fn create(name: &str, memory_mb: u64, cpu_mhz: u64) -> Result<Vec<PathBuf>, DriverError> {
    let root = Path::new(ROOT);
    match layout() {
        Layout::None => Err(DriverError::Start(format!(
            "exec needs cgroups to enforce the task's resources, and this client has none it may \
             write: neither cgroup v2 at {ROOT} nor a cgroup v1 memory controller at {ROOT}/memory"
        ))),
        Layout::V2 => {
            let parent = root.join("deploy");
            std::fs::create_dir_all(&parent).map_err(|e| failed(&parent, e))?;
            for dir in [root, parent.as_path()] {
                let control = dir.join("cgroup.subtree_control");
                // Enabled already (by the init system, or an earlier task): writing again could
                // fail where the cgroup holds processes of its own.
                let enabled = std::fs::read_to_string(&control).unwrap_or_default();
                let has = |c: &str| enabled.split_whitespace().any(|e| e == c);
                if !(has("memory") && has("cpu")) {
                    std::fs::write(&control, "+memory +cpu").map_err(|e| failed(&control, e))?;
                }
            }
            let dir = parent.join(name);
            std::fs::create_dir_all(&dir).map_err(|e| failed(&dir, e))?;
            if memory_mb > 0 {
                let f = dir.join("memory.max");
                std::fs::write(&f, memory_mb.saturating_mul(1024 * 1024).to_string())
                    .map_err(|e| failed(&f, e))?;
            }
            if cpu_mhz > 0 {
                // cpu.weight is 1..10000 with 100 the default; scale MHz like Nomad's shares.
                let f = dir.join("cpu.weight");
                std::fs::write(&f, cpu_mhz.clamp(1, 10_000).to_string()).map_err(|e| failed(&f, e))?;
            }
            Ok(vec![dir])
        }
        Layout::V1 => {
            let mem = root.join("memory").join("deploy").join(name);
            std::fs::create_dir_all(&mem).map_err(|e| failed(&mem, e))?;
            if memory_mb > 0 {
                let f = mem.join("memory.limit_in_bytes");
                std::fs::write(&f, memory_mb.saturating_mul(1024 * 1024).to_string())
                    .map_err(|e| failed(&f, e))?;
            }
            let mut dirs = vec![mem];
            let cpu = root.join("cpu").join("deploy").join(name);
            if root.join("cpu").is_dir() {
                std::fs::create_dir_all(&cpu).map_err(|e| failed(&cpu, e))?;
                if cpu_mhz > 0 {
                    let f = cpu.join("cpu.shares");
                    std::fs::write(&f, cpu_mhz.max(2).to_string()).map_err(|e| failed(&f, e))?;
                }
                dirs.push(cpu);
            }
            Ok(dirs)
        }
    }
}

/// Removes the task's cgroups (they must be empty).
pub fn destroy(dirs: &[PathBuf]) {
    for d in dirs {
        let _ = std::fs::remove_dir(d);
    }
}

/// The memory a cgroup's processes use now, in bytes.
pub fn memory_usage(dir: &Path) -> Option<u64> {
    ["memory.current", "memory.usage_in_bytes"]
        .iter()
        .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .and_then(|s| s.trim().parse().ok())
}

/// Reads the memory limit in bytes a cgroup enforces, if any.
pub fn memory_limit(dir: &Path) -> Option<u64> {
    ["memory.max", "memory.limit_in_bytes"]
        .iter()
        .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .and_then(|s| s.trim().parse().ok())
}

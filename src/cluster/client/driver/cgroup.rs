//! Cgroups for the `exec` driver: cgroup v2 (`memory.max`, `cpu.weight`) where the unified
//! hierarchy is mounted at `/sys/fs/cgroup`, else cgroup v1 (`memory`, `cpu` controllers).
//! A task joins them itself between fork and exec by writing `0` to `cgroup.procs`.

use std::io;
use std::path::{Path, PathBuf};

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

/// Creates the task's cgroups with limits; returns their directories (empty without cgroups).
pub fn create(name: &str, memory_mb: u64, cpu_mhz: u64) -> io::Result<Vec<PathBuf>> {
    let root = Path::new(ROOT);
    match layout() {
        Layout::None => Ok(Vec::new()),
        Layout::V2 => {
            let parent = root.join("deploy");
            std::fs::create_dir_all(&parent)?;
            let _ = std::fs::write(root.join("cgroup.subtree_control"), "+memory +cpu");
            let _ = std::fs::write(parent.join("cgroup.subtree_control"), "+memory +cpu");
            let dir = parent.join(name);
            std::fs::create_dir_all(&dir)?;
            if memory_mb > 0 {
                std::fs::write(
                    dir.join("memory.max"),
                    memory_mb.saturating_mul(1024 * 1024).to_string(),
                )?;
            }
            if cpu_mhz > 0 {
                // cpu.weight is 1..10000 with 100 the default; scale MHz like Nomad's shares.
                let _ = std::fs::write(dir.join("cpu.weight"), cpu_mhz.clamp(1, 10_000).to_string());
            }
            Ok(vec![dir])
        }
        Layout::V1 => {
            let mem = root.join("memory").join("deploy").join(name);
            std::fs::create_dir_all(&mem)?;
            if memory_mb > 0 {
                std::fs::write(
                    mem.join("memory.limit_in_bytes"),
                    memory_mb.saturating_mul(1024 * 1024).to_string(),
                )?;
            }
            let mut dirs = vec![mem];
            let cpu = root.join("cpu").join("deploy").join(name);
            if std::fs::create_dir_all(&cpu).is_ok() {
                if cpu_mhz > 0 {
                    let _ = std::fs::write(cpu.join("cpu.shares"), cpu_mhz.max(2).to_string());
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

/// Reads the memory limit in bytes a cgroup enforces, if any.
pub fn memory_limit(dir: &Path) -> Option<u64> {
    ["memory.max", "memory.limit_in_bytes"]
        .iter()
        .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .and_then(|s| s.trim().parse().ok())
}

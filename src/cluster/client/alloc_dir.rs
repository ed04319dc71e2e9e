//! The allocation directory: `<alloc>/alloc/{data,logs,tmp}` shared by the group's tasks, and
//! per task `<alloc>/<task>/{local,secrets,tmp}`, as Nomad lays it out.

use std::io;
use std::path::{Path, PathBuf};

/// Paths of one allocation's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocDir {
    /// `<alloc_root>/<alloc_id>`.
    pub root: PathBuf,
}

impl AllocDir {
    /// The directory of allocation `alloc_id` under `alloc_root`.
    pub fn new(alloc_root: &Path, alloc_id: &str) -> Self {
        Self {
            root: alloc_root.join(alloc_id),
        }
    }

    /// The shared `alloc/` directory.
    pub fn shared(&self) -> PathBuf {
        self.root.join("alloc")
    }

    /// `alloc/logs/`.
    pub fn logs(&self) -> PathBuf {
        self.shared().join("logs")
    }

    /// The task's own directory.
    pub fn task(&self, task: &str) -> PathBuf {
        self.root.join(task)
    }

    /// The task's `local/` directory.
    pub fn local(&self, task: &str) -> PathBuf {
        self.task(task).join("local")
    }

    /// The task's `secrets/` directory.
    pub fn secrets(&self, task: &str) -> PathBuf {
        self.task(task).join("secrets")
    }

    /// Creates the shared directories.
    pub fn build(&self) -> io::Result<()> {
        for d in [self.shared().join("data"), self.logs(), self.shared().join("tmp")] {
            std::fs::create_dir_all(d)?;
        }
        Ok(())
    }

    /// Creates a task's directories (`secrets/` readable by the owner only).
    pub fn build_task(&self, task: &str) -> io::Result<()> {
        for d in [self.local(task), self.secrets(task), self.task(task).join("tmp")] {
            std::fs::create_dir_all(d)?;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.secrets(task), std::fs::Permissions::from_mode(0o700))?;
        Ok(())
    }

    /// Removes the whole directory.
    pub fn destroy(&self) -> io::Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Resolves a task-relative destination (`local/x`, `secrets/y`, `alloc/z`) inside the
    /// allocation, refusing paths that escape it.
    pub fn resolve(&self, task: &str, rel: &str) -> Option<PathBuf> {
        let rel = rel.trim_start_matches("./");
        let base = if rel.starts_with("alloc/") {
            self.root.clone()
        } else {
            self.task(task)
        };
        let rel = Path::new(rel);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return None;
        }
        Some(base.join(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_only() {
        let d = AllocDir::new(Path::new("/a"), "x");
        assert_eq!(
            d.resolve("web", "local/app.conf"),
            Some(PathBuf::from("/a/x/web/local/app.conf"))
        );
        assert_eq!(
            d.resolve("web", "alloc/shared.txt"),
            Some(PathBuf::from("/a/x/alloc/shared.txt"))
        );
        assert_eq!(d.resolve("web", "../../etc/passwd"), None);
        assert_eq!(d.resolve("web", "/etc/passwd"), None);
    }
}

//! The allocation directory: `<alloc>/alloc/{data,logs,tmp}` shared by the group's tasks, and
//! per task `<alloc>/<task>/{local,secrets,tmp}`, as Nomad lays it out.

use std::io;
use std::path::{Path, PathBuf};

use super::beneath::{self, Beneath};

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

    /// Creates the allocation directory and its shared directories.
    pub fn build(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        let b = self.beneath()?;
        b.create_dir_all(Path::new("alloc/logs"), 0o755)?;
        for d in ["alloc/data", "alloc/tmp"] {
            b.create_dir_all(Path::new(d), 0o755)?;
            // Tasks run as other users (`nobody` by default) and share these directories.
            b.set_mode(Path::new(d), 0o1777)?;
        }
        Ok(())
    }

    /// The allocation directory, opened so that paths resolve beneath it.
    pub fn beneath(&self) -> io::Result<Beneath> {
        Beneath::open(&self.root)
    }

    /// Creates a task's directories (`secrets/` readable by the owner only), refusing a task
    /// name that is not a single normal path component.
    pub fn build_task(&self, task: &str) -> io::Result<()> {
        check_task_name(task)?;
        let b = self.beneath()?;
        for d in ["local", "secrets", "tmp"] {
            b.create_dir_all(&Path::new(task).join(d), 0o755)?;
        }
        b.set_mode(&Path::new(task).join("local"), 0o777)?;
        b.set_mode(&Path::new(task).join("tmp"), 0o1777)?;
        b.set_mode(&Path::new(task).join("secrets"), 0o700)?;
        Ok(())
    }

    /// Removes the whole directory.
    pub fn destroy(&self) -> io::Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// A task-relative destination (`local/x`, `secrets/y`, `alloc/z`) as a path relative to
    /// the allocation directory, refusing paths that leave it (absolute, `..`) and task names
    /// that are not a single component. Open the result through [`AllocDir::beneath`] so that
    /// symlinks are not followed either.
    pub fn resolve(&self, task: &str, rel: &str) -> io::Result<PathBuf> {
        check_task_name(task)?;
        let rel = beneath::relative(Path::new(rel))?;
        if rel.starts_with("alloc") {
            return Ok(rel);
        }
        Ok(Path::new(task).join(rel))
    }
}

/// An error unless `task` is a single normal path component (`web`, not `../x` or `/etc`).
pub fn check_task_name(task: &str) -> io::Result<()> {
    if beneath::is_single_component(task) {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "task name {task:?} is not a single path component; the client refuses to make a directory for it"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_only() {
        let d = AllocDir::new(Path::new("/a"), "x");
        let r = |t: &str, p: &str| d.resolve(t, p).ok();
        assert_eq!(
            r("web", "local/app.conf"),
            Some(PathBuf::from("web/local/app.conf"))
        );
        assert_eq!(
            r("web", "./alloc/shared.txt"),
            Some(PathBuf::from("alloc/shared.txt"))
        );
        assert_eq!(r("web", "../../etc/passwd"), None);
        assert_eq!(r("web", "/etc/passwd"), None);
        assert_eq!(r("../x", "local/a"), None);
        assert_eq!(r("/etc", "local/a"), None);
    }

    #[test]
    fn bad_task_names_make_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let d = AllocDir::new(tmp.path(), "a1");
        d.build().unwrap();
        let outside = tmp.path().join("escaped-task");
        for name in ["../escaped-task", "/etc", outside.to_str().unwrap()] {
            assert!(d.build_task(name).is_err(), "{name}");
        }
        assert!(!outside.exists());
        d.build_task("web").unwrap();
        assert!(d.local("web").is_dir());
    }
}

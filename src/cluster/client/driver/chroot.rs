//! The chroot of an `exec` task: its task directory, with the client's `chroot_env` host paths,
//! the shared `alloc/` directory, a fresh `/proc` and a few device nodes mounted into it inside
//! the task's own mount namespace.
//!
//! ```text
//!  <alloc>/<task>/            (root of the chroot, root-owned 0755: the task cannot add to it)
//!    bin etc lib lib64 sbin usr ...  read-only bind mounts of chroot_env (missing hosts skipped)
//!    alloc/                   bind of <alloc>/alloc (read-write)
//!    local/ secrets/ tmp/     the task's own directories, owned by the task's user
//!    proc/                    a new proc for the task's PID namespace
//!    dev/{null,zero,random,urandom}  binds of the host's device nodes
//! ```
//!
//! Bind mounts rather than copies or hard links (Nomad copies): they cost nothing per task,
//! take no disk, are always current with the host, and being read-only the task cannot change
//! the host's files through them; hard links would share inodes that a task running as a user
//! with write access to a host file could modify, and copies of `/usr` take seconds and space.
//! The mounts exist only in the task's mount namespace (made private first), so the host and
//! the client never see them, and removing the allocation directory removes plain directories.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{DriverError, TaskLaunch};
use crate::cluster::client::beneath::Beneath;

/// Device nodes bound into the chroot.
pub const DEVICES: [&str; 4] = ["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"];

/// One mount to make in the task's namespace.
#[derive(Debug, Clone)]
pub struct BindMount {
    /// Host path.
    pub source: CString,
    /// Absolute host path of the mount point inside the chroot directory.
    pub target: CString,
    /// Remount read-only after binding.
    pub read_only: bool,
}

/// Everything the child does to enter its chroot, prepared before the fork.
#[derive(Debug, Clone)]
pub struct ChrootPlan {
    /// The new root.
    pub root: CString,
    /// Mounts, in order.
    pub binds: Vec<BindMount>,
    /// Where to mount a new proc.
    pub proc_dir: CString,
}

fn cstr(p: &Path) -> Result<CString, DriverError> {
    CString::new(p.as_os_str().as_bytes()).map_err(|e| DriverError::Config(e.to_string()))
}

/// The directories a chroot is made of.
pub struct ChrootDirs<'a> {
    /// The task's name (for messages).
    pub task_name: &'a str,
    /// The task directory: the new root.
    pub task_dir: &'a Path,
    /// The allocation's shared `alloc/` directory, bound at `/alloc`.
    pub shared_alloc_dir: &'a Path,
}

impl<'a> ChrootDirs<'a> {
    /// The directories of `task`.
    pub fn of(task: &'a TaskLaunch) -> Self {
        Self {
            task_name: &task.task_name,
            task_dir: &task.task_dir,
            shared_alloc_dir: &task.shared_alloc_dir,
        }
    }
}

fn setup_err(task: &ChrootDirs<'_>, e: std::io::Error) -> DriverError {
    DriverError::Start(format!("preparing the chroot of task {:?}: {e}", task.task_name))
}

/// Creates the mount points in the task directory (through [`Beneath`], so no symlink planted
/// there is followed), gives the task's directories to its user, and lists the mounts.
pub fn prepare(
    task: &ChrootDirs<'_>,
    chroot_env: &BTreeMap<String, String>,
    (uid, gid): (u32, u32),
) -> Result<ChrootPlan, DriverError> {
    let root = Beneath::open(task.task_dir).map_err(|e| setup_err(task, e))?;
    let mut binds = Vec::new();
    let mut mount_point = |source: &Path, inside: &Path, read_only: bool| -> Result<(), DriverError> {
        let Ok(meta) = std::fs::metadata(source) else {
            return Ok(()); // Nomad's defaults name paths (/lib32) that many hosts lack.
        };
        let rel = inside.strip_prefix("/").unwrap_or(inside);
        if meta.is_dir() {
            root.create_dir_all(rel, 0o755).map_err(|e| setup_err(task, e))?;
        } else {
            root.create_file(rel, 0o644).map_err(|e| setup_err(task, e))?;
        }
        binds.push(BindMount {
            source: cstr(source)?,
            target: cstr(&root.join(rel).map_err(|e| setup_err(task, e))?)?,
            read_only,
        });
        Ok(())
    };
    for (host, inside) in chroot_env {
        mount_point(Path::new(host), Path::new(inside), true)?;
    }
    mount_point(task.shared_alloc_dir, Path::new("alloc"), false)?;
    for dev in DEVICES {
        mount_point(Path::new(dev), Path::new(dev), false)?;
    }
    root.create_dir_all(Path::new("proc"), 0o555)
        .map_err(|e| setup_err(task, e))?;
    for own in ["local", "secrets", "tmp"] {
        let dir = task.task_dir.join(own);
        std::os::unix::fs::lchown(&dir, Some(uid), Some(gid)).map_err(|e| setup_err(task, e))?;
    }
    Ok(ChrootPlan {
        root: cstr(task.task_dir)?,
        binds,
        proc_dir: cstr(&PathBuf::from(task.task_dir).join("proc"))?,
    })
}

//! Paths resolved beneath a directory without ever following a symlink: every file the client
//! reads or writes for a task (task directories, templates, artifacts, archive entries, volume
//! sources) goes through a [`Beneath`] rooted at the allocation directory.
//!
//! ```text
//!  Beneath::open(<alloc dir>) ── O_PATH fd ─┬─ openat2(rel, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
//!                                           └─ mkdirat one component at a time (no symlink followed)
//! ```
//!
//! The client runs as root, and a task (or an earlier task of the same allocation) may plant a
//! symlink such as `local/app.conf -> /etc/passwd`. Checking a path and then opening it would
//! race with the task; opening through `openat2` with `RESOLVE_NO_SYMLINKS` makes the kernel
//! refuse any symlink on the way, and `RESOLVE_BENEATH` refuses `..` and absolute paths.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// A directory that paths are resolved beneath.
#[derive(Debug)]
pub struct Beneath {
    fd: OwnedFd,
    path: PathBuf,
}

/// Whether `name` is a single normal path component (a task name that may name a directory).
pub fn is_single_component(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!(parts.next(), Some(Component::Normal(_)))
        && parts.next().is_none()
        && !name.contains('/')
        && !name.contains('\0')
}

/// `rel` reduced to its normal components; an error for `..`, absolute paths or nothing at all.
pub fn relative(rel: &Path) -> io::Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} leaves the directory", rel.display()),
                ));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty path"));
    }
    Ok(out)
}

fn cstring(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

fn explain(e: io::Error, path: &Path) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::EXDEV) => io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: a symlink on the way is not followed", path.display()),
        ),
        _ => io::Error::new(e.kind(), format!("{}: {e}", path.display())),
    }
}

/// `openat2(dirfd, rel, flags, mode)` beneath `dirfd`, following no symlink.
fn openat2(dirfd: i32, rel: &Path, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    openat2_resolving(dirfd, rel, flags, mode, resolve)
}

/// `openat2(dirfd, rel, flags, mode)` with the `resolve` flags given.
fn openat2_resolving(dirfd: i32, rel: &Path, flags: i32, mode: u32, resolve: u64) -> io::Result<OwnedFd> {
    let c = cstring(rel)?;
    // SAFETY: open_how is plain old data; zeroed is a valid value for every field.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = u64::try_from(flags | libc::O_CLOEXEC).unwrap_or_default();
    how.mode = if flags & libc::O_CREAT != 0 {
        u64::from(mode)
    } else {
        0
    };
    how.resolve = resolve;
    loop {
        // SAFETY: the path and `how` outlive the call; the size passed is that of `how`.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd,
                c.as_ptr(),
                &raw const how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd >= 0 {
            let fd = i32::try_from(fd).map_err(|_| io::Error::other("fd out of range"))?;
            // SAFETY: the kernel just returned this descriptor to us alone.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EAGAIN) && e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

impl Beneath {
    /// Opens `root` itself (which must be a real directory, not a symlink).
    pub fn open(root: &Path) -> io::Result<Self> {
        let c = cstring(root)?;
        // SAFETY: a plain open(2) of a NUL-terminated path.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(explain(io::Error::last_os_error(), root));
        }
        Ok(Self {
            // SAFETY: the descriptor was just returned by open(2).
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: root.to_path_buf(),
        })
    }

    /// The directory's path (for messages and for handing to other processes).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `rel` joined to the root, after checking it stays beneath it lexically.
    pub fn join(&self, rel: &Path) -> io::Result<PathBuf> {
        Ok(self.path.join(relative(rel)?))
    }

    /// Creates `rel` and its parents beneath the root (mode `mode` for new ones); a symlink on
    /// the way is an error, never followed.
    pub fn create_dir_all(&self, rel: &Path, mode: u32) -> io::Result<Beneath> {
        let rel = relative(rel)?;
        let mut dir = self.reopen()?;
        let mut path = self.path.clone();
        for part in rel.components() {
            let name = Path::new(part.as_os_str());
            path.push(name);
            let c = cstring(name)?;
            // SAFETY: mkdirat of one component relative to a directory we hold open; it never
            // follows a symlink in the last component (it fails with EEXIST instead).
            let r = unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EEXIST) {
                    return Err(explain(e, &path));
                }
            }
            dir = openat2(dir.as_raw_fd(), name, libc::O_PATH | libc::O_DIRECTORY, 0)
                .map_err(|e| explain(e, &path))?;
        }
        Ok(Self { fd: dir, path })
    }

    /// A second handle on the same directory.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            fd: self.reopen()?,
            path: self.path.clone(),
        })
    }

    /// A new descriptor for the root.
    fn reopen(&self) -> io::Result<OwnedFd> {
        self.fd.try_clone()
    }

    /// The directory `rel` beneath the root (which must exist), as its own [`Beneath`].
    pub fn subdir(&self, rel: &Path) -> io::Result<Beneath> {
        let rel = relative(rel)?;
        let path = self.path.join(&rel);
        let fd = openat2(self.fd.as_raw_fd(), &rel, libc::O_PATH | libc::O_DIRECTORY, 0)
            .map_err(|e| explain(e, &path))?;
        Ok(Self { fd, path })
    }

    /// Whether `rel` exists beneath the root with no symlink on the way (an error if not).
    pub fn check(&self, rel: &Path) -> io::Result<()> {
        let rel = relative(rel)?;
        openat2(self.fd.as_raw_fd(), &rel, libc::O_PATH, 0)
            .map(drop)
            .map_err(|e| explain(e, &self.path.join(&rel)))
    }

    /// Opens `rel` (the root itself when empty) with `flags` (`O_PATH`, `O_RDONLY |
    /// O_DIRECTORY`, ...) for reading only: symlinks are followed while they stay beneath the
    /// root (the kernel refuses one that leads out, an absolute one included), as Nomad's
    /// file API follows links inside the allocation directory.
    pub fn open_inside(&self, rel: &Path, flags: i32) -> io::Result<File> {
        let rel = if rel.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            relative(rel)?
        };
        if flags & (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "open_inside only reads",
            ));
        }
        let resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        let fd = openat2_resolving(self.fd.as_raw_fd(), &rel, flags, 0, resolve)
            .map_err(|e| explain(e, &self.path.join(&rel)))?;
        Ok(File::from(fd))
    }

    /// Opens `rel` for reading.
    pub fn read_file(&self, rel: &Path) -> io::Result<File> {
        let rel = relative(rel)?;
        let fd = openat2(self.fd.as_raw_fd(), &rel, libc::O_RDONLY | libc::O_NONBLOCK, 0)
            .map_err(|e| explain(e, &self.path.join(&rel)))?;
        let file = File::from(fd);
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a plain file", self.path.join(&rel).display()),
            ));
        }
        Ok(file)
    }

    /// Reads `rel` as text.
    pub fn read_to_string(&self, rel: &Path) -> io::Result<String> {
        let mut s = String::new();
        io::Read::read_to_string(&mut self.read_file(rel)?, &mut s)?;
        Ok(s)
    }

    /// Creates (or truncates) the file `rel`, creating its parent directories, and sets its
    /// mode to `mode` (the process umask does not apply).
    pub fn create_file(&self, rel: &Path, mode: u32) -> io::Result<File> {
        let rel = relative(rel)?;
        let dir = match rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => self.create_dir_all(parent, 0o755)?,
            None => Self {
                fd: self.reopen()?,
                path: self.path.clone(),
            },
        };
        let name = Path::new(rel.file_name().unwrap_or_default());
        // O_NONBLOCK: a FIFO planted at the destination must not hang the client.
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_NONBLOCK;
        let fd = openat2(dir.fd.as_raw_fd(), name, flags, mode & 0o777)
            .map_err(|e| explain(e, &self.path.join(&rel)))?;
        let file = File::from(fd);
        // A hard link planted by a task would make the client write to a file elsewhere:
        // refuse to write through a second name, and truncate only after that check.
        let meta = file.metadata()?;
        if !meta.is_file() || std::os::unix::fs::MetadataExt::nlink(&meta) > 1 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{}: not a plain file with a single name",
                    self.path.join(&rel).display()
                ),
            ));
        }
        file.set_len(0)?;
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o777))?;
        Ok(file)
    }

    /// Writes `bytes` to `rel` (see [`Beneath::create_file`]).
    pub fn write(&self, rel: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
        io::Write::write_all(&mut self.create_file(rel, mode)?, bytes)
    }

    /// Sets the mode of the directory or file `rel` (never through a symlink).
    pub fn set_mode(&self, rel: &Path, mode: u32) -> io::Result<()> {
        let rel = relative(rel)?;
        let fd = openat2(self.fd.as_raw_fd(), &rel, libc::O_RDONLY | libc::O_NONBLOCK, 0)
            .map_err(|e| explain(e, &self.path.join(&rel)))?;
        use std::os::unix::fs::PermissionsExt;
        File::from(fd).set_permissions(std::fs::Permissions::from_mode(mode))
    }

    /// Renames `from` to `to`, both names directly in this directory (a symlink at `to` is
    /// replaced, never followed).
    pub fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (f, t) = (cstring(&single(from)?)?, cstring(&single(to)?)?);
        let fd = self.fd.as_raw_fd();
        // SAFETY: renameat of two single names relative to a directory we hold open.
        if unsafe { libc::renameat(fd, f.as_ptr(), fd, t.as_ptr()) } < 0 {
            return Err(explain(io::Error::last_os_error(), &self.path.join(to)));
        }
        Ok(())
    }

    /// Removes the file `name` directly in this directory (missing is fine).
    pub fn remove_file(&self, name: &Path) -> io::Result<()> {
        let n = cstring(&single(name)?)?;
        // SAFETY: unlinkat of one name relative to a directory we hold open.
        if unsafe { libc::unlinkat(self.fd.as_raw_fd(), n.as_ptr(), 0) } < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ENOENT) {
                return Err(explain(e, &self.path.join(name)));
            }
        }
        Ok(())
    }

    /// Creates the symlink `rel -> target`, where `target` is relative and stays beneath the
    /// link's own directory tree (archives may carry such links; no other kind is made).
    pub fn symlink(&self, rel: &Path, target: &Path) -> io::Result<()> {
        let rel = relative(rel)?;
        let depth = rel.components().count().saturating_sub(1);
        if !stays_inside(target, depth) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} -> {}: the link leaves the directory",
                    rel.display(),
                    target.display()
                ),
            ));
        }
        let dir = match rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => self.create_dir_all(parent, 0o755)?,
            None => Self {
                fd: self.reopen()?,
                path: self.path.clone(),
            },
        };
        let (t, n) = (
            cstring(target)?,
            cstring(Path::new(rel.file_name().unwrap_or_default()))?,
        );
        // SAFETY: symlinkat of one name relative to a directory we hold open.
        if unsafe { libc::symlinkat(t.as_ptr(), dir.fd.as_raw_fd(), n.as_ptr()) } < 0 {
            return Err(explain(io::Error::last_os_error(), &self.path.join(&rel)));
        }
        Ok(())
    }
}

/// `name` if it is one normal component.
fn single(name: &Path) -> io::Result<PathBuf> {
    let rel = relative(name)?;
    if rel.components().count() != 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: expected a single name", name.display()),
        ));
    }
    Ok(rel)
}

/// Whether a relative link `target`, placed `depth` directories below the root, stays inside.
fn stays_inside(target: &Path, depth: usize) -> bool {
    let mut level = i64::try_from(depth).unwrap_or(i64::MAX);
    for c in target.components() {
        match c {
            Component::Normal(_) => level += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                level -= 1;
                if level < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_are_single_components() {
        assert!(is_single_component("web"));
        assert!(is_single_component("web.1-x"));
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "/etc",
            "/tmp/x/escaped-task",
            "a/b",
            "a\0b",
        ] {
            assert!(!is_single_component(bad), "{bad:?}");
        }
    }

    #[test]
    fn writes_stay_beneath_and_refuse_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = tmp.path().join("alloc");
        std::fs::create_dir(&root).unwrap();
        let b = Beneath::open(&root).unwrap();
        b.write(Path::new("web/local/app.conf"), b"x", 0o640).unwrap();
        assert_eq!(std::fs::read(root.join("web/local/app.conf")).unwrap(), b"x");
        assert_eq!(b.read_to_string(Path::new("./web/local/app.conf")).unwrap(), "x");

        std::os::unix::fs::symlink(outside.path(), root.join("web/evil")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("f"), root.join("web/local/f")).unwrap();
        assert!(b.write(Path::new("web/evil/x"), b"x", 0o644).is_err());
        assert!(b.write(Path::new("web/local/f"), b"x", 0o644).is_err());
        assert!(b.read_file(Path::new("web/local/f")).is_err());
        assert!(b.create_dir_all(Path::new("web/evil/sub"), 0o755).is_err());
        assert!(b.write(Path::new("../x"), b"x", 0o644).is_err());
        assert!(b.write(Path::new("/etc/x"), b"x", 0o644).is_err());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn symlinks_made_only_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let b = Beneath::open(tmp.path()).unwrap();
        b.symlink(Path::new("a/link"), Path::new("../b")).unwrap();
        assert!(b.symlink(Path::new("a/up"), Path::new("../../b")).is_err());
        assert!(b.symlink(Path::new("abs"), Path::new("/etc")).is_err());
    }
}

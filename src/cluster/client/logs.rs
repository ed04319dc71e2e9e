//! Task log capture with rotation: `alloc/logs/<task>.<stdout|stderr>.N`, the highest N being
//! the current file, at most `max_files` kept of `max_file_size` bytes each.
//!
//! ```text
//!  task stdout ─► FIFO alloc/logs/.<task>.stdout.fifo ─► pump (client) ─► RotatingWriter
//! ```
//!
//! A FIFO instead of a pipe lets a restarted client re-open the same stream of a task that kept
//! running; the task also holds a read end (opened before exec) so it never gets SIGPIPE while
//! the client is away — its writes wait for the client instead.
//!
//! `alloc/` is visible to the group's tasks (a container's root may write there), so nothing
//! here follows a symlink: log files and FIFOs are opened with `O_NOFOLLOW` and must be a plain
//! file with one name, or a FIFO, respectively.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt;

/// Rotation settings (`logs { max_files, max_file_size }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Files kept per stream.
    pub max_files: u32,
    /// Bytes per file.
    pub max_file_bytes: u64,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            max_files: 10,
            max_file_bytes: 10 * 1024 * 1024,
        }
    }
}

/// Writes a stream into numbered files, moving to the next file when one is full.
pub struct RotatingWriter {
    dir: PathBuf,
    base: String,
    limits: LogLimits,
    index: u64,
    size: u64,
    file: File,
}

/// The numbered files of stream `base` (`web.stdout`) in `dir`, sorted by number.
pub fn log_files(dir: &Path, base: &str) -> Vec<(u64, PathBuf)> {
    let prefix = format!("{base}.");
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let n = name.to_str()?.strip_prefix(&prefix)?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Opens `path` for appending without following a symlink; refuses anything but a plain file
/// with a single name (a planted hard link or FIFO must not receive a task's output).
fn open_append(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.nlink() > 1 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: not a plain log file", path.display()),
        ));
    }
    Ok(file)
}

/// An error unless `dir` is a real directory (not a symlink to one).
fn real_dir(dir: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(dir)?.is_dir() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{}: not a directory", dir.display()),
    ))
}

impl RotatingWriter {
    /// Opens stream `base` in `dir`, appending to its newest file.
    pub fn open(dir: &Path, base: &str, limits: LogLimits) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        real_dir(dir)?;
        let index = log_files(dir, base).last().map_or(0, |(n, _)| *n);
        let path = dir.join(format!("{base}.{index}"));
        let file = open_append(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            dir: dir.into(),
            base: base.into(),
            limits,
            index,
            size,
            file,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.index += 1;
        real_dir(&self.dir)?;
        self.file = open_append(&self.dir.join(format!("{}.{}", self.base, self.index)))?;
        self.size = 0;
        let keep_from = (self.index + 1).saturating_sub(u64::from(self.limits.max_files.max(1)));
        for (n, path) in log_files(&self.dir, &self.base) {
            if n < keep_from {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }
}

impl Write for RotatingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if self.size >= self.limits.max_file_bytes {
                self.rotate()?;
            }
            let room = (self.limits.max_file_bytes - self.size).max(1) as usize;
            let n = rest.len().min(room);
            self.file.write_all(&rest[..n])?;
            self.size += n as u64;
            rest = &rest[n..];
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Path of the FIFO carrying a task's stream.
pub fn fifo_path(log_dir: &Path, task: &str, stream: &str) -> PathBuf {
    log_dir.join(format!(".{task}.{stream}.fifo"))
}

/// Creates the FIFO at `path` unless one exists there; anything else there is an error.
pub fn make_fifo(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        real_dir(dir)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_fifo() => return Ok(()),
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{}: not a FIFO", path.display()),
            ));
        }
        Err(_) => {}
    }
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Opens the reading end of a FIFO (non-blocking, so it succeeds with no writer yet).
pub fn open_fifo_reader(path: &Path) -> io::Result<tokio::net::unix::pipe::Receiver> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    tokio::net::unix::pipe::Receiver::from_file(file)
}

/// Opens the writing end of a FIFO (the task's stdout or stderr), never through a symlink.
pub fn open_fifo_writer(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    if !file.metadata()?.file_type().is_fifo() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: not a FIFO", path.display()),
        ));
    }
    Ok(file)
}

/// Copies everything from `reader` into the rotating files until every writer has closed.
pub async fn pump(mut reader: tokio::net::unix::pipe::Receiver, mut out: RotatingWriter) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = out.write_all(&buf[..n]) {
                    tracing::warn!("writing task log: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                tracing::warn!("reading task log: {e}");
                break;
            }
        }
    }
    let _ = out.flush();
}

/// Reads stream `base` from `offset` bytes after the start (or before the end when
/// `from_end`), across the rotated files; returns the bytes and the offset reached.
pub fn read_logs(dir: &Path, base: &str, offset: u64, from_end: bool) -> io::Result<(Vec<u8>, u64)> {
    let mut all = Vec::new();
    for (_, path) in log_files(dir, base) {
        let mut f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)?;
        if !f.metadata()?.is_file() {
            continue;
        }
        io::Read::read_to_end(&mut f, &mut all)?;
    }
    let total = all.len() as u64;
    let start = if from_end {
        total.saturating_sub(offset)
    } else {
        offset.min(total)
    };
    Ok((all.split_off(start as usize), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let limits = LogLimits {
            max_files: 2,
            max_file_bytes: 4,
        };
        let mut w = RotatingWriter::open(dir.path(), "web.stdout", limits).unwrap();
        w.write_all(b"aaaabbbbcccc").unwrap();
        let files: Vec<u64> = log_files(dir.path(), "web.stdout")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(files, vec![1, 2]);
        let (bytes, total) = read_logs(dir.path(), "web.stdout", 0, false).unwrap();
        assert_eq!(bytes, b"bbbbcccc");
        assert_eq!(total, 8);
        let (tail, _) = read_logs(dir.path(), "web.stdout", 2, true).unwrap();
        assert_eq!(tail, b"cc");
        let mut again = RotatingWriter::open(dir.path(), "web.stdout", limits).unwrap();
        again.write_all(b"d").unwrap();
        assert_eq!(log_files(dir.path(), "web.stdout").len(), 2);
    }

    #[test]
    fn planted_symlinks_receive_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("web.stdout.0")).unwrap();
        assert!(RotatingWriter::open(dir.path(), "web.stdout", LogLimits::default()).is_err());
        let fifo = fifo_path(dir.path(), "web", "stdout");
        std::os::unix::fs::symlink(outside.path(), &fifo).unwrap();
        assert!(make_fifo(&fifo).is_err());
        assert!(open_fifo_writer(&fifo).is_err());
        assert_eq!(
            read_logs(dir.path(), "web.stdout", 0, false).ok().map(|r| r.1),
            None
        );
        assert_eq!(std::fs::metadata(outside.path()).unwrap().len(), 0);
    }
}

//! `StateLock`: an OS advisory lock on `<state dir>/lock`. The OS drops it when the process
//! exits, however it exits, so a lock cannot outlive its holder. The holder writes who it is
//! into the file so a waiting process can say who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;

use super::error::StateError;

/// The lock file's name in a state directory.
pub const LOCK_FILE: &str = "lock";

/// A held lock; released on drop.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

/// Who takes the lock, written into the lock file.
#[derive(Clone, Debug)]
pub struct LockHolder {
    /// The command line (`deploy apply`).
    pub command: String,
}

impl StateLock {
    /// Takes the lock on `dir`, waiting up to `timeout` (zero: try once).
    pub fn acquire(dir: &Path, holder: &LockHolder, timeout: Duration) -> Result<StateLock, StateError> {
        std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
            action: "creating",
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(LOCK_FILE);
        let io = |action| {
            let p = path.clone();
            move |source| StateError::Io {
                action,
                path: p,
                source,
            }
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("opening"))?;
        let start = Instant::now();
        loop {
            if FileExt::try_lock_exclusive(&file).map_err(io("locking"))? {
                break;
            }
            if start.elapsed() >= timeout {
                let mut who = String::new();
                let _ = file.read_to_string(&mut who);
                let who = who.trim();
                return Err(StateError::Locked {
                    dir: dir.to_path_buf(),
                    holder: if who.is_empty() {
                        "another process".into()
                    } else {
                        who.to_string()
                    },
                    waited: format!("{:?}", start.elapsed().as_millis() as f64 / 1000.0) + "s",
                });
            }
            std::thread::sleep(Duration::from_millis(50).min(timeout.saturating_sub(start.elapsed())));
        }
        let info = holder_text(holder);
        file.set_len(0).map_err(io("writing"))?;
        file.seek(SeekFrom::Start(0)).map_err(io("writing"))?;
        // Not synced: the text is only read by a process waiting on this lock on this host,
        // through the page cache, and after a crash the lock is gone with its holder, so stale
        // text names no one. Syncing cost every plan a disk flush (about 25 ms here).
        file.write_all(info.as_bytes()).map_err(io("writing"))?;
        Ok(StateLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What a lock holder says of itself: `pid N on HOST running `CMD` since T`.
pub fn holder_text(holder: &LockHolder) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown host".into());
    format!(
        "pid {} on {} running `{}` since {}\n",
        std::process::id(),
        host.trim(),
        holder.command,
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    )
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = FileExt::unlock(&self.file);
    }
}

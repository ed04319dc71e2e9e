//! `StateStore`: a stack's revisions (`rev-000001.json`, ...) in its [`StateStorage`], read and
//! checked the same way wherever they are. Local files are written atomically (temporary file
//! in the same directory, fsync, rename, fsync of the directory); nothing is ever overwritten.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::error::StateError;
use super::lock::LockHolder;
use super::revision::Revision;
use super::storage::{HeldLock, LocalStorage, StateStorage};

/// A stack's state, wherever it is stored (see [`StateStorage`]).
#[derive(Clone, Debug)]
pub struct StateStore {
    storage: Arc<dyn StateStorage>,
}

/// A revision's name in the directory.
pub fn revision_file_name(serial: u64) -> String {
    format!("rev-{serial:06}.json")
}

impl StateStore {
    /// The local store at `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StateStore {
            storage: Arc::new(LocalStorage::new(dir)),
        }
    }

    /// A store over any storage.
    pub fn with_storage(storage: Arc<dyn StateStorage>) -> Self {
        StateStore { storage }
    }

    /// The storage.
    pub fn storage(&self) -> &dyn StateStorage {
        self.storage.as_ref()
    }

    /// The local directory of this stack's state.
    pub fn dir(&self) -> &Path {
        self.storage.dir()
    }

    /// Where the state is, for messages.
    pub fn location(&self) -> String {
        self.storage.location()
    }

    /// Takes the state lock, waiting up to `timeout` (zero: try once).
    pub fn lock(&self, holder: &LockHolder, timeout: Duration) -> Result<Box<dyn HeldLock>, StateError> {
        self.storage.lock(holder, timeout)
    }

    /// Serials of the revisions present, ascending. A missing directory has none.
    pub fn serials(&self) -> Result<Vec<u64>, StateError> {
        let mut serials = self.storage.serials()?;
        serials.sort_unstable();
        Ok(serials)
    }

    /// Reads revision `serial`.
    pub fn read(&self, serial: u64) -> Result<Revision, StateError> {
        let path = self.storage.revision_path(serial);
        let Some(bytes) = self.storage.read(serial)? else {
            return Err(StateError::NoRevision {
                dir: PathBuf::from(self.location()),
                serial,
            });
        };
        let rev = Revision::from_bytes(&path, &bytes)?;
        if rev.serial != serial {
            return Err(StateError::Corrupt {
                path,
                detail: format!("the file holds serial {}, but its name says {serial}", rev.serial),
            });
        }
        Ok(rev)
    }

    /// The newest revision, or `None` when the stack was never applied.
    pub fn latest(&self) -> Result<Option<Revision>, StateError> {
        match self.serials()?.last() {
            Some(&s) => self.read(s).map(Some),
            None => Ok(None),
        }
    }

    /// Writes a new revision. Its serial must be one more than the latest's and its lineage the
    /// same; an existing revision is never replaced (in shared state, losing the race to write
    /// a serial is refused the same way).
    pub fn write(&self, rev: &Revision) -> Result<PathBuf, StateError> {
        if let Some(latest) = self.latest()?
            && latest.lineage != rev.lineage
        {
            return Err(StateError::LineageMismatch {
                dir: PathBuf::from(self.location()),
                serial: rev.serial,
                expected: latest.lineage,
                found: rev.lineage.clone(),
            });
        }
        self.storage.create(rev.serial, &rev.to_bytes())?;
        Ok(self.storage.revision_path(rev.serial))
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |action, p: &Path| {
        let p = p.to_path_buf();
        move |source| StateError::Io {
            action,
            path: p,
            source,
        }
    };
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io("creating", &tmp))?;
        f.write_all(bytes).map_err(io("writing", &tmp))?;
        f.sync_all().map_err(io("syncing", &tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io("renaming into", path))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("syncing", dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

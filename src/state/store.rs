//! `StateStore`: a directory of revision files (`rev-000001.json`, ...), written atomically
//! (temporary file in the same directory, fsync, rename, fsync of the directory) and never
//! overwritten.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::StateError;
use super::revision::Revision;

/// A local state directory.
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
}

/// A revision's name in the directory.
pub fn revision_file_name(serial: u64) -> String {
    format!("rev-{serial:06}.json")
}

fn parse_serial(name: &str) -> Option<u64> {
    name.strip_prefix("rev-")?.strip_suffix(".json")?.parse().ok()
}

impl StateStore {
    /// The store at `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StateStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Serials of the revisions present, ascending. A missing directory has none.
    pub fn serials(&self) -> Result<Vec<u64>, StateError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StateError::Io {
                    action: "listing",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut serials = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StateError::Io {
                action: "listing",
                path: self.dir.clone(),
                source,
            })?;
            if let Some(s) = entry.file_name().to_str().and_then(parse_serial) {
                serials.push(s);
            }
        }
        serials.sort_unstable();
        Ok(serials)
    }

    /// Reads revision `serial`.
    pub fn read(&self, serial: u64) -> Result<Revision, StateError> {
        let path = self.dir.join(revision_file_name(serial));
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::NoRevision {
                    dir: self.dir.clone(),
                    serial,
                });
            }
            Err(source) => {
                return Err(StateError::Io {
                    action: "reading",
                    path,
                    source,
                });
            }
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
    /// same; an existing file is never replaced.
    pub fn write(&self, rev: &Revision) -> Result<PathBuf, StateError> {
        if let Some(latest) = self.latest()?
            && latest.lineage != rev.lineage
        {
            return Err(StateError::LineageMismatch {
                dir: self.dir.clone(),
                serial: rev.serial,
                expected: latest.lineage,
                found: rev.lineage.clone(),
            });
        }
        let path = self.dir.join(revision_file_name(rev.serial));
        if path.exists() {
            return Err(StateError::Exists { path });
        }
        fs::create_dir_all(&self.dir).map_err(|source| StateError::Io {
            action: "creating",
            path: self.dir.clone(),
            source,
        })?;
        write_atomic(&path, &rev.to_bytes())?;
        Ok(path)
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

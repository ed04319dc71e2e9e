//! The apply journal: how a killed apply loses nothing.
//!
//! ```text
//!  apply starts ─► lock held ─► journal = latest revision with serial + 1   (apply-journal.json)
//!  each job done ─► journal.jobs updated ─► write_atomic(apply-journal.json) ─► dependents start
//!  apply ends ─► store.write(rev-N+1.json) ─► journal removed
//!  killed ─► next command (under the lock) finds the journal ─► recover: it becomes rev-N+1
//! ```
//!
//! The journal is a whole [`Revision`] (the next one), rewritten atomically after every job's
//! outcome, so at any moment the files hold either the revision before the job or the one after
//! it. Whoever takes the state lock next turns a leftover journal into the revision it
//! describes ([`recover`]), so `deploy plan` shows exactly the work that was left. A job whose
//! registration was sent but whose outcome was not yet written is seen by the next refreshed
//! plan on the backend (its live spec), so the plan is right there too.

use std::path::PathBuf;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::frontend::JobAddress;
use crate::state::{JobRecord, Revision, STATE_FORMAT_VERSION, StateError, StateStore, write_atomic};

/// The journal file's name in a state directory.
pub const JOURNAL_FILE: &str = "apply-journal.json";

/// The in-progress revision of an apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// The serial of the revision the apply started from (`None`: first apply).
    pub base_serial: Option<u64>,
    /// Jobs whose outcome has been journalled, in order.
    pub done: Vec<JobAddress>,
    /// The revision as it stands (serial = base + 1).
    pub revision: Revision,
    #[serde(skip)]
    path: PathBuf,
}

impl Journal {
    /// Starts the journal of an apply on top of `base` (the latest revision, sealed as stored).
    /// Nothing is written until the first job's outcome.
    pub fn begin(store: &StateStore, base: Option<&Revision>, stack: &str) -> Journal {
        let revision = match base {
            Some(b) => Revision {
                serial: b.serial + 1,
                created_at: Utc::now(),
                ..b.clone()
            },
            None => Revision {
                format_version: STATE_FORMAT_VERSION,
                lineage: uuid::Uuid::new_v4().to_string(),
                serial: 1,
                created_at: Utc::now(),
                stack: stack.to_string(),
                jobs: Vec::new(),
                variables: Vec::new(),
                outputs: Vec::new(),
            },
        };
        Journal {
            base_serial: base.map(|b| b.serial),
            done: Vec::new(),
            revision,
            path: store.dir().join(JOURNAL_FILE),
        }
    }

    /// Records a job as applied (replacing its earlier record) and writes the journal.
    pub fn record(&mut self, record: JobRecord) -> Result<(), StateError> {
        let address = record.address.clone();
        match self.revision.jobs.binary_search_by(|j| j.address.cmp(&address)) {
            Ok(i) => self.revision.jobs[i] = record,
            Err(i) => self.revision.jobs.insert(i, record),
        }
        self.done.push(address);
        self.flush()
    }

    /// Records a job as gone and writes the journal.
    pub fn remove(&mut self, address: &JobAddress) -> Result<(), StateError> {
        self.revision.jobs.retain(|j| &j.address != address);
        self.done.push(address.clone());
        self.flush()
    }

    /// The record of a job as the journal has it now.
    pub fn job(&self, address: &JobAddress) -> Option<&JobRecord> {
        self.revision.job(address)
    }

    /// True once any outcome was recorded.
    pub fn has_changes(&self) -> bool {
        !self.done.is_empty()
    }

    fn flush(&self) -> Result<(), StateError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
                action: "creating",
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        write_atomic(&self.path, &bytes)
    }

    /// Ends the apply: writes the revision (when anything was recorded) and removes the journal.
    /// Returns the serial written.
    pub fn commit(mut self, store: &StateStore) -> Result<Option<u64>, StateError> {
        if !self.has_changes() {
            self.discard()?;
            return Ok(None);
        }
        self.revision.created_at = Utc::now();
        store.write(&self.revision)?;
        self.discard()?;
        Ok(Some(self.revision.serial))
    }

    /// Removes the journal file without writing a revision (nothing was changed, or every
    /// change was rolled back).
    pub fn discard(&mut self) -> Result<(), StateError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Io {
                action: "removing",
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// Turns a journal left by a killed apply into the revision it describes. Call with the state
/// lock held. Returns the serial written, if there was a journal with recorded outcomes.
pub fn recover(store: &StateStore) -> Result<Option<u64>, StateError> {
    let path = store.dir().join(JOURNAL_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Io {
                action: "reading",
                path,
                source,
            });
        }
    };
    let mut journal: Journal = serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    journal.path = path;
    let latest = store.serials()?.last().copied();
    if latest != journal.base_serial {
        // The revision was already written (killed between the write and the removal).
        journal.discard()?;
        return Ok(None);
    }
    journal.commit(store)
}

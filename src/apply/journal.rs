//! The apply journal: how a killed apply loses nothing.
//!
//! This is the write side, which the executor drives; reading a journal back is in `state`.
//!
//! ```text
//!  apply starts ─► lock held ─► journal = latest revision with serial + 1 (in memory)
//!  first outcome ─► header written atomically            (apply-journal.ndjson, line 1)
//!  jobs done ─► one line each appended ─► one fsync for all of them ─► dependents start
//!  apply ends ─► store.write(rev-N+1.json) ─► journal removed
//!  killed ─► next command (under the lock) finds the journal ─► recover: base revision +
//!            every complete line ─► rev-N+1
//! ```
//!
//! The header names the base revision; each later line is one job's outcome (its record, or
//! its removal). Appending keeps the cost of a job's durability independent of the stack's
//! size, and the outcomes that arrive together share one fsync ([`Journal::record_later`] then
//! [`Journal::sync`]): nothing that depends on them starts before it; a line torn by a kill is incomplete JSON and is ignored, which is the same as being
//! killed just before writing it. Whoever takes the state lock next turns a leftover journal
//! into the revision it describes ([`crate::state::recover_journal`], beside the file format), so
//! `deploy plan` shows exactly the work that was left. A job whose registration was sent but whose outcome was not yet written is seen
//! by the next refreshed plan on the backend (its live spec), so the plan is right there too.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;

use crate::stack::JobAddress;
use crate::state::{
    JOURNAL_FILE, JobRecord, JournalEntry as Entry, JournalHeader as Header, Revision, STATE_FORMAT_VERSION,
    StateError, StateStore, write_atomic,
};

/// The in-progress revision of an apply.
#[derive(Debug)]
pub struct Journal {
    /// The serial of the revision the apply started from (`None`: first apply).
    pub base_serial: Option<u64>,
    /// Jobs whose outcome has been journalled, in order.
    pub done: Vec<JobAddress>,
    /// The revision as it stands (serial = base + 1).
    pub revision: Revision,
    /// The apply wrote or deleted Nomad Variables: the revision is written even when no job
    /// changed.
    pub variables_changed: bool,
    path: PathBuf,
    file: Option<File>,
    /// Shared state: the journal is rewritten whole in the storage at each sync.
    remote: Option<(StateStore, Vec<u8>)>,
    /// Lines appended since the last sync.
    unsynced: bool,
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
                nomad_variables: Vec::new(),
            },
        };
        Journal {
            base_serial: base.map(|b| b.serial),
            done: Vec::new(),
            revision,
            variables_changed: false,
            path: store.dir().join(JOURNAL_FILE),
            file: None,
            remote: (!store.storage().is_local()).then(|| (store.clone(), Vec::new())),
            unsynced: false,
        }
    }

    /// Records a job as applied (replacing its earlier record) and appends it to the journal,
    /// durably.
    pub fn record(&mut self, record: JobRecord) -> Result<(), StateError> {
        self.record_later(record)?;
        self.sync()
    }

    /// Records a job as gone and appends that to the journal, durably.
    pub fn remove(&mut self, address: &JobAddress) -> Result<(), StateError> {
        self.remove_later(address)?;
        self.sync()
    }

    /// Like [`Self::record`], but durable only at the next [`Self::sync`]: outcomes that
    /// arrive together share one.
    pub fn record_later(&mut self, record: JobRecord) -> Result<(), StateError> {
        let address = record.address.clone();
        match self.revision.jobs.binary_search_by(|j| j.address.cmp(&address)) {
            Ok(i) => self.revision.jobs[i] = record.clone(),
            Err(i) => self.revision.jobs.insert(i, record.clone()),
        }
        self.done.push(address);
        self.append(&Entry::Record(Box::new(record)))
    }

    /// Like [`Self::remove`], but durable only at the next [`Self::sync`].
    pub fn remove_later(&mut self, address: &JobAddress) -> Result<(), StateError> {
        self.revision.jobs.retain(|j| &j.address != address);
        self.done.push(address.clone());
        self.append(&Entry::Remove(address.clone()))
    }

    /// Makes every line appended so far durable (one fsync, or one write of a shared state's
    /// journal); nothing to do when there is none.
    pub fn sync(&mut self) -> Result<(), StateError> {
        if !self.unsynced {
            return Ok(());
        }
        if let Some((store, buffer)) = &self.remote {
            store.storage().write_journal(buffer)?;
        } else if let Some(f) = self.file.as_mut() {
            f.sync_data().map_err(|source| StateError::Io {
                action: "syncing",
                path: self.path.clone(),
                source,
            })?;
        }
        self.unsynced = false;
        Ok(())
    }

    /// The record of a job as the journal has it now.
    pub fn job(&self, address: &JobAddress) -> Option<&JobRecord> {
        self.revision.job(address)
    }

    /// True once any outcome was recorded, or when the apply wrote Nomad Variables.
    pub fn has_changes(&self) -> bool {
        !self.done.is_empty() || self.variables_changed
    }

    /// Writes the header now rather than at the first outcome. A first apply does, so that its
    /// lineage (which the jobs it registers carry as their owner) is durable before any job
    /// is registered: a kill then still leaves a state that owns them.
    pub fn write_header(&mut self) -> Result<(), StateError> {
        self.open_file()
    }

    fn append(&mut self, entry: &Entry) -> Result<(), StateError> {
        self.open_file()?;
        self.append_line(serde_json::to_vec(entry).unwrap_or_default())
    }

    fn open_file(&mut self) -> Result<(), StateError> {
        if let Some((_, buffer)) = &self.remote {
            if buffer.is_empty() {
                let header = self.header_line();
                if let Some((store, buffer)) = &mut self.remote {
                    *buffer = header;
                    store.storage().write_journal(buffer)?;
                }
            }
            return Ok(());
        }
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
                    action: "creating",
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            write_atomic(&self.path, &self.header_line())?;
            let f = OpenOptions::new()
                .append(true)
                .open(&self.path)
                .map_err(|source| StateError::Io {
                    action: "opening",
                    path: self.path.clone(),
                    source,
                })?;
            self.file = Some(f);
        }
        Ok(())
    }

    fn header_line(&self) -> Vec<u8> {
        let header = Header {
            base_serial: self.base_serial,
            revision: Revision {
                jobs: Vec::new(),
                ..self.revision.clone()
            },
        };
        let mut bytes = serde_json::to_vec(&header).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    fn append_line(&mut self, mut line: Vec<u8>) -> Result<(), StateError> {
        line.push(b'\n');
        self.unsynced = true;
        if let Some((_, buffer)) = &mut self.remote {
            buffer.extend_from_slice(&line);
            return Ok(());
        }
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        f.write_all(&line).map_err(|source| StateError::Io {
            action: "appending to",
            path: self.path.clone(),
            source,
        })
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
        self.file = None;
        self.unsynced = false;
        if let Some((store, buffer)) = &mut self.remote {
            buffer.clear();
            return store.storage().remove_journal();
        }
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

//! The apply journal's file format and its recovery: how a killed apply loses nothing.
//!
//! ```text
//!  apply (the executor's Journal) ─► apply-journal.ndjson: header line, then one line per job
//!  killed ─► next command (under the lock) ─► recover_journal: base revision + every
//!            complete line ─► rev-N+1.json, journal removed
//! ```
//!
//! The header names the base revision; each later line is one job's outcome (its record, or
//! its removal). A line torn by a kill is incomplete JSON and is ignored, which is the same as
//! being killed just before writing it. The writer lives with the executor; reading the file
//! back is a state concern, so every command that takes the lock recovers the same way.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::error::StateError;
use super::revision::{JobRecord, Revision};
use super::store::StateStore;
use crate::stack::JobAddress;

/// The journal file's name in a state directory.
pub const JOURNAL_FILE: &str = "apply-journal.ndjson";

/// The journal's first line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalHeader {
    /// The serial of the revision the apply started from (`None`: first apply).
    pub base_serial: Option<u64>,
    /// The new revision without its jobs (lineage, serial, variables, outputs).
    pub revision: Revision,
}

/// One job's outcome, one line each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalEntry {
    /// The job as applied.
    Record(Box<JobRecord>),
    /// The job is gone.
    Remove(JobAddress),
}

impl JournalEntry {
    /// Applies this outcome to `revision`'s jobs (kept sorted by address).
    pub fn apply_to(self, revision: &mut Revision) {
        match self {
            JournalEntry::Record(r) => match revision.jobs.binary_search_by(|j| j.address.cmp(&r.address)) {
                Ok(i) => revision.jobs[i] = *r,
                Err(i) => revision.jobs.insert(i, *r),
            },
            JournalEntry::Remove(a) => revision.jobs.retain(|j| j.address != a),
        }
    }
}

/// Turns a journal left by a killed apply into the revision it describes. Call with the state
/// lock held. Returns the serial written, if there was a journal with recorded outcomes.
pub fn recover_journal(store: &StateStore) -> Result<Option<u64>, StateError> {
    let Some(bytes) = store.storage().journal()? else {
        return Ok(None);
    };
    let path = std::path::PathBuf::from(format!("{}/{JOURNAL_FILE}", store.location()));
    let mut lines = bytes
        .split(|b| *b == b'\n')
        .map(|l| std::str::from_utf8(l).map(str::to_string));
    let corrupt = |detail: String| StateError::Corrupt {
        path: path.clone(),
        detail,
    };
    let header: JournalHeader = match lines.next() {
        Some(Ok(l)) => serde_json::from_str(&l).map_err(|e| corrupt(format!("journal header: {e}")))?,
        _ => return Err(corrupt("the journal has no header".into())),
    };
    let latest = store.serials()?.last().copied();
    if latest != header.base_serial {
        // The revision was already written (killed between the write and the removal).
        remove_journal(store)?;
        return Ok(None);
    }
    let mut revision = header.revision;
    revision.jobs = match header.base_serial {
        Some(s) => store.read(s)?.jobs,
        None => Vec::new(),
    };
    let mut outcomes = 0;
    // A torn last line: the outcome was never durable, and nothing after it was written.
    for entry in lines
        .map_while(Result::ok)
        .map_while(|l| serde_json::from_str::<JournalEntry>(&l).ok())
    {
        entry.apply_to(&mut revision);
        outcomes += 1;
    }
    // A first apply's journal is written before anything is registered, so that a kill
    // still leaves the lineage its jobs carry as their owner: keep it even with no outcome.
    if outcomes == 0 && header.base_serial.is_some() {
        remove_journal(store)?;
        return Ok(None);
    }
    revision.created_at = Utc::now();
    store.write(&revision)?;
    remove_journal(store)?;
    Ok(Some(revision.serial))
}

/// Removes the journal; a journal already gone is fine.
pub fn remove_journal(store: &StateStore) -> Result<(), StateError> {
    store.storage().remove_journal()
}

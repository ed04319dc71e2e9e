//! Recorded state: what each apply did, one revision file per apply.
//!
//! ```text
//!  state/<stack>/ ── lock              OS advisory lock + who holds it
//!                 ├─ rev-000001.json   Revision { format_version, lineage, serial, jobs, ... }
//!                 ├─ rev-000002.json   written atomically, never overwritten
//!                 └─ apply-journal.ndjson  while an apply runs; recovered by the next command
//! ```
//!
//! With `stack { state { backend = "cluster" } }` the same revisions, journal and lock live in
//! the built-in cluster's KV instead ([`ClusterStorage`]); with `backend = "nomad"`, in Nomad
//! Variables under Nomad's variable lock ([`NomadStorage`]), on Nomad >= 1.7 or the built-in
//! cluster alike.
//!
//! Reading checks `format_version` before anything else: a newer file is refused, a malformed
//! one reported as corrupt, and neither is ever touched.

mod cluster;
mod edit;
mod error;
mod journal;
mod lock;
mod migrate;
mod nomad;
mod opened;
mod remote;
mod revision;
mod secret;
mod storage;
mod store;
mod variable_record;

pub use cluster::{ClusterStorage, DEFAULT_LOCK_TTL, check_prefix, default_prefix};
pub use edit::{StateEdit, StateEditError, edit_state, edited, parse_address};
pub use error::StateError;
pub use journal::{JOURNAL_FILE, JournalEntry, JournalHeader, recover_journal, remove_journal};
pub use lock::{LOCK_FILE, LockHolder, StateLock, holder_text};
pub use migrate::{Migrated, migrate};
pub use nomad::{LockTimes, NomadStorage, check_nomad_prefix, default_nomad_prefix};
pub use opened::{latest_opened, open_revision};
pub use revision::{GateResult, JobRecord, Revision, STATE_FORMAT_VERSION, ValueRecord};
pub use secret::{Opener, SEALED, Sealer, lookup, open_job, seal_job};
pub use storage::{HeldLock, LocalStorage, StateStorage};
pub use store::{StateStore, revision_file_name, write_atomic};
pub use variable_record::VariableRecord;

#[cfg(test)]
mod tests;

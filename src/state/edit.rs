//! `deploy state rm` and `deploy state mv`: change which jobs the state records without touching
//! the backend. Each edit is a new revision (same lineage, serial + 1) written under the state
//! lock; no revision file is ever changed in place, so `deploy rollback` and `state history`
//! still see what was there before.

use std::time::Duration;

use super::error::StateError;
use super::lock::LockHolder;
use super::revision::Revision;
use super::store::StateStore;
use crate::stack::JobAddress;

/// What to change.
#[derive(Clone, Debug, PartialEq)]
pub enum StateEdit {
    /// Forget a job: the backend keeps running it, the stack no longer owns it.
    Remove(JobAddress),
    /// Record a job under another address (a job moved into or out of a module).
    Move {
        /// The recorded address.
        from: JobAddress,
        /// The new address; it must end in the same job ID.
        to: JobAddress,
    },
}

/// Why an edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum StateEditError {
    /// Reading, locking or writing the state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// There is nothing to edit.
    #[error("no state in {dir}: the stack was never applied")]
    NoState {
        /// The state directory.
        dir: String,
    },
    /// The address is not recorded.
    #[error(
        "{address} is not in the latest revision ({serial}); `deploy state list` shows the recorded addresses"
    )]
    NotRecorded {
        /// The address given.
        address: JobAddress,
        /// The latest serial.
        serial: u64,
    },
    /// `mv` onto an address that is already recorded.
    #[error("{address} is already recorded; remove it first with `deploy state rm {address}`")]
    Taken {
        /// The address given.
        address: JobAddress,
    },
    /// `mv` to an address with another job ID.
    #[error(
        "{to} names job {to_id}, but the recorded job is {from_id}: a move keeps the job ID (use `{suggested}`)"
    )]
    OtherJobId {
        /// The target address.
        to: JobAddress,
        /// Its job ID.
        to_id: String,
        /// The recorded job's ID.
        from_id: String,
        /// The target with the right ID.
        suggested: String,
    },
    /// The address is not of the form `job.ID` or `module.NAME.job.ID`.
    #[error("{0:?} is not a job address: write `job.ID` or `module.NAME.job.ID`")]
    BadAddress(String),
}

/// Reads an address as the CLI takes it: `job.ID`, `module.NAME.job.ID`, or a bare job ID.
pub fn parse_address(text: &str) -> Result<JobAddress, StateEditError> {
    let bad = || StateEditError::BadAddress(text.to_owned());
    if text.is_empty() || text.len() > 512 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    if !text.contains('.') {
        return Ok(JobAddress::root(text));
    }
    let parts: Vec<&str> = text.split('.').collect();
    let n = parts.len();
    let modules_ok = parts[..n.saturating_sub(2)]
        .chunks(2)
        .all(|pair| pair.len() == 2 && pair[0] == "module" && !pair[1].is_empty());
    if n < 2 || !n.is_multiple_of(2) || parts[n - 2] != "job" || parts[n - 1].is_empty() || !modules_ok {
        return Err(bad());
    }
    Ok(JobAddress(text.to_owned()))
}

/// The revision `edit` makes of `latest`: the same lineage, the next serial, `now`.
pub fn edited(
    latest: &Revision,
    edit: &StateEdit,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Revision, StateEditError> {
    let mut next = latest.clone();
    next.serial = latest.serial + 1;
    next.created_at = now;
    let position = |a: &JobAddress| next.jobs.iter().position(|j| &j.address == a);
    let not_recorded = |address: &JobAddress| StateEditError::NotRecorded {
        address: address.clone(),
        serial: latest.serial,
    };
    match edit {
        StateEdit::Remove(address) => {
            let at = position(address).ok_or_else(|| not_recorded(address))?;
            next.jobs.remove(at);
        }
        StateEdit::Move { from, to } => {
            let at = position(from).ok_or_else(|| not_recorded(from))?;
            if position(to).is_some() {
                return Err(StateEditError::Taken { address: to.clone() });
            }
            let from_id = next.jobs[at].spec.id().to_owned();
            if to.job_id() != from_id {
                let prefix = to.module_prefix();
                let suggested = if prefix.is_empty() {
                    JobAddress::root(&from_id).0
                } else {
                    format!("{prefix}.job.{from_id}")
                };
                return Err(StateEditError::OtherJobId {
                    to: to.clone(),
                    to_id: to.job_id().to_owned(),
                    from_id,
                    suggested,
                });
            }
            next.jobs[at].address = to.clone();
            next.jobs.sort_by(|a, b| a.address.cmp(&b.address));
        }
    }
    Ok(next)
}

/// Applies `edit` to the state in `dir` as a new revision. Refused at once (without waiting)
/// while another command holds the lock.
pub fn edit_state(
    store: &StateStore,
    edit: &StateEdit,
    holder: &LockHolder,
) -> Result<Revision, StateEditError> {
    let _lock = store.lock(holder, Duration::ZERO)?;
    let latest = store.latest()?.ok_or_else(|| StateEditError::NoState {
        dir: store.location(),
    })?;
    let next = edited(&latest, edit, chrono::Utc::now())?;
    store.write(&next)?;
    Ok(next)
}

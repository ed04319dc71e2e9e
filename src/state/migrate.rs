//! `deploy state migrate`: copies a stack's state from one storage to another (local files and
//! the cluster's KV), every revision byte for byte and the journal of an interrupted apply,
//! so lineage and serials are kept. Both sides are locked while it runs.

use std::time::Duration;

use super::error::StateError;
use super::lock::LockHolder;
use super::store::StateStore;

/// What a migration copied.
#[derive(Debug, PartialEq, Eq)]
pub struct Migrated {
    /// Serials copied (those the target already held, identical, are skipped).
    pub copied: Vec<u64>,
    /// The journal of an interrupted apply was copied too.
    pub journal: bool,
    /// The lineage.
    pub lineage: String,
}

/// Copies `from` into `to`. Refused when `from` is empty, when `to` holds another lineage, or
/// when `to` holds a revision that `from` has not or holds differently.
pub fn migrate(
    from: &StateStore,
    to: &StateStore,
    holder: &LockHolder,
    timeout: Duration,
) -> Result<Migrated, StateError> {
    let _from_lock = from.lock(holder, timeout)?;
    let _to_lock = to.lock(holder, timeout)?;
    let serials = from.serials()?;
    let Some(&last) = serials.last() else {
        return Err(StateError::Refused(format!(
            "there is no state in {} to migrate (the stack was never applied there)",
            from.location()
        )));
    };
    let lineage = from.read(last)?.lineage;
    let present = to.serials()?;
    if let Some(&theirs) = present.last() {
        let target = to.read(theirs)?;
        if target.lineage != lineage {
            return Err(StateError::LineageMismatch {
                dir: to.location().into(),
                serial: theirs,
                expected: target.lineage,
                found: lineage,
            });
        }
        if let Some(extra) = present.iter().find(|s| !serials.contains(s)) {
            return Err(StateError::Refused(format!(
                "{} already holds revision {extra}, which {} has not; refusing to mix the two histories",
                to.location(),
                from.location()
            )));
        }
    }
    let mut copied = Vec::new();
    for serial in serials {
        let rev = from.read(serial)?;
        if present.contains(&serial) {
            if to.read(serial)? != rev {
                return Err(StateError::Refused(format!(
                    "revision {serial} differs between {} and {}; refusing to overwrite it",
                    from.location(),
                    to.location()
                )));
            }
            continue;
        }
        to.storage().create(serial, &rev.to_bytes())?;
        copied.push(serial);
    }
    let journal = match from.storage().journal()? {
        Some(bytes) => {
            to.storage().write_journal(&bytes)?;
            true
        }
        None => false,
    };
    Ok(Migrated {
        copied,
        journal,
        lineage,
    })
}

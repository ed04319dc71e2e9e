//! Reading a stored revision with its sensitive values decrypted, for planning against it or
//! rolling back to it. Revisions keep sensitive values sealed; only a reader that holds an age
//! identity sees the specs as applied.

use super::error::StateError;
use super::revision::Revision;
use super::secret::{Opener, open_job};
use super::store::StateStore;

/// `rev` with every sealed value opened with `identity` (the `DEPLOY_AGE_IDENTITY` value: an
/// identity or a file of them). A revision without sealed values needs no identity.
pub fn open_revision(mut rev: Revision, identity: Option<&str>) -> Result<Revision, StateError> {
    if rev.jobs.iter().all(|j| j.encrypted.is_empty())
        && rev.nomad_variables.iter().all(|v| v.encrypted.is_empty())
    {
        return Ok(rev);
    }
    let identity = identity.ok_or(StateError::NoIdentity { serial: rev.serial })?;
    let opener = Opener::from_env_value(identity)?;
    for j in &mut rev.jobs {
        if !j.encrypted.is_empty() {
            j.spec = open_job(&j.spec, &j.encrypted, &opener)?;
        }
    }
    for v in &mut rev.nomad_variables {
        v.open(&opener)?;
    }
    Ok(rev)
}

/// The store's latest revision, opened as [`open_revision`] does; `None` before the first apply.
pub fn latest_opened(store: &StateStore, identity: Option<&str>) -> Result<Option<Revision>, StateError> {
    store
        .latest()?
        .map(|rev| open_revision(rev, identity))
        .transpose()
}

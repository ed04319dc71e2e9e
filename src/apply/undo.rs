//! `-atomic`: undoing what a failed apply changed, newest change first. A created job is
//! stopped; an updated one is reverted to the version that was live before (or, where the
//! backend no longer keeps it, the recorded spec is registered again); a stopped one is
//! registered again. The journal follows each undo, so a kill here loses nothing either.

use super::event::Event;
use super::follow::Progress;
use super::journal::Journal;
use super::step::Step;
use crate::api::ApiError;
use crate::backend::Backend;
use crate::spec::diff::{DiffType, SensitivePaths, diff};
use crate::state::{Revision, StateError};

/// Finds the backend's version of a job whose spec equals `spec` (newest first).
pub async fn find_version<B: Backend>(
    backend: &B,
    namespace: &str,
    id: &str,
    spec: &crate::spec::Job,
) -> Option<u64> {
    let versions = backend.job_versions(namespace, id).await.ok()?;
    let none = SensitivePaths::new();
    // Versions registered by apply carry the ownership meta, which the stack's spec lacks.
    versions
        .into_iter()
        .find_map(|mut v| {
            crate::stack::strip_owner(&mut v);
            let v = crate::spec::admission::without_admission(v, spec);
            (diff(Some(spec), Some(&v), &none).r#type == DiffType::None).then_some(v.version)
        })
        .flatten()
}

/// Undoes one step's change: a created job is stopped, an updated or stopped one returns to
/// what was live before. On success the journal records the job as `base` had it (durably)
/// before the event; a refusal is reported and leaves the journal as it was. Returns what
/// was done and whether it was undone.
pub async fn undo_step<B: Backend>(
    backend: &B,
    step: &Step,
    journal: &mut Journal,
    base: Option<&Revision>,
    progress: &Progress,
) -> Result<(String, bool), StateError> {
    let (detail, ok) = match reverse(backend, step).await {
        Ok(detail) => {
            match base.and_then(|b| b.job(&step.address)) {
                Some(record) => journal.record(record.clone())?,
                None => journal.remove(&step.address)?,
            }
            (detail, true)
        }
        Err(e) => (format!("could not undo: {e}"), false),
    };
    progress.emit(Event::RolledBack {
        address: step.address.clone(),
        detail: detail.clone(),
        elapsed_ms: progress.elapsed_ms(),
    });
    Ok((detail, ok))
}

/// Asks the backend to reverse one step's change.
async fn reverse<B: Backend>(backend: &B, step: &Step) -> Result<String, ApiError> {
    let Some(prior) = &step.prior else {
        return backend
            .deregister_job(&step.namespace, &step.job_id, false)
            .await
            .map(|_| "stopped (it was created by this apply)".to_string());
    };
    let live = backend
        .read_job(&step.namespace, &step.job_id)
        .await
        .ok()
        .flatten();
    let current = live.as_ref().map(|l| l.version);
    let version = match prior.version.filter(|v| Some(*v) != current) {
        Some(v) => Some(v),
        None => find_version(backend, &step.namespace, &step.job_id, &prior.spec).await,
    };
    match (version, live.is_some()) {
        (Some(v), true) => backend
            .revert_job(&step.namespace, &step.job_id, v, current)
            .await
            .map(|_| format!("reverted to version {v}")),
        _ => backend
            .register_job(&prior.spec, None)
            .await
            .map(|_| "registered the recorded spec again".to_string()),
    }
}

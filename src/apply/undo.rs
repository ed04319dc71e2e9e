//! `-atomic`: undoing what a failed apply changed, newest change first. A created job is
//! stopped; an updated one is reverted to the version that was live before (or, where the
//! backend no longer keeps it, the recorded spec is registered again); a stopped one is
//! registered again. The journal follows each undo, so a kill here loses nothing either.

use super::event::Event;
use super::follow::Progress;
use super::journal::Journal;
use super::step::{Step, StepResult};
use crate::backend::Backend;
use crate::spec::diff::{DiffType, SensitivePaths, diff};
use crate::stack::JobAddress;
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
    versions
        .iter()
        .find(|v| diff(Some(spec), Some(v), &none).r#type == DiffType::None)
        .and_then(|v| v.version)
}

/// Undoes `changed` (in the order they finished) newest first. Returns what was done per job
/// and whether everything was undone.
pub async fn undo<B: Backend>(
    backend: &B,
    steps: &[Step],
    changed: &[(usize, StepResult)],
    journal: &mut Journal,
    base: Option<&Revision>,
    progress: &Progress,
) -> Result<(Vec<(JobAddress, String)>, bool), StateError> {
    let mut done = Vec::new();
    let mut all = true;
    for (idx, _) in changed.iter().rev() {
        let step = &steps[*idx];
        let result = match &step.prior {
            None => backend
                .deregister_job(&step.namespace, &step.job_id, false)
                .await
                .map(|_| "stopped (it was created by this apply)".to_string()),
            Some(prior) => {
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
        };
        match result {
            Ok(detail) => {
                match base.and_then(|b| b.job(&step.address)) {
                    Some(record) => journal.record(record.clone())?,
                    None => journal.remove(&step.address)?,
                }
                progress.emit(Event::RolledBack {
                    address: step.address.clone(),
                    detail: detail.clone(),
                    elapsed_ms: progress.elapsed_ms(),
                });
                done.push((step.address.clone(), detail));
            }
            Err(e) => {
                all = false;
                let detail = format!("could not undo: {e}");
                progress.emit(Event::RolledBack {
                    address: step.address.clone(),
                    detail: detail.clone(),
                    elapsed_ms: progress.elapsed_ms(),
                });
                done.push((step.address.clone(), detail));
            }
        }
    }
    Ok((done, all))
}

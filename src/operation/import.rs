//! `deploy import ADDR ID`: record a job that already runs on the backend as the stack's job at
//! ADDR, without registering it, once its spec is the stack's. A new revision (the first one,
//! with a new lineage, when the stack was never applied).
//!
//! ```text
//!  StackSession (locked) ─► live job ID ─► owned by another stack? refuse
//!                                      └─► diff(live, stack spec) ≠ none? refuse with the diff
//!                          ─► Journal: record (live version, no gate result) ─► revision
//! ```

use std::collections::BTreeMap;

use super::error::OperationError;
use super::session::{StackSession, sealer};
use crate::apply::Journal;
use crate::plan::{LiveSource, Painter, render_job_diff};
use crate::spec::canonicalize;
use crate::spec::diff::{DiffType, SensitivePaths, diff};
use crate::stack::JobAddress;
use crate::state::{JobRecord, seal_job};

/// What an import recorded.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ImportReport {
    /// The address recorded.
    pub address: JobAddress,
    /// The job's ID and namespace on the backend.
    pub job_id: String,
    /// Its namespace.
    pub namespace: String,
    /// The backend's version of the job.
    pub job_version: u64,
    /// The revision written.
    pub serial: u64,
}

/// Records live job `id` as the stack's job at `address`. The session must be connected.
pub async fn import_job(
    session: &StackSession,
    address: &JobAddress,
    id: &str,
) -> Result<ImportReport, OperationError> {
    let refuse = |m: String| Err(OperationError::Refused(m));
    let Some(sj) = session.stack.job(address) else {
        return refuse(format!(
            "no job {address} in the stack; `deploy plan` shows its addresses"
        ));
    };
    if sj.job.id() != id {
        return refuse(format!(
            "{address} declares job ID {:?}, not {id:?}: import the job the stack declares",
            sj.job.id()
        ));
    }
    if session.state.as_ref().is_some_and(|s| s.job(address).is_some()) {
        return refuse(format!(
            "{address} is already recorded; `deploy state rm {address}` first to record it again"
        ));
    }
    let ns = sj.job.namespace();
    let backend = session.backend()?;
    let Some(live) = backend
        .live_job(ns, id)
        .await?
        .filter(|l| l.spec.stop != Some(true))
    else {
        return refuse(format!("the backend runs no job {id:?} in namespace {ns:?}"));
    };
    let stack_name = &session.stack.settings.name;
    let lineage = session.state.as_ref().map(|s| s.lineage.as_str());
    if let Some(owner) = &live.owner
        && (owner.stack != *stack_name || lineage != Some(owner.lineage.as_str()))
    {
        return refuse(format!(
            "job {id:?} is owned by {owner}; take it over with `deploy apply -adopt {address}`"
        ));
    }
    let sensitive: SensitivePaths = sj.sensitive_paths.iter().cloned().collect();
    let d = diff(Some(&live.spec), Some(&canonicalize(&sj.job)), &sensitive);
    if d.r#type != DiffType::None {
        let mut shown = String::new();
        render_job_diff(&mut shown, &d, 2, false, &Painter::default());
        return refuse(format!(
            "job {id:?} on the backend differs from {address} in the stack (live => stack):\n{shown}\
             Nothing was recorded. Make the stack match the job, or let `deploy apply` register the stack's spec \
             (with -adopt {address} when the job is not this stack's)."
        ));
    }
    let (spec, encrypted) = if sj.sensitive_paths.is_empty() {
        (live.spec.clone(), BTreeMap::new())
    } else {
        seal_job(&live.spec, &sj.sensitive_paths, &sealer(&session.stack)?)?
    };
    let mut journal = Journal::begin(&session.store, session.state.as_ref(), stack_name);
    journal.record(JobRecord {
        address: address.clone(),
        spec,
        sensitive_paths: sj.sensitive_paths.clone(),
        encrypted,
        job_version: Some(live.version),
        job_modify_index: Some(live.modify_index),
        gate: None,
        applied_at: chrono::Utc::now(),
    })?;
    let serial = journal.commit(&session.store)?.unwrap_or_default();
    Ok(ImportReport {
        address: address.clone(),
        job_id: id.to_owned(),
        namespace: ns.to_owned(),
        job_version: live.version,
        serial,
    })
}

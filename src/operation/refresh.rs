//! `deploy apply -refresh-only`: the recorded state takes what runs on the backend, and
//! nothing is registered, stopped or gated (Terraform's `-refresh-only`).
//!
//! ```text
//!  StackSession ─► plan_refresh_only ─► Change (drifted recorded jobs, all no-op)
//!                       (caller shows, asks) ─► record_live ─► new revision
//! ```
//!
//! A job taken this way is recorded with no gate result: nothing waited for it, so the record
//! claims no health it did not see; the next `deploy apply` checks gates as usual.

use std::collections::BTreeMap;

use super::error::OperationError;
use super::session::{StackSession, sealer};
use crate::apply::{ApplyReport, Journal};
use crate::plan::{LiveView, Plan};
use crate::state::{JobRecord, seal_job};

/// Writes a revision in which every job of `plan` (a [`crate::plan::refresh_only`] plan) is
/// recorded as `live` has it, or removed where it no longer runs.
pub fn record_live(
    session: &StackSession,
    plan: &Plan,
    live: &LiveView,
) -> Result<ApplyReport, OperationError> {
    let started = std::time::Instant::now();
    let sealer = sealer(&session.stack)?;
    let base = session.store.latest()?;
    let mut journal = Journal::begin(&session.store, base.as_ref(), &session.stack.settings.name);
    for change in &plan.jobs {
        let Some(l) = live.jobs.get(&change.address) else {
            journal.remove(&change.address)?;
            continue;
        };
        let paths: Vec<String> = session
            .stack
            .job(&change.address)
            .map(|j| j.sensitive_paths.clone())
            .or_else(|| {
                session
                    .state
                    .as_ref()
                    .and_then(|s| s.job(&change.address))
                    .map(|r| r.sensitive_paths.clone())
            })
            .unwrap_or_default();
        let (spec, encrypted) = if paths.is_empty() {
            (l.spec.clone(), BTreeMap::new())
        } else {
            seal_job(&l.spec, &paths, &sealer)?
        };
        journal.record(JobRecord {
            address: change.address.clone(),
            spec,
            sensitive_paths: paths,
            encrypted,
            job_version: Some(l.version),
            job_modify_index: Some(l.modify_index),
            gate: None,
            applied_at: chrono::Utc::now(),
        })?;
    }
    let revision = journal.commit(&session.store)?;
    Ok(ApplyReport {
        success: true,
        failures: Vec::new(),
        skipped: Vec::new(),
        rolled_back: Vec::new(),
        revision,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

//! The executor: walks the steps' DAG with at most `parallelism` jobs in flight, journals each
//! outcome before anything waiting on it starts, stops starting work after a failure, and
//! with `atomic` undoes what this apply changed.
//!
//! ```text
//!  ready = steps whose waits_for all passed ─► spawn (≤ parallelism) ─► run_step
//!     ▲                                                                    │
//!     └──── passed ◄── journal.record / remove (durable) ◄── outcome ◄─────┘
//!  a failure: no new spawns; in-flight steps finish; the rest are skipped
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::event::{Event, EventSink, StepKind};
use super::follow::{Progress, run_step};
use super::journal::Journal;
use super::report::FailureReport;
use super::step::{Outcome, Step, StepResult};
use super::undo::undo;
use crate::backend::Backend;
use crate::stack::JobAddress;
use crate::state::{GateResult, JobRecord, Sealer, StateError, StateStore, seal_job};

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Jobs in flight at once (at least 1).
    pub parallelism: usize,
    /// Undo this apply's changes when a job fails.
    pub atomic: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            atomic: false,
        }
    }
}

/// What an apply did.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyReport {
    /// Every step passed.
    pub success: bool,
    /// Steps that failed, in the order they failed.
    pub failures: Vec<FailureReport>,
    /// Steps never started because of a failure.
    pub skipped: Vec<JobAddress>,
    /// `-atomic`: what was undone (address, what was done).
    pub rolled_back: Vec<(JobAddress, String)>,
    /// The revision written, if any.
    pub revision: Option<u64>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

/// Why an apply could not run or record its outcome (a job failing is not an error: see
/// [`ApplyReport::failures`]).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Writing the journal or the revision failed; the apply stopped.
    #[error("recording the apply: {0}")]
    State(#[from] StateError),
    /// The steps name a job twice.
    #[error("{0} appears twice in the apply")]
    Duplicate(JobAddress),
}

/// Runs `steps` against `backend`, journalling into `journal` and finally writing the new
/// revision to `store`. Dropping the returned future mid-way (a kill) leaves the journal as
/// of the last finished job; [`super::recover`] turns it into a revision.
pub async fn execute<B: Backend + 'static>(
    backend: Arc<B>,
    steps: Vec<Step>,
    options: &ApplyOptions,
    mut journal: Journal,
    store: &StateStore,
    sealer: &Sealer,
    sink: EventSink,
) -> Result<ApplyReport, ApplyError> {
    let progress = Progress {
        started: Instant::now(),
        sink,
    };
    let parallelism = options.parallelism.max(1);
    let mut seen = BTreeSet::new();
    for s in &steps {
        if !seen.insert(s.address.clone()) {
            return Err(ApplyError::Duplicate(s.address.clone()));
        }
    }
    progress.emit(Event::ApplyStarted {
        steps: steps.len(),
        parallelism,
    });
    let by_address: BTreeMap<JobAddress, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.address.clone(), i))
        .collect();
    let mut pending: Vec<usize> = (0..steps.len()).collect();
    let mut passed: BTreeSet<JobAddress> = BTreeSet::new();
    let mut in_flight: JoinSet<(usize, StepResult)> = JoinSet::new();
    let mut changed: Vec<(usize, StepResult)> = Vec::new();
    let mut failures = Vec::new();
    loop {
        if failures.is_empty() {
            let mut i = 0;
            while i < pending.len() && in_flight.len() < parallelism {
                let idx = pending[i];
                let ready = steps[idx]
                    .waits_for
                    .iter()
                    .all(|w| passed.contains(w) || !by_address.contains_key(w));
                if !ready {
                    i += 1;
                    continue;
                }
                pending.remove(i);
                let step = steps[idx].clone();
                progress.emit(Event::JobStarted {
                    address: step.address.clone(),
                    kind: step.kind,
                    wave: step.wave,
                    elapsed_ms: progress.elapsed_ms(),
                });
                let backend = backend.clone();
                let p = progress.clone();
                in_flight.spawn(async move {
                    let r = run_step(backend.as_ref(), &step, &p).await;
                    (idx, r)
                });
            }
        }
        let Some(joined) = in_flight.join_next().await else {
            break;
        };
        let (idx, result) = match joined {
            Ok(x) => x,
            Err(e) => {
                // A panicking step is a bug; report it as that step failing is impossible
                // without its index, so stop starting work and say so.
                failures.push(FailureReport::new(
                    &JobAddress("(unknown)".into()),
                    format!("a step panicked: {e}"),
                ));
                continue;
            }
        };
        let step = &steps[idx];
        if result.changed || (step.kind == StepKind::Check && needs_record(&journal, step)) {
            journal_outcome(&mut journal, step, &result, sealer)?;
            progress.emit(Event::Journaled {
                address: step.address.clone(),
            });
        }
        match &result.outcome {
            Outcome::Passed(_) => {
                passed.insert(step.address.clone());
            }
            Outcome::Failed(report) => {
                progress.emit(Event::JobFailed {
                    address: step.address.clone(),
                    reason: report.reason.clone(),
                    alloc: report.alloc.clone(),
                    elapsed_ms: progress.elapsed_ms(),
                });
                failures.push((**report).clone());
            }
        }
        if result.changed {
            changed.push((idx, result));
        }
    }
    let skipped: Vec<JobAddress> = pending.iter().map(|&i| steps[i].address.clone()).collect();
    for a in &skipped {
        progress.emit(Event::Skipped { address: a.clone() });
    }
    if failures.is_empty() && !skipped.is_empty() {
        failures.push(FailureReport::new(
            &skipped[0],
            "its dependencies never passed their gates (a cycle?)",
        ));
    }
    let mut rolled_back = Vec::new();
    let revision;
    if !failures.is_empty() && options.atomic && !changed.is_empty() {
        let base = journal.base_serial.map(|s| store.read(s)).transpose()?;
        let (undone, all_undone) = undo(
            backend.as_ref(),
            &steps,
            &changed,
            &mut journal,
            base.as_ref(),
            &progress,
        )
        .await?;
        rolled_back = undone;
        if all_undone {
            journal.discard()?;
            revision = None;
        } else {
            revision = journal.commit(store)?;
        }
    } else {
        revision = journal.commit(store)?;
    }
    let success = failures.is_empty();
    let elapsed_ms = progress.elapsed_ms();
    progress.emit(Event::ApplyFinished {
        success,
        revision,
        elapsed_ms,
    });
    Ok(ApplyReport {
        success,
        failures,
        skipped,
        rolled_back,
        revision,
        elapsed_ms,
    })
}

fn needs_record(journal: &Journal, step: &Step) -> bool {
    match (journal.job(&step.address), &step.spec) {
        (None, Some(_)) => true,
        // A recorded spec with sealed values cannot be compared in clear; it was recorded by
        // the apply that registered it.
        (Some(r), Some(spec)) if step.sensitive_paths.is_empty() => {
            let none = crate::spec::diff::SensitivePaths::new();
            crate::spec::diff::diff(Some(&r.spec), Some(spec), &none).r#type
                != crate::spec::diff::DiffType::None
        }
        _ => false,
    }
}

/// Writes one step's outcome into the journal (durably).
fn journal_outcome(
    journal: &mut Journal,
    step: &Step,
    result: &StepResult,
    sealer: &Sealer,
) -> Result<(), StateError> {
    let Some(spec) = &step.spec else {
        return journal.remove(&step.address);
    };
    let (sealed, encrypted) = if step.sensitive_paths.is_empty() {
        (spec.clone(), BTreeMap::new())
    } else {
        seal_job(spec, &step.sensitive_paths, sealer)?
    };
    let gate = match &result.outcome {
        Outcome::Passed(detail) => GateResult {
            gate: step.gate,
            passed: true,
            detail: detail.clone(),
        },
        Outcome::Failed(r) => GateResult {
            gate: step.gate,
            passed: false,
            detail: r.reason.clone(),
        },
    };
    journal.record(JobRecord {
        address: step.address.clone(),
        spec: sealed,
        sensitive_paths: step.sensitive_paths.clone(),
        encrypted,
        job_version: result.landed.version,
        job_modify_index: result.landed.modify_index,
        gate: Some(gate),
        applied_at: chrono::Utc::now(),
    })
}

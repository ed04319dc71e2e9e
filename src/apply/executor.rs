//! The executor: the runtime around the [`Engine`]. It feeds the engine what happened (a step
//! ended, an undo was done) and performs the actions it answers with, in order: it runs steps
//! on their own tasks (at most `parallelism`, as the engine decides), journals each outcome
//! durably before anything waiting on it starts, emits the events, undoes changes for
//! `-atomic`, and commits or discards the journal.
//!
//! Outcomes that arrive together share one fsync: the executor takes every step that has
//! ended by the time it looks, writes their lines, and holds the steps the engine starts
//! until [`Runtime::settle`] has made those lines durable (and only then says `journaled`).
//!
//! ```text
//!  Engine ── [Start, Record, Fail, Skip, Undo, Commit, Discard] ──► Runtime::perform
//!    ▲                                                                 │ run_step (task)
//!    └──── Finished(step, outcome) / Undone(step) ◄────────────────────┘ journal, events
//! ```
//!
//! Steps waiting on their evaluation or gate are woken by one event stream per apply
//! ([`super::job_watch`]) rather than each holding a blocking query.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::engine::{Action, Engine, Input, Policy, Task};
use super::event::{Event, EventSink, StepKind};
use super::follow::{Progress, Registration, run_step};
use super::job_watch::{JobWatch, follow_events};
use super::journal::Journal;
use super::report::FailureReport;
use super::step::{Landed, Outcome, Step, StepResult};
use super::undo::undo_step;
use crate::backend::Backend;
use crate::stack::JobAddress;
use crate::state::{GateResult, JobRecord, Revision, Sealer, StateError, StateStore, seal_job};

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Jobs in flight at once (at least 1).
    pub parallelism: usize,
    /// Undo this apply's changes when a job fails.
    pub atomic: bool,
    /// Promote a deployment's canaries once healthy (else its gate stops there).
    pub auto_promote: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            atomic: false,
            auto_promote: false,
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
/// of the last finished job; [`crate::state::recover_journal`] turns it into a revision.
pub async fn execute<B: Backend + 'static>(
    backend: Arc<B>,
    steps: Vec<Step>,
    options: &ApplyOptions,
    journal: Journal,
    store: &StateStore,
    sealer: &Sealer,
    sink: EventSink,
) -> Result<ApplyReport, ApplyError> {
    let tasks = steps
        .iter()
        .map(|s| Task {
            address: s.address.clone(),
            kind: s.kind,
            waits_for: s.waits_for.clone(),
        })
        .collect();
    let policy = Policy {
        parallelism: options.parallelism,
        atomic: options.atomic,
    };
    let mut engine = Engine::new(tasks, policy).map_err(ApplyError::Duplicate)?;
    let (registered, registrations) = tokio::sync::mpsc::unbounded_channel();
    let watch = JobWatch::new();
    // Ends with the apply, also when the apply's future is dropped (a kill).
    let _events = AbortOnDrop(tokio::spawn(follow_events(backend.clone(), watch.clone())));
    let progress = Progress {
        started: Instant::now(),
        sink,
        registered: Some(registered),
        auto_promote: options.auto_promote,
        watch: Some(watch),
    };
    progress.emit(Event::ApplyStarted {
        steps: steps.len(),
        parallelism: engine.parallelism(),
    });
    let by_address = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.address.clone(), i))
        .collect();
    let mut runtime = Runtime {
        backend,
        by_address,
        steps,
        progress,
        journal: Some(journal),
        store,
        sealer,
        in_flight: JoinSet::new(),
        registrations,
        results: BTreeMap::new(),
        base: None,
        revision: None,
        unsynced: Vec::new(),
        held: Vec::new(),
    };
    let mut actions: VecDeque<Action> = engine.begin().into();
    loop {
        while let Some(action) = actions.pop_front() {
            if let Some(input) = runtime.perform(action).await? {
                actions.extend(engine.handle(input));
            }
        }
        runtime.settle()?;
        if engine.is_done() {
            break;
        }
        for input in runtime.next_finished().await? {
            actions.extend(engine.handle(input));
        }
    }
    let success = engine.success();
    let elapsed_ms = runtime.progress.elapsed_ms();
    runtime.progress.emit(Event::ApplyFinished {
        success,
        revision: runtime.revision,
        elapsed_ms,
    });
    Ok(ApplyReport {
        success,
        failures: engine.failures().to_vec(),
        skipped: engine.skipped().cloned().collect(),
        rolled_back: engine.rolled_back().to_vec(),
        revision: runtime.revision,
        elapsed_ms,
    })
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What performs the engine's actions: the backend, the journal, the event sink.
struct Runtime<'a, B: Backend + 'static> {
    backend: Arc<B>,
    steps: Vec<Step>,
    /// Each step's index by its job's address.
    by_address: HashMap<JobAddress, usize>,
    progress: Progress,
    /// Taken by the commit.
    journal: Option<Journal>,
    store: &'a StateStore,
    sealer: &'a Sealer,
    in_flight: JoinSet<(usize, StepResult)>,
    /// Steps whose change landed and whose gate waits for the pending record.
    registrations: UnboundedReceiver<Registration>,
    /// Finished steps' results, until recorded (and, for changes, until undone).
    results: BTreeMap<usize, StepResult>,
    /// `-atomic`: the revision the apply started from, read at the first undo.
    base: Option<Option<Revision>>,
    /// The revision written.
    revision: Option<u64>,
    /// Steps whose outcome is written but not yet durable; announced once it is.
    unsynced: Vec<JobAddress>,
    /// Steps the engine started, held until the outcomes written before them are durable.
    held: Vec<usize>,
}

impl<B: Backend + 'static> Runtime<'_, B> {
    /// Performs one action; an undo answers at once with its input. Starts are held and
    /// outcomes left unsynced until [`Self::settle`], which undo, commit and discard call first.
    async fn perform(&mut self, action: Action) -> Result<Option<Input>, ApplyError> {
        match action {
            Action::Start(idx) => self.held.push(idx),
            Action::Record(idx) => {
                let step = &self.steps[idx];
                let journal = self
                    .journal
                    .as_mut()
                    .expect("the journal is open until the commit");
                if let Some(result) = self.results.get(&idx) {
                    journal_outcome(journal, step, result, self.sealer)?;
                }
                self.unsynced.push(step.address.clone());
            }
            Action::Fail(idx) => {
                if let Some(StepResult {
                    outcome: Outcome::Failed(report),
                    ..
                }) = self.results.get(&idx)
                {
                    self.progress.emit(Event::JobFailed {
                        address: self.steps[idx].address.clone(),
                        reason: report.reason.clone(),
                        alloc: report.alloc.clone(),
                        elapsed_ms: self.progress.elapsed_ms(),
                    });
                }
            }
            Action::Skip(idx) => self.progress.emit(Event::Skipped {
                address: self.steps[idx].address.clone(),
            }),
            Action::Undo(idx) => {
                self.settle()?;
                return self.undo(idx).await.map(Some);
            }
            Action::Commit => {
                self.settle()?;
                if let Some(journal) = self.journal.take() {
                    self.revision = journal.commit(self.store)?;
                }
            }
            Action::Discard => {
                self.settle()?;
                if let Some(journal) = self.journal.as_mut() {
                    journal.discard()?;
                }
            }
        }
        Ok(None)
    }

    /// Makes the outcomes written so far durable with one sync, announces them, then starts
    /// the steps held meanwhile (some may wait on those outcomes).
    fn settle(&mut self) -> Result<(), ApplyError> {
        if let Some(journal) = self.journal.as_mut() {
            journal.sync()?;
        }
        for address in std::mem::take(&mut self.unsynced) {
            self.progress.emit(Event::Journaled { address });
        }
        for idx in std::mem::take(&mut self.held) {
            self.start(idx);
        }
        Ok(())
    }

    /// Announces a step and runs it on its own task.
    fn start(&mut self, idx: usize) {
        let step = self.steps[idx].clone();
        self.progress.emit(Event::JobStarted {
            address: step.address.clone(),
            kind: step.kind,
            wave: step.wave,
            elapsed_ms: self.progress.elapsed_ms(),
        });
        let backend = self.backend.clone();
        let p = self.progress.clone();
        self.in_flight.spawn(async move {
            let r = run_step(backend.as_ref(), &step, &p).await;
            (idx, r)
        });
    }

    /// Waits for the next step in flight to end, and takes every other that has ended by
    /// then, journalling "registered, gate pending" for every step whose change lands
    /// meanwhile. Called only while one is in flight.
    async fn next_finished(&mut self) -> Result<Vec<Input>, ApplyError> {
        let joined = loop {
            tokio::select! {
                joined = self.in_flight.join_next() => {
                    break joined.expect("the engine waits only while a step is in flight");
                }
                Some(r) = self.registrations.recv() => {
                    let mut landed = vec![r];
                    while let Ok(r) = self.registrations.try_recv() {
                        landed.push(r);
                    }
                    self.journal_pending(landed)?;
                }
            }
        };
        let mut inputs = vec![self.finished(joined)];
        while let Some(joined) = self.in_flight.try_join_next() {
            inputs.push(self.finished(joined));
        }
        Ok(inputs)
    }

    /// Journals landed changes whose gates have not run yet, with one sync for all: a kill
    /// from here on leaves a record of each new spec whose gate did not pass, so the next plan
    /// checks it again. Each gate starts once its record is durable.
    fn journal_pending(&mut self, landed: Vec<Registration>) -> Result<(), ApplyError> {
        let journal = self
            .journal
            .as_mut()
            .expect("the journal is open until the commit");
        let mut acks = Vec::with_capacity(landed.len());
        for r in landed {
            let Some(&idx) = self.by_address.get(&r.address) else {
                continue;
            };
            // A step that ended meanwhile (a timeout) has its outcome recorded already.
            if self.results.contains_key(&idx) {
                continue;
            }
            let step = &self.steps[idx];
            let gate = GateResult {
                gate: step.gate,
                passed: false,
                detail: PENDING_DETAIL.into(),
            };
            journal_record(journal, step, &r.landed, gate, self.sealer)?;
            acks.push((idx, r));
        }
        journal.sync()?;
        // Announced once durable, as the step's gate starts.
        for (idx, r) in acks {
            self.progress.emit(Event::Registered {
                address: self.steps[idx].address.clone(),
                eval_id: r.eval_id,
                version: r.landed.version,
                elapsed_ms: self.progress.elapsed_ms(),
            });
            // A step may have ended meanwhile (a timeout); it then has nothing to wait for.
            let _ = r.ack.send(());
        }
        Ok(())
    }

    fn finished(&mut self, joined: Result<(usize, StepResult), tokio::task::JoinError>) -> Input {
        match joined {
            Ok((idx, result)) => {
                let step = &self.steps[idx];
                let stale_record = step.kind == StepKind::Check
                    && self.journal.as_ref().is_some_and(|j| needs_record(j, step));
                let outcome = match &result.outcome {
                    Outcome::Passed(detail) => Ok(detail.clone()),
                    Outcome::Failed(report) => Err(report.clone()),
                };
                let changed = result.changed;
                self.results.insert(idx, result);
                Input::Finished {
                    step: idx,
                    changed,
                    stale_record,
                    outcome,
                }
            }
            Err(e) => Input::Lost {
                message: e.to_string(),
            },
        }
    }

    /// Undoes one step's change and journals the job as the base revision had it.
    async fn undo(&mut self, idx: usize) -> Result<Input, ApplyError> {
        let journal = self
            .journal
            .as_mut()
            .expect("the journal is open until the commit");
        if self.base.is_none() {
            self.base = Some(journal.base_serial.map(|s| self.store.read(s)).transpose()?);
        }
        let base = self.base.as_ref().and_then(|b| b.as_ref());
        let (detail, ok) = undo_step(
            self.backend.as_ref(),
            &self.steps[idx],
            journal,
            base,
            &self.progress,
        )
        .await?;
        Ok(Input::Undone {
            step: idx,
            detail,
            ok,
        })
    }
}

/// A check records its outcome when the record is missing, says the gate did not pass (it
/// failed, timed out, or the apply that made it was killed) or holds another spec.
fn needs_record(journal: &Journal, step: &Step) -> bool {
    match (journal.job(&step.address), &step.spec) {
        (None, Some(_)) => true,
        (Some(r), Some(_)) if r.gate.as_ref().is_some_and(|g| !g.passed) => true,
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

/// What the record of a job says while its gate runs: the next plan reads a record whose gate
/// did not pass as work left, so an apply killed here is never taken for a success.
pub const PENDING_DETAIL: &str = "registered; the apply ended before its gate finished";

/// Writes one step's outcome into the journal (durable at its next sync).
fn journal_outcome(
    journal: &mut Journal,
    step: &Step,
    result: &StepResult,
    sealer: &Sealer,
) -> Result<(), StateError> {
    if step.spec.is_none() {
        return journal.remove_later(&step.address);
    }
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
    journal_record(journal, step, &result.landed, gate, sealer)
}

/// Records the spec a step leaves in place, as landed, with `gate` (durable at the next sync).
fn journal_record(
    journal: &mut Journal,
    step: &Step,
    landed: &Landed,
    gate: GateResult,
    sealer: &Sealer,
) -> Result<(), StateError> {
    let Some(spec) = &step.spec else {
        return journal.remove_later(&step.address);
    };
    let (sealed, encrypted) = if step.sensitive_paths.is_empty() {
        (spec.clone(), BTreeMap::new())
    } else {
        seal_job(spec, &step.sensitive_paths, sealer)?
    };
    journal.record_later(JobRecord {
        address: step.address.clone(),
        spec: sealed,
        sensitive_paths: step.sensitive_paths.clone(),
        encrypted,
        job_version: landed.version,
        job_modify_index: landed.modify_index,
        gate: Some(gate),
        applied_at: chrono::Utc::now(),
    })
}

//! The apply engine: every decision of an apply as a pure, synchronous state machine. It knows
//! which steps wait for which, how many may run at once, what a failure stops and what
//! `-atomic` undoes; it does no IO and reads no clock. The executor feeds it what happened and
//! performs the actions it answers with, in order.
//!
//! ```text
//!  begin ─► [Start…]                  Finished(step, outcome) ─► [Record?, Fail?, Start…]
//!  nothing in flight, nothing ready ─► [Skip…] then [Undo(newest changed)] or [Commit]
//!  Undone(step) ─► [Undo(next older)] … ─► [Discard] (all undone) or [Commit]
//! ```
//!
//! A gate's verdict and a step's timeout arrive as that step's outcome: the step runner owns
//! the clock and the blocking queries, so the engine is tested with plain sequences of inputs.

use std::collections::BTreeMap;

use super::event::StepKind;
use super::report::FailureReport;
use crate::stack::JobAddress;

/// What the engine needs to know of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    /// The job's address.
    pub address: JobAddress,
    /// What is done to it (a check's outcome is recorded only when the record is stale).
    pub kind: StepKind,
    /// Steps that must have passed first; addresses outside the apply are already satisfied.
    pub waits_for: Vec<JobAddress>,
}

/// How to apply: the engine's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Steps in flight at once (0 counts as 1).
    pub parallelism: usize,
    /// Undo this apply's changes when a step fails.
    pub atomic: bool,
}

/// Something that happened, fed to [`Engine::handle`].
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A step ended.
    Finished {
        /// Its index.
        step: usize,
        /// The backend was changed, whatever the gate did.
        changed: bool,
        /// The journal's record of the job differs from what the step leaves in place (asked
        /// of checks only: a check changes nothing, but a stale record is brought up to date).
        stale_record: bool,
        /// `Ok` with the gate's sentence, or the failure.
        outcome: Result<String, Box<FailureReport>>,
    },
    /// A step's task ended without an outcome (a panic: a bug, reported as a failure that
    /// names no job, since the outcome would have).
    Lost {
        /// What the runtime said.
        message: String,
    },
    /// `-atomic`: an [`Action::Undo`] was performed.
    Undone {
        /// Its index.
        step: usize,
        /// What was done, in a sentence.
        detail: String,
        /// The change was undone (false: the backend refused).
        ok: bool,
    },
}

/// What the executor must do next, in the order given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run this step (announce it, then start it).
    Start(usize),
    /// Write this step's outcome to the journal, durably, before anything that follows.
    Record(usize),
    /// Announce that this step failed.
    Fail(usize),
    /// Announce that this step will not run.
    Skip(usize),
    /// `-atomic`: undo this step's change and journal the job as it was before the apply.
    Undo(usize),
    /// Write the new revision from the journal.
    Commit,
    /// Remove the journal without a revision (every change was undone).
    Discard,
}

/// The state of one apply.
#[derive(Debug)]
pub struct Engine {
    tasks: Vec<Task>,
    /// Per step, the indices of the steps it waits for.
    deps: Vec<Vec<usize>>,
    policy: Policy,
    /// Not yet started, in the steps' order.
    pending: Vec<usize>,
    in_flight: usize,
    passed: Vec<bool>,
    /// Steps that changed the backend, in the order they finished.
    changed: Vec<usize>,
    failures: Vec<FailureReport>,
    skipped: Vec<usize>,
    rolled_back: Vec<(JobAddress, String)>,
    phase: Phase,
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Running,
    /// Undoing `changed` newest first; `next` more remain; `all` so far succeeded.
    Undoing {
        next: usize,
        all: bool,
    },
    Done,
}

impl Engine {
    /// An engine for `tasks`; `Err` names a job that appears twice.
    pub fn new(tasks: Vec<Task>, policy: Policy) -> Result<Engine, JobAddress> {
        let mut by_address = BTreeMap::new();
        for (i, t) in tasks.iter().enumerate() {
            if by_address.insert(t.address.clone(), i).is_some() {
                return Err(t.address.clone());
            }
        }
        let deps = tasks
            .iter()
            .map(|t| {
                t.waits_for
                    .iter()
                    .filter_map(|w| by_address.get(w).copied())
                    .collect()
            })
            .collect();
        Ok(Engine {
            deps,
            policy: Policy {
                parallelism: policy.parallelism.max(1),
                ..policy
            },
            pending: (0..tasks.len()).collect(),
            in_flight: 0,
            passed: vec![false; tasks.len()],
            changed: Vec::new(),
            failures: Vec::new(),
            skipped: Vec::new(),
            rolled_back: Vec::new(),
            phase: Phase::Running,
            tasks,
        })
    }

    /// Steps in flight at most.
    pub fn parallelism(&self) -> usize {
        self.policy.parallelism
    }

    /// The first actions: the steps that can start at once.
    pub fn begin(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        self.advance(&mut actions);
        actions
    }

    /// Takes in what happened and answers with what to do next.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        let mut actions = Vec::new();
        match input {
            Input::Finished {
                step,
                changed,
                stale_record,
                outcome,
            } => self.finished(step, changed, stale_record, outcome, &mut actions),
            Input::Lost { message } => {
                self.in_flight -= 1;
                self.failures.push(FailureReport::new(
                    &JobAddress("(unknown)".into()),
                    format!("a step panicked: {message}"),
                ));
            }
            Input::Undone { step, detail, ok } => {
                self.rolled_back.push((self.tasks[step].address.clone(), detail));
                if let Phase::Undoing { all, .. } = &mut self.phase {
                    *all &= ok;
                }
            }
        }
        self.advance(&mut actions);
        actions
    }

    fn finished(
        &mut self,
        step: usize,
        changed: bool,
        stale_record: bool,
        outcome: Result<String, Box<FailureReport>>,
        actions: &mut Vec<Action>,
    ) {
        self.in_flight -= 1;
        if changed || (self.tasks[step].kind == StepKind::Check && stale_record) {
            actions.push(Action::Record(step));
        }
        match outcome {
            Ok(_) => self.passed[step] = true,
            Err(report) => {
                actions.push(Action::Fail(step));
                self.failures.push(*report);
            }
        }
        if changed {
            self.changed.push(step);
        }
    }

    /// Moves on as far as possible without a new input.
    fn advance(&mut self, actions: &mut Vec<Action>) {
        match self.phase {
            Phase::Running => {
                if self.failures.is_empty() {
                    self.start_ready(actions);
                }
                if self.in_flight == 0 {
                    self.wind_up(actions);
                }
            }
            Phase::Undoing { next, all } => self.undo_next(next, all, actions),
            Phase::Done => {}
        }
    }

    /// Starts ready steps, in order, up to the parallelism.
    fn start_ready(&mut self, actions: &mut Vec<Action>) {
        let mut i = 0;
        while i < self.pending.len() && self.in_flight < self.policy.parallelism {
            let idx = self.pending[i];
            if !self.deps[idx].iter().all(|&d| self.passed[d]) {
                i += 1;
                continue;
            }
            self.pending.remove(i);
            self.in_flight += 1;
            actions.push(Action::Start(idx));
        }
    }

    /// Nothing runs and nothing more will start: skip the rest, then undo or commit.
    fn wind_up(&mut self, actions: &mut Vec<Action>) {
        self.skipped = std::mem::take(&mut self.pending);
        actions.extend(self.skipped.iter().map(|&i| Action::Skip(i)));
        if self.failures.is_empty()
            && let Some(&first) = self.skipped.first()
        {
            self.failures.push(FailureReport::new(
                &self.tasks[first].address,
                "its dependencies never passed their gates (a cycle?)",
            ));
        }
        if !self.failures.is_empty() && self.policy.atomic && !self.changed.is_empty() {
            self.undo_next(self.changed.len(), true, actions);
        } else {
            self.phase = Phase::Done;
            actions.push(Action::Commit);
        }
    }

    /// Undoes the next older change, or ends the undo.
    fn undo_next(&mut self, next: usize, all: bool, actions: &mut Vec<Action>) {
        if next == 0 {
            self.phase = Phase::Done;
            actions.push(if all { Action::Discard } else { Action::Commit });
            return;
        }
        self.phase = Phase::Undoing { next: next - 1, all };
        actions.push(Action::Undo(self.changed[next - 1]));
    }

    /// True once the journal was committed or discarded.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Every step passed.
    pub fn success(&self) -> bool {
        self.failures.is_empty()
    }

    /// Failures in the order they happened.
    pub fn failures(&self) -> &[FailureReport] {
        &self.failures
    }

    /// Steps never started, in the steps' order.
    pub fn skipped(&self) -> impl Iterator<Item = &JobAddress> {
        self.skipped.iter().map(|&i| &self.tasks[i].address)
    }

    /// `-atomic`: what was undone, newest change first.
    pub fn rolled_back(&self) -> &[(JobAddress, String)] {
        &self.rolled_back
    }
}

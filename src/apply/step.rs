//! `Step`: one job's unit of work in an apply, built from the plan before anything runs, and
//! what came of it.

use std::time::Duration;

use super::event::StepKind;
use super::report::FailureReport;
use crate::spec::Job;
use crate::stack::{Gate, JobAddress};

/// What to ask of the backend.
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    /// Register `job`; with `check_index`, only if the job's modify index still equals it
    /// (0: only if it does not exist).
    Register {
        /// The job, values in clear.
        job: Box<Job>,
        /// The modify index seen at plan time.
        check_index: Option<u64>,
    },
    /// Revert to a version the backend keeps (`prior`: only if the current version is still it).
    /// A backend without the revert endpoint gets `job` registered instead.
    Revert {
        /// The version to return to.
        version: u64,
        /// The version live at plan time.
        prior: Option<u64>,
        /// The same spec, values in clear.
        job: Box<Job>,
    },
    /// Stop the job.
    Deregister {
        /// Also purge it.
        purge: bool,
    },
    /// Change nothing; check the gate of what runs.
    Check,
}

/// What was live before this apply touched a job (for `-atomic`).
#[derive(Clone, Debug, PartialEq)]
pub struct Prior {
    /// Its spec, values in clear.
    pub spec: Job,
    /// Its version on the backend, when known.
    pub version: Option<u64>,
}

/// One job's work.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The job's address.
    pub address: JobAddress,
    /// Its namespace on the backend.
    pub namespace: String,
    /// Its ID on the backend.
    pub job_id: String,
    /// What is done, for progress.
    pub kind: StepKind,
    /// What to ask of the backend.
    pub op: Operation,
    /// The spec this step leaves in place (values in clear); `None` for stops.
    pub spec: Option<Job>,
    /// Paths in `spec` whose values are sensitive (sealed in the state).
    pub sensitive_paths: Vec<String>,
    /// The gate that must pass before dependents start.
    pub gate: Gate,
    /// How long the step may take.
    pub timeout: Duration,
    /// Steps that must have passed first.
    pub waits_for: Vec<JobAddress>,
    /// The plan's wave, for progress.
    pub wave: u32,
    /// What was live before, if anything.
    pub prior: Option<Prior>,
}

/// The backend's view of a job after its step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Landed {
    /// Job version.
    pub version: Option<u64>,
    /// `JobModifyIndex`.
    pub modify_index: Option<u64>,
}

/// How a step ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The gate passed (or the job stopped), with a sentence.
    Passed(String),
    /// It failed.
    Failed(Box<FailureReport>),
}

/// A finished step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    /// The backend was changed (registered, reverted or stopped), whatever the gate did.
    pub changed: bool,
    /// Version and index after the change.
    pub landed: Landed,
    /// The end.
    pub outcome: Outcome,
}

//! Progress of an apply as a stream of plain-data events. The executor only emits them; the
//! views (bars on a terminal, plain lines, NDJSON) each render the same stream, and tests read
//! it to check ordering.

use serde::{Deserialize, Serialize};

use super::report::AllocReport;
use crate::stack::{Gate, JobAddress};

/// What the executor does to one job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Register a new job.
    Create,
    /// Register a new version.
    Update,
    /// Revert to a version the backend still keeps.
    Revert,
    /// Stop (deregister).
    Destroy,
    /// Nothing to change; only its gate is checked.
    Check,
}

/// One progress event. `elapsed_ms` counts from the start of the apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The apply begins.
    ApplyStarted {
        /// Steps in total.
        steps: usize,
        /// Jobs at once.
        parallelism: usize,
    },
    /// A job's step began (everything it waits for passed its gate).
    JobStarted {
        /// The job.
        address: JobAddress,
        /// What is done to it.
        kind: StepKind,
        /// Its wave in the plan.
        wave: u32,
        /// Milliseconds since the apply began.
        elapsed_ms: u64,
    },
    /// The backend accepted the change.
    Registered {
        /// The job.
        address: JobAddress,
        /// The evaluation created (empty for periodic and parameterized jobs).
        eval_id: String,
        /// The job version now live.
        version: Option<u64>,
        /// Milliseconds since the apply began.
        elapsed_ms: u64,
    },
    /// Allocation counts changed while waiting for the gate.
    AllocsUpdate {
        /// The job.
        address: JobAddress,
        /// Allocations wanted.
        desired: u64,
        /// Placed.
        placed: u64,
        /// Running.
        running: u64,
        /// Healthy (per the deployment) or complete (batch).
        healthy: u64,
        /// Failed or lost.
        failed: u64,
        /// Milliseconds since the apply began.
        elapsed_ms: u64,
    },
    /// Some allocations found no room (nodes full); the step waits, within its timeout, for
    /// the blocked evaluation to place them once resources are freed.
    AwaitingCapacity {
        /// The job.
        address: JobAddress,
        /// Per group, what was full, in a sentence.
        detail: String,
        /// Milliseconds since the apply began.
        elapsed_ms: u64,
    },
    /// Every canary of the job's deployment is healthy and waits for promotion.
    AwaitingPromotion {
        /// The job.
        address: JobAddress,
        /// The deployment.
        deployment_id: String,
        /// Whether this apply promotes it (`-auto-promote`).
        auto_promote: bool,
        /// Milliseconds since the apply began.
        elapsed_ms: u64,
    },
    /// The job passed its gate; its dependents may start.
    GatePassed {
        /// The job.
        address: JobAddress,
        /// The gate.
        gate: Gate,
        /// A sentence.
        detail: String,
        /// Milliseconds since the apply began.
        elapsed_ms: u64,
    },
    /// The job was stopped.
    Stopped {
        /// The job.
        address: JobAddress,
        /// Milliseconds since the apply began.
        elapsed_ms: u64,
    },
    /// The job failed; no new jobs start.
    JobFailed {
        /// The job.
        address: JobAddress,
        /// What went wrong, in a sentence.
        reason: String,
        /// The allocation to blame, with its task events and the last lines of each task's
        /// stderr, when there is one (what the text view prints after the apply).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alloc: Option<AllocReport>,
        /// Milliseconds since the apply began.
        elapsed_ms: u64,
    },
    /// The job's outcome is durable in the state journal.
    Journaled {
        /// The job.
        address: JobAddress,
    },
    /// A job was not started because an earlier one failed.
    Skipped {
        /// The job.
        address: JobAddress,
    },
    /// `-atomic`: one change of this apply was undone.
    RolledBack {
        /// The job.
        address: JobAddress,
        /// What was done (`reverted to version 3`, `deregistered`, ...).
        detail: String,
        /// Milliseconds since the apply began.
        elapsed_ms: u64,
    },
    /// The apply ended.
    ApplyFinished {
        /// Every step passed.
        success: bool,
        /// The revision written (`None` when nothing changed or everything was rolled back).
        revision: Option<u64>,
        /// Milliseconds since the apply began.
        elapsed_ms: u64,
    },
}

impl Event {
    /// The job an event is about, if any.
    pub fn address(&self) -> Option<&JobAddress> {
        match self {
            Event::JobStarted { address, .. }
            | Event::Registered { address, .. }
            | Event::AllocsUpdate { address, .. }
            | Event::AwaitingCapacity { address, .. }
            | Event::GatePassed { address, .. }
            | Event::AwaitingPromotion { address, .. }
            | Event::Stopped { address, .. }
            | Event::JobFailed { address, .. }
            | Event::Journaled { address }
            | Event::Skipped { address }
            | Event::RolledBack { address, .. } => Some(address),
            Event::ApplyStarted { .. } | Event::ApplyFinished { .. } => None,
        }
    }
}

/// Where events go. Called from the executor's task; keep it quick.
pub type EventSink = std::sync::Arc<dyn Fn(&Event) + Send + Sync>;

//! Why an operation failed: one error type over every layer an operation drives.

use crate::api::ApiError;
use crate::apply::{ApplyError, StepError};
use crate::backend::LocalClusterError;
use crate::diag::Diagnostics;
use crate::graph::GraphErrors;
use crate::plan::{PlanError, SavedPlanError};
use crate::state::StateError;

/// An operation's failure, with the layer it came from.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// The stack did not load; every diagnostic found.
    #[error("{0}")]
    Load(Diagnostics),
    /// A file (a stack in JSON, a live view) could not be read or parsed.
    #[error("{message}: {detail}")]
    File {
        /// What went wrong, naming the file.
        message: String,
        /// The cause.
        detail: String,
    },
    /// A flag or input value is malformed or does not apply.
    #[error("{0}")]
    Input(String),
    /// The dependency graph is invalid (cycles, unknown jobs).
    #[error(transparent)]
    Graph(#[from] GraphErrors),
    /// Reading, writing or locking state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The cluster's API failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Reading live jobs for a plan failed.
    #[error("reading live jobs from {from}")]
    LiveView {
        /// The backend asked.
        from: String,
        /// Why.
        source: Box<ApiError>,
    },
    /// The local built-in cluster could not be started.
    #[error(transparent)]
    LocalCluster(#[from] LocalClusterError),
    /// Planning failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The plan touches jobs another stack owns, or that were registered by hand.
    #[error(transparent)]
    Ownership(#[from] crate::plan::OwnershipError),
    /// A saved plan does not apply any more.
    #[error(transparent)]
    SavedPlan(#[from] SavedPlanError),
    /// Turning the plan into apply steps failed.
    #[error(transparent)]
    Steps(#[from] StepError),
    /// The executor failed (not a job: the run itself).
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The scheduler's dry run says some job would not be placed: apply refused, naming why.
    #[error("{0}")]
    Unplaced(String),
    /// The stack or state does not allow the operation.
    #[error("{0}")]
    Refused(String),
}

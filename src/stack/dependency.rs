//! Dependency edges between jobs, and the per-job gate options a stack declares.

use serde::{Deserialize, Serialize};

use super::{Gate, JobAddress};
use crate::diag::SourceSpan;
use crate::spec::Duration;

/// One declared dependency edge: `from` starts only after `to` passed its gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The dependent job.
    pub from: JobAddress,
    /// The job it waits for.
    pub to: JobAddress,
    /// Explicit gate; `None` means the default for `to`'s type.
    pub gate: Option<Gate>,
    /// How long the gate may take (`None`: the apply's default).
    pub timeout: Option<Duration>,
    /// Declared (a `dependency` block or `depends_on`) or implicit (a reference).
    pub kind: DependencyKind,
    /// Where the edge was declared or the reference written.
    pub span: SourceSpan,
}

/// Where an edge came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyKind {
    /// A `dependency` block or a module's `depends_on`.
    Declared,
    /// A reference such as `job.db.id` or `module.data.address` in a job or module input.
    Reference,
}

/// Options a stack sets for one of its jobs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOptions {
    /// Gate used when this job is upstream of others.
    pub gate: Option<Gate>,
    /// How long the gate may take.
    pub timeout: Option<Duration>,
}

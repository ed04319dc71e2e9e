//! The plan as plain data: what the renderers print, what `-out` saves and what apply reads.
//! Nothing here decides from rendered text; `reason` is for people only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::diff::JobDiff;
use crate::spec::{Duration, Job};
use crate::stack::{Gate, JobAddress, Owner, VolatileField};

/// The plan JSON schema version (see `docs/plan-json.md`).
pub const PLAN_FORMAT_VERSION: &str = "1";

/// What apply would do to one job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Register a job that does not exist.
    Create,
    /// Register a new version; allocations are updated where they run.
    Update,
    /// Register a new version; allocations are replaced.
    UpdateDestructive,
    /// Deregister.
    Destroy,
    /// Nothing.
    Noop,
}

impl Action {
    /// Words for people: `create`, `update in place`, `destructive update`, `destroy`, `no-op`.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update in place",
            Action::UpdateDestructive => "destructive update",
            Action::Destroy => "destroy",
            Action::Noop => "no-op",
        }
    }

    /// Nomad's CLI marker.
    pub fn marker(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::UpdateDestructive => "-/+",
            Action::Destroy => "-",
            Action::Noop => " ",
        }
    }
}

/// An edge as the plan shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependsOn {
    /// The job waited for.
    pub address: JobAddress,
    /// Its gate.
    pub gate: Gate,
    /// The gate's timeout.
    pub timeout: Option<Duration>,
}

/// The live job differs from what the last apply recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// The recorded spec (`None`: the job is live but was never recorded).
    pub recorded: Option<Job>,
    /// The live spec (`None`: recorded but gone from the backend).
    pub live: Option<Job>,
    /// Recorded → live.
    pub diff: JobDiff,
}

/// Why some allocations of a group could not be placed (Nomad's `AllocMetric`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementFailure {
    /// Task group.
    pub group: String,
    /// Allocations that could not be placed.
    pub unplaced: u64,
    /// Constraint → nodes it filtered out.
    pub constraint_filtered: BTreeMap<String, u64>,
    /// Nodes considered.
    pub nodes_evaluated: u64,
    /// Nodes filtered by constraints.
    pub nodes_filtered: u64,
    /// Nodes without room.
    pub nodes_exhausted: u64,
    /// Resource dimension → nodes exhausted on it.
    pub dimension_exhausted: BTreeMap<String, u64>,
    /// Node → why it was not used.
    pub per_node_reasons: BTreeMap<String, String>,
}

/// The scheduler's dry run for one job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementPreview {
    /// Allocations wanted.
    pub desired: u64,
    /// Allocations that would be placed.
    pub placed: u64,
    /// Per group, why the rest would not.
    pub failures: Vec<PlacementFailure>,
    /// Why there is no preview (the server has no plan endpoint); `None` when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// For a periodic or parameterized job, the child that was dry-run in its place (the
    /// parent itself places nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
}

impl PlacementPreview {
    /// A preview that could not be made, and why.
    pub fn unavailable(why: impl Into<String>) -> Self {
        Self {
            unavailable: Some(why.into()),
            ..Self::default()
        }
    }

    /// True when some allocations would not be placed.
    pub fn fails(&self) -> bool {
        !self.failures.is_empty()
    }
}

/// A job as a backend has it now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveJob {
    /// The live spec.
    pub spec: Job,
    /// The backend's job version.
    pub version: u64,
    /// The backend's `JobModifyIndex`.
    pub modify_index: u64,
    /// The stack that registered it, from its ownership meta (stripped from `spec`); `None`
    /// when it carries none (registered by hand, or by a build before ownership was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

/// What a backend reports, as plain data for the planner. `-refresh=false` means none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveView {
    /// Live jobs by address (jobs of the stack that exist on the backend).
    pub jobs: BTreeMap<JobAddress, LiveJob>,
    /// Placement previews by address.
    pub placements: BTreeMap<JobAddress, PlacementPreview>,
}

/// One job's planned change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobChange {
    /// Address in the stack.
    pub address: JobAddress,
    /// What apply would do.
    pub action: Action,
    /// Why, in a sentence (for people; never parsed).
    pub reason: String,
    /// Field-level diff, Nomad's `JobDiff` shape.
    pub diff: JobDiff,
    /// The canonical spec apply would register (`None` for destroy and no-op); values at
    /// sensitive paths read `(sensitive)` (apply takes them from the stack). Boxed, as is
    /// `drift`: inline, a job made every change 4 KB, most of it empty in a no-op plan.
    pub after: Option<Box<Job>>,
    /// Live ≠ recorded.
    pub drift: Option<Box<Drift>>,
    /// The recorded gate did not pass (it failed, timed out, or the apply that registered the
    /// job was killed before it finished), with the recorded sentence: apply checks the gate
    /// again and records what it finds. Absent in plans of earlier builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_not_passed: Option<String>,
    /// Fields whose value comes from `uuidv4()` or `timestamp()`: they change on every plan.
    /// Absent when none (and in plans of earlier builds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volatile: Vec<VolatileField>,
    /// Scheduler dry run.
    pub placement: Option<PlacementPreview>,
    /// What this job waits for.
    pub depends_on: Vec<DependsOn>,
    /// Its wave (0 = waits for nothing).
    pub wave: u32,
    /// The `JobModifyIndex` this plan was made against (live, else recorded; `None`: new job).
    /// Apply registers with it as check-index.
    pub job_modify_index: Option<u64>,
}

impl JobChange {
    /// Apply has work for this job: a change of spec, drift between the record and the
    /// backend, or a gate the record does not show as passed.
    pub fn needs_apply(&self) -> bool {
        self.action != Action::Noop || self.drift.is_some() || self.gate_not_passed.is_some()
    }

    /// True when the job runs on the backend but this state has no record of it: apply (with
    /// `-adopt`) or `deploy import` takes it over, which is not drift.
    pub fn is_adoption(&self) -> bool {
        self.drift
            .as_ref()
            .is_some_and(|d| d.recorded.is_none() && d.live.is_some())
    }
}

/// The recorded state a plan was made against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRef {
    /// Lineage.
    pub lineage: String,
    /// Serial.
    pub serial: u64,
}

/// Counts by action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Creates.
    pub create: usize,
    /// In-place updates.
    pub update: usize,
    /// Destructive updates.
    pub update_destructive: usize,
    /// Destroys.
    pub destroy: usize,
    /// Unchanged.
    pub noop: usize,
    /// Jobs whose placement preview fails (some allocations would not be placed).
    #[serde(default)]
    pub unplaced: usize,
}

/// A whole plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`].
    pub format_version: String,
    /// Stack name.
    pub stack: String,
    /// Planned with `-destroy`.
    pub destroy: bool,
    /// Made with live data (drift, placement) rather than recorded state alone.
    pub refreshed: bool,
    /// `-target` addresses (empty: everything).
    pub targets: Vec<String>,
    /// The state revision planned against (`None`: never applied).
    pub state: Option<StateRef>,
    /// Counts.
    pub summary: Summary,
    /// Changes in wave order, then by address; destroys last.
    pub jobs: Vec<JobChange>,
    /// Nomad Variables: written before the first wave, deleted after the last destroy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<super::VariableChange>,
}

impl Plan {
    /// True when applying would change anything, including bringing the record up to what
    /// runs: a drifted job, or one whose recorded gate did not pass, is work left even when
    /// its spec matches the stack.
    pub fn has_changes(&self) -> bool {
        self.jobs.iter().any(JobChange::needs_apply)
            || self.variables.iter().any(|v| v.action != Action::Noop)
    }

    /// The jobs whose placement preview fails.
    pub fn unplaced(&self) -> impl Iterator<Item = &JobChange> {
        self.jobs
            .iter()
            .filter(|j| j.placement.as_ref().is_some_and(PlacementPreview::fails))
    }
}

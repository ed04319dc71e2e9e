//! The shared vocabulary every stage reads: [`Stack`] and what it is made of.
//!
//! ```text
//!  frontend ─► Stack { settings, jobs, dependencies, outputs, variables, modules }
//!                 └─► graph, plan, state, backend, apply, operation read it
//! ```
//!
//! `frontend` builds a `Stack`; nothing here parses or does IO, and this module uses only
//! `spec`, `api` types and `diag`, so every stage can read it without depending on the parser.

mod address;
mod dependency;
mod gate;
mod nomad_variable;
mod owner;
mod settings;
mod values;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::diag::SourceSpan;
use crate::spec::Job;
pub use address::JobAddress;
pub use dependency::{Dependency, DependencyKind, JobOptions};
pub use gate::Gate;
pub use nomad_variable::{NomadVariable, template_var_paths};
pub use owner::{OWNER_LINEAGE_META, OWNER_STACK_META, Owner, strip_owner, with_owner};
pub use settings::{BackendKind, BackendSettings, StackSettings, StateBackendKind, StateSettings};
pub use values::{ModuleInstance, Output, VariableValue};

/// A job of the stack with where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StackJob {
    /// Address in the stack.
    pub address: JobAddress,
    /// The job as written (not canonicalized), in Nomad's JSON model.
    pub job: Job,
    /// The `job` block's label.
    pub span: SourceSpan,
    /// Dotted JSON paths (`TaskGroups[0].Tasks[0].Env.TOKEN`) whose values came from sensitive
    /// variables: plans show them as `(sensitive)` and state encrypts them.
    pub sensitive_paths: Vec<String>,
    /// Fields whose value came from `uuidv4()` or `timestamp()`: evaluated anew on every load,
    /// so every plan changes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volatile: Vec<VolatileField>,
}

/// A field whose value comes from a function that gives a new value on every evaluation
/// (`uuidv4()`, `timestamp()`), as Nomad evaluates them at parse time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolatileField {
    /// Dotted JSON path in the job (`Meta.run`, `TaskGroups[0].Tasks[0].Env.STAMP`).
    pub path: String,
    /// The functions its value came from, sorted (`["timestamp", "uuidv4"]`).
    pub functions: Vec<String>,
}

impl VolatileField {
    /// `changes on every plan: uuidv4()`: the annotation plans show beside the field.
    pub fn annotation(&self) -> String {
        let calls: Vec<String> = self.functions.iter().map(|f| format!("{f}()")).collect();
        format!("changes on every plan: {}", calls.join(", "))
    }
}

/// A whole stack, ready for the graph and the planner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    /// The stack directory (or the single file given).
    pub root: PathBuf,
    /// Settings.
    pub settings: StackSettings,
    /// Jobs, sorted by address.
    pub jobs: Vec<StackJob>,
    /// Edges, declared and implicit.
    pub dependencies: Vec<Dependency>,
    /// Outputs.
    pub outputs: Vec<Output>,
    /// Resolved variables.
    pub variables: Vec<VariableValue>,
    /// Module instances.
    pub modules: Vec<ModuleInstance>,
    /// Per-job gate and timeout overrides from `dependency` blocks, keyed by the job's address.
    pub job_options: BTreeMap<JobAddress, JobOptions>,
    /// Nomad Variables the stack manages, sorted by (namespace, path).
    #[serde(default)]
    pub nomad_variables: Vec<NomadVariable>,
}

impl Stack {
    /// Finds a job by address.
    pub fn job(&self, address: &JobAddress) -> Option<&StackJob> {
        self.jobs
            .binary_search_by(|j| j.address.cmp(address))
            .ok()
            .map(|i| &self.jobs[i])
    }
}

//! `Stack`: what the front end hands to the rest of the pipeline.
//!
//! A stack is a directory of HCL files: Nomad `job` blocks (unchanged jobspec syntax) plus
//! stack-level blocks: `stack` (settings), `variable`, `locals`, `output`, `module` and
//! `dependency`. Everything here is plain data; nothing in it does IO.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::spec::{Duration, Job};

/// A place in a source file. Lines and columns are 1-based; `offset`/`len` are bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceSpan {
    /// The file, as given or found in the stack directory.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

/// A job's address in a stack: `job.ID` or `module.NAME.job.ID` (nested modules chain).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobAddress(pub String);

impl JobAddress {
    /// Address of a root-level job.
    pub fn root(id: &str) -> Self {
        JobAddress(format!("job.{id}"))
    }

    /// Address of a job inside module path `modules` (outermost first).
    pub fn in_module(modules: &[String], id: &str) -> Self {
        let mut s = String::new();
        for m in modules {
            s.push_str("module.");
            s.push_str(m);
            s.push('.');
        }
        s.push_str("job.");
        s.push_str(id);
        JobAddress(s)
    }

    /// The job ID (last segment).
    pub fn job_id(&self) -> &str {
        self.0.rsplit_once("job.").map(|(_, id)| id).unwrap_or(&self.0)
    }

    /// The module path prefix (`module.a.module.b`), or "" at the root.
    pub fn module_prefix(&self) -> &str {
        match self.0.rfind(".job.") {
            Some(i) => &self.0[..i],
            None => "",
        }
    }
}

impl std::fmt::Display for JobAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

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
}

/// How an upstream job counts as done before its dependents start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// Every allocation running and healthy for the update block's `min_healthy_time`.
    Healthy,
    /// Every allocation complete with exit code 0 (batch).
    Complete,
    /// The job is registered (periodic, parameterized).
    Registered,
    /// Running on every eligible node (system).
    Running,
}

impl Gate {
    /// Nomad-style default gate by the upstream job's type and shape.
    pub fn default_for(job: &Job) -> Gate {
        if job.is_periodic() || job.is_parameterized() {
            return Gate::Registered;
        }
        match job.job_type() {
            "batch" | "sysbatch" => Gate::Complete,
            "system" => Gate::Running,
            _ => Gate::Healthy,
        }
    }
}

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

/// An `output` block, evaluated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// Name (module outputs are prefixed `module.NAME.`).
    pub name: String,
    /// Value.
    pub value: serde_json::Value,
    /// Shown as `(sensitive)`.
    pub sensitive: bool,
    /// Description.
    pub description: Option<String>,
    /// Where it was declared.
    pub span: SourceSpan,
}

/// A resolved input variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariableValue {
    /// Name (module variables are prefixed `module.NAME.`).
    pub name: String,
    /// Value after defaults, files, environment and `-var`.
    pub value: serde_json::Value,
    /// Never shown or stored in clear.
    pub sensitive: bool,
}

/// An instantiated `module` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModuleInstance {
    /// Address: `module.NAME` (nested: `module.a.module.b`).
    pub address: String,
    /// The `source` directory, resolved.
    pub source: PathBuf,
    /// Where the block is.
    pub span: SourceSpan,
}

/// Which backend a stack deploys to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// The built-in cluster (`deploy agent`); started locally when nothing listens.
    #[default]
    Builtin,
    /// A real Nomad cluster.
    Nomad,
}

/// `stack { backend "nomad" { ... } }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendSettings {
    /// builtin or nomad.
    pub kind: BackendKind,
    /// HTTP address (`NOMAD_ADDR` when unset).
    pub address: Option<String>,
    /// ACL token (`NOMAD_TOKEN` when unset).
    pub token: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// CA certificate file.
    pub ca_cert: Option<PathBuf>,
    /// Client certificate file.
    pub client_cert: Option<PathBuf>,
    /// Client key file.
    pub client_key: Option<PathBuf>,
}

/// The `stack` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSettings {
    /// Stack name (default: the directory's name).
    pub name: String,
    /// Backend.
    pub backend: BackendSettings,
    /// State directory (default `state/<name>` beside the stack).
    pub state_dir: Option<PathBuf>,
    /// age recipients for sensitive values.
    pub age_recipients: Vec<String>,
    /// Jobs applied at once (default 10).
    pub parallelism: Option<usize>,
    /// Roll back on failure.
    pub atomic: bool,
    /// Default gate timeout.
    pub timeout: Option<Duration>,
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
}

/// Options a stack sets for one of its jobs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOptions {
    /// Gate used when this job is upstream of others.
    pub gate: Option<Gate>,
    /// How long the gate may take.
    pub timeout: Option<Duration>,
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

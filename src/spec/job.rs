//! `job`: the unit `deploy` plans and applies, in Nomad's JSON API shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::group::TaskGroup;
use super::placement::{Affinity, Constraint, Spread};
use super::policy::{MigrateStrategy, ReschedulePolicy, UpdateStrategy};

/// A Nomad job, field for field as `POST /v1/jobs` takes it and `nomad job run -output`
/// prints it: unset optional fields are `null`, durations are nanoseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Job {
    /// Region (default `global`).
    pub region: Option<String>,
    /// Namespace (default `default`).
    pub namespace: Option<String>,
    /// Job ID.
    #[serde(rename = "ID")]
    pub id: Option<String>,
    /// Display name (default: the ID).
    pub name: Option<String>,
    /// `service`, `batch`, `system`, `sysbatch`.
    pub r#type: Option<String>,
    /// 1..=100 (default 50).
    pub priority: Option<i64>,
    /// All-at-once placement.
    pub all_at_once: Option<bool>,
    /// Datacenters (default `["*"]`).
    pub datacenters: Option<Vec<String>>,
    /// Node pool (default `default`).
    pub node_pool: Option<String>,
    /// Constraints.
    pub constraints: Option<Vec<Constraint>>,
    /// Affinities.
    pub affinities: Option<Vec<Affinity>>,
    /// Task groups.
    pub task_groups: Option<Vec<TaskGroup>>,
    /// Update strategy (merged into groups).
    pub update: Option<UpdateStrategy>,
    /// Multiregion (passed through).
    pub multiregion: Option<serde_json::Value>,
    /// Spreads.
    pub spreads: Option<Vec<Spread>>,
    /// Periodic (cron) configuration.
    pub periodic: Option<PeriodicConfig>,
    /// Parameterized (dispatch) configuration.
    pub parameterized_job: Option<ParameterizedJobConfig>,
    /// Reschedule policy (merged into groups).
    pub reschedule: Option<ReschedulePolicy>,
    /// Migrate strategy (merged into groups).
    pub migrate: Option<MigrateStrategy>,
    /// Meta.
    pub meta: Option<BTreeMap<String, String>>,
    /// Consul token (transfer only).
    pub consul_token: Option<String>,
    /// Vault token (transfer only).
    pub vault_token: Option<String>,
    /// UI description and links.
    #[serde(rename = "UI", skip_serializing_if = "Option::is_none")]
    pub ui: Option<JobUiConfig>,
    /// Stopped.
    pub stop: Option<bool>,
    /// Parent (dispatched and periodic children).
    #[serde(rename = "ParentID")]
    pub parent_id: Option<String>,
    /// A dispatched child.
    pub dispatched: bool,
    /// Dispatch idempotency.
    pub dispatch_idempotency_token: Option<String>,
    /// Dispatch payload (base64).
    pub payload: Option<String>,
    /// Consul namespace.
    pub consul_namespace: Option<String>,
    /// Vault namespace.
    pub vault_namespace: Option<String>,
    /// Token that submitted the job.
    #[serde(rename = "NomadTokenID")]
    pub nomad_token_id: Option<String>,
    /// `pending`, `running`, `dead` (server-set).
    pub status: Option<String>,
    /// Status description (server-set).
    pub status_description: Option<String>,
    /// Marked stable (server-set).
    pub stable: Option<bool>,
    /// Version (server-set).
    pub version: Option<u64>,
    /// Submit time, Unix nanoseconds (server-set).
    pub submit_time: Option<i64>,
    /// Raft index (server-set).
    pub create_index: Option<u64>,
    /// Raft index (server-set).
    pub modify_index: Option<u64>,
    /// Raft index of the last spec change (server-set).
    pub job_modify_index: Option<u64>,
    /// Version tag (server-set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_tag: Option<serde_json::Value>,
}

impl Job {
    /// The job's ID, or "" when unset.
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }

    /// The job's type, `service` when unset (Nomad's default).
    pub fn job_type(&self) -> &str {
        self.r#type.as_deref().unwrap_or("service")
    }

    /// The task groups, empty when none.
    pub fn groups(&self) -> &[TaskGroup] {
        self.task_groups.as_deref().unwrap_or(&[])
    }

    /// Periodic jobs are launched by the cron on the leader.
    pub fn is_periodic(&self) -> bool {
        self.periodic.as_ref().is_some_and(|p| p.enabled.unwrap_or(true))
    }

    /// Parameterized jobs run only when dispatched.
    pub fn is_parameterized(&self) -> bool {
        self.parameterized_job.is_some() && !self.dispatched
    }

    /// The namespace, `default` when unset.
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

/// `periodic`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PeriodicConfig {
    /// Launches children when true (default true).
    pub enabled: Option<bool>,
    /// Cron expression.
    pub spec: Option<String>,
    /// Several cron expressions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specs: Option<Vec<String>>,
    /// Always `cron`.
    pub spec_type: Option<String>,
    /// Skip a launch while a child still runs.
    pub prohibit_overlap: Option<bool>,
    /// Time zone of the spec (default UTC).
    pub time_zone: Option<String>,
}

/// `parameterized`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ParameterizedJobConfig {
    /// `optional`, `required`, `forbidden`.
    pub payload: String,
    /// Required meta keys.
    pub meta_required: Option<Vec<String>>,
    /// Optional meta keys.
    pub meta_optional: Option<Vec<String>>,
}

/// `ui`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobUiConfig {
    /// Markdown description.
    pub description: String,
    /// Links.
    pub links: Option<Vec<JobUiLink>>,
}

/// One `link` of the ui block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JobUiLink {
    /// Label.
    pub label: String,
    /// URL.
    #[serde(rename = "URL")]
    pub url: String,
}

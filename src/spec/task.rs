//! `task`: one process or container of a group.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::duration::Duration;
use super::placement::{Affinity, Constraint};
use super::policy::RestartPolicy;
use super::resources::Resources;
use super::service::Service;
use super::task_parts::{
    Action, Consul, DispatchPayloadConfig, LogConfig, ScalingPolicy, TaskArtifact, TaskLifecycle, Template,
    Vault, VolumeMount, WorkloadIdentity,
};

/// A `task` block, as Nomad's JSON API spells it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Task {
    /// Task name (the block label).
    pub name: String,
    /// Driver: `docker`, `exec`, `raw_exec`, ...
    pub driver: String,
    /// User to run as.
    pub user: String,
    /// Lifecycle hook.
    pub lifecycle: Option<TaskLifecycle>,
    /// Driver configuration, free-form (keys sorted as Nomad's JSON does).
    pub config: Option<BTreeMap<String, serde_json::Value>>,
    /// Constraints.
    pub constraints: Option<Vec<Constraint>>,
    /// Affinities.
    pub affinities: Option<Vec<Affinity>>,
    /// Environment.
    pub env: Option<BTreeMap<String, String>>,
    /// Task services.
    pub services: Option<Vec<Service>>,
    /// Resources.
    pub resources: Option<Resources>,
    /// Restart policy (overrides the group's).
    pub restart_policy: Option<RestartPolicy>,
    /// Meta.
    pub meta: Option<BTreeMap<String, String>>,
    /// Time between the kill signal and SIGKILL.
    pub kill_timeout: Option<Duration>,
    /// Logs.
    pub log_config: Option<LogConfig>,
    /// Artifacts.
    pub artifacts: Option<Vec<TaskArtifact>>,
    /// Vault.
    pub vault: Option<Vault>,
    /// Templates.
    pub templates: Option<Vec<Template>>,
    /// Dispatch payload.
    pub dispatch_payload: Option<DispatchPayloadConfig>,
    /// Volume mounts.
    pub volume_mounts: Option<Vec<VolumeMount>>,
    /// CSI plugin configuration (passed through).
    #[serde(rename = "CSIPluginConfig", skip_serializing_if = "Option::is_none")]
    pub csi_plugin_config: Option<serde_json::Value>,
    /// Leader task: when it exits, the others are killed.
    pub leader: bool,
    /// Delay between deregistering services and killing.
    pub shutdown_delay: Duration,
    /// Signal to kill with.
    pub kill_signal: String,
    /// Kind (connect sidecars).
    pub kind: String,
    /// Vertical scaling policies.
    pub scaling_policies: Option<Vec<ScalingPolicy>>,
    /// Default workload identity.
    pub identity: Option<WorkloadIdentity>,
    /// Extra identities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identities: Option<Vec<WorkloadIdentity>>,
    /// Actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<Action>>,
    /// Task schedule (enterprise; passed through).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<serde_json::Value>,
    /// Consul settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consul: Option<Consul>,
}

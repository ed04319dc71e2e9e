//! The smaller blocks of a task: template, artifact, logs, lifecycle, vault, identity,
//! volume_mount, dispatch_payload, scaling, consul, action, schedule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::duration::Duration;

fn is_false(b: &bool) -> bool {
    !*b
}

/// A `template` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Template {
    /// Template file on the client.
    pub source_path: Option<String>,
    /// Output path relative to the task dir.
    pub dest_path: Option<String>,
    /// Inline template text.
    pub embedded_tmpl: Option<String>,
    /// `restart`, `signal`, `noop`, `script`.
    pub change_mode: Option<String>,
    /// Script on change.
    pub change_script: Option<ChangeScript>,
    /// Signal on change.
    pub change_signal: Option<String>,
    /// Random wait before acting on change.
    pub splay: Option<Duration>,
    /// File mode, octal string.
    pub perms: Option<String>,
    /// Owner uid.
    pub uid: Option<i64>,
    /// Owner gid.
    pub gid: Option<i64>,
    /// Left delimiter.
    pub left_delim: Option<String>,
    /// Right delimiter.
    pub right_delim: Option<String>,
    /// Load the output as environment variables.
    pub envvars: Option<bool>,
    /// Deprecated vault grace.
    pub vault_grace: Option<Duration>,
    /// Quiescence timers.
    pub wait: Option<WaitConfig>,
    /// Fail on missing map keys.
    pub err_missing_key: Option<bool>,
    /// Render once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub once: Option<bool>,
}

/// `change_script` of a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ChangeScript {
    /// Command.
    pub command: Option<String>,
    /// Arguments.
    pub args: Option<Vec<String>>,
    /// Timeout.
    pub timeout: Option<Duration>,
    /// Fail the task when the script fails.
    pub fail_on_error: Option<bool>,
}

/// `wait` of a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct WaitConfig {
    /// Minimum quiescence.
    pub min: Option<Duration>,
    /// Maximum quiescence.
    pub max: Option<Duration>,
}

/// An `artifact` to download before the task starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskArtifact {
    /// URL.
    pub getter_source: Option<String>,
    /// go-getter options (checksum, archive, ...).
    pub getter_options: Option<BTreeMap<String, String>>,
    /// HTTP headers.
    pub getter_headers: Option<BTreeMap<String, String>>,
    /// `any`, `file`, `dir`.
    pub getter_mode: Option<String>,
    /// Destination relative to the task dir.
    pub relative_dest: Option<String>,
    /// Chown to the task user.
    #[serde(skip_serializing_if = "is_false")]
    pub chown: bool,
}

/// `logs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct LogConfig {
    /// Rotated files kept.
    pub max_files: Option<i64>,
    /// Size of one file in MB.
    #[serde(rename = "MaxFileSizeMB")]
    pub max_file_size_mb: Option<i64>,
    /// Disable log collection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// `lifecycle`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskLifecycle {
    /// `prestart`, `poststart`, `poststop`.
    pub hook: String,
    /// Keep running beside the main tasks.
    pub sidecar: bool,
}

/// `vault`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Vault {
    /// Policies (legacy).
    pub policies: Option<Vec<String>>,
    /// Role.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub role: String,
    /// Namespace.
    pub namespace: Option<String>,
    /// Cluster.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Expose VAULT_TOKEN.
    pub env: Option<bool>,
    /// Do not write the token file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_file: Option<bool>,
    /// Change mode.
    pub change_mode: Option<String>,
    /// Change signal.
    pub change_signal: Option<String>,
    /// Allow expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_token_expiration: Option<bool>,
}

/// `identity`: a workload identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct WorkloadIdentity {
    /// Name (empty for the default identity).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Audiences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<String>>,
    /// Change mode.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub change_mode: String,
    /// Change signal.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub change_signal: String,
    /// Expose as env.
    pub env: bool,
    /// Write to a file.
    pub file: bool,
    /// Service name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service_name: String,
    /// TTL.
    #[serde(rename = "TTL", skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// File path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filepath: String,
}

/// `volume_mount`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeMount {
    /// Group volume name.
    pub volume: Option<String>,
    /// Mount point in the task.
    pub destination: Option<String>,
    /// Read only.
    pub read_only: Option<bool>,
    /// `private`, `host-to-task`, `bidirectional`.
    pub propagation_mode: Option<String>,
    /// SELinux label.
    #[serde(rename = "SELinuxLabel", skip_serializing_if = "Option::is_none")]
    pub selinux_label: Option<String>,
}

/// A group `volume "name" {}` request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeRequest {
    /// Name (the label).
    pub name: String,
    /// `host` or `csi`.
    pub r#type: String,
    /// Host volume or CSI volume ID.
    pub source: String,
    /// Read only.
    pub read_only: bool,
    /// Sticky (dynamic host volumes).
    #[serde(skip_serializing_if = "is_false")]
    pub sticky: bool,
    /// CSI access mode.
    pub access_mode: String,
    /// CSI attachment mode.
    pub attachment_mode: String,
    /// CSI mount options.
    pub mount_options: Option<serde_json::Value>,
    /// One volume per allocation.
    pub per_alloc: bool,
}

/// `dispatch_payload`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DispatchPayloadConfig {
    /// File the payload is written to.
    pub file: String,
}

/// `scaling` (group or task).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ScalingPolicy {
    /// Policy ID (server-set).
    #[serde(rename = "ID", skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Namespace (server-set).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `horizontal` or `vertical_cpu` / `vertical_mem`.
    pub r#type: String,
    /// What it scales.
    pub target: Option<BTreeMap<String, String>>,
    /// Minimum.
    pub min: Option<i64>,
    /// Maximum.
    pub max: Option<i64>,
    /// Autoscaler policy (opaque).
    pub policy: Option<serde_json::Map<String, serde_json::Value>>,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Raft index.
    pub create_index: u64,
    /// Raft index.
    pub modify_index: u64,
}

/// `consul` (group or task).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Consul {
    /// Consul cluster.
    pub cluster: String,
    /// Consul namespace.
    pub namespace: String,
    /// Consul partition.
    pub partition: String,
}

/// `action "name" {}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Action {
    /// Name.
    pub name: String,
    /// Command.
    pub command: String,
    /// Arguments.
    pub args: Option<Vec<String>>,
}

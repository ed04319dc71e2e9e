//! `resources`, `device`, and `ephemeral_disk`.

use serde::{Deserialize, Serialize};

use super::network::NetworkResource;
use super::placement::{Affinity, Constraint};

/// A task's `resources` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// CPU in MHz (default 100).
    #[serde(rename = "CPU")]
    pub cpu: Option<i64>,
    /// Whole reserved cores (conflicts with cpu).
    #[serde(rename = "Cores")]
    pub cores: Option<i64>,
    /// Memory in MB (default 300).
    #[serde(rename = "MemoryMB")]
    pub memory_mb: Option<i64>,
    /// Memory ceiling in MB for oversubscription.
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: Option<i64>,
    /// Disk in MB (deprecated; use ephemeral_disk).
    #[serde(rename = "DiskMB")]
    pub disk_mb: Option<i64>,
    /// Task-level networks (deprecated in Nomad).
    #[serde(rename = "Networks")]
    pub networks: Option<Vec<NetworkResource>>,
    /// Requested devices.
    #[serde(rename = "Devices")]
    pub devices: Option<Vec<RequestedDevice>>,
    /// IOPS (deprecated).
    #[serde(rename = "IOPS")]
    pub iops: Option<i64>,
    /// Size of the secrets directory in MB.
    #[serde(rename = "SecretsMB", skip_serializing_if = "Option::is_none")]
    pub secrets_mb: Option<i64>,
    /// NUMA affinity.
    #[serde(rename = "NUMA", skip_serializing_if = "Option::is_none")]
    pub numa: Option<serde_json::Value>,
}

/// `device "name" {}` inside resources.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RequestedDevice {
    /// `<vendor>/<type>/<name>`, any prefix.
    pub name: String,
    /// How many (default 1).
    pub count: Option<u64>,
    /// Device constraints.
    pub constraints: Option<Vec<Constraint>>,
    /// Device affinities.
    pub affinities: Option<Vec<Affinity>>,
}

/// A group's `ephemeral_disk`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EphemeralDisk {
    /// Keep the data on the same node across updates.
    pub sticky: Option<bool>,
    /// Move the data when the allocation moves.
    pub migrate: Option<bool>,
    /// Size in MB (default 300).
    #[serde(rename = "SizeMB")]
    pub size_mb: Option<i64>,
}

//! Nomad-native service registrations (`provider = "nomad"`), written by the client that runs
//! the allocation and read by `/v1/services`, `/v1/service/:name` and `nomadService` templates.

use serde::{Deserialize, Serialize};

/// One registered service instance, in Nomad's `ServiceRegistration` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceRegistration {
    /// Unique ID: `_nomad-task-<alloc>-<task or group>-<service>-<port label>`.
    #[serde(rename = "ID")]
    pub id: String,
    /// Service name.
    pub service_name: String,
    /// Namespace of the job.
    pub namespace: String,
    /// Node running the allocation.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Datacenter of that node.
    pub datacenter: String,
    /// The job's ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The allocation's ID.
    #[serde(rename = "AllocID")]
    pub alloc_id: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Address the service listens on.
    pub address: String,
    /// Port the service listens on.
    pub port: u16,
    /// Raft index that created the registration.
    pub create_index: u64,
    /// Raft index that last modified it.
    pub modify_index: u64,
}

//! `ServiceRegistration`: one instance of a Nomad-native service (`provider = "nomad"`), as
//! `GET /v1/services` and `GET /v1/service/:name` return it.

use serde::{Deserialize, Serialize};

/// One registered service instance.
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

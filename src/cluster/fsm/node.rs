//! Client nodes: status, scheduling eligibility, drain, meta, attributes and resources.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Nomad client node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Node {
    /// Node ID (a UUID the client chooses once and keeps).
    #[serde(rename = "ID")]
    pub id: String,
    /// Node name.
    pub name: String,
    /// Datacenter.
    pub datacenter: String,
    /// Node class.
    pub node_class: String,
    /// Node pool.
    pub node_pool: String,
    /// The client's HTTP address.
    #[serde(rename = "HTTPAddr")]
    pub http_addr: String,
    /// initializing, ready, down, disconnected.
    pub status: String,
    /// Human-readable status detail.
    pub status_description: String,
    /// When the status last changed, Unix seconds (chosen by the proposer).
    pub status_updated_at: i64,
    /// eligible or ineligible.
    pub scheduling_eligibility: String,
    /// Whether the node is draining.
    pub drain: bool,
    /// The drain strategy while draining.
    pub drain_strategy: Option<Value>,
    /// Fingerprinted attributes (`attr.*`).
    pub attributes: BTreeMap<String, String>,
    /// User metadata (`meta.*`).
    pub meta: BTreeMap<String, String>,
    /// Total resources (Nomad's NodeResources object).
    pub node_resources: Option<Value>,
    /// Reserved resources (Nomad's ReservedResources object).
    pub reserved_resources: Option<Value>,
    /// Raft index that created the node.
    pub create_index: u64,
    /// Raft index that last modified the node.
    pub modify_index: u64,
    /// Any further Nomad fields (Drivers, HostVolumes, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

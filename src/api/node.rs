//! `Node`: a client machine as `GET /v1/node/:id` returns it, and its list stub.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::NetworkResource;

/// A node's liveness as the servers see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    /// Registered, not yet fingerprinted.
    #[default]
    Initializing,
    /// Heartbeating and usable.
    Ready,
    /// Missed its heartbeat TTL: its allocations are lost.
    Down,
    /// Disconnected (allocations kept per the disconnect strategy).
    Disconnected,
    /// A status this version does not know.
    #[serde(other)]
    Unknown,
}

/// Whether new allocations may go to the node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchedulingEligibility {
    /// New allocations may be placed.
    #[default]
    Eligible,
    /// No new allocations (draining, or set by an operator).
    Ineligible,
    /// A value this version does not know (treated as ineligible).
    #[serde(other)]
    Unknown,
}

/// A client node, field for field as Nomad's `GET /v1/node/:node_id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Node {
    /// Node ID (UUID).
    #[serde(rename = "ID")]
    pub id: String,
    /// Secret ID (only ever sent to the node itself).
    #[serde(rename = "SecretID")]
    pub secret_id: String,
    /// Node name (`node.unique.name`).
    pub name: String,
    /// Datacenter.
    pub datacenter: String,
    /// Node class.
    pub node_class: String,
    /// Node pool (`default` when empty).
    pub node_pool: String,
    /// Computed class (feasibility caching key).
    pub computed_class: String,
    /// Liveness.
    pub status: NodeStatus,
    /// Why the status is what it is.
    pub status_description: String,
    /// Unix seconds of the last status change.
    pub status_updated_at: i64,
    /// Whether new work may be placed.
    pub scheduling_eligibility: SchedulingEligibility,
    /// Draining.
    pub drain: bool,
    /// The drain in progress, if any.
    pub drain_strategy: Option<DrainStrategy>,
    /// The last drain (free-form, as Nomad reports it).
    pub last_drain: Option<serde_json::Value>,
    /// Fingerprinted attributes (`${attr.*}`).
    pub attributes: BTreeMap<String, String>,
    /// Operator metadata (`${meta.*}`).
    pub meta: BTreeMap<String, String>,
    /// Links to other systems.
    pub links: BTreeMap<String, String>,
    /// Total resources.
    pub node_resources: NodeResources,
    /// Resources kept back for the host itself.
    pub reserved_resources: NodeReservedResources,
    /// Task drivers by name.
    pub drivers: BTreeMap<String, DriverInfo>,
    /// Host volumes by name.
    pub host_volumes: BTreeMap<String, HostVolumeInfo>,
    /// Host networks by name (free-form).
    pub host_networks: BTreeMap<String, serde_json::Value>,
    /// Node events (free-form).
    pub events: Option<Vec<serde_json::Value>>,
    /// Address of the node's HTTP API.
    #[serde(rename = "HTTPAddr")]
    pub http_addr: String,
    /// TLS on the node's HTTP API.
    #[serde(rename = "TLSEnabled")]
    pub tls_enabled: bool,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
}

impl Node {
    /// The node pool, `default` when unset.
    pub fn pool(&self) -> &str {
        if self.node_pool.is_empty() {
            "default"
        } else {
            &self.node_pool
        }
    }

    /// Ready and eligible for new placements.
    pub fn is_schedulable(&self) -> bool {
        self.status == NodeStatus::Ready
            && self.scheduling_eligibility == SchedulingEligibility::Eligible
            && !self.drain
            && self.drain_strategy.is_none()
    }

    /// Being drained: its allocations should move.
    pub fn is_draining(&self) -> bool {
        self.drain || self.drain_strategy.is_some()
    }

    /// Sets [`Node::computed_class`] from the fields static feasibility reads (Nomad's
    /// `ComputeClass`); the FSM calls it whenever a node is registered or re-registered.
    pub fn compute_class(&mut self) {
        self.computed_class = self.class_of();
    }

    /// Nomad's computed class, `v1:<hash>`: a 64-bit FNV-1a hash of the datacenter, node class,
    /// node pool, attributes and meta (less their `unique.*` keys), drivers (detected,
    /// healthy) and host volumes (read only). Nodes that agree on all of these pass or fail
    /// every driver, constraint and host-volume check alike, so the scheduler decides those
    /// once per class; a check that reads a unique value is never decided per class.
    /// Not unique: many nodes share one class. The hash is fixed (not the standard library's
    /// hasher, which may change between releases) so every server computes the same class.
    pub fn class_of(&self) -> String {
        let mut h = ClassHasher::default();
        h.field(b'd', self.datacenter.as_bytes());
        h.field(b'c', self.node_class.as_bytes());
        h.field(b'p', self.pool().as_bytes());
        for (tag, map) in [(b'a', &self.attributes), (b'm', &self.meta)] {
            for (k, v) in map.iter().filter(|(k, _)| !Node::is_unique_key(k)) {
                h.field(tag, k.as_bytes());
                h.field(b'=', v.as_bytes());
            }
        }
        for (name, d) in &self.drivers {
            h.field(b'r', name.as_bytes());
            h.field(b'=', &[u8::from(d.detected), u8::from(d.healthy)]);
        }
        for (name, v) in &self.host_volumes {
            h.field(b'v', name.as_bytes());
            h.field(b'=', &[u8::from(v.read_only)]);
        }
        format!("v1:{}", h.0)
    }

    /// Whether an attribute or meta key names something unique to one node (`unique.*`),
    /// which the computed class leaves out.
    pub fn is_unique_key(key: &str) -> bool {
        key.starts_with("unique.")
    }

    /// The `GET /v1/nodes` view of this node, with the optional fields asked for.
    pub fn stub_with(&self, fields: StubFields) -> NodeListStub {
        let mut stub = self.stub();
        if fields.resources {
            stub.node_resources = Some(self.node_resources.clone());
            stub.reserved_resources = Some(self.reserved_resources.clone());
        }
        if fields.os {
            let os = ["os.name", "os.version"]
                .into_iter()
                .map(|k| (k.to_owned(), self.attributes.get(k).cloned().unwrap_or_default()));
            stub.attributes = Some(os.collect());
        }
        stub
    }

    /// The `GET /v1/nodes` view of this node.
    pub fn stub(&self) -> NodeListStub {
        NodeListStub {
            address: self
                .attributes
                .get("unique.network.ip-address")
                .cloned()
                .unwrap_or_default(),
            id: self.id.clone(),
            attributes: None,
            datacenter: self.datacenter.clone(),
            name: self.name.clone(),
            node_class: self.node_class.clone(),
            node_pool: self.pool().to_string(),
            version: self.attributes.get("nomad.version").cloned().unwrap_or_default(),
            drain: self.drain,
            scheduling_eligibility: self.scheduling_eligibility,
            status: self.status,
            status_description: self.status_description.clone(),
            drivers: self.drivers.clone(),
            last_drain: self.last_drain.clone(),
            node_resources: None,
            reserved_resources: None,
            create_index: self.create_index,
            modify_index: self.modify_index,
        }
    }
}

/// FNV-1a, 64 bits, over tagged, length-prefixed fields (no two field lists hash the same
/// bytes).
struct ClassHasher(u64);

impl Default for ClassHasher {
    fn default() -> Self {
        ClassHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl ClassHasher {
    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn field(&mut self, tag: u8, value: &[u8]) {
        self.bytes(&[tag]);
        self.bytes(&(value.len() as u64).to_le_bytes());
        self.bytes(value);
    }
}

/// `DrainStrategy`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DrainStrategy {
    /// Nanoseconds before remaining allocations are force-stopped (-1: no deadline).
    pub deadline: i64,
    /// Leave system jobs on the node.
    pub ignore_system_jobs: bool,
    /// When the deadline forces the drain (RFC 3339).
    pub force_deadline: Option<String>,
    /// When the drain started (RFC 3339).
    pub started_at: Option<String>,
}

/// `NodeResources`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeResources {
    /// CPU.
    pub cpu: NodeCpuResources,
    /// Memory.
    pub memory: NodeMemoryResources,
    /// Disk.
    pub disk: NodeDiskResources,
    /// Networks.
    pub networks: Option<Vec<NetworkResource>>,
    /// Host network interfaces (free-form).
    pub node_networks: Option<Vec<serde_json::Value>>,
    /// Devices (free-form).
    pub devices: Option<Vec<serde_json::Value>>,
    /// Lowest dynamic port (default 20000).
    pub min_dynamic_port: i64,
    /// Highest dynamic port (default 32000).
    pub max_dynamic_port: i64,
}

/// CPU of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeCpuResources {
    /// Total MHz.
    pub cpu_shares: i64,
    /// Core count.
    pub total_cpu_cores: u32,
    /// Cores that may be reserved.
    pub reservable_cpu_cores: Option<Vec<u32>>,
}

/// Memory of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeMemoryResources {
    /// Total MB.
    #[serde(rename = "MemoryMB")]
    pub memory_mb: i64,
}

/// Disk of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeDiskResources {
    /// Total MB.
    #[serde(rename = "DiskMB")]
    pub disk_mb: i64,
}

/// `ReservedResources`: what the host keeps for itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeReservedResources {
    /// CPU.
    pub cpu: NodeCpuResources,
    /// Memory.
    pub memory: NodeMemoryResources,
    /// Disk.
    pub disk: NodeDiskResources,
    /// Reserved host ports.
    pub networks: NodeReservedNetworkResources,
}

/// Reserved host ports, as Nomad's port spec string (`"22,80,8000-8100"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeReservedNetworkResources {
    /// The port spec.
    pub reserved_host_ports: String,
}

/// A driver as fingerprinted on a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DriverInfo {
    /// The driver's attributes.
    pub attributes: Option<BTreeMap<String, String>>,
    /// Found on the node.
    pub detected: bool,
    /// Healthy.
    pub healthy: bool,
    /// Why (un)healthy.
    pub health_description: String,
    /// Last update (RFC 3339).
    pub update_time: Option<String>,
}

/// A host volume a node offers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HostVolumeInfo {
    /// Name (repeated from the map key by Nomad).
    pub name: String,
    /// Host path.
    pub path: String,
    /// Read only.
    pub read_only: bool,
}

/// One row of `GET /v1/nodes`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NodeListStub {
    /// Node address.
    pub address: String,
    /// Node ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Attributes: `os.name` and `os.version`, only when asked for with `?os=true`.
    pub attributes: Option<BTreeMap<String, String>>,
    /// Datacenter.
    pub datacenter: String,
    /// Name.
    pub name: String,
    /// Class.
    pub node_class: String,
    /// Pool.
    pub node_pool: String,
    /// Agent version.
    pub version: String,
    /// Draining.
    pub drain: bool,
    /// Eligibility.
    pub scheduling_eligibility: SchedulingEligibility,
    /// Status.
    pub status: NodeStatus,
    /// Status description.
    pub status_description: String,
    /// Drivers.
    pub drivers: BTreeMap<String, DriverInfo>,
    /// Last drain (free-form).
    pub last_drain: Option<serde_json::Value>,
    /// Resources, only when asked for with `?resources=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_resources: Option<NodeResources>,
    /// Reserved resources, only when asked for with `?resources=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_resources: Option<NodeReservedResources>,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
}

/// What `GET /v1/nodes` adds to each stub on request (`?resources=true`, `?os=true`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StubFields {
    /// Add `NodeResources` and `ReservedResources`.
    pub resources: bool,
    /// Add the `os.name` and `os.version` attributes.
    pub os: bool,
}

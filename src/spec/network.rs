//! `network` blocks and ports.

use serde::{Deserialize, Serialize};

/// A group or task `network` block (Nomad's NetworkResource).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkResource {
    /// `host`, `bridge`, `none`, `cni/<name>`.
    pub mode: String,
    /// Host device.
    pub device: String,
    /// CIDR (set by the scheduler).
    #[serde(rename = "CIDR")]
    pub cidr: String,
    /// IP (set by the scheduler).
    #[serde(rename = "IP")]
    pub ip: String,
    /// DNS configuration.
    #[serde(rename = "DNS")]
    pub dns: Option<DnsConfig>,
    /// Ports with a `static` value.
    pub reserved_ports: Option<Vec<Port>>,
    /// Ports the scheduler picks.
    pub dynamic_ports: Option<Vec<Port>>,
    /// Hostname inside the network namespace.
    pub hostname: String,
    /// Bandwidth (deprecated in Nomad, still accepted).
    #[serde(rename = "MBits")]
    pub mbits: Option<i64>,
    /// CNI arguments.
    #[serde(rename = "CNI", skip_serializing_if = "Option::is_none")]
    pub cni: Option<serde_json::Value>,
}

/// One `port "label" {}` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Port {
    /// The port's label (`http`): `NOMAD_PORT_http`.
    pub label: String,
    /// Static host port, or the port the scheduler picked.
    pub value: i64,
    /// Port inside the task's namespace.
    pub to: i64,
    /// Named host network.
    pub host_network: String,
    /// Allow several allocations on one static port (newer Nomad).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignore_collision: bool,
}

/// `dns` block of a network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DnsConfig {
    /// Name servers.
    pub servers: Option<Vec<String>>,
    /// Search domains.
    pub searches: Option<Vec<String>>,
    /// Resolver options.
    pub options: Option<Vec<String>>,
}

//! `service`, `check` and `check_restart`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::duration::Duration;

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &i64) -> bool {
    *n == 0
}
fn is_zero_duration(d: &Duration) -> bool {
    d.0 == 0
}

/// A `service` registration (group or task level).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Service {
    /// Service name (default `<job>-<group>-<task>`).
    pub name: String,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Tags while a canary.
    pub canary_tags: Option<Vec<String>>,
    /// Consul tag override.
    pub enable_tag_override: bool,
    /// Port label or number.
    pub port_label: String,
    /// `auto`, `host`, `driver`, `alloc`.
    pub address_mode: String,
    /// Custom address.
    pub address: String,
    /// Health checks.
    pub checks: Option<Vec<ServiceCheck>>,
    /// Restart on failing checks.
    pub check_restart: Option<CheckRestart>,
    /// Consul Connect (passed through).
    pub connect: Option<serde_json::Value>,
    /// Service meta.
    pub meta: Option<BTreeMap<String, String>>,
    /// Meta while a canary.
    pub canary_meta: Option<BTreeMap<String, String>>,
    /// Consul tagged addresses.
    pub tagged_addresses: Option<BTreeMap<String, String>>,
    /// Task providing the service (group services).
    pub task_name: String,
    /// `require_healthy`, `ignore_warnings`, `ignore`.
    pub on_update: String,
    /// `consul` or `nomad`.
    pub provider: String,
    /// Consul cluster.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Workload identity for the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<serde_json::Value>,
    /// Consul weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<serde_json::Value>,
    /// Consul service kind.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

/// A service `check`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ServiceCheck {
    /// Check name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `http`, `tcp`, `script`, `grpc`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    /// Script command.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// Script arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// HTTP path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// `http` or `https`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    /// Port label.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub port_label: String,
    /// Expose through Connect.
    #[serde(skip_serializing_if = "is_false")]
    pub expose: bool,
    /// Address mode.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub address_mode: String,
    /// Consul advertise address.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub advertise: String,
    /// Interval between runs.
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub interval: Duration,
    /// Timeout per run.
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub timeout: Duration,
    /// Status before the first run.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub initial_status: String,
    /// Notes.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// TLS server name.
    #[serde(rename = "TLSServerName", skip_serializing_if = "String::is_empty")]
    pub tls_server_name: String,
    /// Skip TLS verification.
    #[serde(rename = "TLSSkipVerify", skip_serializing_if = "is_false")]
    pub tls_skip_verify: bool,
    /// HTTP headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<BTreeMap<String, Vec<String>>>,
    /// HTTP method.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// Restart on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_restart: Option<CheckRestart>,
    /// gRPC service.
    #[serde(rename = "GRPCService", skip_serializing_if = "String::is_empty")]
    pub grpc_service: String,
    /// gRPC over TLS.
    #[serde(rename = "GRPCUseTLS", skip_serializing_if = "is_false")]
    pub grpc_use_tls: bool,
    /// Task to run script checks in.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub task_name: String,
    /// Consecutive passes before passing.
    #[serde(skip_serializing_if = "is_zero")]
    pub success_before_passing: i64,
    /// Consecutive failures before critical.
    #[serde(skip_serializing_if = "is_zero")]
    pub failures_before_critical: i64,
    /// Consecutive failures before warning.
    #[serde(skip_serializing_if = "is_zero")]
    pub failures_before_warning: i64,
    /// HTTP body.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Update behaviour.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub on_update: String,
}

/// `check_restart`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CheckRestart {
    /// Failures before restart (0 = never).
    pub limit: i64,
    /// Wait after start before counting.
    pub grace: Option<Duration>,
    /// Treat warnings as passing.
    pub ignore_warnings: bool,
}

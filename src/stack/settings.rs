//! The `stack` block's settings: name, backend, state location, encryption, apply policy.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::api::ClientConfig;
use crate::spec::Duration;

/// Which backend a stack deploys to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// The built-in cluster (`deploy agent`); started locally when nothing listens.
    #[default]
    Builtin,
    /// A real Nomad cluster.
    Nomad,
}

/// `stack { backend "nomad" { ... } }`: which kind of cluster, and how to reach it.
///
/// The connection fields are the API client's own settings, so what a stack writes is exactly
/// what the client uses; unset fields fall back to the `NOMAD_*` environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendSettings {
    /// builtin or nomad.
    pub kind: BackendKind,
    /// Address, token, namespace, region and TLS files the stack gives.
    #[serde(flatten)]
    pub connection: ClientConfig,
}

/// Where a stack's state is kept: `stack { state { backend = "local" | "cluster" | "nomad" } }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateBackendKind {
    /// Files in the state directory.
    #[default]
    Local,
    /// The built-in cluster's replicated KV, shared by everyone who uses the cluster.
    Cluster,
    /// Nomad Variables under Nomad's variable lock (Nomad >= 1.7, or the built-in cluster).
    Nomad,
}

/// The `state` block's storage settings (the directory is `StackSettings::state_dir`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSettings {
    /// local, cluster or nomad.
    pub backend: StateBackendKind,
    /// Key prefix in the cluster (default `deploy/stacks/<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The cluster lock's lease TTL (default 15s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_ttl: Option<Duration>,
    /// How long Nomad keeps a lock whose holder stopped renewing, past its time (nomad only;
    /// default 15s, Nomad's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_delay: Option<Duration>,
}

impl StateSettings {
    /// True for the default (local files).
    pub fn is_default(&self) -> bool {
        self == &StateSettings::default()
    }
}

/// The `stack` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSettings {
    /// Stack name (default: the directory's name).
    pub name: String,
    /// Backend.
    pub backend: BackendSettings,
    /// State directory (default `state/<name>` beside the stack).
    pub state_dir: Option<PathBuf>,
    /// State storage (local files unless the state block says `backend = "cluster"`).
    #[serde(default, skip_serializing_if = "StateSettings::is_default")]
    pub state: StateSettings,
    /// age recipients for sensitive values.
    pub age_recipients: Vec<String>,
    /// Jobs applied at once (default 10).
    pub parallelism: Option<usize>,
    /// Roll back on failure.
    pub atomic: bool,
    /// Default gate timeout.
    pub timeout: Option<Duration>,
}

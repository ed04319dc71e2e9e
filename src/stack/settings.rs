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

/// The `stack` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSettings {
    /// Stack name (default: the directory's name).
    pub name: String,
    /// Backend.
    pub backend: BackendSettings,
    /// State directory (default `state/<name>` beside the stack).
    pub state_dir: Option<PathBuf>,
    /// age recipients for sensitive values.
    pub age_recipients: Vec<String>,
    /// Jobs applied at once (default 10).
    pub parallelism: Option<usize>,
    /// Roll back on failure.
    pub atomic: bool,
    /// Default gate timeout.
    pub timeout: Option<Duration>,
}

//! Opening a stack's state store: local files in its state directory, or the built-in
//! cluster's KV when its state block says `backend = "cluster"`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::connect::client_config;
use super::error::OperationError;
use super::input::state_dir;
use crate::api::{ClientConfig, DEFAULT_ADDRESS};
use crate::stack::{Stack, StateBackendKind};
use crate::state::{ClusterStorage, DEFAULT_LOCK_TTL, StateStore, default_prefix};

/// Shortest and longest lock lease TTL a stack may set.
const TTL_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3600));

/// The stack's state store; `flag` is `-state DIR` (the local directory either way).
pub fn state_store(stack: &Stack, flag: Option<&Path>) -> Result<StateStore, OperationError> {
    let dir = state_dir(stack, flag);
    match stack.settings.state.backend {
        StateBackendKind::Local => Ok(StateStore::new(dir)),
        StateBackendKind::Cluster => cluster_store(stack, &dir, client_config(stack)),
    }
}

/// The stack's state in the cluster at `config` (no address: Nomad's default address).
pub fn cluster_store(
    stack: &Stack,
    dir: &Path,
    mut config: ClientConfig,
) -> Result<StateStore, OperationError> {
    if config.address.is_none() {
        config.address = Some(DEFAULT_ADDRESS.to_string());
    }
    let settings = &stack.settings.state;
    let ttl = settings
        .lock_ttl
        .map(|d| Duration::from_nanos(d.0.max(0) as u64))
        .unwrap_or(DEFAULT_LOCK_TTL);
    if ttl < TTL_RANGE.0 || ttl > TTL_RANGE.1 {
        return Err(OperationError::Refused(format!(
            "the state block's lock_ttl {ttl:?} is out of range: use 1s to 1h"
        )));
    }
    let prefix = settings
        .prefix
        .clone()
        .unwrap_or_else(|| default_prefix(&stack.settings.name));
    let storage = ClusterStorage::new(config, &prefix, dir, ttl)?;
    Ok(StateStore::with_storage(Arc::new(storage)))
}

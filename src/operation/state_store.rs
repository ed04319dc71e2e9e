//! Opening a stack's state store: local files in its state directory, the built-in cluster's
//! KV (`state { backend = "cluster" }`) or Nomad Variables (`state { backend = "nomad" }`).
//!
//! A store in a cluster is reached at the stack's backend address (its backend block, else
//! `NOMAD_ADDR`) and never in a local agent started to hold it: shared state in a throwaway
//! dev agent would be neither shared nor kept, so a stack without an address is refused.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::connect::client_config;
use super::error::OperationError;
use super::input::state_dir;
use crate::api::ClientConfig;
use crate::stack::{Stack, StateBackendKind};
use crate::state::{
    ClusterStorage, DEFAULT_LOCK_TTL, LockTimes, NomadStorage, StateStore, default_nomad_prefix,
    default_prefix,
};

/// Shortest and longest lock lease TTL a stack may set (built-in cluster).
const TTL_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3600));

/// Shortest and longest lock TTL Nomad accepts.
const NOMAD_TTL_RANGE: (Duration, Duration) = (Duration::from_secs(10), Duration::from_secs(24 * 3600));

/// Nomad's default lock delay.
const DEFAULT_LOCK_DELAY: Duration = Duration::from_secs(15);

/// The stack's state store; `flag` is `-state DIR` (the local directory either way).
pub fn state_store(stack: &Stack, flag: Option<&Path>) -> Result<StateStore, OperationError> {
    let dir = state_dir(stack, flag);
    match stack.settings.state.backend {
        StateBackendKind::Local => Ok(StateStore::new(dir)),
        StateBackendKind::Cluster => cluster_store(stack, &dir, client_config(stack)),
        StateBackendKind::Nomad => nomad_store(stack, &dir, client_config(stack)),
    }
}

fn refused(message: String) -> OperationError {
    OperationError::Refused(message)
}

/// `config` if it names an address; the refusal otherwise (no local agent is started to hold
/// a shared state).
fn with_address(config: ClientConfig, backend: &str) -> Result<ClientConfig, OperationError> {
    if config.address.is_some() {
        return Ok(config);
    }
    Err(refused(format!(
        "the stack keeps its state in a cluster (state {{ backend = \"{backend}\" }}) but names no address: \
         set `address` in its backend block or NOMAD_ADDR (no local agent is started to hold shared state)"
    )))
}

fn duration_setting(d: Option<crate::spec::Duration>, default: Duration) -> Duration {
    d.map(|d| Duration::from_nanos(d.0.max(0) as u64))
        .unwrap_or(default)
}

fn check_range(
    what: &str,
    d: Duration,
    (lo, hi): (Duration, Duration),
    range: &str,
) -> Result<(), OperationError> {
    if d < lo || d > hi {
        return Err(refused(format!(
            "the state block's {what} {d:?} is out of range: use {range}"
        )));
    }
    Ok(())
}

/// The stack's state in the built-in cluster at `config`.
pub fn cluster_store(stack: &Stack, dir: &Path, config: ClientConfig) -> Result<StateStore, OperationError> {
    let config = with_address(config, "cluster")?;
    let settings = &stack.settings.state;
    let ttl = duration_setting(settings.lock_ttl, DEFAULT_LOCK_TTL);
    check_range("lock_ttl", ttl, TTL_RANGE, "1s to 1h")?;
    let prefix = settings
        .prefix
        .clone()
        .unwrap_or_else(|| default_prefix(&stack.settings.name));
    let storage = ClusterStorage::new(config, &prefix, dir, ttl)?;
    Ok(StateStore::with_storage(Arc::new(storage)))
}

/// The stack's state in Nomad Variables of the cluster at `config`.
pub fn nomad_store(stack: &Stack, dir: &Path, config: ClientConfig) -> Result<StateStore, OperationError> {
    let config = with_address(config, "nomad")?;
    let settings = &stack.settings.state;
    let ttl = duration_setting(settings.lock_ttl, DEFAULT_LOCK_TTL);
    check_range("lock_ttl", ttl, NOMAD_TTL_RANGE, "10s to 24h (Nomad's bounds)")?;
    let delay = duration_setting(settings.lock_delay, DEFAULT_LOCK_DELAY);
    check_range(
        "lock_delay",
        delay,
        (Duration::from_millis(1), NOMAD_TTL_RANGE.1),
        "1ms to 24h",
    )?;
    let prefix = settings
        .prefix
        .clone()
        .unwrap_or_else(|| default_nomad_prefix(&stack.settings.name));
    let storage = NomadStorage::new(config, &prefix, dir, LockTimes { ttl, delay })?;
    Ok(StateStore::with_storage(Arc::new(storage)))
}

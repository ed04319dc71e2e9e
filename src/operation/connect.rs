//! Which cluster a command talks to: the stack's `backend "nomad" { address = ... }`, else
//! `NOMAD_ADDR`, else the built-in cluster at Nomad's default address, started in the
//! background (`deploy agent -dev`, data under the state directory) when nothing answers.

use std::path::Path;

use super::error::OperationError;
use crate::api::{ClientConfig, DEFAULT_ADDRESS, NomadClient};
use crate::backend::{
    NomadBackend, ensure_local_agent, is_local_agent_address, local_agent_token, resolve_client_config,
};
use crate::stack::{BackendKind, Stack};

/// The state root (`state/`) above a stack's state directory (`state/<stack>`).
pub fn state_root(state_dir: &Path) -> &Path {
    state_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The client configuration for `stack`; no address means the local built-in cluster.
pub fn client_config(stack: &Stack) -> ClientConfig {
    resolve_client_config(&stack.settings.backend, |k| std::env::var(k).ok())
}

/// Connects to the stack's backend, starting the local built-in cluster when the stack names
/// none and nothing listens; what it starts is said through `notice`.
pub async fn connect(
    stack: &Stack,
    state_dir: &Path,
    notice: &(dyn Fn(&str) + Sync),
) -> Result<NomadBackend, OperationError> {
    crate::api::install_crypto_provider();
    let mut config = client_config(stack);
    if config.address.is_none() {
        if stack.settings.backend.kind == BackendKind::Nomad {
            return Err(OperationError::Refused(
                "the stack's backend is \"nomad\" but gives no address; set `address` in its backend block or NOMAD_ADDR"
                    .into(),
            ));
        }
        config.address = Some(DEFAULT_ADDRESS.to_string());
        let root = state_root(state_dir);
        let local = ensure_local_agent_announced(root, DEFAULT_ADDRESS, notice).await?;
        if local.started {
            notice(&format!(
                "The local cluster answers at {}; it keeps running (stop it with: deploy agent stop).",
                local.address
            ));
        }
    }
    // The local agent runs with ACLs; its own token goes to it unless another is configured.
    if config.token.is_none() && is_local_agent_address(config.address(), DEFAULT_ADDRESS) {
        config.token = local_agent_token(state_root(state_dir));
    }
    let client = NomadClient::new(config)?;
    Ok(NomadBackend::new(client))
}

async fn ensure_local_agent_announced(
    root: &Path,
    address: &str,
    notice: &(dyn Fn(&str) + Sync),
) -> Result<crate::backend::LocalCluster, OperationError> {
    // Say so before waiting: starting takes a moment.
    if !answers(address).await {
        notice(&format!(
            "Starting a local cluster (deploy agent -dev, data in {}) …",
            root.join(".agent").display()
        ));
    }
    Ok(ensure_local_agent(root, address).await?)
}

async fn answers(address: &str) -> bool {
    let Ok(client) = NomadClient::new(ClientConfig::at(address)) else {
        return false;
    };
    client
        .with_retries(0)
        .get::<String>("/v1/status/leader", &[], crate::api::QueryOptions::default())
        .await
        .is_ok_and(|(l, _)| !l.is_empty())
}

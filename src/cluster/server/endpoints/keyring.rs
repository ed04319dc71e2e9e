//! The keyring's service side: sealing and opening Variables' items, the first root key on
//! demand, listing keys and rotating (`GET /v1/operator/keyring/keys`,
//! `PUT /v1/operator/keyring/rotate`).
//!
//! ```text
//!  put ─► seal(items, aad = namespace+path) with the active key ─► VarPut (ciphertext only)
//!  get ◄─ open(sealed, aad) with the key it names ◄─ state (ciphertext only)
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::api::Variable;
use crate::cluster::fsm::{Command, Outcome, SealedVariable, variable_aad};
use crate::cluster::keyring::RootKeyMeta;
use crate::cluster::server::ClusterNode;

use super::{EndpointError, Indexed};

/// How long a server waits to see its own keyring write applied locally.
const APPLY_WAIT: Duration = Duration::from_secs(10);

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// What a full rotation did.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The new active key.
    pub key: RootKeyMeta,
    /// Variables re-encrypted under it (0 unless a full rotation).
    pub rekeyed: usize,
}

impl ClusterNode {
    /// Adds a new root key and makes it active; with `only_if_none`, only when there is none
    /// yet. Returns once this server's state holds it.
    async fn add_root_key(&self, only_if_none: bool) -> Result<u64, EndpointError> {
        let key = self.keyring().new_root_key(now_nanos())?;
        let resp = self
            .write(Command::KeyringAdd {
                key: Box::new(key),
                only_if_none,
            })
            .await?;
        match resp.outcome {
            Outcome::Done => {}
            other => return Err(EndpointError::unexpected(other)),
        }
        if !self.state().wait_for_index(resp.index, APPLY_WAIT).await {
            return Err(EndpointError::Internal(
                "keyring change not applied in time".into(),
            ));
        }
        Ok(resp.index)
    }

    /// Seals `var`'s items under the active root key, creating the first key if needed.
    pub(super) async fn seal_variable(&self, var: Variable) -> Result<SealedVariable, EndpointError> {
        if self.state().read().keyring.active().is_none() {
            self.add_root_key(true).await?;
        }
        let plain = serde_json::to_vec(&var.items).map_err(|e| EndpointError::Internal(e.to_string()))?;
        let aad = variable_aad(&var.namespace, &var.path);
        let items = self.keyring().seal(&self.state().read().keyring, &aad, &plain)?;
        Ok(SealedVariable {
            namespace: var.namespace,
            path: var.path,
            create_index: var.create_index,
            modify_index: var.modify_index,
            create_time: var.create_time,
            modify_time: var.modify_time,
            items,
            lock: None,
        })
    }

    /// Opens a stored variable's items.
    pub(super) fn open_variable(&self, var: SealedVariable) -> Result<Variable, EndpointError> {
        let aad = variable_aad(&var.namespace, &var.path);
        let what = format!("variable {}/{}", var.namespace, var.path);
        let plain = self
            .keyring()
            .open(&self.state().read().keyring, &aad, &var.items, &what)?;
        let items: BTreeMap<String, String> =
            serde_json::from_slice(&plain).map_err(|e| EndpointError::Internal(format!("{what}: {e}")))?;
        Ok(Variable {
            namespace: var.namespace,
            path: var.path,
            create_index: var.create_index,
            modify_index: var.modify_index,
            create_time: var.create_time,
            modify_time: var.modify_time,
            items,
            lock: var.lock.as_deref().map(super::variables::lock_spec),
        })
    }

    /// Every root key's metadata, oldest first.
    pub async fn keyring_keys(&self) -> Result<Indexed<Vec<RootKeyMeta>>, EndpointError> {
        self.read_now(|s| {
            Ok(Indexed {
                index: s.table_index("keyring"),
                value: s.keyring.metadata(),
            })
        })
        .await
    }

    /// Makes a new root key active; older keys stay to open what they sealed. With `full`,
    /// every variable is re-encrypted under the new key (each with check-and-set, so a
    /// concurrent write wins and is already under a current key).
    pub async fn keyring_rotate(&self, full: bool) -> Result<Indexed<Rotated>, EndpointError> {
        let index = self.add_root_key(false).await?;
        let rekeyed = if full { self.rekey_variables().await? } else { 0 };
        let key = self
            .state()
            .read()
            .keyring
            .metadata()
            .into_iter()
            .find(|k| k.create_index == index)
            .ok_or_else(|| EndpointError::Internal("rotated key not found".into()))?;
        Ok(Indexed {
            index,
            value: Rotated { key, rekeyed },
        })
    }

    /// Re-seals every variable not yet under the active key; the number re-sealed.
    async fn rekey_variables(&self) -> Result<usize, EndpointError> {
        let stale: Vec<SealedVariable> = {
            let state = self.state().read();
            let active = state.keyring.active.clone();
            state
                .variables_with_prefix("*", "")
                .filter(|v| v.items.key_id != active)
                .cloned()
                .collect()
        };
        let mut rekeyed = 0;
        for old in stale {
            let cas = Some(old.modify_index);
            // A locked variable is re-sealed under its lock, which the write keeps.
            let lock = old.lock.clone();
            let mut sealed = self.seal_variable(self.open_variable(old)?).await?;
            sealed.lock = lock;
            let resp = self
                .write(Command::VarPut {
                    var: sealed,
                    cas,
                    now: now_nanos(),
                })
                .await?;
            if matches!(resp.outcome, Outcome::Variable(_)) {
                rekeyed += 1;
            }
        }
        Ok(rekeyed)
    }
}

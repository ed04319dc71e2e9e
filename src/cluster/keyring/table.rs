//! The replicated keyring table: root keys, each wrapped under the KEK, and which one seals
//! new values. Plain data, kept in the FSM and its snapshots.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cipher::Sealed;

/// A root key as Raft carries it: never in clear.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WrappedKey {
    /// Key ID (a UUID).
    #[serde(rename = "KeyID")]
    pub key_id: String,
    /// Cipher the key is for.
    pub algorithm: String,
    /// Unix nanoseconds.
    pub create_time: i64,
    /// Raft index that added the key.
    pub create_index: u64,
    /// The 32 key bytes sealed under the KEK (the sealed value's key ID is the KEK's
    /// fingerprint).
    pub wrapped: Sealed,
}

/// Whether a key seals new values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Seals new values.
    Active,
    /// Kept to open what it sealed.
    Inactive,
}

/// Nomad's root key metadata (`GET /v1/operator/keyring/keys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootKeyMeta {
    /// Key ID.
    #[serde(rename = "KeyID")]
    pub key_id: String,
    /// Cipher.
    pub algorithm: String,
    /// Unix nanoseconds.
    pub create_time: i64,
    /// Raft index that added the key.
    pub create_index: u64,
    /// Raft index of the last change of its state.
    pub modify_index: u64,
    /// `active` or `inactive`.
    pub state: KeyState,
}

/// Every root key and the active one's ID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyringTable {
    /// ID of the key that seals new values ("" before the first key).
    pub active: String,
    /// Raft index at which `active` last changed.
    pub active_index: u64,
    /// Key ID → wrapped key.
    pub keys: BTreeMap<String, WrappedKey>,
}

impl KeyringTable {
    /// Adds `key` at `index` and makes it the active key.
    pub fn add_active(&mut self, index: u64, mut key: WrappedKey) {
        key.create_index = index;
        self.active = key.key_id.clone();
        self.active_index = index;
        self.keys.insert(key.key_id.clone(), key);
    }

    /// The active key, if there is one.
    pub fn active(&self) -> Option<&WrappedKey> {
        self.keys.get(&self.active)
    }

    /// The key with ID `id`.
    pub fn get(&self, id: &str) -> Option<&WrappedKey> {
        self.keys.get(id)
    }

    /// Every key's metadata, oldest first.
    pub fn metadata(&self) -> Vec<RootKeyMeta> {
        let mut list: Vec<RootKeyMeta> = self
            .keys
            .values()
            .map(|k| {
                let active = k.key_id == self.active;
                RootKeyMeta {
                    key_id: k.key_id.clone(),
                    algorithm: k.algorithm.clone(),
                    create_time: k.create_time,
                    create_index: k.create_index,
                    modify_index: if active { self.active_index } else { k.create_index },
                    state: if active {
                        KeyState::Active
                    } else {
                        KeyState::Inactive
                    },
                }
            })
            .collect();
        list.sort_by_key(|m| (m.create_index, m.key_id.clone()));
        list
    }
}

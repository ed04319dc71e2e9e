//! A server's working keyring: its KEK and the root keys it has unwrapped so far (in memory
//! only). Sealing and opening take the replicated [`KeyringTable`] so that every server agrees
//! on which keys exist; only the KEK differs in where it comes from.

use std::collections::HashMap;
use std::sync::Mutex;

use super::cipher::{Sealed, open, random_key, seal};
use super::error::KeyringError;
use super::kek::Kek;
use super::table::{KeyringTable, WrappedKey};

/// The KEK and a cache of unwrapped root keys.
#[derive(Debug)]
pub struct Keyring {
    kek: Kek,
    unwrapped: Mutex<HashMap<String, [u8; 32]>>,
}

/// Associated data of a wrapped root key: the wrap cannot be swapped between key IDs.
fn wrap_aad(key_id: &str) -> Vec<u8> {
    format!("deploy-root-key\0{key_id}").into_bytes()
}

impl Keyring {
    /// A keyring with this server's KEK.
    pub fn new(kek: Kek) -> Self {
        Self {
            kek,
            unwrapped: Mutex::default(),
        }
    }

    /// This server's KEK fingerprint.
    pub fn kek_fingerprint(&self) -> &str {
        self.kek.fingerprint()
    }

    /// A new random root key, wrapped for Raft; `now` is its creation time (Unix nanoseconds).
    pub fn new_root_key(&self, now: i64) -> Result<WrappedKey, KeyringError> {
        let key_id = uuid::Uuid::new_v4().to_string();
        let key = random_key();
        let wrapped = seal(self.kek.key(), self.kek.fingerprint(), &wrap_aad(&key_id), &key)?;
        self.cache().insert(key_id.clone(), key);
        Ok(WrappedKey {
            key_id,
            algorithm: super::ALGORITHM.into(),
            create_time: now,
            create_index: 0,
            wrapped,
        })
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, [u8; 32]>> {
        self.unwrapped.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The clear root key `id`, unwrapped from `table` on first use.
    fn root_key(&self, table: &KeyringTable, id: &str) -> Result<[u8; 32], KeyringError> {
        if let Some(key) = self.cache().get(id) {
            return Ok(*key);
        }
        let wrapped = table
            .get(id)
            .ok_or_else(|| KeyringError::UnknownKey(id.to_owned()))?;
        if wrapped.wrapped.key_id != self.kek.fingerprint() {
            return Err(KeyringError::KekMismatch {
                key_id: id.to_owned(),
                wrapped_under: wrapped.wrapped.key_id.clone(),
                ours: self.kek.fingerprint().to_owned(),
            });
        }
        let bytes = open(
            self.kek.key(),
            &wrap_aad(id),
            &wrapped.wrapped,
            &format!("root key {id}"),
        )?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyringError::Malformed(format!("root key {id} is not 32 bytes")))?;
        self.cache().insert(id.to_owned(), key);
        Ok(key)
    }

    /// Seals `plaintext` under the active root key, bound to `aad`.
    pub fn seal(&self, table: &KeyringTable, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, KeyringError> {
        let active = table.active().ok_or(KeyringError::NoActiveKey)?;
        let key = self.root_key(table, &active.key_id)?;
        seal(&key, &active.key_id, aad, plaintext)
    }

    /// Opens `sealed` with the root key it names; `what` names the value in errors.
    pub fn open(
        &self,
        table: &KeyringTable,
        aad: &[u8],
        sealed: &Sealed,
        what: &str,
    ) -> Result<Vec<u8>, KeyringError> {
        let key = self.root_key(table, &sealed.key_id)?;
        open(&key, aad, sealed, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(byte: u8) -> Keyring {
        Keyring::new(Kek::from_bytes([byte; 32]))
    }

    fn table_with_key(ring: &Keyring, index: u64) -> KeyringTable {
        let mut table = KeyringTable::default();
        table.add_active(index, ring.new_root_key(0).unwrap());
        table
    }

    #[test]
    fn another_server_with_the_same_kek_opens_values() {
        let a = ring(1);
        let table = table_with_key(&a, 5);
        let sealed = a.seal(&table, b"default\0p", b"secret").unwrap();
        let b = ring(1);
        assert_eq!(b.open(&table, b"default\0p", &sealed, "p").unwrap(), b"secret");
    }

    #[test]
    fn a_server_with_another_kek_is_told_so() {
        let a = ring(1);
        let table = table_with_key(&a, 5);
        let sealed = a.seal(&table, b"aad", b"secret").unwrap();
        let err = ring(2).open(&table, b"aad", &sealed, "p").unwrap_err();
        assert!(matches!(err, KeyringError::KekMismatch { .. }), "{err}");
    }

    #[test]
    fn wrapped_key_holds_no_clear_key_bytes() {
        let a = ring(1);
        let table = table_with_key(&a, 5);
        let id = table.active.clone();
        let key = a.root_key(&table, &id).unwrap();
        let json = serde_json::to_string(&table).unwrap();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(key);
        assert!(!json.contains(&b64));
        assert!(!json.contains(&hex::encode(key)));
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_seals_with_the_new_key() {
        let a = ring(1);
        let mut table = table_with_key(&a, 5);
        let old = a.seal(&table, b"aad", b"v1").unwrap();
        table.add_active(9, a.new_root_key(1).unwrap());
        let new = a.seal(&table, b"aad", b"v2").unwrap();
        assert_ne!(old.key_id, new.key_id);
        assert_eq!(new.key_id, table.active);
        let fresh = ring(1);
        assert_eq!(fresh.open(&table, b"aad", &old, "p").unwrap(), b"v1");
        assert_eq!(fresh.open(&table, b"aad", &new, "p").unwrap(), b"v2");
        let meta = table.metadata();
        assert_eq!(meta.len(), 2);
        assert_eq!(meta[1].key_id, table.active);
    }

    #[test]
    fn a_variable_moved_to_another_path_or_namespace_does_not_open() {
        use crate::cluster::fsm::variable_aad;
        let a = ring(1);
        let table = table_with_key(&a, 5);
        let sealed = a.seal(&table, &variable_aad("default", "app/db"), b"{}").unwrap();
        assert!(
            a.open(&table, &variable_aad("default", "app/db"), &sealed, "p")
                .is_ok()
        );
        for (ns, path) in [
            ("default", "app/other"),
            ("prod", "app/db"),
            ("default/app", "db"),
        ] {
            let err = a.open(&table, &variable_aad(ns, path), &sealed, "p").unwrap_err();
            assert!(matches!(err, KeyringError::Open(_)), "{ns} {path}: {err}");
        }
    }

    #[test]
    fn no_key_yet_is_an_error() {
        let err = ring(1).seal(&KeyringTable::default(), b"", b"x").unwrap_err();
        assert!(matches!(err, KeyringError::NoActiveKey));
    }
}

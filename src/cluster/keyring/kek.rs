//! The key-encryption key (KEK): each server's key that wraps the root keys before they enter
//! Raft. It comes from the agent configuration (`server { keyring_kek = "<base64>" }`,
//! `-keyring-kek`, `DEPLOY_KEYRING_KEK`) or else from `<data_dir>/keyring.kek`, created 0600 on
//! first start. Every server of a cluster needs the same KEK, given out of band, as Nomad's
//! gossip key.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::cipher::random_key;
use super::error::KeyringError;

/// The KEK file's name in a server's data directory.
pub const KEK_FILE: &str = "keyring.kek";

/// A 256-bit key-encryption key and its fingerprint.
#[derive(Clone)]
pub struct Kek {
    key: [u8; 32],
    fingerprint: String,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kek({})", self.fingerprint)
    }
}

impl Kek {
    /// A KEK from its 32 bytes.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        // A short hash names the KEK in errors and in wrapped keys without revealing it.
        let fingerprint = hex::encode(&Sha256::digest(key)[..8]);
        Self { key, fingerprint }
    }

    /// A KEK from its base64 text (32 bytes once decoded).
    pub fn from_base64(text: &str, origin: &str) -> Result<Self, KeyringError> {
        let bad = |message: String| KeyringError::Kek {
            path: origin.to_owned(),
            message,
        };
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| bad(format!("not base64: {e}")))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| bad(format!("{} bytes, want 32", b.len())))?;
        Ok(Self::from_bytes(key))
    }

    /// The configured KEK if `configured` is given, else the one in `data_dir`, created on
    /// first use.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Self, KeyringError> {
        if let Some(text) = configured {
            return Self::from_base64(text, "keyring_kek");
        }
        let path = data_dir.join(KEK_FILE);
        let err = |message: String| KeyringError::Kek {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mode = std::fs::metadata(&path)
                    .map_err(|e| err(e.to_string()))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        "{} is readable by others (mode {:o}); it should be 0600",
                        path.display(),
                        mode & 0o777
                    );
                }
                Self::from_base64(&text, &path.display().to_string())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_key();
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| err(e.to_string()))?;
                file.write_all(STANDARD.encode(key).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| err(e.to_string()))?;
                Ok(Self::from_bytes(key))
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// The key.
    pub(super) fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// A short public name of this KEK (hex of the start of its SHA-256).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_mode_0600_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = Kek::load(None, dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(KEK_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = Kek::load(None, dir.path()).unwrap();
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn configured_key_wins_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let text = STANDARD.encode([5u8; 32]);
        assert_eq!(Kek::load(Some(&text), dir.path()).unwrap().key(), &[5u8; 32]);
        assert!(!dir.path().join(KEK_FILE).exists());
        assert!(Kek::load(Some("c2hvcnQ="), dir.path()).is_err());
    }
}

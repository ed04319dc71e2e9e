//! The cluster secret: every server holds it, sends it on each server-to-server call, and
//! refuses RPCs that do not carry it. As Nomad's gossip keyring: given in the configuration
//! (`server { encrypt }`, `-encrypt`), or generated in the data directory by a server that
//! bootstraps alone and handed to joining servers out of band.
//!
//! The key is kept in `<data_dir>/server/cluster.key`, mode 0600.

use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::cluster::error::ClusterError;

/// The header that carries the cluster secret on server-to-server calls.
pub const CLUSTER_KEY_HEADER: &str = "X-Deploy-Cluster-Key";

/// Shortest key accepted (a generated key is 44 characters: 32 bytes in base64).
const MIN_KEY_LEN: usize = 16;

/// The cluster secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterKey(String);

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterKey(..)")
    }
}

impl ClusterKey {
    /// A key from its text, if long enough.
    pub fn new(text: &str) -> Result<Self, ClusterError> {
        let text = text.trim();
        if text.len() < MIN_KEY_LEN {
            return Err(ClusterError::Startup(format!(
                "the cluster key must be at least {MIN_KEY_LEN} characters"
            )));
        }
        Ok(Self(text.to_owned()))
    }

    /// A new random key: 32 bytes, base64.
    pub fn generate() -> Self {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// The key as sent in [`CLUSTER_KEY_HEADER`].
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this key, compared in constant time (over digests, so the
    /// comparison does not depend on where the texts differ or on their lengths).
    pub fn matches(&self, presented: &[u8]) -> bool {
        constant_time_eq(self.0.as_bytes(), presented)
    }

    /// The key file under a server's data directory.
    pub fn path(server_dir: &Path) -> PathBuf {
        server_dir.join("cluster.key")
    }

    /// The key to use: the configured one (kept in the data directory too), else the one in
    /// the data directory, else (only when `may_generate`: a server bootstrapping alone) a
    /// new one written there.
    pub fn load_or_create(
        server_dir: &Path,
        configured: Option<&str>,
        may_generate: bool,
    ) -> Result<Self, ClusterError> {
        let path = Self::path(server_dir);
        let stored = std::fs::read_to_string(&path).ok();
        let key = match (configured, stored.as_deref()) {
            (Some(c), _) => Self::new(c)?,
            (None, Some(s)) => Self::new(s)?,
            (None, None) if may_generate => Self::generate(),
            (None, None) => {
                return Err(ClusterError::Startup(format!(
                    "no cluster key: give every server the same one (server {{ encrypt = \"...\" }} or -encrypt), \
                     e.g. the key a first server generated in {}",
                    path.display()
                )));
            }
        };
        if stored.as_deref().map(str::trim) != Some(key.as_str()) {
            write_private(&path, key.as_str())?;
        }
        Ok(key)
    }
}

/// Whether two byte strings are equal, in time independent of their contents.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (da, db) = (Sha256::digest(a), Sha256::digest(b));
    da.iter().zip(db.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Writes `text` to `path`, readable by the owner only.
pub fn write_private(path: &Path, text: &str) -> Result<(), ClusterError> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_is_kept_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ClusterKey::load_or_create(dir.path(), None, false).is_err());
        let key = ClusterKey::load_or_create(dir.path(), None, true).unwrap();
        assert_eq!(key.as_str().len(), 44);
        let again = ClusterKey::load_or_create(dir.path(), None, false).unwrap();
        assert_eq!(key, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ClusterKey::path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(key.matches(key.as_str().as_bytes()));
        assert!(!key.matches(b"something else entirely"));
        assert!(ClusterKey::new("short").is_err());
    }
}

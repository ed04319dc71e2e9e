//! An agent that bootstraps its own ACLs (`-acl-bootstrap-token-file FILE`): the local agent
//! that `deploy` starts. It bootstraps before its HTTP listener serves anything, so nothing
//! else can claim the management token first, and keeps the secret in FILE, readable by its
//! owner alone, where `deploy` finds it.
//!
//! On a restart with the same data the cluster is bootstrapped already: the file's token is
//! still valid and is left as it is.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cluster::error::ClusterError;
use crate::cluster::server::ClusterNode;

/// How long a fresh single server may take to elect itself.
const LEADER_WAIT: Duration = Duration::from_secs(30);

/// Bootstraps ACLs on `node` and writes the management token to `path` (0600), unless the
/// file already holds a token the cluster knows or the cluster was bootstrapped before.
pub async fn bootstrap_into(node: &ClusterNode, path: &Path) -> Result<(), ClusterError> {
    wait_for_leader(node).await?;
    if let Some(existing) = read_token(path)
        && node.acl_token_known(&existing)
    {
        return Ok(());
    }
    match node.acl_bootstrap().await {
        Ok(token) => write_secret(path, &token.value.secret_id),
        Err(e) => {
            // Bootstrapped by an earlier run whose log the state machine is still replaying,
            // or by hand: the token there is the user's to keep.
            tracing::warn!("ACL bootstrap: {e}; {} left as it is", path.display());
            Ok(())
        }
    }
}

/// The token kept in `path`, if any: what this agent's own client sends to its server.
pub fn read_token(path: &Path) -> Option<String> {
    let token = std::fs::read_to_string(path).ok()?;
    Some(token.trim().to_owned()).filter(|t| !t.is_empty())
}

async fn wait_for_leader(node: &ClusterNode) -> Result<(), ClusterError> {
    let deadline = Instant::now() + LEADER_WAIT;
    while !node.is_leader() {
        if Instant::now() >= deadline {
            return Err(ClusterError::Startup(format!(
                "no leader within {}s to bootstrap ACLs",
                LEADER_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Writes `secret` to `path` with mode 0600 from the first byte: a temporary file beside it,
/// created 0600, then renamed over.
pub fn write_secret(path: &Path, secret: &str) -> Result<(), ClusterError> {
    let fail = |e: std::io::Error| ClusterError::Startup(format!("writing {}: {e}", path.display()));
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(fail)?
    };
    file.write_all(secret.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secrets_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_secret(&path, "s3cret").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "s3cret");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

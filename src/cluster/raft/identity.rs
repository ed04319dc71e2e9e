//! A server's Raft node ID, chosen once and kept in its data directory (`server-id`, mode
//! 0600), so the server keeps its identity when its address changes.
//!
//! A data directory made before IDs were kept holds Raft state under the ID derived from the
//! address ([`node_id_for`]); that ID is adopted and written down, so such a server comes back
//! as the member it was (as long as its address has not changed yet).

use std::io;
use std::path::Path;

use super::{NodeId, node_id_for};
use crate::cluster::id_file::read_or_create;

/// The file, inside the server's data directory.
pub const SERVER_ID_FILE: &str = "server-id";

/// A fresh random ID, with the top 12 bits clear as [`node_id_for`]'s (it prints the same in
/// every JSON reader) and never 0.
fn random_id() -> NodeId {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut head = [0u8; 8];
    head.copy_from_slice(&bytes[..8]);
    (u64::from_be_bytes(head) >> 12).max(1)
}

/// This server's node ID: the one kept in `data_dir`, else (Raft state from before IDs were
/// kept) the one derived from `advertise`, else a new random one; kept from then on.
pub fn server_id(data_dir: &Path, advertise: &str) -> io::Result<NodeId> {
    let path = data_dir.join(SERVER_ID_FILE);
    let had_state = data_dir.join("raft.redb").exists();
    let text = read_or_create(&path, || {
        let id = if had_state {
            node_id_for(advertise)
        } else {
            random_id()
        };
        id.to_string()
    })?;
    text.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} holds {text:?}, not a server ID", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_id_is_made_once_kept_private_and_adopted_from_old_state() {
        let dir = tempfile::tempdir().unwrap();
        let a = server_id(dir.path(), "127.0.0.1:1").unwrap();
        assert_eq!(server_id(dir.path(), "127.0.0.1:2").unwrap(), a);
        let mode = std::fs::metadata(dir.path().join(SERVER_ID_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(a > 0 && a < (1 << 52));

        let old = tempfile::tempdir().unwrap();
        std::fs::write(old.path().join("raft.redb"), "").unwrap();
        assert_eq!(
            server_id(old.path(), "127.0.0.1:9").unwrap(),
            node_id_for("127.0.0.1:9")
        );

        std::fs::write(dir.path().join(SERVER_ID_FILE), "nope").unwrap();
        assert!(server_id(dir.path(), "x").is_err());
    }
}

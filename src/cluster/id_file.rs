//! Identity files in a data directory (a server's Raft ID, a client's node ID): read if
//! present, else created once, private to the agent's user (mode 0600).

use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Reads `path`, or creates it with `make()` written at mode 0600 (and the file's mode
/// tightened if someone loosened it).
pub fn read_or_create(path: &Path, make: impl FnOnce() -> String) -> io::Result<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let text = text.trim().to_owned();
        if !text.is_empty() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            return Ok(text);
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let value = make();
    // Written beside and renamed, so a crash never leaves an empty or partial ID.
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(value.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(value)
}

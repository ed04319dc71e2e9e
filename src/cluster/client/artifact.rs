//! `artifact` blocks: HTTP(S) download into the task directory (`local/` by default), with
//! the `checksum` option (`sha256:<hex>` or `sha512:<hex>`) verified before the file is kept.
//! Archives (`.tar.gz`, `.tgz`, `.tar`, `.zip`) are unpacked with the system's `tar` / `unzip`
//! unless `archive = false`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256, Sha512};

use super::error::ClientError;
use crate::spec::TaskArtifact;

fn fail(source: &str, message: impl Into<String>) -> ClientError {
    ClientError::Artifact {
        source_url: source.to_owned(),
        message: message.into(),
    }
}

/// Checks `bytes` against a `type:hex` checksum.
pub fn verify_checksum(bytes: &[u8], checksum: &str) -> Result<(), String> {
    let (kind, want) = checksum
        .split_once(':')
        .ok_or_else(|| format!("checksum {checksum:?} is not type:value"))?;
    let got = match kind {
        "sha256" => hex::encode(Sha256::digest(bytes)),
        "sha512" => hex::encode(Sha512::digest(bytes)),
        other => return Err(format!("unsupported checksum type {other:?}")),
    };
    if got.eq_ignore_ascii_case(want) {
        Ok(())
    } else {
        Err(format!("checksum mismatch: want {want}, got {got}"))
    }
}

fn file_name(source: &str) -> String {
    let path = source.split(['?', '#']).next().unwrap_or(source);
    path.rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("artifact")
        .to_owned()
}

/// Downloads one artifact into `task_dir` (relative destination inside it); returns the path.
pub async fn fetch(
    http: &reqwest::Client,
    artifact: &TaskArtifact,
    task_dir: &Path,
) -> Result<PathBuf, ClientError> {
    let source = artifact.getter_source.clone().unwrap_or_default();
    if !(source.starts_with("http://") || source.starts_with("https://")) {
        return Err(fail(&source, "only http:// and https:// sources are supported"));
    }
    let options = artifact.getter_options.clone().unwrap_or_default();
    let rel = artifact.relative_dest.clone().unwrap_or_else(|| "local/".into());
    if Path::new(&rel).is_absolute() || rel.split('/').any(|c| c == "..") {
        return Err(fail(
            &source,
            format!("destination {rel:?} leaves the task directory"),
        ));
    }
    let dest_dir = task_dir.join(&rel);
    tokio::fs::create_dir_all(&dest_dir).await?;
    let mut req = http.get(&source);
    for (k, v) in artifact.getter_headers.iter().flatten() {
        req = req.header(k, v);
    }
    let resp = req.send().await.map_err(|e| fail(&source, e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(&source, format!("HTTP {}", resp.status())));
    }
    let bytes = resp.bytes().await.map_err(|e| fail(&source, e.to_string()))?;
    if let Some(sum) = options.get("checksum") {
        verify_checksum(&bytes, sum).map_err(|m| fail(&source, m))?;
    }
    let name = file_name(&source);
    let target = dest_dir.join(&name);
    tokio::fs::write(&target, &bytes).await?;
    let unpack = options.get("archive").is_none_or(|v| v != "false");
    let tool: Option<Vec<&str>> = match () {
        _ if name.ends_with(".tar.gz") || name.ends_with(".tgz") => Some(vec!["tar", "-xzf"]),
        _ if name.ends_with(".tar") => Some(vec!["tar", "-xf"]),
        _ if name.ends_with(".zip") => Some(vec!["unzip", "-o", "-q"]),
        _ => None,
    };
    if let (true, Some(tool)) = (unpack, tool) {
        let mut cmd = tokio::process::Command::new(tool[0]);
        cmd.args(&tool[1..]).arg(&target);
        if tool[0] == "tar" {
            cmd.arg("-C").arg(&dest_dir)
        } else {
            cmd.arg("-d").arg(&dest_dir)
        };
        let out = cmd
            .output()
            .await
            .map_err(|e| fail(&source, format!("{}: {e}", tool[0])))?;
        if !out.status.success() {
            return Err(fail(
                &source,
                format!("unpacking: {}", String::from_utf8_lossy(&out.stderr).trim()),
            ));
        }
        tokio::fs::remove_file(&target).await?;
        return Ok(dest_dir);
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        let sum = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert!(verify_checksum(b"hello", sum).is_ok());
        assert!(verify_checksum(b"hellO", sum).is_err());
        assert!(verify_checksum(b"x", "md4:00").is_err());
        assert_eq!(file_name("https://h/a/b.tgz?x=1"), "b.tgz");
    }
}

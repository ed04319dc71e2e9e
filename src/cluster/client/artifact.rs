//! `artifact` blocks: HTTP(S) downloads streamed to disk beneath the allocation directory, as
//! Nomad's go-getter subset: `headers`, the `checksum` option (`sha256:<hex>` or
//! `sha512:<hex>`) verified before the file is kept, and archives (`.tar`, `.tar.gz`, `.tgz`,
//! `.zip`) unpacked in-process (see [`super::archive`]) unless `archive = false`.
//!
//! ```text
//!  GET ─► chunks ─► .<name>.download (size limit, hash) ─► checksum ─┬─ rename to <name>
//!   └──────────── whole fetch bounded by http_read_timeout ──────────┴─ unpack, remove
//! ```

use std::path::Path;

use sha2::{Digest, Sha256, Sha512};
use tokio::io::AsyncWriteExt;

use super::alloc_dir::AllocDir;
use super::archive;
use super::beneath::Beneath;
use super::error::ClientError;
use super::sandbox_config::ArtifactLimits;
use crate::spec::TaskArtifact;

fn fail(source: &str, message: impl Into<String>) -> ClientError {
    ClientError::Artifact {
        source_url: source.to_owned(),
        message: message.into(),
    }
}

/// A running hash for a `type:hex` checksum.
enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn for_checksum(checksum: &str) -> Result<(Self, String), String> {
        let (kind, want) = checksum
            .split_once(':')
            .ok_or_else(|| format!("checksum {checksum:?} is not type:value"))?;
        let h = match kind {
            "sha256" => Self::Sha256(Sha256::new()),
            "sha512" => Self::Sha512(Sha512::new()),
            other => return Err(format!("unsupported checksum type {other:?}")),
        };
        Ok((h, want.to_owned()))
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(bytes),
            Self::Sha512(h) => h.update(bytes),
        }
    }

    fn check(self, want: &str) -> Result<(), String> {
        let got = match self {
            Self::Sha256(h) => hex::encode(h.finalize()),
            Self::Sha512(h) => hex::encode(h.finalize()),
        };
        if got.eq_ignore_ascii_case(want) {
            Ok(())
        } else {
            Err(format!("checksum mismatch: want {want}, got {got}"))
        }
    }
}

/// Checks `bytes` against a `type:hex` checksum.
pub fn verify_checksum(bytes: &[u8], checksum: &str) -> Result<(), String> {
    let (mut h, want) = Hasher::for_checksum(checksum)?;
    h.update(bytes);
    h.check(&want)
}

fn file_name(source: &str) -> String {
    let path = source.split(['?', '#']).next().unwrap_or(source);
    path.rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("artifact")
        .to_owned()
}

/// Where one artifact goes: the task it belongs to and the allocation directory.
pub struct Destination<'a> {
    /// The allocation directory.
    pub dir: &'a AllocDir,
    /// The task's name.
    pub task: &'a str,
    /// The client's limits.
    pub limits: ArtifactLimits,
}

/// Downloads one artifact into the task's directory (`local/` unless `destination` says
/// otherwise), within the client's size and time limits.
pub async fn fetch(
    http: &reqwest::Client,
    artifact: &TaskArtifact,
    to: &Destination<'_>,
) -> Result<(), ClientError> {
    let source = artifact.getter_source.clone().unwrap_or_default();
    if !(source.starts_with("http://") || source.starts_with("https://")) {
        return Err(fail(&source, "only http:// and https:// sources are supported"));
    }
    let rel = artifact.relative_dest.clone().unwrap_or_else(|| "local/".into());
    let dest = to
        .dir
        .resolve(to.task, &rel)
        .and_then(|r| to.dir.beneath()?.create_dir_all(&r, 0o755))
        .map_err(|e| {
            fail(
                &source,
                format!(
                    "destination {rel:?} of task {:?} is outside the allocation directory or unusable: {e}",
                    to.task
                ),
            )
        })?;
    let timeout = to.limits.timeout;
    tokio::time::timeout(timeout, download(http, artifact, &source, &dest, to.limits))
        .await
        .map_err(|_| {
            fail(
                &source,
                format!("not fetched within {timeout:?} (client artifact http_read_timeout)"),
            )
        })?
}

async fn download(
    http: &reqwest::Client,
    artifact: &TaskArtifact,
    source: &str,
    dest: &Beneath,
    limits: ArtifactLimits,
) -> Result<(), ClientError> {
    let options = artifact.getter_options.clone().unwrap_or_default();
    let mut hasher = match options.get("checksum") {
        Some(sum) => Some(Hasher::for_checksum(sum).map_err(|m| fail(source, m))?),
        None => None,
    };
    let mut req = http.get(source);
    for (k, v) in artifact.getter_headers.iter().flatten() {
        req = req.header(k, v);
    }
    let mut resp = req.send().await.map_err(|e| fail(source, e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(source, format!("HTTP {}", resp.status())));
    }
    let too_big = || {
        fail(
            source,
            format!(
                "larger than {} bytes (client artifact http_max_size)",
                limits.max_size
            ),
        )
    };
    if resp.content_length().is_some_and(|n| n > limits.max_size) {
        return Err(too_big());
    }
    let name = file_name(source);
    let partial = format!(".{name}.download");
    let file = dest
        .create_file(Path::new(&partial), 0o600)
        .map_err(|e| fail(source, e.to_string()))?;
    let mut out = tokio::fs::File::from_std(file);
    let mut written: u64 = 0;
    let result: Result<(), ClientError> = async {
        while let Some(chunk) = resp.chunk().await.map_err(|e| fail(source, e.to_string()))? {
            written += chunk.len() as u64;
            if written > limits.max_size {
                return Err(too_big());
            }
            if let Some((h, _)) = &mut hasher {
                h.update(&chunk);
            }
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        if let Some((h, want)) = hasher {
            h.check(&want).map_err(|m| fail(source, m))?;
        }
        Ok(())
    }
    .await;
    drop(out);
    if let Err(e) = result {
        let _ = dest.remove_file(Path::new(&partial));
        return Err(e);
    }
    let unpack = options.get("archive").is_none_or(|v| v != "false");
    match archive::kind_of(&name).filter(|_| unpack) {
        Some(kind) => {
            let file = dest
                .read_file(Path::new(&partial))
                .map_err(|e| fail(source, e.to_string()))?;
            let dest_dir = dest.try_clone()?;
            let unpacked =
                tokio::task::spawn_blocking(move || archive::unpack(file, kind, &dest_dir, limits))
                    .await
                    .map_err(|e| fail(source, e.to_string()))?;
            let _ = dest.remove_file(Path::new(&partial));
            unpacked.map_err(|m| fail(source, format!("unpacking: {m}")))?;
        }
        None => dest
            .rename(Path::new(&partial), Path::new(&name))
            .map_err(|e| fail(source, e.to_string()))?,
    }
    Ok(())
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

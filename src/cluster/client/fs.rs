//! The allocation directory as Nomad's client filesystem API shows it: `AllocFileInfo` for
//! `ls` and `stat`, bounded reads for `cat`, `readat` and `stream`.
//!
//! ```text
//!  ?path=/alloc/logs ─► parse_path (no `..`, no NUL, ≤ MAX_PATH) ─► Beneath(<alloc dir>)
//!        ─► openat2(RESOLVE_BENEATH) ─► fstat / getdents / pread
//! ```
//!
//! Every path resolves beneath the allocation directory through [`Beneath::open_inside`]: a
//! symlink is followed only while it stays inside (as Nomad's); one a task planted towards
//! `/etc`, or `../..` out of the directory, is refused by the kernel, with no race to win.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use super::beneath::{self, Beneath};

/// Longest `path` parameter accepted.
pub const MAX_PATH: usize = 4096;
/// Most entries `ls` lists in one directory.
pub const MAX_LIST: usize = 50_000;
/// Most bytes one `readat` returns.
pub const MAX_READ: u64 = 16 * 1024 * 1024;
/// Bytes of one read (and of one stream frame).
pub const CHUNK: usize = 64 * 1024;

/// Nomad's `AllocFileInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllocFileInfo {
    /// The file's name (its last path component).
    pub name: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Size in bytes.
    pub size: u64,
    /// Mode as Go prints it (`drwxr-xr-x`, `-rw-r--r--`, `Lrwxrwxrwx`).
    pub file_mode: String,
    /// Modification time, RFC 3339 with nanoseconds.
    pub mod_time: String,
    /// Detected content type (`stat` only, as Nomad).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content_type: String,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// The `path` parameter (`/`, `/alloc/logs`, `alloc/x`) relative to the allocation
/// directory; empty for the directory itself. `..`, NUL and over-long paths are refused.
pub fn parse_path(path: &str) -> io::Result<PathBuf> {
    if path.len() > MAX_PATH {
        return Err(invalid(format!("path is longer than {MAX_PATH} bytes")));
    }
    if path.contains('\0') {
        return Err(invalid("path contains a NUL byte".into()));
    }
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().all(|c| c == Component::CurDir) {
        return Ok(PathBuf::new());
    }
    beneath::relative(rel).map_err(|_| invalid(format!("path {path:?} leaves the allocation directory")))
}

/// Go's `os.FileMode.String()`: type and special letters, then `rwx` triplets.
pub fn mode_string(meta: &Metadata) -> String {
    let ft = meta.file_type();
    let mode = meta.permissions().mode();
    let mut out = String::new();
    let letters = [
        (ft.is_dir(), 'd'),
        (ft.is_symlink(), 'L'),
        (ft.is_block_device() || ft.is_char_device(), 'D'),
        (ft.is_fifo(), 'p'),
        (ft.is_socket(), 'S'),
        (mode & 0o4000 != 0, 'u'),
        (mode & 0o2000 != 0, 'g'),
        (ft.is_char_device(), 'c'),
        (mode & 0o1000 != 0, 't'),
    ];
    out.extend(letters.iter().filter(|(set, _)| *set).map(|(_, c)| c));
    if out.is_empty() {
        out.push('-');
    }
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        out.push(if mode & (1 << (8 - i)) != 0 { c } else { '-' });
    }
    out
}

fn mod_time(meta: &Metadata) -> String {
    let t: chrono::DateTime<chrono::Utc> = meta.modified().map_or_else(|_| chrono::Utc::now(), Into::into);
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// What Go's `http.DetectContentType` says of a file's first 512 bytes, for the signatures
/// allocation files commonly have; binary otherwise.
pub fn detect_content_type(head: &[u8]) -> &'static str {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"\x1f\x8b\x08", "application/x-gzip"),
        (b"PK\x03\x04", "application/zip"),
    ];
    if head.is_empty() {
        return "text/plain; charset=utf-8";
    }
    if let Some((_, t)) = SIGNATURES.iter().find(|(sig, _)| head.starts_with(sig)) {
        return t;
    }
    let text = head.trim_ascii_start();
    let lower: Vec<u8> = text.iter().take(16).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    if ["<!doctype html", "<html", "<head", "<body"]
        .iter()
        .any(|t| lower.starts_with(t.as_bytes()))
    {
        return "text/html; charset=utf-8";
    }
    let binary = |b: &u8| matches!(b, 0x00..=0x08 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f);
    if head.iter().any(binary) {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

fn info(name: String, meta: &Metadata) -> AllocFileInfo {
    AllocFileInfo {
        name,
        is_dir: meta.is_dir(),
        size: meta.len(),
        file_mode: mode_string(meta),
        mod_time: mod_time(meta),
        content_type: String::new(),
    }
}

fn name_of(dir: &Beneath, rel: &Path) -> String {
    rel.file_name()
        .or_else(|| dir.path().file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `stat` of `rel` (the directory itself when empty), with its content type.
pub fn stat(dir: &Beneath, rel: &Path) -> io::Result<AllocFileInfo> {
    let meta = dir.open_inside(rel, libc::O_PATH)?.metadata()?;
    let mut out = info(name_of(dir, rel), &meta);
    // As Nomad: directories and files that cannot be read say octet-stream.
    out.content_type = "application/octet-stream".into();
    if meta.is_file()
        && let Ok(f) = dir.open_inside(rel, libc::O_RDONLY | libc::O_NONBLOCK)
    {
        let mut head = Vec::with_capacity(512);
        if f.take(512).read_to_end(&mut head).is_ok() && !head.is_empty() {
            out.content_type = detect_content_type(&head).into();
        }
    }
    Ok(out)
}

/// The entries of directory `rel`, sorted by name (symlinks listed, not followed).
pub fn list(dir: &Beneath, rel: &Path) -> io::Result<Vec<AllocFileInfo>> {
    let meta = dir.open_inside(rel, libc::O_PATH)?.metadata()?;
    if !meta.is_dir() {
        return Err(invalid(format!(
            "{} is not a directory; read it with /v1/client/fs/cat",
            rel.display()
        )));
    }
    let handle = dir.open_inside(rel, libc::O_RDONLY | libc::O_DIRECTORY)?;
    // The descriptor is already resolved beneath the root: listing it through /proc follows
    // nothing the task controls. Entries are stat'ed relative to it, without following links.
    let fd = std::os::fd::AsRawFd::as_raw_fd(&handle);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/self/fd/{fd}"))? {
        let entry = entry?;
        if out.len() >= MAX_LIST {
            return Err(invalid(format!(
                "{} holds more than {MAX_LIST} entries",
                rel.display()
            )));
        }
        // An entry removed since it was read is left out.
        if let Ok(meta) = entry.metadata() {
            out.push(info(entry.file_name().to_string_lossy().into_owned(), &meta));
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Opens plain file `rel` for reading, with its size; a directory is refused.
pub fn open_file(dir: &Beneath, rel: &Path) -> io::Result<(File, u64)> {
    let meta = dir.open_inside(rel, libc::O_PATH)?.metadata()?;
    if meta.is_dir() {
        return Err(invalid(format!(
            "{} is a directory; list it with /v1/client/fs/ls",
            rel.display()
        )));
    }
    if !meta.is_file() {
        return Err(invalid(format!("{}: not a plain file", rel.display())));
    }
    let file = dir.open_inside(rel, libc::O_RDONLY | libc::O_NONBLOCK)?;
    let size = file.metadata()?.len();
    Ok((file, size))
}

/// Up to `limit` bytes of `file` from `offset` (at most [`MAX_READ`]); an offset past the
/// end is an error.
pub fn read_at(file: &mut File, size: u64, offset: u64, limit: u64) -> io::Result<Vec<u8>> {
    if offset > size {
        return Err(invalid(format!(
            "offset {offset} is past the end of the file ({size} bytes)"
        )));
    }
    if limit > MAX_READ {
        return Err(invalid(format!(
            "limit {limit} is larger than {MAX_READ} bytes; read the file in pieces"
        )));
    }
    file.seek(SeekFrom::Start(offset))?;
    let mut out = Vec::new();
    file.take(limit).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
#[path = "fs_tests.rs"]
mod tests;

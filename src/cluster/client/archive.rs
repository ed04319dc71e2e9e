//! Unpacking artifact archives (`.tar`, `.tar.gz`/`.tgz`, `.zip`) in-process, beneath the
//! artifact's destination: every entry's path must be relative without `..`, every file is
//! written through [`Beneath`] (so no symlink, planted or unpacked, is followed), no owner is
//! kept, setuid/setgid/sticky bits refuse the archive, hard links and device nodes are refused,
//! and the entry count and unpacked size are bounded by the client's limits.
//!
//! The archive's own readers (tar, flate2, zip) only parse; nothing is unpacked by their
//! `unpack` helpers, which would follow symlinks made by earlier entries.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::beneath::{Beneath, relative};
use super::sandbox_config::ArtifactLimits;

/// The archive formats unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// `.tar`.
    Tar,
    /// `.tar.gz`, `.tgz`.
    TarGz,
    /// `.zip`.
    Zip,
}

/// The archive kind of a file name, if it is one.
pub fn kind_of(name: &str) -> Option<ArchiveKind> {
    let n = name.to_ascii_lowercase();
    if n.ends_with(".tar.gz") || n.ends_with(".tgz") {
        Some(ArchiveKind::TarGz)
    } else if n.ends_with(".tar") {
        Some(ArchiveKind::Tar)
    } else if n.ends_with(".zip") {
        Some(ArchiveKind::Zip)
    } else {
        None
    }
}

/// What an archive may still use of the limits.
struct Budget {
    files: u64,
    bytes: u64,
    limits: ArtifactLimits,
}

impl Budget {
    fn entry(&mut self, name: &Path) -> Result<(), String> {
        self.files += 1;
        if self.files > self.limits.max_files {
            return Err(format!(
                "{}: more than {} entries (client artifact decompression_file_count_limit)",
                name.display(),
                self.limits.max_files
            ));
        }
        Ok(())
    }

    /// Copies `from` into `to`, refusing to go past the unpacked size limit.
    fn copy(&mut self, from: &mut dyn Read, to: &mut File, name: &Path) -> Result<(), String> {
        let left = self.limits.max_unpacked_size.saturating_sub(self.bytes);
        let n = io::copy(&mut from.take(left.saturating_add(1)), to)
            .map_err(|e| format!("{}: {e}", name.display()))?;
        self.bytes += n;
        if n > left {
            return Err(format!(
                "{}: the archive unpacks to more than {} bytes (client artifact decompression_size_limit)",
                name.display(),
                self.limits.max_unpacked_size
            ));
        }
        Ok(())
    }
}

/// The permission bits to give an entry: `mode & 0o777`; an error for setuid, setgid or sticky.
fn file_mode(mode: u32, name: &Path) -> Result<u32, String> {
    if mode & 0o7000 != 0 {
        return Err(format!(
            "{}: setuid, setgid or sticky bits (mode {:o}) are refused",
            name.display(),
            mode & 0o7777
        ));
    }
    Ok(mode & 0o777)
}

fn entry_path(raw: &Path) -> Result<std::path::PathBuf, String> {
    relative(raw).map_err(|_| format!("entry {:?} leaves the destination", raw.display().to_string()))
}

/// Unpacks `file` (an archive of `kind`) beneath `dest`; returns the number of entries.
pub fn unpack(file: File, kind: ArchiveKind, dest: &Beneath, limits: ArtifactLimits) -> Result<u64, String> {
    let mut budget = Budget {
        files: 0,
        bytes: 0,
        limits,
    };
    match kind {
        ArchiveKind::Tar => unpack_tar(file, dest, &mut budget)?,
        ArchiveKind::TarGz => unpack_tar(flate2::read::GzDecoder::new(file), dest, &mut budget)?,
        ArchiveKind::Zip => unpack_zip(file, dest, &mut budget)?,
    }
    Ok(budget.files)
}

fn unpack_tar(reader: impl Read, dest: &Beneath, budget: &mut Budget) -> Result<(), String> {
    use tar::EntryType;
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(false);
    archive.set_preserve_ownerships(false);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let raw = entry.path().map_err(|e| e.to_string())?.into_owned();
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader) {
            continue;
        }
        budget.entry(&raw)?;
        let path = entry_path(&raw)?;
        let mode = file_mode(entry.header().mode().unwrap_or(0o644), &raw)?;
        match kind {
            EntryType::Directory => {
                dest.create_dir_all(&path, 0o755).map_err(|e| e.to_string())?;
            }
            EntryType::Regular | EntryType::Continuous => {
                let mut out = dest.create_file(&path, mode).map_err(|e| e.to_string())?;
                budget.copy(&mut entry, &mut out, &raw)?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("{}: symlink without a target", raw.display()))?;
                dest.symlink(&path, &target).map_err(|e| e.to_string())?;
            }
            other => {
                return Err(format!(
                    "{}: entries of type {other:?} (hard links, devices, FIFOs) are refused",
                    raw.display()
                ));
            }
        }
    }
    Ok(())
}

fn unpack_zip(file: File, dest: &Beneath, budget: &mut Budget) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let raw = std::path::PathBuf::from(entry.name().map_err(|e| e.to_string())?.into_owned());
        budget.entry(&raw)?;
        if entry.enclosed_name().is_none() {
            return Err(format!(
                "entry {:?} leaves the destination",
                raw.display().to_string()
            ));
        }
        let path = entry_path(&raw)?;
        let mode = file_mode(entry.unix_mode().unwrap_or(0o644), &raw)?;
        if entry.is_dir() {
            dest.create_dir_all(&path, 0o755).map_err(|e| e.to_string())?;
        } else if entry.is_symlink() {
            let mut target = String::new();
            entry
                .by_ref()
                .take(4096)
                .read_to_string(&mut target)
                .map_err(|e| e.to_string())?;
            dest.symlink(&path, Path::new(&target))
                .map_err(|e| e.to_string())?;
        } else {
            let mut out = dest.create_file(&path, mode).map_err(|e| e.to_string())?;
            budget.copy(&mut entry, &mut out, &raw)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, mode, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_uid(4242);
            // set_path refuses `..`, as a careful writer would; write the raw name instead.
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn unpack_bytes(bytes: &[u8], dest: &Path, limits: ArtifactLimits) -> Result<u64, String> {
        let f = dest.join("../archive.tar");
        std::fs::write(&f, bytes).unwrap();
        let b = Beneath::open(dest).unwrap();
        unpack(File::open(&f).unwrap(), ArchiveKind::Tar, &b, limits)
    }

    #[test]
    fn plain_tar_unpacks_without_owner_or_special_bits() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("d");
        std::fs::create_dir(&dest).unwrap();
        let bytes = tar_with(&[("bin/app", 0o755, b"#!/bin/sh\n"), ("conf", 0o600, b"x")]);
        assert_eq!(unpack_bytes(&bytes, &dest, ArtifactLimits::default()), Ok(2));
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(dest.join("bin/app")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o755);
        assert_eq!(m.uid(), unsafe { libc::geteuid() });
    }

    #[test]
    fn escaping_setuid_and_oversized_archives_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("d");
        std::fs::create_dir(&dest).unwrap();
        let up = tar_with(&[("../escaped", 0o644, b"x")]);
        assert!(
            unpack_bytes(&up, &dest, ArtifactLimits::default())
                .unwrap_err()
                .contains("leaves")
        );
        assert!(!tmp.path().join("escaped").exists());
        let suid = tar_with(&[("su", 0o4755, b"x")]);
        assert!(
            unpack_bytes(&suid, &dest, ArtifactLimits::default())
                .unwrap_err()
                .contains("setuid")
        );
        let big = tar_with(&[("big", 0o644, &[0u8; 100])]);
        let limits = ArtifactLimits {
            max_unpacked_size: 10,
            ..ArtifactLimits::default()
        };
        assert!(
            unpack_bytes(&big, &dest, limits)
                .unwrap_err()
                .contains("decompression_size_limit")
        );
    }

    #[test]
    fn kinds() {
        assert_eq!(kind_of("a.TGZ"), Some(ArchiveKind::TarGz));
        assert_eq!(kind_of("a.tar"), Some(ArchiveKind::Tar));
        assert_eq!(kind_of("a.zip"), Some(ArchiveKind::Zip));
        assert_eq!(kind_of("a.bin"), None);
    }
}

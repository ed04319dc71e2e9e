//! `deploy fmt`: the canonical layout of HCL files (stacks, jobspecs, variable files), as
//! `terraform fmt` and `nomad fmt` write it. The file is parsed with hcl-edit, which keeps every
//! comment and blank line as decor; [`layout`] rewrites only that decor, so what the file means
//! never changes.
//!
//! ```text
//!  text ─► hcl-edit Body (with decor) ─► layout::file ─► text
//! ```

mod decor;
mod layout;

use std::path::{Path, PathBuf};

/// A file that is not valid HCL.
#[derive(Debug, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct FormatError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the parser expected.
    pub message: String,
}

/// Largest file `deploy fmt` reads (a jobspec is kilobytes; this bounds memory).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// The canonical layout of `src`.
pub fn format_source(src: &str) -> Result<String, FormatError> {
    let mut body = hcl::edit::parser::parse_body(src).map_err(|e| FormatError {
        line: e.location().line(),
        column: e.location().column(),
        message: e.message().to_owned(),
    })?;
    layout::keep_heredoc_markers(&mut body, src);
    layout::file(&mut body);
    Ok(body.to_string())
}

/// Whether a file name is one `deploy fmt` formats in a directory.
pub fn is_hcl_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.')
        && [".hcl", ".nomad", ".tf", ".tfvars"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// The HCL files of a directory (sorted), and of its subdirectories with `recursive`. Hidden
/// entries are skipped, and symbolic links are not followed, so the walk stays beneath `dir`.
pub fn hcl_files(dir: &Path, recursive: bool) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type()?;
        let path = entry.path();
        let hidden = entry.file_name().to_str().is_none_or(|n| n.starts_with('.'));
        if kind.is_dir() && recursive && !hidden {
            out.extend(hcl_files(&path, true)?);
        } else if kind.is_file() && is_hcl_file(&path) {
            out.push(path);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

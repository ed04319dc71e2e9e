//! `Revision`: one recorded apply, file format v1. The file is read in two steps: its
//! `format_version` first (a newer one is refused with a clear error), then the body with the
//! reader for that version.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::StateError;
use crate::spec::Job;
use crate::stack::{Gate, JobAddress};

/// The newest state format this build reads and the one it writes.
pub const STATE_FORMAT_VERSION: u64 = 1;

/// One revision of a stack's state (`rev-000001.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// Always [`STATE_FORMAT_VERSION`] when written by this build.
    pub format_version: u64,
    /// Identifies the history this revision belongs to; set by the first revision.
    pub lineage: String,
    /// 1, 2, 3, ... within a lineage.
    pub serial: u64,
    /// When the revision was written.
    pub created_at: DateTime<Utc>,
    /// The stack's name.
    pub stack: String,
    /// Every job applied, sorted by address.
    pub jobs: Vec<JobRecord>,
    /// Variables; sensitive values are age-encrypted.
    #[serde(default)]
    pub variables: Vec<ValueRecord>,
    /// Outputs; sensitive values are age-encrypted.
    #[serde(default)]
    pub outputs: Vec<ValueRecord>,
    /// Nomad Variables the stack manages, sorted by (namespace, path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nomad_variables: Vec<super::VariableRecord>,
}

/// How a job's gate ended during the apply that recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateResult {
    /// The gate.
    pub gate: Gate,
    /// Passed before its timeout.
    pub passed: bool,
    /// A sentence: `3/3 allocations healthy`, `timed out after 5m0s`, ...
    pub detail: String,
}

/// A job as it was applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Address in the stack.
    pub address: JobAddress,
    /// The canonical spec that was applied. Values at `sensitive_paths` read `(sensitive)`;
    /// their ciphertexts are in `encrypted`.
    pub spec: Job,
    /// Paths of values that came from sensitive variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_paths: Vec<String>,
    /// Path → age-armored ciphertext of the value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub encrypted: BTreeMap<String, String>,
    /// The backend's job version after the apply.
    pub job_version: Option<u64>,
    /// The backend's `JobModifyIndex` after the apply.
    pub job_modify_index: Option<u64>,
    /// The gate's result (`None` when nothing waited for it).
    pub gate: Option<GateResult>,
    /// When the job's apply finished.
    pub applied_at: DateTime<Utc>,
}

/// A variable or output, with its value in clear or encrypted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValueRecord {
    /// Name.
    pub name: String,
    /// Sensitive: `value` is absent and `encrypted` holds the age-armored JSON text.
    pub sensitive: bool,
    /// The value (non-sensitive only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// The ciphertext (sensitive only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    format_version: Option<serde_json::Value>,
}

impl Revision {
    /// Parses a revision file's bytes, refusing newer formats and anything malformed.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Revision, StateError> {
        let corrupt = |detail: String| StateError::Corrupt {
            path: path.to_path_buf(),
            detail,
        };
        // A file of this build's format reads in one pass; the header is read on its own only
        // to say why any other file is refused (a second scan of the whole file, which was a
        // quarter of reading a large state).
        if let Ok(rev) = serde_json::from_slice::<Revision>(bytes)
            && rev.format_version == STATE_FORMAT_VERSION
        {
            if rev.serial == 0 {
                return Err(corrupt("serial must be at least 1".into()));
            }
            return Ok(rev);
        }
        let header: Header = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        let version = match header.format_version {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| corrupt("format_version is missing or not a whole number".into()))?;
        if version > STATE_FORMAT_VERSION {
            return Err(StateError::NewerFormat {
                path: path.to_path_buf(),
                found: version,
                supported: STATE_FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(corrupt("format_version 0 does not exist".into()));
        }
        let rev: Revision = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if rev.serial == 0 {
            return Err(corrupt("serial must be at least 1".into()));
        }
        Ok(rev)
    }

    /// The file's bytes: compact JSON with a final newline. Compact because a revision holds
    /// the canonical spec of every job: pretty printing doubled the file (47 MB at 10,000 jobs)
    /// and the time to read it back. Files written pretty by earlier builds read the same.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The revision as indented JSON with a final newline, for people (`deploy state show`).
    pub fn to_pretty(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).unwrap_or_default();
        out.push('\n');
        out
    }

    /// The record of a job, by address.
    pub fn job(&self, address: &JobAddress) -> Option<&JobRecord> {
        self.jobs
            .binary_search_by(|j| j.address.cmp(address))
            .ok()
            .map(|i| &self.jobs[i])
    }
}

//! A job's retained versions: the current one whole, the older ones compressed.
//!
//! A version of a large job is megabytes of JSON and many times that as decoded values (a
//! 10,000-group job: 2.5 MB of JSON, tens of MB in memory), and [`MAX_VERSIONS`] are kept.
//! Older versions are read rarely (the versions API, a revert, an allocation still running
//! one, the scheduler during an update), so each is kept as deflated JSON and decoded when
//! read. What the state changes or searches on an older version (its number, `Stable`,
//! `ModifyIndex`, its type) is kept beside the bytes, so marking a version stable decodes
//! nothing. Serialised (snapshots), a record is `{"Versions": [newest, ...]}` with every
//! version whole, as before: snapshots written before and after read the same.
//!
//! [`MAX_VERSIONS`]: super::job::MAX_VERSIONS

use std::borrow::Cow;
use std::io::{Read, Write};
use std::sync::Arc;

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::api::JobSubmission;
use crate::spec::Job;

/// One stored version of a job, with its submission source if one was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobVersion {
    /// The job as registered, with server-managed fields set.
    pub job: Job,
    /// The original source (HCL text, format, variables).
    pub submission: Option<JobSubmission>,
}

/// Why an older version could not be packed or unpacked.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// JSON encoding or decoding failed.
    #[error("job version JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Deflating or inflating failed.
    #[error("job version compression: {0}")]
    Io(#[from] std::io::Error),
}

/// An older version, deflated, with the fields the state reads or changes in place.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedVersion {
    version: u64,
    stable: Option<bool>,
    modify_index: Option<u64>,
    job_type: String,
    bytes: Arc<[u8]>,
}

impl PackedVersion {
    /// Encodes `v`.
    pub fn pack(v: &JobVersion) -> Result<Self, PackError> {
        let json = serde_json::to_vec(v)?;
        let mut enc = DeflateEncoder::new(Vec::with_capacity(json.len() / 8), Compression::fast());
        enc.write_all(&json)?;
        Ok(Self {
            version: v.job.version.unwrap_or(0),
            stable: v.job.stable,
            modify_index: v.job.modify_index,
            job_type: v.job.job_type().to_string(),
            bytes: enc.finish()?.into(),
        })
    }

    /// Decodes the version, with its current `Stable` and `ModifyIndex`.
    pub fn unpack(&self) -> Result<JobVersion, PackError> {
        let mut json = Vec::new();
        DeflateDecoder::new(&self.bytes[..]).read_to_end(&mut json)?;
        let mut v: JobVersion = serde_json::from_slice(&json)?;
        v.job.stable = self.stable;
        v.job.modify_index = self.modify_index;
        Ok(v)
    }

    /// The job's `Version`.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The job's type (`service`, `batch`, ...).
    pub fn job_type(&self) -> &str {
        &self.job_type
    }

    /// Size of the compressed bytes.
    pub fn packed_len(&self) -> usize {
        self.bytes.len()
    }
}

/// A job and its retained versions: the current one, then older ones newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    current: JobVersion,
    older: Vec<PackedVersion>,
}

impl JobRecord {
    /// A record whose only version is `first`.
    pub fn new(first: JobVersion) -> Self {
        Self {
            current: first,
            older: Vec::new(),
        }
    }

    /// A record of `versions`, newest first; `None` if there are none.
    pub fn from_versions(versions: Vec<JobVersion>) -> Option<Self> {
        let mut it = versions.into_iter();
        let mut rec = Self::new(it.next()?);
        rec.older = it.filter_map(|v| pack_or_log(&v)).collect();
        Some(rec)
    }

    /// The current job.
    pub fn current(&self) -> &Job {
        &self.current.job
    }

    /// The current job, to change server-managed fields in place (its status).
    pub fn current_mut(&mut self) -> &mut Job {
        &mut self.current.job
    }

    /// The current version with its submission.
    pub fn current_version(&self) -> &JobVersion {
        &self.current
    }

    /// The current job's `JobModifyIndex`.
    pub fn job_modify_index(&self) -> u64 {
        self.current().job_modify_index.unwrap_or(0)
    }

    /// Makes `version` the current one, keeping at most `keep` versions in all.
    pub fn push(&mut self, version: JobVersion, keep: usize) {
        let previous = std::mem::replace(&mut self.current, version);
        if keep > 1
            && let Some(p) = pack_or_log(&previous)
        {
            self.older.insert(0, p);
        }
        self.older.truncate(keep.saturating_sub(1));
    }

    /// How many versions are retained.
    pub fn count(&self) -> usize {
        1 + self.older.len()
    }

    /// The older versions, newest first, still packed.
    pub fn older(&self) -> &[PackedVersion] {
        &self.older
    }

    /// The version numbered `version`, if still retained (decoded unless it is the current).
    pub fn version(&self, version: u64) -> Option<Cow<'_, JobVersion>> {
        if self.current.job.version.unwrap_or(0) == version {
            return Some(Cow::Borrowed(&self.current));
        }
        let p = self.older.iter().find(|p| p.version == version)?;
        unpack_or_log(p).map(Cow::Owned)
    }

    /// The type of the job at `version`, if still retained (nothing is decoded).
    pub fn version_type(&self, version: u64) -> Option<&str> {
        if self.current.job.version.unwrap_or(0) == version {
            return Some(self.current.job.job_type());
        }
        self.older
            .iter()
            .find(|p| p.version == version)
            .map(PackedVersion::job_type)
    }

    /// Every retained version, newest first, decoded.
    pub fn versions(&self) -> Vec<JobVersion> {
        std::iter::once(self.current.clone())
            .chain(self.older.iter().filter_map(unpack_or_log))
            .collect()
    }

    /// Version numbers with their `Stable` flag, newest first (nothing is decoded).
    pub fn stability(&self) -> impl Iterator<Item = (u64, Option<bool>)> + '_ {
        std::iter::once((self.current.job.version.unwrap_or(0), self.current.job.stable))
            .chain(self.older.iter().map(|p| (p.version, p.stable)))
    }

    /// Sets `Stable` of `version` (and its `ModifyIndex` if given); false if not retained.
    pub fn set_stable(&mut self, version: u64, stable: bool, modify_index: Option<u64>) -> bool {
        let (flag, index) = if self.current.job.version.unwrap_or(0) == version {
            (&mut self.current.job.stable, &mut self.current.job.modify_index)
        } else if let Some(p) = self.older.iter_mut().find(|p| p.version == version) {
            (&mut p.stable, &mut p.modify_index)
        } else {
            return false;
        };
        *flag = Some(stable);
        if modify_index.is_some() {
            *index = modify_index;
        }
        true
    }
}

/// Packs `v`; a failure (a job that does not encode as JSON, which a decoded job always does)
/// drops the version with an error logged, the same way on every server.
fn pack_or_log(v: &JobVersion) -> Option<PackedVersion> {
    PackedVersion::pack(v)
        .inspect_err(|e| tracing::error!("dropping job version {:?}: {e}", v.job.version))
        .ok()
}

fn unpack_or_log(p: &PackedVersion) -> Option<JobVersion> {
    p.unpack()
        .inspect_err(|e| tracing::error!("reading job version {}: {e}", p.version))
        .ok()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VersionsOut<'a> {
    versions: Vec<Cow<'a, JobVersion>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VersionsIn {
    versions: Vec<JobVersion>,
}

impl Serialize for JobRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut versions = Vec::with_capacity(self.count());
        versions.push(Cow::Borrowed(&self.current));
        for p in &self.older {
            versions.push(Cow::Owned(p.unpack().map_err(S::Error::custom)?));
        }
        VersionsOut { versions }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for JobRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let VersionsIn { versions } = VersionsIn::deserialize(d)?;
        Self::from_versions(versions).ok_or_else(|| D::Error::custom("a job record without versions"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn version(n: u64, groups: usize) -> JobVersion {
        let groups: Vec<Value> = (0..groups)
            .map(|g| json!({"Name": format!("g{g}"), "Count": 1, "Tasks": [{"Name": "t", "Driver": "docker", "Config": {"image": format!("app:{n}")}}]}))
            .collect();
        let job = serde_json::from_value(json!({
            "ID": "web", "Name": "web", "Type": "batch", "Version": n, "Stable": false,
            "ModifyIndex": n + 10, "JobModifyIndex": n + 10, "TaskGroups": groups,
        }))
        .unwrap();
        let submission =
            serde_json::from_value(json!({"Source": format!("job \"web\" {{ # {n} }}"), "Format": "hcl2"}));
        JobVersion {
            job,
            submission: Some(submission.unwrap()),
        }
    }

    /// The record as every version whole: what snapshots held before versions were packed.
    fn whole(versions: &[JobVersion]) -> Value {
        json!({ "Versions": versions })
    }

    #[test]
    fn older_versions_are_packed_and_read_back_exactly() {
        let all: Vec<JobVersion> = (0..12).rev().map(|n| version(n, 50)).collect();
        let mut rec = JobRecord::new(version(0, 50));
        for n in 1..12 {
            rec.push(version(n, 50), 10);
        }
        assert_eq!(rec.count(), 10);
        assert_eq!(rec.versions(), all[..10].to_vec());
        assert_eq!(rec.current(), &all[0].job);
        assert_eq!(rec.version(5).unwrap().into_owned(), version(5, 50));
        assert!(rec.version(1).is_none(), "pruned");
        assert_eq!(rec.version_type(4), Some("batch"));
        let packed: usize = rec.older().iter().map(PackedVersion::packed_len).sum();
        let json = serde_json::to_vec(&all[1..10]).unwrap().len();
        assert!(packed * 5 < json, "packed {packed} bytes of {json}");
    }

    #[test]
    fn serialised_records_are_unchanged_and_round_trip() {
        let all: Vec<JobVersion> = (0..4).rev().map(|n| version(n, 3)).collect();
        let rec = JobRecord::from_versions(all.clone()).unwrap();
        assert_eq!(serde_json::to_value(&rec).unwrap(), whole(&all));
        let back: JobRecord = serde_json::from_value(whole(&all)).unwrap();
        assert_eq!(back, rec);
        assert!(serde_json::from_value::<JobRecord>(json!({"Versions": []})).is_err());
    }

    #[test]
    fn stability_of_an_older_version_changes_without_decoding() {
        let mut rec = JobRecord::from_versions((0..3).rev().map(|n| version(n, 2)).collect()).unwrap();
        assert!(rec.set_stable(1, true, Some(77)));
        assert!(!rec.set_stable(9, true, None));
        assert_eq!(
            rec.stability().collect::<Vec<_>>(),
            vec![(2, Some(false)), (1, Some(true)), (0, Some(false))]
        );
        let v1 = rec.version(1).unwrap().into_owned();
        assert_eq!((v1.job.stable, v1.job.modify_index), (Some(true), Some(77)));
        let mut expected = version(1, 2);
        expected.job.stable = Some(true);
        expected.job.modify_index = Some(77);
        assert_eq!(
            serde_json::to_value(&rec).unwrap()["Versions"][1],
            json!(expected)
        );
    }
}

//! Jobs and their versions: register (with check-index), stop, purge.
//!
//! A job is kept as Nomad's JSON job object. The server-managed fields (`Version`,
//! `CreateIndex`, `ModifyIndex`, `JobModifyIndex`, `SubmitTime`, `Status`, `Stable`) are set
//! here during apply; everything else is the submitted spec, untouched.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::command::{JobDeregister, JobRegister, Outcome};
use super::evaluation::Evaluation;
use super::state::State;

/// The job specification as stored: Nomad's JSON job object.
pub type JobSpec = Value;

/// How many versions of a job are kept, newest first.
pub const MAX_VERSIONS: usize = 10;

/// Fields the server sets; ignored when deciding whether a submitted spec changed.
const SERVER_FIELDS: &[&str] = &[
    "Version",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "SubmitTime",
    "Status",
    "StatusDescription",
    "Stable",
];

/// One stored version of a job, with its submission source if one was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobVersion {
    /// The job as registered, with server-managed fields set.
    pub job: JobSpec,
    /// The original source (Nomad's `JobSubmission`: Source, Format, Variables, ...).
    pub submission: Option<Value>,
}

/// A job and its retained versions (newest first; the first is the current job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobRecord {
    /// Versions, newest first, at most [`MAX_VERSIONS`].
    pub versions: Vec<JobVersion>,
}

impl JobRecord {
    /// The current job.
    pub fn current(&self) -> &JobSpec {
        &self.versions[0].job
    }

    /// The current job's `JobModifyIndex`.
    pub fn job_modify_index(&self) -> u64 {
        u64_field(self.current(), "JobModifyIndex")
    }

    /// The version numbered `version`, if still retained.
    pub fn version(&self, version: u64) -> Option<&JobVersion> {
        self.versions
            .iter()
            .find(|v| u64_field(&v.job, "Version") == version)
    }
}

/// Reads an unsigned integer field of a JSON object (0 when absent).
pub fn u64_field(job: &Value, field: &str) -> u64 {
    job.get(field).and_then(Value::as_u64).unwrap_or(0)
}

/// Reads a string field of a JSON object ("" when absent).
pub fn str_field<'a>(job: &'a Value, field: &str) -> &'a str {
    job.get(field).and_then(Value::as_str).unwrap_or("")
}

/// The namespace a job belongs to (`default` when unset).
pub fn job_namespace(job: &Value) -> &str {
    match str_field(job, "Namespace") {
        "" => "default",
        ns => ns,
    }
}

/// Whether two jobs differ in anything a user submitted.
fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(obj) = v.as_object_mut() {
            for f in SERVER_FIELDS {
                obj.remove(*f);
            }
            obj.entry("Stop").or_insert(json!(false));
        }
        v
    };
    strip(old) != strip(new)
}

/// Nomad's check-index message prefix, which clients match on.
pub const ENFORCE_INDEX_PREFIX: &str = "Enforcing job modify index";

impl State {
    /// Registers a job: a new version unless the spec is unchanged, plus its evaluation.
    pub(super) fn apply_job_register(&mut self, index: u64, reg: JobRegister) -> Outcome {
        let JobRegister {
            mut job,
            submission,
            enforce_index,
            eval,
            submit_time,
        } = reg;
        let namespace = job_namespace(&job).to_owned();
        let id = str_field(&job, "ID").to_owned();
        if let Some(obj) = job.as_object_mut() {
            obj.insert("Namespace".into(), json!(namespace));
        }
        let existing = self.jobs.get(&namespace).and_then(|jobs| jobs.get(&id));
        if let Some(want) = enforce_index {
            let message = match existing {
                Some(_) if want == 0 => {
                    Some(format!("{ENFORCE_INDEX_PREFIX} {want}: job already exists"))
                }
                None if want != 0 => {
                    Some(format!("{ENFORCE_INDEX_PREFIX} {want}: job does not exist"))
                }
                Some(rec) if rec.job_modify_index() != want => Some(format!(
                    "{ENFORCE_INDEX_PREFIX} {want}: job exists with conflicting job modify index: {}",
                    rec.job_modify_index()
                )),
                _ => None,
            };
            if let Some(message) = message {
                return Outcome::JobIndexConflict { message };
            }
        }
        let unchanged = existing.is_some_and(|rec| !spec_changed(rec.current(), &job));
        let job_modify_index = if unchanged {
            existing.map_or(index, JobRecord::job_modify_index)
        } else {
            let version = existing.map_or(0, |rec| u64_field(rec.current(), "Version") + 1);
            let create_index =
                existing.map_or(index, |rec| u64_field(rec.current(), "CreateIndex"));
            if let Some(obj) = job.as_object_mut() {
                obj.insert("Version".into(), json!(version));
                obj.insert("CreateIndex".into(), json!(create_index));
                obj.insert("ModifyIndex".into(), json!(index));
                obj.insert("JobModifyIndex".into(), json!(index));
                obj.insert("SubmitTime".into(), json!(submit_time));
                obj.insert("Status".into(), json!("pending"));
                obj.insert("Stable".into(), json!(false));
                obj.entry("Stop").or_insert(json!(false));
            }
            self.push_version(&namespace, &id, JobVersion { job, submission });
            self.bump_table("jobs", index);
            index
        };
        let (eval_id, eval_create_index) = self.insert_job_eval(index, eval, job_modify_index);
        Outcome::JobWritten {
            job_modify_index,
            eval_id,
            eval_create_index,
        }
    }

    /// Stops a job (a new version with `Stop = true`) or purges it with all its versions.
    pub(super) fn apply_job_deregister(&mut self, index: u64, dereg: JobDeregister) -> Outcome {
        let JobDeregister {
            namespace,
            id,
            purge,
            eval,
            submit_time,
        } = dereg;
        let Some(rec) = self.jobs.get(&namespace).and_then(|jobs| jobs.get(&id)) else {
            return Outcome::NotFound {
                message: "job not found".into(),
            };
        };
        let job_modify_index = if purge {
            let jobs = self.jobs.get_mut(&namespace).expect("namespace present");
            jobs.remove(&id);
            if jobs.is_empty() {
                self.jobs.remove(&namespace);
            }
            index
        } else if rec.current().get("Stop").and_then(Value::as_bool) == Some(true) {
            rec.job_modify_index()
        } else {
            let mut job = rec.current().clone();
            let version = u64_field(&job, "Version") + 1;
            if let Some(obj) = job.as_object_mut() {
                obj.insert("Stop".into(), json!(true));
                obj.insert("Version".into(), json!(version));
                obj.insert("ModifyIndex".into(), json!(index));
                obj.insert("JobModifyIndex".into(), json!(index));
                obj.insert("SubmitTime".into(), json!(submit_time));
                obj.insert("Stable".into(), json!(false));
            }
            self.push_version(
                &namespace,
                &id,
                JobVersion {
                    job,
                    submission: None,
                },
            );
            index
        };
        self.bump_table("jobs", index);
        let (eval_id, eval_create_index) = self.insert_job_eval(index, eval, job_modify_index);
        Outcome::JobWritten {
            job_modify_index,
            eval_id,
            eval_create_index,
        }
    }

    fn push_version(&mut self, namespace: &str, id: &str, version: JobVersion) {
        let rec = self
            .jobs
            .entry(namespace.to_owned())
            .or_default()
            .entry(id.to_owned())
            .or_insert_with(|| JobRecord {
                versions: Vec::new(),
            });
        rec.versions.insert(0, version);
        rec.versions.truncate(MAX_VERSIONS);
    }

    fn insert_job_eval(
        &mut self,
        index: u64,
        eval: Option<Evaluation>,
        job_modify_index: u64,
    ) -> (String, u64) {
        let Some(mut eval) = eval else {
            return (String::new(), 0);
        };
        eval.job_modify_index = job_modify_index;
        eval.create_index = index;
        eval.modify_index = index;
        let id = eval.id.clone();
        self.evals.insert(id.clone(), eval);
        self.bump_table("evals", index);
        (id, index)
    }

    /// The job `id` in `namespace`.
    pub fn job(&self, namespace: &str, id: &str) -> Option<&JobRecord> {
        self.jobs.get(namespace)?.get(id)
    }

    /// Jobs in `namespace` (`*` for all) whose ID starts with `prefix`, sorted by namespace, ID.
    pub fn jobs_with_prefix<'a>(
        &'a self,
        namespace: &'a str,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a JobRecord> + 'a {
        self.jobs
            .iter()
            .filter(move |(ns, _)| namespace == "*" || ns.as_str() == namespace)
            .flat_map(move |(_, jobs)| {
                jobs.iter()
                    .filter(move |(id, _)| id.starts_with(prefix))
                    .map(|(_, r)| r)
            })
    }
}

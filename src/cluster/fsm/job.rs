//! Jobs and their versions: register (with check-index), stop, purge.
//!
//! A job is kept as [`spec::Job`](crate::spec::Job). The server-managed fields (`Version`,
//! `CreateIndex`, `ModifyIndex`, `JobModifyIndex`, `SubmitTime`, `Status`, `Stable`) are set
//! here during apply; everything else is the submitted spec, untouched.

use super::command::Outcome;
use super::payload::{JobDeregister, JobRegister};
use super::records::{JobRecord, JobVersion};
use super::state::State;
use crate::api::Evaluation;
use crate::spec::Job;

/// How many versions of a job are kept, newest first.
pub const MAX_VERSIONS: usize = 10;

/// Nomad's check-index message prefix, which clients match on.
pub const ENFORCE_INDEX_PREFIX: &str = "Enforcing job modify index";

/// The job without the fields the server sets, for telling whether a submission changed.
fn user_spec(job: &Job) -> Job {
    let mut j = job.clone();
    j.version = None;
    j.create_index = None;
    j.modify_index = None;
    j.job_modify_index = None;
    j.submit_time = None;
    j.status = None;
    j.status_description = None;
    j.stable = None;
    j.namespace = Some(job.namespace().to_owned());
    j.stop = Some(job.stop.unwrap_or(false));
    super::scaling::clear_server_fields(&mut j);
    j
}

/// Whether two jobs differ in anything a user submitted.
fn spec_changed(old: &Job, new: &Job) -> bool {
    user_spec(old) != user_spec(new)
}

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
        let namespace = job.namespace().to_owned();
        let id = job.id().to_owned();
        job.namespace = Some(namespace.clone());
        if !self.namespace_exists(&namespace) {
            return Outcome::Refused {
                message: format!("job {id:?} is in nonexistent namespace {namespace:?}"),
            };
        }
        let existing = self.jobs.get(&namespace).and_then(|jobs| jobs.get(&id));
        if let Some(want) = enforce_index {
            let message = match existing {
                Some(_) if want == 0 => Some(format!("{ENFORCE_INDEX_PREFIX} {want}: job already exists")),
                None if want != 0 => Some(format!("{ENFORCE_INDEX_PREFIX} {want}: job does not exist")),
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
            let prior = existing.map(JobRecord::current);
            job.version = Some(prior.map_or(0, |p| p.version.unwrap_or(0) + 1));
            job.create_index = Some(prior.and_then(|p| p.create_index).unwrap_or(index));
            job.modify_index = Some(index);
            job.job_modify_index = Some(index);
            job.submit_time = Some(submit_time);
            job.status = Some("pending".into());
            job.stable = Some(false);
            job.stop = Some(job.stop.unwrap_or(false));
            self.fill_scaling_policies(index, &mut job);
            self.push_version(&namespace, &id, JobVersion { job, submission });
            self.bump_table("jobs", index);
            index
        };
        let (eval_id, eval_create_index) = self.insert_job_eval(index, eval, job_modify_index);
        self.refresh_job_status(index, &namespace, &id);
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
            if let Some(jobs) = self.jobs.get_mut(&namespace) {
                jobs.remove(&id);
                if jobs.is_empty() {
                    self.jobs.remove(&namespace);
                }
            }
            self.drop_scaling_events(&namespace, &id);
            index
        } else if rec.current().stop == Some(true) {
            rec.job_modify_index()
        } else {
            let mut job = rec.current().clone();
            job.stop = Some(true);
            job.version = Some(job.version.unwrap_or(0) + 1);
            job.modify_index = Some(index);
            job.job_modify_index = Some(index);
            job.submit_time = Some(submit_time);
            job.stable = Some(false);
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
        self.refresh_job_status(index, &namespace, &id);
        Outcome::JobWritten {
            job_modify_index,
            eval_id,
            eval_create_index,
        }
    }

    fn push_version(&mut self, namespace: &str, id: &str, version: JobVersion) {
        self.written_jobs.note(namespace, id);
        let by_id = self.jobs.entry(namespace.to_owned()).or_default();
        match by_id.get_mut(id) {
            Some(rec) => rec.push(version, MAX_VERSIONS),
            None => {
                by_id.insert(id.to_owned(), JobRecord::new(version));
            }
        }
    }

    pub(super) fn insert_job_eval(
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

//! Garbage collection in the state: which objects are old and finished enough to go
//! ([`State::gc_candidates`], a pure read the leader runs before proposing) and the removal
//! itself ([`Command::GcCollect`](super::Command::GcCollect)), applied the same on every
//! replica.
//!
//! ```text
//!  leader: State::gc_candidates(cutoffs) ─► GcCollect { jobs, evals, allocs, deployments }
//!                                               │ Raft
//!  every replica: State::apply_gc ◄─────────────┘ (re-checks each object is still finished)
//! ```
//!
//! The rules follow Nomad's core scheduler: a terminal evaluation goes once older than its
//! threshold and every allocation it made is terminal, taking those allocations with it; a dead
//! job goes with all its evaluations, allocations, deployments and versions; a finished
//! deployment goes once older than its threshold. A live batch job keeps the finished
//! allocations of its current version, so the scheduler does not run finished work again.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::command::Outcome;
use super::records::JobRecord;
use super::state::State;
use crate::api::{Allocation, ClientStatus, DesiredStatus, EvalStatus, Evaluation};

/// A job to collect, with the `JobModifyIndex` it had when chosen: a job registered again
/// in between is kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GcJob {
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    pub id: String,
    /// The job's `JobModifyIndex` when chosen.
    pub job_modify_index: u64,
}

/// What one collection removes, decided by the leader before proposing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GcCollect {
    /// Dead jobs, removed with every version.
    pub jobs: Vec<GcJob>,
    /// Terminal evaluations.
    pub evals: Vec<String>,
    /// Terminal allocations.
    pub allocs: Vec<String>,
    /// Finished deployments.
    pub deployments: Vec<String>,
}

impl GcCollect {
    /// Nothing to remove.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty() && self.evals.is_empty() && self.allocs.is_empty() && self.deployments.is_empty()
    }
}

/// How old an object must be to go: objects last changed at or before these points qualify.
/// Times are Unix nanoseconds, as the objects' `ModifyTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcCutoffs {
    /// Evaluations of non-batch jobs last changed at or before this time.
    pub eval_before: i64,
    /// Evaluations of batch jobs last changed at or before this time.
    pub batch_eval_before: i64,
    /// Dead jobs whose last activity is at or before this time.
    pub job_before: i64,
    /// Finished deployments last changed at or before this Raft index.
    pub deployment_before_index: u64,
    /// A forced collection: a dead batch job's allocations go even if it was not stopped.
    pub force: bool,
}

impl GcCutoffs {
    /// Everything finished qualifies, whatever its age (`PUT /v1/system/gc`).
    pub fn force() -> Self {
        Self {
            eval_before: i64::MAX,
            batch_eval_before: i64::MAX,
            job_before: i64::MAX,
            deployment_before_index: u64::MAX,
            force: true,
        }
    }
}

fn eval_terminal(e: &Evaluation) -> bool {
    matches!(
        e.status,
        EvalStatus::Complete | EvalStatus::Failed | EvalStatus::Canceled
    )
}

/// Finished for good: stopped or done on the server, and not still running on a client (a
/// client keeps running an allocation it still reports as running or pending).
fn alloc_collectable(a: &Allocation) -> bool {
    a.client_status.is_terminal()
        || (a.desired_status != DesiredStatus::Run
            && !matches!(a.client_status, ClientStatus::Running | ClientStatus::Pending))
}

/// A job finished for good: stopped, or dead with nothing running. A periodic or
/// parameterized parent lives until stopped, as its children come from it.
fn job_dead(job: &crate::spec::Job, allocs: &[&Allocation]) -> bool {
    let stopped = job.stop == Some(true);
    if (job.is_periodic() || job.is_parameterized()) && !stopped {
        return false;
    }
    let all_done = allocs.iter().all(|a| alloc_collectable(a));
    all_done && (stopped || job.status.as_deref() == Some("dead"))
}

type JobKey = (String, String);

struct Index<'a> {
    allocs_by_job: BTreeMap<JobKey, Vec<&'a Allocation>>,
    allocs_by_eval: BTreeMap<&'a str, Vec<&'a Allocation>>,
    evals_by_job: BTreeMap<JobKey, Vec<&'a Evaluation>>,
}

impl State {
    fn gc_index(&self) -> Index<'_> {
        let mut ix = Index {
            allocs_by_job: BTreeMap::new(),
            allocs_by_eval: BTreeMap::new(),
            evals_by_job: BTreeMap::new(),
        };
        for a in self.allocs.values() {
            let key = (a.namespace.clone(), a.job_id.clone());
            ix.allocs_by_job.entry(key).or_default().push(a);
            ix.allocs_by_eval.entry(a.eval_id.as_str()).or_default().push(a);
        }
        for e in self.evals.values() {
            let key = (e.namespace.clone(), e.job_id.clone());
            ix.evals_by_job.entry(key).or_default().push(e);
        }
        ix
    }

    /// What a collection at `cutoffs` removes now. A pure read: the leader proposes the
    /// result as [`Command::GcCollect`](super::Command::GcCollect).
    pub fn gc_candidates(&self, cutoffs: &GcCutoffs) -> GcCollect {
        let ix = self.gc_index();
        let mut out = GcCollect::default();
        let mut gone_jobs = BTreeSet::new();
        for (ns, jobs) in &self.jobs {
            for (id, rec) in jobs {
                let key = (ns.clone(), id.clone());
                if self.job_collectable(rec, &key, &ix, cutoffs) {
                    out.jobs.push(GcJob {
                        namespace: ns.clone(),
                        id: id.clone(),
                        job_modify_index: rec.job_modify_index(),
                    });
                    gone_jobs.insert(key);
                }
            }
        }
        let mut allocs = BTreeSet::new();
        for e in self.evals.values() {
            let key = (e.namespace.clone(), e.job_id.clone());
            let job = self.job(&key.0, &key.1);
            if gone_jobs.contains(&key) {
                out.evals.push(e.id.clone());
                continue;
            }
            let batch = job.is_some_and(|j| j.current().job_type() == "batch");
            let cutoff = if batch {
                cutoffs.batch_eval_before
            } else {
                cutoffs.eval_before
            };
            if !eval_terminal(e) || e.modify_time > cutoff {
                continue;
            }
            let made = ix
                .allocs_by_eval
                .get(e.id.as_str())
                .map_or(&[][..], Vec::as_slice);
            // A live batch job keeps the finished allocations of its current version: without
            // them the scheduler would place the finished work again. Those of older
            // versions go, as in Nomad.
            let live_batch = job.filter(|_| batch).map(JobRecord::current).filter(|j| {
                !(j.status.as_deref() == Some("dead") && (j.stop == Some(true) || cutoffs.force))
            });
            let keep_from = live_batch.map_or(0, |j| j.job_modify_index.unwrap_or(0));
            let eligible: Vec<&Allocation> = made
                .iter()
                .copied()
                .filter(|a| alloc_collectable(a) && a.modify_time <= cutoff)
                .filter(|a| live_batch.is_none() || a.create_index < keep_from)
                .collect();
            if eligible.len() == made.len() {
                out.evals.push(e.id.clone());
            }
            allocs.extend(eligible.iter().map(|a| a.id.clone()));
        }
        for (key, list) in &ix.allocs_by_job {
            let orphan = self.job(&key.0, &key.1).is_none();
            for a in list {
                let old = a.modify_time <= cutoffs.eval_before;
                if gone_jobs.contains(key) || (orphan && old && alloc_collectable(a)) {
                    allocs.insert(a.id.clone());
                }
            }
        }
        out.allocs = allocs.into_iter().collect();
        out.deployments = self
            .deployments
            .values()
            .filter(|d| !d.status.is_active())
            .filter(|d| {
                d.modify_index <= cutoffs.deployment_before_index
                    || gone_jobs.contains(&(d.namespace.clone(), d.job_id.clone()))
            })
            .map(|d| d.id.clone())
            .collect();
        out
    }

    fn job_collectable(&self, rec: &JobRecord, key: &JobKey, ix: &Index<'_>, cutoffs: &GcCutoffs) -> bool {
        let job = rec.current();
        let allocs = ix.allocs_by_job.get(key).map_or(&[][..], Vec::as_slice);
        let evals = ix.evals_by_job.get(key).map_or(&[][..], Vec::as_slice);
        if !job_dead(job, allocs) || !evals.iter().all(|e| eval_terminal(e)) {
            return false;
        }
        let last_activity = allocs
            .iter()
            .map(|a| a.modify_time)
            .chain(evals.iter().map(|e| e.modify_time))
            .chain(job.submit_time)
            .max()
            .unwrap_or(0);
        last_activity <= cutoffs.job_before
    }

    /// Removes what `gc` lists, re-checking that each object is still finished: a job
    /// registered again, an evaluation re-opened or an allocation restarted since the
    /// leader chose them stays.
    pub(super) fn apply_gc(&mut self, index: u64, gc: GcCollect) -> Outcome {
        for j in &gc.jobs {
            let same = self
                .job(&j.namespace, &j.id)
                .is_some_and(|r| r.job_modify_index() == j.job_modify_index);
            if !same {
                continue;
            }
            if let Some(jobs) = self.jobs.get_mut(&j.namespace) {
                jobs.remove(&j.id);
                if jobs.is_empty() {
                    self.jobs.remove(&j.namespace);
                }
            }
            if let Some(launches) = self.periodic_launches.get_mut(&j.namespace) {
                launches.remove(&j.id);
                if launches.is_empty() {
                    self.periodic_launches.remove(&j.namespace);
                }
            }
            self.bump_table("jobs", index);
        }
        for id in &gc.evals {
            if self.evals.get(id).is_some_and(eval_terminal) {
                self.evals.remove(id);
                self.bump_table("evals", index);
            }
        }
        for id in &gc.allocs {
            if self.allocs.get(id).is_some_and(alloc_collectable) {
                self.allocs.remove(id);
                self.bump_table("allocs", index);
                let before = self.services.len();
                self.services.retain(|_, s| s.alloc_id != *id);
                if self.services.len() != before {
                    self.bump_table("services", index);
                }
            }
        }
        for id in &gc.deployments {
            if self.deployments.get(id).is_some_and(|d| !d.status.is_active()) {
                self.deployments.remove(id);
                self.bump_table("deployments", index);
            }
        }
        Outcome::Done
    }
}

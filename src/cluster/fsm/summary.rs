//! Job summaries (Nomad's `JobSummary`): allocations per group and client status, what the
//! newest evaluation could not place yet, and children by status, computed from the state in
//! one pass so that listing every job's summary does not walk every allocation once per job.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::state::State;
use crate::api::{Allocation, ClientStatus, EvalStatus, Evaluation};

/// What job summaries are computed from, grouped by job in one pass over the state, so that
/// listing every job's summary does not walk every allocation once per job.
pub struct SummaryIndex<'s> {
    allocs: HashMap<(&'s str, &'s str), Vec<&'s Allocation>>,
    newest_eval: HashMap<(&'s str, &'s str), &'s Evaluation>,
    children: HashMap<(&'s str, &'s str), [u64; 3]>,
}

impl<'s> SummaryIndex<'s> {
    /// Indexes allocations, the newest live evaluation and child statuses per job.
    pub fn new(state: &'s State) -> Self {
        Self::of(state, state.allocs.values(), state.evals.values())
    }

    /// The same for job `id` in `ns` alone, from its own allocations and evaluations.
    pub fn for_job(state: &'s State, ns: &str, id: &str) -> Self {
        Self::of(state, state.allocs.of_job(ns, id), state.evals.of_job(ns, id))
    }

    fn of(
        state: &'s State,
        all_allocs: impl Iterator<Item = &'s Allocation>,
        evals: impl Iterator<Item = &'s Evaluation>,
    ) -> Self {
        let mut allocs: HashMap<(&str, &str), Vec<&Allocation>> = HashMap::new();
        for a in all_allocs {
            allocs.entry((&a.namespace, &a.job_id)).or_default().push(a);
        }
        let mut newest_eval: HashMap<(&str, &str), &Evaluation> = HashMap::new();
        for e in evals.filter(|e| e.status != EvalStatus::Canceled) {
            let slot = newest_eval.entry((&e.namespace, &e.job_id)).or_insert(e);
            if e.create_index > slot.create_index {
                *slot = e;
            }
        }
        let mut children: HashMap<(&str, &str), [u64; 3]> = HashMap::new();
        for (ns, jobs) in &state.jobs {
            for child in jobs.values().map(|r| r.current()) {
                let Some(parent) = child.parent_id.as_deref() else {
                    continue;
                };
                let slot = match child.status.as_deref() {
                    Some("running") => 1,
                    Some("dead") => 2,
                    _ => 0,
                };
                children.entry((ns, parent)).or_default()[slot] += 1;
            }
        }
        Self {
            allocs,
            newest_eval,
            children,
        }
    }

    /// Nomad's `JobSummary` of job `id`: allocations by group and client status, what the
    /// newest evaluation could not place yet, and children by status.
    pub fn summary(&self, state: &State, ns: &str, id: &str) -> Option<Value> {
        let job = state.job(ns, id)?.current();
        let mut groups: BTreeMap<String, BTreeMap<&str, u64>> = job
            .groups()
            .iter()
            .map(|g| (g.name.clone().unwrap_or_default(), BTreeMap::new()))
            .collect();
        for a in self.allocs.get(&(ns, id)).into_iter().flatten() {
            let key = match a.client_status {
                ClientStatus::Pending => "Starting",
                ClientStatus::Running => "Running",
                ClientStatus::Complete => "Complete",
                ClientStatus::Failed => "Failed",
                ClientStatus::Lost => "Lost",
                _ => "Unknown",
            };
            *groups
                .entry(a.task_group.clone())
                .or_default()
                .entry(key)
                .or_default() += 1;
        }
        let queued = self
            .newest_eval
            .get(&(ns, id))
            .and_then(|e| e.queued_allocations.as_ref());
        for (g, n) in queued.into_iter().flatten() {
            *groups.entry(g.clone()).or_default().entry("Queued").or_default() += n;
        }
        let summary: serde_json::Map<String, Value> = groups
            .into_iter()
            .map(|(g, counts)| {
                let get = |k: &str| counts.get(k).copied().unwrap_or(0);
                let v = json!({
                    "Queued": get("Queued"), "Complete": get("Complete"), "Failed": get("Failed"),
                    "Running": get("Running"), "Starting": get("Starting"), "Lost": get("Lost"),
                    "Unknown": get("Unknown"),
                });
                (g, v)
            })
            .collect();
        let [pending, running, dead] = self.children.get(&(ns, id)).copied().unwrap_or_default();
        Some(json!({
            "JobID": id,
            "Namespace": ns,
            "Summary": summary,
            "Children": {"Pending": pending, "Running": running, "Dead": dead},
            "CreateIndex": job.create_index.unwrap_or(0),
            "ModifyIndex": state.table_index("allocs").max(job.modify_index.unwrap_or(0)),
        }))
    }
}

/// Nomad's `JobSummary` of one job.
pub fn job_summary(state: &State, ns: &str, id: &str) -> Option<Value> {
    SummaryIndex::for_job(state, ns, id).summary(state, ns, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::fsm::{Command, JobRegister};
    use crate::spec::{Job, TaskGroup};

    #[test]
    fn summary_counts_allocations_by_group_and_children_by_status() {
        let mut state = State::default();
        let job = Job {
            id: Some("web".into()),
            task_groups: Some(vec![TaskGroup {
                name: Some("app".into()),
                ..TaskGroup::default()
            }]),
            ..Job::default()
        };
        let reg = JobRegister {
            job,
            submission: None,
            enforce_index: None,
            eval: None,
            submit_time: 1,
        };
        state.apply(5, Command::JobRegister(Box::new(reg)));
        for (i, status) in [ClientStatus::Running, ClientStatus::Running, ClientStatus::Failed]
            .into_iter()
            .enumerate()
        {
            let a = Allocation {
                id: format!("a{i}"),
                namespace: "default".into(),
                job_id: "web".into(),
                task_group: "app".into(),
                client_status: status,
                ..Allocation::default()
            };
            state.allocs.insert(a.id.clone(), a);
        }
        let s = job_summary(&state, "default", "web").unwrap();
        assert_eq!(s["Summary"]["app"]["Running"], 2);
        assert_eq!(s["Summary"]["app"]["Failed"], 1);
        assert_eq!(s["Summary"]["app"]["Queued"], 0);
        assert_eq!(s["Children"]["Pending"], 0);
        assert!(job_summary(&state, "default", "nope").is_none());
    }
}

//! A point-in-time view of the FSM for the scheduler: implements [`SchedulerState`] over
//! copies of the nodes, jobs , allocations and deployments.
//!
//! Built under the state's read lock and used after it is released, so scheduling never
//! blocks apply. Nodes are ordered by ID, which keeps plans reproducible.

use std::collections::HashMap;

use crate::api::{Allocation, Deployment, Node};
use crate::cluster::fsm::State;
use crate::cluster::scheduler::SchedulerState;
use crate::spec::Job;

/// The scheduler's snapshot of the replicated state.
pub struct SchedView {
    /// Raft index the view was taken at.
    pub index: u64,
    nodes: Vec<Node>,
    node_pos: HashMap<String, usize>,
    jobs: HashMap<(String, String), Job>,
    versions: HashMap<(String, String, u64), Job>,
    allocs: Vec<Allocation>,
    by_job: HashMap<(String, String), Vec<usize>>,
    by_node: HashMap<String, Vec<usize>>,
    deployments: HashMap<(String, String), Deployment>,
}

impl SchedView {
    /// Copies what the scheduler reads out of `state`.
    pub fn new(state: &State) -> Self {
        Self::build(state, None)
    }

    /// Like [`Self::new`], copying only the versions of job `id` in `namespace` (the one
    /// job an evaluation plans; other jobs are reached through their allocations only).
    pub fn for_job(state: &State, namespace: &str, id: &str) -> Self {
        Self::build(state, Some((namespace, id)))
    }

    fn build(state: &State, only: Option<(&str, &str)>) -> Self {
        let nodes: Vec<Node> = state.nodes.values().cloned().collect();
        let node_pos = nodes.iter().enumerate().map(|(i, n)| (n.id.clone(), i)).collect();
        let mut jobs = HashMap::new();
        let mut versions = HashMap::new();
        for (ns, by_id) in &state.jobs {
            for (id, rec) in by_id {
                if only.is_some_and(|(o_ns, o_id)| o_ns != ns || o_id != id) {
                    continue;
                }
                for (i, v) in rec.versions.iter().enumerate() {
                    let job = v.job.clone();
                    let version = job.version.unwrap_or(0);
                    if i == 0 {
                        jobs.insert((ns.clone(), id.clone()), job.clone());
                    }
                    versions.insert((ns.clone(), id.clone(), version), job);
                }
            }
        }
        let allocs: Vec<Allocation> = state.allocs.values().cloned().collect();
        let mut by_job: HashMap<(String, String), Vec<usize>> = HashMap::new();
        let mut by_node: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, a) in allocs.iter().enumerate() {
            by_job
                .entry((a.namespace.clone(), a.job_id.clone()))
                .or_default()
                .push(i);
            by_node.entry(a.node_id.clone()).or_default().push(i);
        }
        let mut deployments: HashMap<(String, String), Deployment> = HashMap::new();
        for d in state.deployments.values() {
            let key = (d.namespace.clone(), d.job_id.clone());
            let newer = deployments
                .get(&key)
                .is_none_or(|o| d.create_index > o.create_index);
            if newer {
                deployments.insert(key, d.clone());
            }
        }
        Self {
            index: state.index,
            nodes,
            node_pos,
            jobs,
            versions,
            allocs,
            by_job,
            by_node,
            deployments,
        }
    }

    /// Puts `job` in place of the current version of its job (the plan dry-run's candidate),
    /// numbered as the next version when it differs from the current one.
    pub fn set_candidate(&mut self, mut job: Job) {
        let key = (job.namespace().to_owned(), job.id().to_owned());
        let version = match self.jobs.get(&key) {
            Some(cur)
                if crate::spec::diff::diff(Some(cur), Some(&job), &Default::default()).r#type
                    == crate::spec::diff::DiffType::None =>
            {
                cur.version.unwrap_or(0)
            }
            Some(cur) => cur.version.unwrap_or(0) + 1,
            None => 0,
        };
        job.version = Some(version);
        self.versions
            .insert((key.0.clone(), key.1.clone(), version), job.clone());
        self.jobs.insert(key, job);
    }

    fn pick(&self, idx: Option<&Vec<usize>>) -> Vec<&Allocation> {
        idx.map(|v| v.iter().map(|&i| &self.allocs[i]).collect())
            .unwrap_or_default()
    }
}

impl SchedulerState for SchedView {
    fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    fn node(&self, id: &str) -> Option<&Node> {
        self.node_pos.get(id).map(|&i| &self.nodes[i])
    }

    fn job(&self, namespace: &str, id: &str) -> Option<&Job> {
        self.jobs.get(&(namespace.to_owned(), id.to_owned()))
    }

    fn job_version(&self, namespace: &str, id: &str, version: u64) -> Option<&Job> {
        self.versions.get(&(namespace.to_owned(), id.to_owned(), version))
    }

    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<&Allocation> {
        self.pick(self.by_job.get(&(namespace.to_owned(), job_id.to_owned())))
    }

    fn allocs_by_node(&self, node_id: &str) -> Vec<&Allocation> {
        self.pick(self.by_node.get(node_id))
    }

    fn latest_deployment(&self, namespace: &str, job_id: &str) -> Option<&Deployment> {
        self.deployments.get(&(namespace.to_owned(), job_id.to_owned()))
    }
}

//! A point-in-time view of the FSM for the scheduler: implements [`SchedulerState`] over the
//! nodes, the planned job (its versions, allocations and latest deployment) and, per node,
//! what the allocations of every job hold.
//!
//! ```text
//!  State (read lock) ─► nodes: shared NodeTable (copied only when the nodes table changed)
//!                    ─► the job's versions, allocations, latest deployment: copied
//!                    └► per-node totals (cpu, memory, disk, ports) of live allocations,
//!                       kept by the FSM's node index on every write
//! ```
//!
//! Built under the state's read lock and used after it is released, so scheduling never
//! blocks apply. The views of a batch of jobs read their jobs' allocations through the
//! by-job index and share one copy of the per-node totals; what the batch's earlier plans
//! placed (not yet committed) is added on top with [`SchedView::set_planned`]. Other jobs'
//! allocations are summed, not copied: the scheduler and the plan check read only their
//! totals per node. Nodes are ordered by ID, which keeps plans reproducible.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::api::{Allocation, Deployment, Node};
use crate::cluster::fsm::State;
use crate::cluster::fsm::job_versions::PackedVersion;
use crate::cluster::scheduler::{NodeAllocated, SchedulerState};
use crate::spec::Job;

/// Every node, ordered by ID, as of one value of the nodes table index.
#[derive(Debug, Default)]
struct NodeTable {
    /// The `nodes` table index it was copied at.
    nodes_index: u64,
    nodes: Vec<Node>,
    pos: HashMap<String, usize>,
}

impl NodeTable {
    fn copy(state: &State) -> NodeTable {
        let nodes: Vec<Node> = state.nodes.values().cloned().collect();
        let pos = nodes.iter().enumerate().map(|(i, n)| (n.id.clone(), i)).collect();
        NodeTable {
            nodes_index: state.table_index("nodes"),
            nodes,
            pos,
        }
    }
}

/// The node table of the last view, shared by the next views while no node changes (every
/// change to a node moves the nodes table index). One per state: the scheduler worker keeps
/// one for its server.
#[derive(Debug, Default)]
pub struct ViewCache {
    nodes: Option<Arc<NodeTable>>,
}

impl ViewCache {
    fn nodes(&mut self, state: &State) -> Arc<NodeTable> {
        let current = state.table_index("nodes");
        match &self.nodes {
            Some(t) if t.nodes_index == current => t.clone(),
            _ => {
                let t = Arc::new(NodeTable::copy(state));
                self.nodes = Some(t.clone());
                t
            }
        }
    }
}

/// An older job version, packed, and decoded once on first use.
type LazyVersion = (PackedVersion, OnceLock<Option<Job>>);

/// The scheduler's snapshot of the replicated state.
pub struct SchedView {
    /// Raft index the view was taken at.
    pub index: u64,
    nodes: Arc<NodeTable>,
    jobs: HashMap<(String, String), Job>,
    versions: HashMap<(String, String, u64), Job>,
    /// Older versions, decoded when the scheduler first asks for one.
    older: HashMap<(String, String, u64), LazyVersion>,
    allocs: Vec<Allocation>,
    by_job: HashMap<(String, String), Vec<usize>>,
    /// Per node: what its non-terminal allocations (of every job) hold; shared by the views
    /// of one batch.
    allocated: Arc<HashMap<String, NodeAllocated>>,
    /// Per node touched by earlier plans of the batch: `allocated` plus what they place.
    planned: HashMap<String, NodeAllocated>,
    deployments: HashMap<(String, String), Deployment>,
}

/// Per node, what its live allocations hold, summed over every allocation (a restored state
/// before its first apply, whose per-node totals are not built yet).
fn sum_live(state: &State) -> HashMap<String, NodeAllocated> {
    let mut allocated: HashMap<String, NodeAllocated> = HashMap::new();
    for a in state.allocs.values().filter(|a| !a.is_terminal()) {
        allocated.entry(a.node_id.clone()).or_default().add(a);
    }
    allocated
}

impl SchedView {
    /// The view for planning job `id` in `namespace`: its versions, allocations and latest
    /// deployment (other jobs are reached through per-node totals only).
    pub fn for_job(state: &State, namespace: &str, id: &str) -> Self {
        Self::for_job_cached(state, namespace, id, &mut ViewCache::default())
    }

    /// Like [`Self::for_job`], sharing the node table of `cache` while it is current.
    pub fn for_job_cached(state: &State, namespace: &str, id: &str, cache: &mut ViewCache) -> Self {
        let key = (namespace.to_owned(), id.to_owned());
        Self::for_jobs(state, std::slice::from_ref(&key), cache)
            .pop()
            .expect("one view per job")
    }

    /// The views for planning each of `jobs` (namespace, ID), in that order, built in one
    /// pass over the allocations and sharing the per-node totals.
    pub fn for_jobs(state: &State, jobs: &[(String, String)], cache: &mut ViewCache) -> Vec<Self> {
        let job_allocs: Vec<Vec<Allocation>> = jobs
            .iter()
            .map(|(ns, id)| state.allocs.of_job(ns, id).cloned().collect())
            .collect();
        let allocated = match state.node_allocs.usage() {
            Some(usage) => usage.clone(),
            None => sum_live(state),
        };
        let latest: Vec<Option<&Deployment>> = jobs
            .iter()
            .map(|(ns, id)| state.deployments.of_job(ns, id).max_by_key(|d| d.create_index))
            .collect();
        let allocated = Arc::new(allocated);
        let nodes = cache.nodes(state);
        jobs.iter()
            .zip(job_allocs)
            .zip(latest)
            .map(|(((namespace, id), allocs), latest)| {
                let key = (namespace.clone(), id.clone());
                let mut view = Self::job_only(state, namespace, id);
                if !allocs.is_empty() {
                    view.by_job = HashMap::from([(key.clone(), (0..allocs.len()).collect())]);
                }
                view.allocs = allocs;
                view.deployments = latest.map(|d| (key, d.clone())).into_iter().collect();
                view.nodes = Arc::clone(&nodes);
                view.allocated = Arc::clone(&allocated);
                view
            })
            .collect()
    }

    /// A view holding job `id`'s versions only, at the state's index.
    fn job_only(state: &State, namespace: &str, id: &str) -> Self {
        let mut jobs = HashMap::new();
        let mut versions = HashMap::new();
        let mut older = HashMap::new();
        if let Some(rec) = state.jobs.get(namespace).and_then(|by_id| by_id.get(id)) {
            let job = rec.current().clone();
            let version = job.version.unwrap_or(0);
            versions.insert((namespace.to_owned(), id.to_owned(), version), job.clone());
            jobs.insert((namespace.to_owned(), id.to_owned()), job);
            for p in rec.older() {
                let key = (namespace.to_owned(), id.to_owned(), p.version());
                older.insert(key, (p.clone(), OnceLock::new()));
            }
        }
        Self {
            index: state.index,
            nodes: Arc::default(),
            jobs,
            versions,
            older,
            allocs: Vec::new(),
            by_job: HashMap::new(),
            allocated: Arc::default(),
            planned: HashMap::new(),
            deployments: HashMap::new(),
        }
    }

    /// Counts `placed` in their nodes' totals, in place of what an earlier call counted:
    /// allocations that plans of the same batch will place, not committed yet.
    pub fn set_planned(&mut self, placed: &[Allocation]) {
        self.planned.clear();
        for a in placed {
            let total = self
                .planned
                .entry(a.node_id.clone())
                .or_insert_with(|| self.allocated.get(&a.node_id).cloned().unwrap_or_default());
            total.add(a);
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
}

impl SchedulerState for SchedView {
    fn nodes(&self) -> &[Node] {
        &self.nodes.nodes
    }

    fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.pos.get(id).map(|&i| &self.nodes.nodes[i])
    }

    fn job(&self, namespace: &str, id: &str) -> Option<&Job> {
        self.jobs.get(&(namespace.to_owned(), id.to_owned()))
    }

    fn job_version(&self, namespace: &str, id: &str, version: u64) -> Option<&Job> {
        let key = (namespace.to_owned(), id.to_owned(), version);
        self.versions.get(&key).or_else(|| {
            let (packed, decoded) = self.older.get(&key)?;
            decoded
                .get_or_init(|| {
                    packed
                        .unpack()
                        .inspect_err(|e| tracing::error!("job {id:?} version {version}: {e}"))
                        .ok()
                        .map(|v| v.job)
                })
                .as_ref()
        })
    }

    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<&Allocation> {
        self.by_job
            .get(&(namespace.to_owned(), job_id.to_owned()))
            .map(|v| v.iter().map(|&i| &self.allocs[i]).collect())
            .unwrap_or_default()
    }

    fn node_allocated(&self, node_id: &str) -> NodeAllocated {
        self.planned
            .get(node_id)
            .or_else(|| self.allocated.get(node_id))
            .cloned()
            .unwrap_or_default()
    }

    fn latest_deployment(&self, namespace: &str, job_id: &str) -> Option<&Deployment> {
        self.deployments.get(&(namespace.to_owned(), job_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::{AllocatedCpu, AllocatedResources, AllocatedTaskResources, ClientStatus};
    use crate::cluster::fsm::Command;

    fn node(id: &str) -> Command {
        Command::NodeUpsert {
            node: Box::new(Node {
                id: id.into(),
                datacenter: "dc1".into(),
                ..Node::default()
            }),
        }
    }

    fn alloc(id: &str, job: &str, cpu: i64, status: ClientStatus) -> Allocation {
        let task = AllocatedTaskResources {
            cpu: AllocatedCpu {
                cpu_shares: cpu,
                reserved_cores: None,
            },
            ..AllocatedTaskResources::default()
        };
        Allocation {
            id: id.into(),
            namespace: "default".into(),
            job_id: job.into(),
            node_id: "a".into(),
            client_status: status,
            allocated_resources: Some(AllocatedResources {
                tasks: BTreeMap::from([("t".to_string(), task)]),
                ..AllocatedResources::default()
            }),
            ..Allocation::default()
        }
    }

    #[test]
    fn views_share_the_node_table_until_a_node_changes() {
        let mut state = State::default();
        state.apply(1, node("a"));
        let allocs = vec![
            alloc("x", "other", 100, ClientStatus::Running),
            alloc("y", "web", 50, ClientStatus::Running),
            alloc("z", "other", 400, ClientStatus::Complete),
        ];
        state.apply(2, Command::AllocUpsert { allocs });
        let mut cache = ViewCache::default();
        let v1 = SchedView::for_job_cached(&state, "default", "web", &mut cache);
        let v2 = SchedView::for_job_cached(&state, "default", "web", &mut cache);
        assert!(Arc::ptr_eq(&v1.nodes, &v2.nodes));
        // The job's own allocations are there; other jobs count only in the node's totals
        // (terminal ones not at all).
        let mine: Vec<_> = v1
            .allocs_by_job("default", "web")
            .iter()
            .map(|a| a.id.clone())
            .collect();
        assert_eq!(mine, ["y"]);
        assert!(v1.allocs_by_job("default", "other").is_empty());
        assert_eq!(v1.node_allocated("a").cpu, 150);
        // A node change is seen by the next view.
        state.apply(3, node("b"));
        let v3 = SchedView::for_job_cached(&state, "default", "web", &mut cache);
        assert!(!Arc::ptr_eq(&v1.nodes, &v3.nodes));
        assert_eq!(v3.nodes().len(), 2);
        assert!(v3.node("b").is_some_and(|n| n.computed_class.starts_with("v1:")));
        assert_eq!(v1.nodes().len(), 1, "an earlier view keeps its table");
    }

    /// The per-node totals the FSM keeps on every write equal a sum over every allocation,
    /// through placements, client reports, stops, a node going down and garbage collection.
    #[test]
    fn kept_totals_equal_a_full_sum_after_every_kind_of_write() {
        use crate::cluster::fsm::{AllocClientUpdate, Evaluation, GcCollect, PlanApply, PlanStop};

        let mut state = State::default();
        let check = |state: &State, step: &str| {
            let mut kept: Vec<(String, i64)> = state
                .node_allocs
                .usage()
                .expect("built")
                .iter()
                .filter(|(_, t)| **t != NodeAllocated::default())
                .map(|(n, t)| (n.clone(), t.cpu))
                .collect();
            let mut summed: Vec<(String, i64)> =
                sum_live(state).into_iter().map(|(n, t)| (n, t.cpu)).collect();
            kept.sort();
            summed.sort();
            assert_eq!(kept, summed, "after {step}");
        };
        state.apply(1, node("a"));
        let mut on_b = alloc("w", "web", 70, ClientStatus::Running);
        on_b.node_id = "b".into();
        let allocs = vec![
            alloc("x", "other", 100, ClientStatus::Running),
            alloc("y", "web", 50, ClientStatus::Pending),
            alloc("z", "other", 400, ClientStatus::Complete),
            on_b,
        ];
        state.apply(2, Command::AllocUpsert { allocs });
        check(&state, "placing");
        assert_eq!(state.node_allocs.usage().unwrap()["a"].cpu, 150);

        let report = AllocClientUpdate {
            id: "x".into(),
            client_status: ClientStatus::Complete,
            ..AllocClientUpdate::default()
        };
        state.apply(
            3,
            Command::AllocClientUpdate {
                updates: vec![report],
                evals: Vec::new(),
            },
        );
        check(&state, "a client report");
        assert_eq!(state.node_allocs.usage().unwrap()["a"].cpu, 50);

        let eval = Evaluation {
            id: "e".into(),
            job_id: "web".into(),
            status: crate::api::EvalStatus::Pending,
            ..Evaluation::default()
        };
        state.apply(
            4,
            Command::EvalUpsert {
                evals: vec![eval.clone()],
            },
        );
        let plan = PlanApply {
            eval,
            blocked_eval: None,
            place: vec![alloc("v", "web", 30, ClientStatus::Pending)],
            stop: vec![PlanStop {
                alloc_id: "y".into(),
                description: "stopped".into(),
                client_status: None,
            }],
            in_place: Vec::new(),
            deployment: None,
            now: 0,
        };
        state.apply(5, Command::PlanApply(Box::new(plan)));
        check(&state, "a plan");
        assert_eq!(state.node_allocs.usage().unwrap()["a"].cpu, 30);

        state.apply(
            6,
            Command::NodeDown {
                node_id: "b".into(),
                updated_at: 0,
                evals: Vec::new(),
            },
        );
        check(&state, "a node going down");

        let gc = GcCollect {
            allocs: vec!["x".into(), "z".into()],
            ..GcCollect::default()
        };
        state.apply(7, Command::GcCollect(Box::new(gc)));
        check(&state, "garbage collection");
        assert!(!state.allocs.contains_key("x"));
    }
}

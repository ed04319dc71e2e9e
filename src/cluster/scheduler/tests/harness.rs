//! `Harness`: in-memory `SchedulerState`, node and job builders, and plan application so a
//! test can run several evaluations in a row.

use std::collections::BTreeMap;

use crate::api::{
    Allocation, ClientStatus, Deployment, DesiredStatus, DriverInfo, Evaluation, Node, NodeCpuResources,
    NodeDiskResources, NodeMemoryResources, NodeResources, NodeStatus,
};
use crate::cluster::scheduler::{
    NodeAllocated, PlanResult, SchedRng, SchedulerConfig, SchedulerState, schedule,
};
use crate::spec::{Constraint, Job, Resources, Task, TaskGroup};

/// The in-memory cluster.
#[derive(Default)]
pub struct Harness {
    pub nodes: Vec<Node>,
    pub jobs: Vec<Job>,
    pub allocs: Vec<Allocation>,
    pub deployments: Vec<Deployment>,
    pub config: SchedulerConfig,
    pub seed: u64,
    /// Evaluate with every node's computed class cleared (each node checked on its own).
    pub without_classes: bool,
    evals: u64,
}

impl SchedulerState for Harness {
    fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }
    fn job(&self, namespace: &str, id: &str) -> Option<&Job> {
        self.jobs
            .iter()
            .rev()
            .find(|j| j.namespace() == namespace && j.id() == id)
    }
    fn job_version(&self, namespace: &str, id: &str, version: u64) -> Option<&Job> {
        self.jobs
            .iter()
            .find(|j| j.namespace() == namespace && j.id() == id && j.version.unwrap_or(0) == version)
    }
    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<&Allocation> {
        self.allocs
            .iter()
            .filter(|a| a.namespace == namespace && a.job_id == job_id)
            .collect()
    }
    fn node_allocated(&self, node_id: &str) -> NodeAllocated {
        NodeAllocated::of_live(self.allocs.iter().filter(|a| a.node_id == node_id))
    }
    fn latest_deployment(&self, namespace: &str, job_id: &str) -> Option<&Deployment> {
        self.deployments
            .iter()
            .rev()
            .find(|d| d.namespace == namespace && d.job_id == job_id)
    }
    fn config(&self) -> SchedulerConfig {
        self.config
    }
}

impl Harness {
    pub fn with_nodes(nodes: Vec<Node>) -> Harness {
        Harness {
            nodes,
            seed: 42,
            ..Harness::default()
        }
    }

    /// Registers `job` as its next version (0 first).
    pub fn register(&mut self, mut job: Job) {
        let next = self.jobs.iter().filter(|j| j.id() == job.id()).count() as u64;
        job.version = Some(next);
        job.namespace.get_or_insert_with(|| "default".into());
        self.jobs.push(job);
    }

    /// Runs an evaluation for `job_id` with a fresh deterministic seed.
    pub fn eval(&mut self, job_id: &str) -> PlanResult {
        // Classes kept current as the FSM keeps them on registration, so every test runs
        // through the class cache of the static checks.
        for n in &mut self.nodes {
            if self.without_classes {
                n.computed_class.clear();
            } else {
                n.compute_class();
            }
        }
        self.evals += 1;
        let eval = Evaluation {
            id: format!("eval-{}", self.evals),
            namespace: "default".into(),
            job_id: job_id.into(),
            create_time: 1_700_000_000_000_000_000 + self.evals as i64,
            ..Evaluation::default()
        };
        let mut rng = SchedRng::seeded(self.seed + self.evals);
        schedule(self, &eval, &mut rng)
    }

    /// Commits a plan the way the FSM would.
    pub fn apply(&mut self, plan: &PlanResult) {
        for s in &plan.stop {
            if let Some(a) = self.allocs.iter_mut().find(|a| a.id == s.alloc_id) {
                a.desired_status = DesiredStatus::Stop;
                a.desired_description = s.description.clone();
                if let Some(cs) = s.client_status {
                    a.client_status = cs;
                }
            }
        }
        for u in &plan.in_place {
            if let Some(a) = self.allocs.iter_mut().find(|a| a.id == u.id) {
                a.job_version = u.job_version;
            }
        }
        for p in &plan.place {
            let mut a = p.clone();
            a.client_status = ClientStatus::Running;
            self.allocs.push(a);
        }
        self.deployments.extend(plan.deployment.clone());
    }

    /// Evaluates and applies.
    pub fn run(&mut self, job_id: &str) -> PlanResult {
        let plan = self.eval(job_id);
        self.apply(&plan);
        plan
    }

    /// Live allocations of a job (desired run, not terminal).
    pub fn live(&self, job_id: &str) -> Vec<&Allocation> {
        self.allocs
            .iter()
            .filter(|a| a.job_id == job_id && !a.is_terminal())
            .collect()
    }

    /// Node names of a job's live allocations, sorted.
    pub fn live_node_names(&self, job_id: &str) -> Vec<String> {
        let mut names: Vec<String> = self.live(job_id).iter().map(|a| a.node_name.clone()).collect();
        names.sort();
        names
    }

    pub fn node_mut(&mut self, name: &str) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .expect("node exists")
    }
}

/// A ready, eligible node with docker and exec, 4000 MHz, 8192 MB, 100 GB disk, in `dc1`.
pub fn node(name: &str) -> Node {
    let mut n = Node {
        id: format!("id-{name}"),
        name: name.into(),
        datacenter: "dc1".into(),
        node_pool: "default".into(),
        status: NodeStatus::Ready,
        node_resources: NodeResources {
            cpu: NodeCpuResources {
                cpu_shares: 4000,
                total_cpu_cores: 4,
                reservable_cpu_cores: None,
            },
            memory: NodeMemoryResources { memory_mb: 8192 },
            disk: NodeDiskResources { disk_mb: 100_000 },
            min_dynamic_port: 20000,
            max_dynamic_port: 32000,
            ..NodeResources::default()
        },
        ..Node::default()
    };
    for d in ["docker", "exec"] {
        n.drivers.insert(
            d.into(),
            DriverInfo {
                detected: true,
                healthy: true,
                ..DriverInfo::default()
            },
        );
    }
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.attributes.insert("cpu.arch".into(), "amd64".into());
    n.attributes
        .insert("unique.network.ip-address".into(), "10.0.0.1".into());
    n
}

/// `node` with meta pairs.
pub fn node_with_meta(name: &str, meta: &[(&str, &str)]) -> Node {
    let mut n = node(name);
    n.meta = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<BTreeMap<_, _>>();
    n
}

pub fn constraint(l: &str, op: &str, r: &str) -> Constraint {
    Constraint {
        l_target: l.into(),
        operand: op.into(),
        r_target: r.into(),
    }
}

/// A one-group, one-task job (docker, 500 MHz, 256 MB).
pub fn job(id: &str, kind: &str, count: i64) -> Job {
    Job {
        id: Some(id.into()),
        name: Some(id.into()),
        r#type: Some(kind.into()),
        datacenters: Some(vec!["dc1".into()]),
        task_groups: Some(vec![TaskGroup {
            name: Some("app".into()),
            count: Some(count),
            tasks: Some(vec![Task {
                name: "main".into(),
                driver: "docker".into(),
                config: Some(BTreeMap::from([("image".into(), serde_json::json!("app:1"))])),
                resources: Some(Resources {
                    cpu: Some(500),
                    memory_mb: Some(256),
                    ..Resources::default()
                }),
                ..Task::default()
            }]),
            ..TaskGroup::default()
        }]),
        ..Job::default()
    }
}

/// The job's only group.
pub fn group(job: &mut Job) -> &mut TaskGroup {
    &mut job.task_groups.as_mut().expect("groups")[0]
}

/// The group's only task.
pub fn task(job: &mut Job) -> &mut Task {
    &mut group(job).tasks.as_mut().expect("tasks")[0]
}

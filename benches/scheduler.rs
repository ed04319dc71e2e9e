//! Scheduler throughput: 1,000 service jobs × 100 allocations = 100,000 placements on 5,000
//! simulated nodes, with datacenter, meta and version constraints, one core.
//!
//! `cargo bench --bench scheduler` (criterion reports elements/s = placements per second).

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use deploy::api::{
    Allocation, DriverInfo, Evaluation, Node, NodeCpuResources, NodeDiskResources, NodeMemoryResources,
    NodeResources, NodeStatus,
};
use deploy::cluster::scheduler::{NodeAllocated, SchedRng, SchedulerState, schedule};
use deploy::spec::{Constraint, Job, Resources, Task, TaskGroup};

const NODES: usize = 5_000;
const JOBS: usize = 1_000;
const COUNT: i64 = 100;
const DATACENTERS: [&str; 4] = ["dc1", "dc2", "dc3", "dc4"];

/// An indexed in-memory state, like the FSM's tables.
#[derive(Default)]
struct BenchState {
    nodes: Vec<Node>,
    node_index: HashMap<String, usize>,
    jobs: HashMap<String, Job>,
    allocs: Vec<Allocation>,
    by_node: HashMap<String, Vec<usize>>,
    by_job: HashMap<String, Vec<usize>>,
    allocated: HashMap<String, NodeAllocated>,
}

impl SchedulerState for BenchState {
    fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    fn node(&self, id: &str) -> Option<&Node> {
        self.node_index.get(id).map(|i| &self.nodes[*i])
    }
    fn job(&self, _namespace: &str, id: &str) -> Option<&Job> {
        self.jobs.get(id)
    }
    fn allocs_by_job(&self, _namespace: &str, job_id: &str) -> Vec<&Allocation> {
        self.by_job
            .get(job_id)
            .map(|v| v.iter().map(|i| &self.allocs[*i]).collect())
            .unwrap_or_default()
    }
    fn node_allocated(&self, node_id: &str) -> NodeAllocated {
        self.allocated.get(node_id).cloned().unwrap_or_default()
    }
}

fn cluster() -> BenchState {
    let mut s = BenchState::default();
    for i in 0..NODES {
        let mut n = Node {
            id: format!("node-{i:05}"),
            name: format!("host-{i:05}"),
            datacenter: DATACENTERS[i % 4].to_string(),
            status: NodeStatus::Ready,
            node_resources: NodeResources {
                cpu: NodeCpuResources {
                    cpu_shares: 32_000,
                    total_cpu_cores: 16,
                    reservable_cpu_cores: None,
                },
                memory: NodeMemoryResources { memory_mb: 65_536 },
                disk: NodeDiskResources { disk_mb: 1_000_000 },
                ..NodeResources::default()
            },
            ..Node::default()
        };
        n.drivers.insert(
            "docker".into(),
            DriverInfo {
                detected: true,
                healthy: true,
                ..DriverInfo::default()
            },
        );
        n.attributes.insert("kernel.name".into(), "linux".into());
        n.attributes
            .insert("nomad.version".into(), format!("1.{}.{}", 5 + i % 4, i % 7));
        n.meta.insert(
            "tier".into(),
            if i % 3 == 0 { "batch".into() } else { "web".into() },
        );
        // As the FSM does when a node registers.
        n.compute_class();
        s.node_index.insert(n.id.clone(), i);
        s.nodes.push(n);
    }
    s
}

fn constraint(l: &str, op: &str, r: &str) -> Constraint {
    Constraint {
        l_target: l.into(),
        operand: op.into(),
        r_target: r.into(),
    }
}

fn job(i: usize) -> Job {
    Job {
        id: Some(format!("job-{i:04}")),
        r#type: Some("service".into()),
        version: Some(0),
        datacenters: Some(vec!["dc1".into(), "dc2".into(), "dc3".into()]),
        constraints: Some(vec![
            constraint("${meta.tier}", "=", "web"),
            constraint("${attr.nomad.version}", "version", ">= 1.6"),
            constraint("${attr.kernel.name}", "=", "linux"),
        ]),
        task_groups: Some(vec![TaskGroup {
            name: Some("app".into()),
            count: Some(COUNT),
            tasks: Some(vec![Task {
                name: "main".into(),
                driver: "docker".into(),
                resources: Some(Resources {
                    cpu: Some(100),
                    memory_mb: Some(128),
                    ..Resources::default()
                }),
                ..Task::default()
            }]),
            ..TaskGroup::default()
        }]),
        ..Job::default()
    }
}

/// Registers and schedules `jobs` jobs in turn, committing each plan; returns placements.
fn place_all(state: &mut BenchState, seed: u64, jobs: usize) -> usize {
    let mut placed = 0;
    for i in 0..jobs {
        let j = job(i);
        let id = j.id().to_string();
        state.jobs.insert(id.clone(), j);
        let eval = Evaluation {
            id: format!("eval-{i}"),
            job_id: id.clone(),
            namespace: "default".into(),
            ..Evaluation::default()
        };
        let mut rng = SchedRng::seeded(seed + i as u64);
        let plan = schedule(&*state, &eval, &mut rng);
        assert!(plan.failed_tg_allocs.is_empty(), "every allocation fits");
        placed += plan.place.len();
        for a in plan.place {
            let index = state.allocs.len();
            state.by_node.entry(a.node_id.clone()).or_default().push(index);
            state.by_job.entry(a.job_id.clone()).or_default().push(index);
            state.allocated.entry(a.node_id.clone()).or_default().add(&a);
            state.allocs.push(a);
        }
    }
    placed
}

fn bench(c: &mut Criterion) {
    // One timed pass printed plainly, then criterion's samples. `SCHEDULER_BENCH_JOBS=N` runs
    // the first N jobs of that pass only and skips the samples (a short run to profile).
    let short: Option<usize> = std::env::var("SCHEDULER_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut state = cluster();
    let start = Instant::now();
    let placed = place_all(&mut state, 1, short.unwrap_or(JOBS).min(JOBS));
    let took = start.elapsed();
    println!(
        "scheduler: {placed} placements on {NODES} nodes in {:.2} s = {:.0} placements/s",
        took.as_secs_f64(),
        placed as f64 / took.as_secs_f64()
    );
    let used: BTreeMap<&str, usize> = state.by_node.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
    println!(
        "nodes used: {}, most allocations on one node: {}",
        used.len(),
        used.values().max().unwrap_or(&0)
    );
    if short.is_some() {
        return;
    }

    let mut group = c.benchmark_group("scheduler");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements((JOBS as u64) * COUNT as u64));
    group.bench_function("place_100k_on_5k_nodes", |b| {
        b.iter_with_setup(cluster, |mut state| black_box(place_all(&mut state, 7, JOBS)));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

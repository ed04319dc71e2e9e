//! `StackGraph`: the DAG of a stack's jobs, built in small steps from a [`Stack`]:
//! nodes from jobs, edges from dependencies (checked against the jobs), gates resolved, cycles
//! named, waves computed.

use std::collections::{BTreeSet, HashMap, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use super::error::{CycleStep, GraphError, GraphErrors, SpanDisplay};
use crate::spec::Duration;
use crate::stack::{DependencyKind, Gate, JobAddress, SourceSpan, Stack};

/// One edge of the graph: `from` starts only after `to` passed `gate`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Edge {
    /// The dependent job.
    pub from: JobAddress,
    /// The job waited for.
    pub to: JobAddress,
    /// The gate, resolved: the edge's own, else the upstream job's option, else its type's default.
    pub gate: Gate,
    /// How long the gate may take (`None`: the apply's default).
    pub timeout: Option<Duration>,
    /// Declared or implicit.
    pub kind: DependencyKind,
    /// Where the edge came from.
    pub span: SourceSpan,
}

/// The dependency DAG of a stack. Node `i` is `stack.jobs[i]`.
#[derive(Clone, Debug)]
pub struct StackGraph {
    addresses: Vec<JobAddress>,
    index: HashMap<JobAddress, usize>,
    graph: DiGraph<usize, usize>,
    edges: Vec<Edge>,
    waves: Vec<u32>,
}

impl StackGraph {
    /// Builds the graph, or reports every missing job and every cycle.
    pub fn build(stack: &Stack) -> Result<StackGraph, GraphErrors> {
        let addresses: Vec<JobAddress> = stack.jobs.iter().map(|j| j.address.clone()).collect();
        let index: HashMap<JobAddress, usize> = addresses
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), i))
            .collect();
        let mut graph = DiGraph::with_capacity(addresses.len(), stack.dependencies.len());
        for i in 0..addresses.len() {
            graph.add_node(i);
        }
        let mut errors = Vec::new();
        let mut edges = Vec::with_capacity(stack.dependencies.len());
        let mut seen = BTreeSet::new();
        for dep in &stack.dependencies {
            let (Some(&from), Some(&to)) = (index.get(&dep.from), index.get(&dep.to)) else {
                let missing = if index.contains_key(&dep.from) {
                    &dep.to
                } else {
                    &dep.from
                };
                let other = if index.contains_key(&dep.from) {
                    &dep.from
                } else {
                    &dep.to
                };
                errors.push(GraphError::MissingJob {
                    from: other.clone(),
                    missing: missing.clone(),
                    hint: suggestion(missing, &addresses),
                    at: SpanDisplay(dep.span.clone()),
                });
                continue;
            };
            // A job declared twice as depending on the same job (a block and a reference) is
            // one edge; the first declaration wins, as it is the one the user wrote first.
            if !seen.insert((from, to)) {
                continue;
            }
            let options = stack.job_options.get(&dep.to);
            let gate = dep
                .gate
                .or(options.and_then(|o| o.gate))
                .unwrap_or_else(|| Gate::default_for(&stack.jobs[to].job));
            let timeout = dep
                .timeout
                .or(options.and_then(|o| o.timeout))
                .or(stack.settings.timeout);
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), edges.len());
            edges.push(Edge {
                from: dep.from.clone(),
                to: dep.to.clone(),
                gate,
                timeout,
                kind: dep.kind,
                span: dep.span.clone(),
            });
        }
        errors.extend(find_cycles(&graph, &addresses, &edges));
        if !errors.is_empty() {
            return Err(GraphErrors(errors));
        }
        let waves = compute_waves(&graph);
        Ok(StackGraph {
            addresses,
            index,
            graph,
            edges,
            waves,
        })
    }

    /// Job addresses, in the stack's order.
    pub fn addresses(&self) -> &[JobAddress] {
        &self.addresses
    }

    /// Every edge, in declaration order.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The wave of a job (0 = depends on nothing).
    pub fn wave(&self, address: &JobAddress) -> Option<u32> {
        self.index.get(address).map(|&i| self.waves[i])
    }

    /// The wave of node `i` (`stack.jobs[i]`).
    pub fn wave_of(&self, i: usize) -> u32 {
        self.waves[i]
    }

    /// The number of waves.
    pub fn wave_count(&self) -> u32 {
        self.waves.iter().max().map_or(0, |w| w + 1)
    }

    /// The edges leaving node `i`: what it waits for, in declaration order.
    pub fn dependencies_of(&self, i: usize) -> Vec<&Edge> {
        let mut out: Vec<&Edge> = self
            .graph
            .edges(NodeIndex::new(i))
            .map(|e| &self.edges[*e.weight()])
            .collect();
        out.sort_by(|a, b| a.to.cmp(&b.to));
        out
    }

    /// The node index of an address.
    pub fn position(&self, address: &JobAddress) -> Option<usize> {
        self.index.get(address).copied()
    }

    /// `targets` and everything they transitively wait for, as node indexes, sorted. A target
    /// may be a job address or a module address (`module.x`, meaning every job inside it).
    pub fn closure(&self, targets: &[String]) -> Result<BTreeSet<usize>, String> {
        let mut queue = VecDeque::new();
        for t in targets {
            let prefix = format!("{t}.");
            let mut found = false;
            for (i, a) in self.addresses.iter().enumerate() {
                if a.0 == *t || (t.starts_with("module.") && a.0.starts_with(&prefix)) {
                    queue.push_back(i);
                    found = true;
                }
            }
            if !found {
                let hint = suggestion(&JobAddress(t.clone()), &self.addresses);
                return Err(format!("target {t} is not a job or module of this stack{hint}"));
            }
        }
        let mut out = BTreeSet::new();
        while let Some(i) = queue.pop_front() {
            if out.insert(i) {
                for n in self.graph.neighbors(NodeIndex::new(i)) {
                    queue.push_back(n.index());
                }
            }
        }
        Ok(out)
    }
}

/// Longest-path layering: a job's wave is one more than the highest wave it waits for.
fn compute_waves(graph: &DiGraph<usize, usize>) -> Vec<u32> {
    let mut waves = vec![0u32; graph.node_count()];
    // toposort puts a dependent before what it waits for; walk it backwards.
    let order = petgraph::algo::toposort(graph, None).unwrap_or_default();
    for n in order.iter().rev() {
        let w = graph
            .neighbors(*n)
            .map(|d| waves[d.index()] + 1)
            .max()
            .unwrap_or(0);
        waves[n.index()] = w;
    }
    waves
}

/// One cycle per strongly connected component, walked from its smallest address.
fn find_cycles(graph: &DiGraph<usize, usize>, addresses: &[JobAddress], edges: &[Edge]) -> Vec<GraphError> {
    let mut out = Vec::new();
    for scc in petgraph::algo::tarjan_scc(graph) {
        let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let members: BTreeSet<usize> = scc.iter().map(|n| n.index()).collect();
        let Some(&start) = members.iter().min_by(|a, b| addresses[**a].cmp(&addresses[**b])) else {
            continue;
        };
        // Breadth-first from `start` inside the component until an edge leads back to it.
        let mut parent: HashMap<usize, usize> = HashMap::new(); // node -> edge index into it
        let mut queue = VecDeque::from([start]);
        let mut closing = None;
        'search: while let Some(n) = queue.pop_front() {
            let mut next: Vec<_> = graph.edges(NodeIndex::new(n)).collect();
            next.sort_by(|a, b| addresses[a.target().index()].cmp(&addresses[b.target().index()]));
            for e in next {
                let t = e.target().index();
                if !members.contains(&t) {
                    continue;
                }
                if t == start {
                    closing = Some(*e.weight());
                    break 'search;
                }
                if t != start && !parent.contains_key(&t) {
                    parent.insert(t, *e.weight());
                    queue.push_back(t);
                }
            }
        }
        let Some(last) = closing else { continue };
        let mut chain = vec![last];
        let mut at = index_of(addresses, &edges[last].from);
        while at != start {
            let e = parent[&at];
            chain.push(e);
            at = index_of(addresses, &edges[e].from);
        }
        chain.reverse();
        let steps = chain
            .into_iter()
            .map(|e| CycleStep {
                job: edges[e].from.clone(),
                waits_for: edges[e].to.clone(),
                span: edges[e].span.clone(),
            })
            .collect();
        out.push(GraphError::Cycle { steps });
    }
    out.sort_by(|a, b| format!("{a}").cmp(&format!("{b}")));
    out
}

fn index_of(addresses: &[JobAddress], a: &JobAddress) -> usize {
    addresses.iter().position(|x| x == a).unwrap_or(0)
}

/// `, did you mean "job.x"?` for the closest address, or "".
pub(crate) fn suggestion(missing: &JobAddress, addresses: &[JobAddress]) -> String {
    addresses
        .iter()
        .map(|a| (strsim::jaro_winkler(&a.0, &missing.0), a))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, a)| format!(", did you mean {a}?"))
        .unwrap_or_default()
}

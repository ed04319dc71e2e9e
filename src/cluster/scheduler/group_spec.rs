//! `GroupSpec`: a task group's placement needs, compiled once per evaluation: constraints,
//! affinities, spreads, drivers, host volumes, resources and ports.

use super::constraint::CompiledConstraint;
use super::target::Target;
use crate::spec::{Job, TaskGroup};

/// Nomad's default task CPU (MHz) and memory (MB) and group disk (MB).
const DEFAULT_CPU: i64 = 100;
const DEFAULT_MEMORY_MB: i64 = 300;
const DEFAULT_DISK_MB: i64 = 300;

/// Whether a distinct_* constraint counts allocations of the whole job or of one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Declared on the job.
    Job,
    /// Declared on the group or a task.
    Group,
}

/// A `distinct_property` constraint.
#[derive(Clone, Debug)]
pub struct DistinctProperty {
    /// The constraint (its left side is the property).
    pub constraint: CompiledConstraint,
    /// Allocations allowed per value (RTarget, default 1).
    pub limit: u32,
    /// Job or group.
    pub scope: Scope,
}

/// A weighted soft preference.
#[derive(Clone, Debug)]
pub struct WeightedAffinity {
    /// The matching rule.
    pub rule: CompiledConstraint,
    /// -100..=100.
    pub weight: f64,
}

/// A `spread` block.
#[derive(Clone, Debug)]
pub struct SpreadSpec {
    /// Attribute spread over.
    pub attribute: Target,
    /// 0..=100.
    pub weight: f64,
    /// Desired percentage per value (empty: spread evenly).
    pub targets: Vec<(String, f64)>,
}

/// What one allocation of the group asks of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Demand {
    /// CPU MHz, all tasks.
    pub cpu: i64,
    /// Memory MB, all tasks.
    pub memory_mb: i64,
    /// Ephemeral disk MB.
    pub disk_mb: i64,
    /// Per task: name, cpu, memory, memory max.
    pub tasks: Vec<(String, i64, i64, i64)>,
    /// Static ports: label, host port, to.
    pub reserved_ports: Vec<(String, i64, i64)>,
    /// Dynamic ports: label, to.
    pub dynamic_ports: Vec<(String, i64)>,
    /// Network mode of the group network (`host` when empty).
    pub network_mode: String,
}

/// A task group compiled for placement.
#[derive(Clone, Debug)]
pub struct GroupSpec {
    /// Group name.
    pub name: String,
    /// Desired count.
    pub count: u32,
    /// Node constraints (job, group, tasks), distinct_* excluded.
    pub constraints: Vec<CompiledConstraint>,
    /// `distinct_hosts`, if any, and its scope.
    pub distinct_hosts: Option<Scope>,
    /// `distinct_property` constraints.
    pub distinct_properties: Vec<DistinctProperty>,
    /// Affinities (job, group, tasks).
    pub affinities: Vec<WeightedAffinity>,
    /// Spreads (job and group).
    pub spreads: Vec<SpreadSpec>,
    /// Task drivers needed.
    pub drivers: Vec<String>,
    /// Host volumes needed: source, read only.
    pub host_volumes: Vec<(String, bool)>,
    /// Resources and ports.
    pub demand: Demand,
}

impl GroupSpec {
    /// Compiles `group` of `job`.
    pub fn compile(job: &Job, group: &TaskGroup) -> GroupSpec {
        let mut spec = GroupSpec {
            name: group.name().to_string(),
            count: group.count.unwrap_or(1).max(0) as u32,
            constraints: Vec::new(),
            distinct_hosts: None,
            distinct_properties: Vec::new(),
            affinities: Vec::new(),
            spreads: Vec::new(),
            drivers: Vec::new(),
            host_volumes: Vec::new(),
            demand: demand(group),
        };
        let task_constraints = group.tasks().iter().flat_map(|t| t.constraints.iter().flatten());
        let scoped = job
            .constraints
            .iter()
            .flatten()
            .map(|c| (c, Scope::Job))
            .chain(group.constraints.iter().flatten().chain(task_constraints).map(|c| (c, Scope::Group)));
        for (c, scope) in scoped {
            let compiled = CompiledConstraint::new(c);
            if spec.constraints.iter().any(|k| k.key == compiled.key) {
                continue;
            }
            match compiled.op {
                super::constraint::Operator::DistinctHosts => {
                    if !matches!(c.r_target.trim(), "false" | "0") {
                        spec.distinct_hosts = Some(match (spec.distinct_hosts, scope) {
                            (Some(Scope::Job), _) | (_, Scope::Job) => Scope::Job,
                            _ => Scope::Group,
                        });
                    }
                }
                super::constraint::Operator::DistinctProperty => {
                    let limit = c.r_target.trim().parse().unwrap_or(1).max(1);
                    spec.distinct_properties.push(DistinctProperty { constraint: compiled, limit, scope });
                }
                _ => spec.constraints.push(compiled),
            }
        }
        let task_affinities = group.tasks().iter().flat_map(|t| t.affinities.iter().flatten());
        for a in job.affinities.iter().flatten().chain(group.affinities.iter().flatten()).chain(task_affinities) {
            let weight = f64::from(a.weight.unwrap_or(50));
            if weight != 0.0 {
                let rule = CompiledConstraint::compile(&a.l_target, &a.operand, &a.r_target);
                spec.affinities.push(WeightedAffinity { rule, weight });
            }
        }
        for s in job.spreads.iter().flatten().chain(group.spreads.iter().flatten()) {
            spec.spreads.push(SpreadSpec {
                attribute: Target::parse(&s.attribute),
                weight: f64::from(s.weight.unwrap_or(50)),
                targets: s
                    .spread_target
                    .iter()
                    .flatten()
                    .map(|t| (t.value.clone(), f64::from(t.percent)))
                    .collect(),
            });
        }
        for t in group.tasks() {
            if !t.driver.is_empty() && !spec.drivers.contains(&t.driver) {
                spec.drivers.push(t.driver.clone());
            }
        }
        for v in group.volumes.iter().flat_map(|m| m.values()) {
            if v.r#type == "host" || v.r#type.is_empty() {
                spec.host_volumes.push((v.source.clone(), v.read_only));
            }
        }
        spec
    }

    /// Whether every node must be scored (affinities and spreads prefer some nodes).
    pub fn wants_all_nodes(&self) -> bool {
        !self.affinities.is_empty() || !self.spreads.is_empty()
    }
}

fn demand(group: &TaskGroup) -> Demand {
    let mut d = Demand {
        disk_mb: group.ephemeral_disk.as_ref().and_then(|e| e.size_mb).unwrap_or(DEFAULT_DISK_MB),
        ..Demand::default()
    };
    for t in group.tasks() {
        let r = t.resources.as_ref();
        let cpu = r.and_then(|r| r.cpu).unwrap_or(DEFAULT_CPU);
        let mem = r.and_then(|r| r.memory_mb).unwrap_or(DEFAULT_MEMORY_MB);
        let mem_max = r.and_then(|r| r.memory_max_mb).unwrap_or(0);
        d.cpu += cpu;
        d.memory_mb += mem;
        d.tasks.push((t.name.clone(), cpu, mem, mem_max));
    }
    for n in group.networks.iter().flatten() {
        if d.network_mode.is_empty() {
            d.network_mode = n.mode.clone();
        }
        for p in n.reserved_ports.iter().flatten() {
            d.reserved_ports.push((p.label.clone(), p.value, p.to));
        }
        for p in n.dynamic_ports.iter().flatten() {
            d.dynamic_ports.push((p.label.clone(), p.to));
        }
    }
    d
}

//! Feasibility checkers: one struct per rule, each implementing [`FeasibilityChecker`], wired
//! into chains by [`node_set_chain`], [`static_chain`] and [`plan_chain`] (Nomad's
//! GenericStack order).
//!
//! ```text
//!  node set (once per eval):  status ─► datacenter ─► node pool
//!  static (cached per class): drivers ─► constraint … ─► host volumes
//!  against the plan:          distinct_hosts ─► distinct_property …
//! ```

use super::constraint::CompiledConstraint;
use super::group_spec::{DistinctProperty, GroupSpec, Scope};
use super::usage::NodeUsage;
use crate::api::{Node, NodeStatus, SchedulingEligibility};

/// Why a node was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The `ConstraintFiltered` key (`${meta.role} = db`, `missing drivers`, `distinct_hosts`).
    pub key: String,
    /// A sentence for `NodeReasons`.
    pub reason: String,
}

impl Rejection {
    fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Rejection {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// What the plan-dependent checkers see besides the node.
pub struct PlanView<'a> {
    /// The node's proposed usage.
    pub usage: &'a NodeUsage,
    /// Nodes and groups of the job's live and planned allocations.
    pub job_allocs: &'a [(&'a Node, String)],
}

/// One feasibility rule.
pub trait FeasibilityChecker {
    /// Accepts the node or says why not.
    fn check(&self, node: &Node, plan: Option<&PlanView<'_>>) -> Result<(), Rejection>;

    /// Whether `check` accepts the node, without writing a rejection (the node set is
    /// decided for every node of every evaluation; reasons are wanted only on failure).
    fn admits(&self, node: &Node, plan: Option<&PlanView<'_>>) -> bool {
        self.check(node, plan).is_ok()
    }

    /// Whether the verdict reads a value unique to the node (`${node.unique.*}` and the
    /// like), so it cannot be shared by the nodes of one computed class.
    fn escapes_class(&self) -> bool {
        false
    }
}

/// Node is `ready` and eligible (not draining).
pub struct NodeStatusChecker;

impl FeasibilityChecker for NodeStatusChecker {
    fn admits(&self, node: &Node, _: Option<&PlanView<'_>>) -> bool {
        node.status == NodeStatus::Ready
            && !node.is_draining()
            && node.scheduling_eligibility == SchedulingEligibility::Eligible
    }

    fn check(&self, node: &Node, _: Option<&PlanView<'_>>) -> Result<(), Rejection> {
        if node.status != NodeStatus::Ready {
            let status = serde_json::to_value(node.status).ok();
            let status = status.as_ref().and_then(|s| s.as_str()).unwrap_or("not ready");
            return Err(Rejection::new("node status", format!("node is {status}")));
        }
        if node.is_draining() {
            return Err(Rejection::new("node eligibility", "node is draining"));
        }
        if node.scheduling_eligibility != SchedulingEligibility::Eligible {
            return Err(Rejection::new(
                "node eligibility",
                "node is ineligible for scheduling",
            ));
        }
        Ok(())
    }
}

/// Node is in one of the job's datacenters (`*` globs).
pub struct DatacenterChecker {
    /// The job's datacenters.
    datacenters: Vec<String>,
    /// Per pattern: whether it has a `*` (the others compare directly).
    globs: Vec<bool>,
}

impl DatacenterChecker {
    /// Checks against `datacenters` (none: any datacenter).
    pub fn new(datacenters: &[String]) -> DatacenterChecker {
        DatacenterChecker {
            globs: datacenters.iter().map(|p| p.contains('*')).collect(),
            datacenters: datacenters.to_vec(),
        }
    }
}

impl FeasibilityChecker for DatacenterChecker {
    fn admits(&self, node: &Node, _: Option<&PlanView<'_>>) -> bool {
        self.datacenters.is_empty()
            || self.datacenters.iter().zip(&self.globs).any(|(p, glob)| {
                if *glob {
                    glob_match(p, &node.datacenter)
                } else {
                    *p == node.datacenter
                }
            })
    }

    fn check(&self, node: &Node, plan: Option<&PlanView<'_>>) -> Result<(), Rejection> {
        if self.admits(node, plan) {
            return Ok(());
        }
        Err(Rejection::new(
            "datacenter",
            format!(
                "datacenter {:?} is not one of {:?}",
                node.datacenter, self.datacenters
            ),
        ))
    }
}

/// Node is in the job's node pool (`all` matches every pool).
pub struct NodePoolChecker {
    /// The job's pool.
    pub pool: String,
}

impl FeasibilityChecker for NodePoolChecker {
    fn admits(&self, node: &Node, _: Option<&PlanView<'_>>) -> bool {
        self.pool == "all" || node.pool() == self.pool
    }

    fn check(&self, node: &Node, plan: Option<&PlanView<'_>>) -> Result<(), Rejection> {
        if self.admits(node, plan) {
            return Ok(());
        }
        Err(Rejection::new(
            "node pool",
            format!("node pool {:?} is not {:?}", node.pool(), self.pool),
        ))
    }
}

/// Every task driver is detected and healthy.
pub struct DriverChecker {
    /// Drivers needed.
    pub drivers: Vec<String>,
}

impl FeasibilityChecker for DriverChecker {
    fn check(&self, node: &Node, _: Option<&PlanView<'_>>) -> Result<(), Rejection> {
        for d in &self.drivers {
            let ok = match node.drivers.get(d) {
                Some(info) => info.detected && info.healthy,
                None => node
                    .attributes
                    .get(&format!("driver.{d}"))
                    .is_some_and(|v| v == "1" || v == "true"),
            };
            if !ok {
                return Err(Rejection::new(
                    "missing drivers",
                    format!("driver {d:?} is not detected and healthy"),
                ));
            }
        }
        Ok(())
    }
}

/// One node constraint.
pub struct ConstraintChecker {
    /// The constraint.
    pub constraint: CompiledConstraint,
}

impl FeasibilityChecker for ConstraintChecker {
    fn escapes_class(&self) -> bool {
        self.constraint.left.escapes_class() || self.constraint.right.escapes_class()
    }

    fn admits(&self, node: &Node, _: Option<&PlanView<'_>>) -> bool {
        self.constraint.matches(node)
    }

    fn check(&self, node: &Node, _: Option<&PlanView<'_>>) -> Result<(), Rejection> {
        if self.constraint.matches(node) {
            return Ok(());
        }
        let value = match self.constraint.left.resolve(node) {
            Some(v) => format!("{v:?}"),
            None => "unset".to_string(),
        };
        Err(Rejection::new(
            self.constraint.key.clone(),
            format!(
                "constraint `{}` not satisfied (left side is {value})",
                self.constraint.key
            ),
        ))
    }
}

/// Every host volume the group mounts exists (and is writable when needed).
pub struct HostVolumeChecker {
    /// Source, read only.
    pub volumes: Vec<(String, bool)>,
}

impl FeasibilityChecker for HostVolumeChecker {
    fn check(&self, node: &Node, _: Option<&PlanView<'_>>) -> Result<(), Rejection> {
        for (source, read_only) in &self.volumes {
            let ok = node
                .host_volumes
                .get(source)
                .is_some_and(|v| *read_only || !v.read_only);
            if !ok {
                return Err(Rejection::new(
                    "missing compatible host volumes",
                    format!("host volume {source:?} is missing or read-only"),
                ));
            }
        }
        Ok(())
    }
}

/// No other allocation of the job (or group) on the node.
pub struct DistinctHostsChecker {
    /// Group name.
    pub group: String,
    /// Job or group.
    pub scope: Scope,
}

impl FeasibilityChecker for DistinctHostsChecker {
    fn check(&self, _: &Node, plan: Option<&PlanView<'_>>) -> Result<(), Rejection> {
        let Some(plan) = plan else { return Ok(()) };
        let taken = match self.scope {
            Scope::Job => plan.usage.job_allocs,
            Scope::Group => plan.usage.group_count(&self.group),
        };
        if taken == 0 {
            return Ok(());
        }
        let what = if self.scope == Scope::Job { "job" } else { "group" };
        Err(Rejection::new(
            "distinct_hosts",
            format!("node already runs an allocation of this {what}"),
        ))
    }
}

/// At most `limit` allocations of the job (or group) per value of a property.
pub struct DistinctPropertyChecker {
    /// Group name.
    pub group: String,
    /// The constraint.
    pub property: DistinctProperty,
}

impl FeasibilityChecker for DistinctPropertyChecker {
    fn check(&self, node: &Node, plan: Option<&PlanView<'_>>) -> Result<(), Rejection> {
        let c = &self.property.constraint;
        let Some(value) = c.left.resolve(node) else {
            return Err(Rejection::new(c.key.clone(), "node does not have the property"));
        };
        let Some(plan) = plan else { return Ok(()) };
        let used = plan
            .job_allocs
            .iter()
            .filter(|(_, g)| self.property.scope == Scope::Job || *g == self.group)
            .filter(|(n, _)| c.left.resolve(n) == Some(value))
            .count();
        if (used as u32) < self.property.limit {
            return Ok(());
        }
        Err(Rejection::new(
            c.key.clone(),
            format!(
                "property value {value:?} already has {used} allocation(s), limit {}",
                self.property.limit
            ),
        ))
    }
}

/// Checkers that pick the nodes a job may use at all (not counted as filtered, like Nomad).
pub fn node_set_chain(datacenters: &[String], pool: &str) -> Vec<Box<dyn FeasibilityChecker>> {
    vec![
        Box::new(NodeStatusChecker),
        Box::new(DatacenterChecker::new(datacenters)),
        Box::new(NodePoolChecker {
            pool: pool.to_string(),
        }),
    ]
}

/// Checkers whose verdict depends only on the node and the group.
pub fn static_chain(spec: &GroupSpec) -> Vec<Box<dyn FeasibilityChecker>> {
    let mut chain: Vec<Box<dyn FeasibilityChecker>> = vec![Box::new(DriverChecker {
        drivers: spec.drivers.clone(),
    })];
    for c in &spec.constraints {
        chain.push(Box::new(ConstraintChecker {
            constraint: c.clone(),
        }));
    }
    if !spec.host_volumes.is_empty() {
        chain.push(Box::new(HostVolumeChecker {
            volumes: spec.host_volumes.clone(),
        }));
    }
    chain
}

/// Checkers that depend on the plan so far.
pub fn plan_chain(spec: &GroupSpec) -> Vec<Box<dyn FeasibilityChecker>> {
    let mut chain: Vec<Box<dyn FeasibilityChecker>> = Vec::new();
    if let Some(scope) = spec.distinct_hosts {
        chain.push(Box::new(DistinctHostsChecker {
            group: spec.name.clone(),
            scope,
        }));
    }
    for p in &spec.distinct_properties {
        chain.push(Box::new(DistinctPropertyChecker {
            group: spec.name.clone(),
            property: p.clone(),
        }));
    }
    chain
}

/// Whether every checker of a chain admits the node (no rejection is written).
pub fn chain_admits(chain: &[Box<dyn FeasibilityChecker>], node: &Node, plan: Option<&PlanView<'_>>) -> bool {
    chain.iter().all(|c| c.admits(node, plan))
}

/// Runs a chain; the first rejection wins.
pub fn run_chain(
    chain: &[Box<dyn FeasibilityChecker>],
    node: &Node,
    plan: Option<&PlanView<'_>>,
) -> Result<(), Rejection> {
    chain.iter().try_for_each(|c| c.check(node, plan))
}

/// `*` matches any run of characters; everything else literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    // Most patterns have no wildcard: compare without splitting.
    if !pattern.contains('*') {
        return pattern == text;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

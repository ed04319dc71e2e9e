//! Update classification: can an allocation move to the new job version without restarting
//! (in place), or must it be replaced (destructive)?

use super::feasible::glob_match;
use crate::api::Node;
use crate::spec::{Job, TaskGroup};

/// How an allocation reaches the new job version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateKind {
    /// Nothing changed that the allocation depends on.
    None,
    /// Only fields the client can apply without restarting changed.
    InPlace,
    /// The tasks must be replaced.
    Destructive,
}

/// Compares the group an allocation runs (`old`) with its new definition.
///
/// In place: count, update/migrate/reschedule/restart policies, scaling, services, job meta,
/// priority, datacenters and node pool while the node still qualifies. Everything else the
/// tasks see (drivers, config, env, resources, networks, volumes, constraints...) is
/// destructive.
pub fn classify(old_job: &Job, old: &TaskGroup, new_job: &Job, new: &TaskGroup, node: Option<&Node>) -> UpdateKind {
    if strip_group(old) != strip_group(new)
        || old_job.constraints != new_job.constraints
        || old_job.affinities != new_job.affinities
        || old_job.spreads != new_job.spreads
    {
        return UpdateKind::Destructive;
    }
    if let Some(node) = node {
        let dcs = new_job.datacenters.as_deref().unwrap_or(&[]);
        let in_dc = dcs.is_empty() || dcs.iter().any(|p| glob_match(p, &node.datacenter));
        let pool = new_job.node_pool.as_deref().unwrap_or("default");
        if !in_dc || !(pool == "all" || pool == node.pool()) {
            return UpdateKind::Destructive;
        }
    }
    let same = old == new
        && old_job.meta == new_job.meta
        && old_job.priority == new_job.priority
        && old_job.datacenters == new_job.datacenters
        && old_job.node_pool == new_job.node_pool
        && old_job.update == new_job.update;
    if same { UpdateKind::None } else { UpdateKind::InPlace }
}

/// The group without the fields an in-place update may change.
fn strip_group(g: &TaskGroup) -> TaskGroup {
    let mut g = g.clone();
    g.count = None;
    g.update = None;
    g.migrate = None;
    g.reschedule_policy = None;
    g.restart_policy = None;
    g.scaling = None;
    g.services = None;
    if let Some(tasks) = g.tasks.as_mut() {
        for t in tasks {
            t.services = None;
            t.restart_policy = None;
            t.scaling_policies = None;
        }
    }
    g
}

//! Rollback is a forward apply: the stack as an earlier revision recorded it becomes the
//! wanted state, planned against what is recorded and live now like any change, and applied
//! as a new revision (history is never rewritten). Jobs the old revision lacks are stopped
//! dependents first, and changed jobs go back dependents first too (the worker before the API
//! it calls, the API before the database: see [`super::StepOptions::undo_order`]); where the
//! backend still keeps a version equal to the recorded spec, the steps revert to it (see
//! [`super::StepOptions::prefer_revert`]).

use crate::graph::StackGraph;
use crate::stack::{Dependency, DependencyKind, JobAddress, Stack, StackJob};
use crate::state::Revision;

/// The stack `target` describes: its recorded jobs (values opened), with the current stack's
/// settings, outputs and the edges among jobs both know, and its recorded Nomad Variables.
pub fn stack_at(target: &Revision, current: &Stack) -> Stack {
    let jobs: Vec<StackJob> = target
        .jobs
        .iter()
        .map(|r| StackJob {
            address: r.address.clone(),
            job: r.spec.clone(),
            span: current
                .job(&r.address)
                .map(|j| j.span.clone())
                .unwrap_or_default(),
            sensitive_paths: r.sensitive_paths.clone(),
            volatile: Vec::new(),
        })
        .collect();
    let known = |a: &JobAddress| target.job(a).is_some();
    let dependencies: Vec<Dependency> = current
        .dependencies
        .iter()
        .filter(|d| known(&d.from) && known(&d.to))
        .cloned()
        .map(|d| Dependency {
            kind: DependencyKind::Declared,
            ..d
        })
        .collect();
    let mut stack = Stack {
        root: current.root.clone(),
        settings: current.settings.clone(),
        jobs,
        dependencies,
        outputs: current.outputs.clone(),
        variables: current.variables.clone(),
        modules: current.modules.clone(),
        job_options: current
            .job_options
            .iter()
            .filter(|(a, _)| known(a))
            .map(|(a, o)| (a.clone(), o.clone()))
            .collect(),
        nomad_variables: target
            .nomad_variables
            .iter()
            .map(|r| {
                let mut v = r.to_stack();
                if let Some(now) = current
                    .nomad_variables
                    .iter()
                    .find(|c| (&c.namespace, &c.path) == (&v.namespace, &v.path))
                {
                    v.read_by = now.read_by.clone();
                    v.span = now.span.clone();
                }
                v
            })
            .collect(),
    };
    stack.jobs.sort_by(|a, b| a.address.cmp(&b.address));
    stack
}

/// Edges (`from` depends on `to`) of the current stack, for ordering stops of jobs the target
/// revision no longer has.
pub fn current_edges(graph: &StackGraph) -> Vec<(JobAddress, JobAddress)> {
    graph
        .edges()
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect()
}

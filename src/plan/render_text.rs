//! The plan for people at a terminal: per changed job its action, reason, dependencies, the
//! Nomad-style diff, drift and placement; then a one-line summary. Unchanged jobs are counted,
//! not listed.

use std::fmt::Write;

use super::model::{Action, JobChange, PlacementPreview, Plan};
use super::placement_cause::causes as placement_causes;
use super::render_diff::{Painter, render_job_diff};
use crate::graph::gate_name;
use crate::spec::diff::DiffType;

/// Options for the text view.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// ANSI colour.
    pub color: bool,
    /// Print every field of created and destroyed jobs too.
    pub verbose: bool,
}

fn action_type(a: Action) -> DiffType {
    match a {
        Action::Create => DiffType::Added,
        Action::Destroy => DiffType::Deleted,
        Action::Noop => DiffType::None,
        _ => DiffType::Edited,
    }
}

/// Renders the whole plan.
pub fn render_text(plan: &Plan, options: &TextOptions) -> String {
    let p = Painter { color: options.color };
    let mut out = String::new();
    let against = match &plan.state {
        Some(s) => format!("state serial {} (lineage {})", s.serial, s.lineage),
        None => "no recorded state".to_string(),
    };
    let mode = if plan.refreshed {
        "live backend"
    } else {
        "recorded state only (-refresh=false)"
    };
    let _ = writeln!(
        out,
        "Plan for stack \"{}\" against {against}, using {mode}.",
        plan.stack
    );
    if plan.destroy {
        let _ = writeln!(out, "Planning to destroy every job (-destroy).");
    }
    if !plan.targets.is_empty() {
        let _ = writeln!(
            out,
            "Targets: {} (and what they depend on).",
            plan.targets.join(", ")
        );
    }
    super::render_variables::variables_text(&mut out, plan, &p);
    for job in plan.jobs.iter().filter(|j| {
        j.action != Action::Noop
            || j.needs_apply()
            || j.placement
                .as_ref()
                .is_some_and(|pl| pl.fails() || pl.unavailable.is_some())
    }) {
        out.push('\n');
        render_job(&mut out, job, options, &p);
    }
    out.push('\n');
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "{} {} to create, {} to update in place, {} to replace, {} to destroy, {} unchanged.",
        p.bold("Plan:"),
        s.create,
        s.update,
        s.update_destructive,
        s.destroy,
        s.noop
    );
    if let Some(v) = super::render_variables::variables_summary(plan) {
        let _ = writeln!(out, "{v}");
    }
    let unplaced: Vec<&str> = plan.unplaced().map(|j| j.address.0.as_str()).collect();
    if !unplaced.is_empty() {
        let _ = writeln!(
            out,
            "{} {} job{} would not be placed: {}.",
            p.paint(DiffType::Deleted, "Placement fails:"),
            unplaced.len(),
            if unplaced.len() == 1 { "" } else { "s" },
            unplaced.join(", ")
        );
    }
    out
}

fn render_job(out: &mut String, job: &JobChange, options: &TextOptions, p: &Painter) {
    let t = action_type(job.action);
    let what = match (job.is_adoption(), job.action) {
        (true, Action::Noop) => "adopt".to_owned(),
        (true, a) => format!("adopt, then {}", a.describe()),
        (false, a) => a.describe().to_owned(),
    };
    let _ = writeln!(
        out,
        "{} {} ({what}), wave {}",
        p.paint(t, job.action.marker()),
        p.bold(&job.address.0),
        job.wave
    );
    let _ = writeln!(out, "  reason: {}", job.reason);
    if !job.depends_on.is_empty() {
        let deps: Vec<String> = job
            .depends_on
            .iter()
            .map(|d| format!("{} ({})", d.address, gate_name(d.gate)))
            .collect();
        let _ = writeln!(out, "  waits for: {}", deps.join(", "));
    }
    if let Some(i) = job.job_modify_index {
        let _ = writeln!(out, "  job modify index: {i}");
    }
    if job.action != Action::Noop {
        render_job_diff(out, &job.diff, 2, options.verbose, p);
    }
    for v in &job.volatile {
        let _ = writeln!(out, "  {} ({})", v.path, v.annotation());
    }
    if job.is_adoption() {
        let _ = writeln!(
            out,
            "  {} it runs on the backend but this state has no record of it; apply records it as this \
             stack's (`deploy import {} ID` records it without registering it)",
            p.paint(DiffType::Edited, "adopt:"),
            job.address
        );
    } else if let Some(d) = &job.drift {
        let what = match (&d.recorded, &d.live) {
            (Some(_), None) => "recorded but missing from the backend",
            (None, Some(_)) => "live on the backend but not recorded",
            _ => "the live job differs from the recorded one (recorded => live)",
        };
        let _ = writeln!(out, "  {} {what}:", p.paint(DiffType::Edited, "drift:"));
        render_job_diff(out, &d.diff, 4, true, p);
    }
    if let Some(g) = &job.gate_not_passed {
        let _ = writeln!(
            out,
            "  {} the last apply recorded: {g}; apply checks it again",
            p.paint(DiffType::Edited, "gate not passed:")
        );
    }
    if let Some(pl) = &job.placement {
        render_placement(out, pl, p);
    }
}

fn render_placement(out: &mut String, pl: &PlacementPreview, p: &Painter) {
    if let Some(why) = &pl.unavailable {
        let _ = writeln!(
            out,
            "  {} {why}",
            p.paint(DiffType::Edited, "placement preview unavailable:")
        );
        return;
    }
    if let Some(child) = &pl.child {
        let _ = writeln!(out, "  placement of a launched child (dry run as {child}):");
    }
    if pl.failures.is_empty() {
        let _ = writeln!(out, "  placement: all {} allocations placed", pl.desired);
        return;
    }
    let _ = writeln!(
        out,
        "  {} {} of {} allocations placed",
        p.paint(DiffType::Deleted, "placement failed:"),
        pl.placed,
        pl.desired
    );
    for f in &pl.failures {
        let _ = writeln!(
            out,
            "    Task Group \"{}\" (failed to place {} allocation{}): {} nodes evaluated, {} filtered, {} exhausted",
            f.group,
            f.unplaced,
            if f.unplaced == 1 { "" } else { "s" },
            f.nodes_evaluated,
            f.nodes_filtered,
            f.nodes_exhausted
        );
        for cause in placement_causes(f) {
            let _ = writeln!(out, "      cause: {cause}");
        }
        for (c, n) in &f.constraint_filtered {
            let _ = writeln!(out, "      * Constraint \"{c}\": {n} nodes excluded by filter");
        }
        for (d, n) in &f.dimension_exhausted {
            let _ = writeln!(out, "      * Dimension \"{d}\" exhausted on {n} nodes");
        }
        for (node, why) in &f.per_node_reasons {
            let _ = writeln!(out, "      - node {node}: {why}");
        }
    }
}

//! The Nomad Variables of a plan, for the text and Markdown views: per changed variable its
//! action, the jobs that read it and its items, sensitive ones as `(sensitive)`.

use std::fmt::Write;

use super::model::{Action, Plan};
use super::render_diff::Painter;
use super::variables::{ItemChange, VariableChange};
use crate::spec::diff::DiffType;

fn kind(a: Action) -> DiffType {
    match a {
        Action::Create => DiffType::Added,
        Action::Destroy => DiffType::Deleted,
        Action::Noop => DiffType::None,
        _ => DiffType::Edited,
    }
}

fn when(v: &VariableChange) -> &'static str {
    if v.action == Action::Destroy {
        "after every job"
    } else {
        "before the first wave"
    }
}

fn item_line(i: &ItemChange) -> String {
    let before = i.before.as_deref().unwrap_or_default();
    let after = i.after.as_deref().unwrap_or_default();
    match i.action {
        Action::Create => format!("{}: {:?}", i.key, after),
        Action::Destroy => format!("{}: {:?}", i.key, before),
        Action::Noop => format!("{}: {:?}", i.key, after),
        _ => format!("{}: {:?} => {:?}", i.key, before, after),
    }
}

/// The variables that change, as text (nothing when none does).
pub fn variables_text(out: &mut String, plan: &Plan, p: &Painter) {
    for v in plan.variables.iter().filter(|v| v.action != Action::Noop) {
        let _ = writeln!(
            out,
            "\n{} {} ({}), namespace {}, {}",
            p.paint(kind(v.action), v.action.marker()),
            p.bold(&format!("nomad_variable.{}", v.path)),
            v.action.describe(),
            v.namespace,
            when(v)
        );
        if !v.read_by.is_empty() {
            let readers: Vec<&str> = v.read_by.iter().map(|a| a.0.as_str()).collect();
            let _ = writeln!(out, "  read by: {}", readers.join(", "));
        }
        for i in v.items.iter().filter(|i| i.action != Action::Noop) {
            let _ = writeln!(
                out,
                "  {} {}",
                p.paint(kind(i.action), i.action.marker()),
                item_line(i)
            );
        }
        let same = v.items.iter().filter(|i| i.action == Action::Noop).count();
        if same > 0 && v.action != Action::Destroy {
            let _ = writeln!(
                out,
                "  ({same} item{} unchanged)",
                if same == 1 { "" } else { "s" }
            );
        }
    }
}

/// The summary line of the variables (`None` when the plan manages none).
pub fn variables_summary(plan: &Plan) -> Option<String> {
    if plan.variables.is_empty() {
        return None;
    }
    let n = |a: Action| plan.variables.iter().filter(|v| v.action == a).count();
    Some(format!(
        "Variables: {} to create, {} to update, {} to destroy, {} unchanged.",
        n(Action::Create),
        n(Action::Update),
        n(Action::Destroy),
        n(Action::Noop)
    ))
}

/// The variables that change, as Markdown sections (empty when none does).
pub fn variables_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    for v in plan.variables.iter().filter(|v| v.action != Action::Noop) {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code> <b>nomad_variable.{}</b>: {} (namespace {}, {})</summary>\n",
            v.action.marker(),
            v.path,
            v.action.describe(),
            v.namespace,
            when(v)
        );
        if !v.read_by.is_empty() {
            let readers: Vec<String> = v.read_by.iter().map(|a| format!("`{a}`")).collect();
            let _ = writeln!(out, "Read by: {}\n", readers.join(", "));
        }
        out.push_str("```diff\n");
        for i in v.items.iter().filter(|i| i.action != Action::Noop) {
            let _ = writeln!(out, "{} {}", i.action.marker(), item_line(i));
        }
        out.push_str("```\n</details>\n");
    }
    if let Some(s) = variables_summary(plan) {
        let _ = writeln!(out, "\n{s}");
    }
    out
}

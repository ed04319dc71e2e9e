//! A [`JobDiff`] printed the way `nomad job plan` prints it: `+`, `-`, `+/-` markers, fields
//! aligned per block, objects in braces, annotations in parentheses, and multi-line values as
//! a line diff.

use std::fmt::Write;

use owo_colors::OwoColorize;

use crate::spec::diff::{DiffType, FieldDiff, JobDiff, ObjectDiff, TaskDiff, TaskGroupDiff};

/// Colour on or off.
#[derive(Clone, Copy, Debug, Default)]
pub struct Painter {
    /// Emit ANSI colour.
    pub color: bool,
}

impl Painter {
    /// The marker in its colour: green `+`, red `-`, yellow `+/-`.
    pub fn marker(&self, t: DiffType) -> String {
        self.paint(t, t.marker())
    }

    /// `s` in the colour of `t`.
    pub fn paint(&self, t: DiffType, s: &str) -> String {
        if !self.color {
            return s.to_string();
        }
        match t {
            DiffType::Added => s.green().to_string(),
            DiffType::Deleted => s.red().to_string(),
            DiffType::Edited => s.yellow().to_string(),
            DiffType::None => s.to_string(),
        }
    }

    /// Bold text.
    pub fn bold(&self, s: &str) -> String {
        if self.color {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }
}

fn prefix(p: &Painter, t: DiffType) -> String {
    match t {
        DiffType::None => String::new(),
        _ => format!("{} ", p.marker(t)),
    }
}

/// Prints a job diff. `verbose` also prints the fields of added and deleted jobs, groups
/// and tasks (Nomad prints only their headers by default).
pub fn render_job_diff(out: &mut String, d: &JobDiff, indent: usize, verbose: bool, p: &Painter) {
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}{}Job: \"{}\"", prefix(p, d.r#type), d.id);
    let detailed = verbose || d.r#type == DiffType::Edited;
    if detailed {
        render_members(out, &d.fields, &d.objects, indent, p);
    }
    for g in &d.task_groups {
        render_group(out, g, indent, verbose, p);
    }
}

fn updates_text(g: &TaskGroupDiff) -> String {
    if g.updates.is_empty() {
        return String::new();
    }
    // Nomad's order: create, create/destroy update, destroy, in-place update, ignore.
    let parts: Vec<String> = g.updates.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!(" ({})", parts.join(", "))
}

fn render_group(out: &mut String, g: &TaskGroupDiff, indent: usize, verbose: bool, p: &Painter) {
    let pad = " ".repeat(indent);
    let _ = writeln!(
        out,
        "{pad}{}Task Group: \"{}\"{}",
        prefix(p, g.r#type),
        g.name,
        updates_text(g)
    );
    if verbose || g.r#type == DiffType::Edited {
        render_members(out, &g.fields, &g.objects, indent + 2, p);
    }
    for t in &g.tasks {
        render_task(out, t, indent + 2, verbose, p);
    }
}

fn render_task(out: &mut String, t: &TaskDiff, indent: usize, verbose: bool, p: &Painter) {
    let pad = " ".repeat(indent);
    let ann = if t.annotations.is_empty() {
        String::new()
    } else {
        format!(" ({})", t.annotations.join(", "))
    };
    let _ = writeln!(out, "{pad}{}Task: \"{}\"{ann}", prefix(p, t.r#type), t.name);
    if verbose || t.r#type == DiffType::Edited {
        render_members(out, &t.fields, &t.objects, indent + 2, p);
    }
}

fn render_members(
    out: &mut String,
    fields: &[FieldDiff],
    objects: &[ObjectDiff],
    indent: usize,
    p: &Painter,
) {
    let width = fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in fields {
        render_field(out, f, indent, width, p);
    }
    for o in objects {
        render_object(out, o, indent, p);
    }
}

fn render_field(out: &mut String, f: &FieldDiff, indent: usize, width: usize, p: &Painter) {
    let pad = " ".repeat(indent);
    let name = format!("{}:", f.name);
    let ann = f
        .annotations
        .as_ref()
        .map(|a| format!(" ({})", a.join(", ")))
        .unwrap_or_default();
    if let Some(lines) = &f.lines {
        let _ = writeln!(
            out,
            "{pad}{}{name:<w$} <<{ann}",
            prefix(p, f.r#type),
            w = width + 1
        );
        let inner = " ".repeat(indent + f.r#type.marker().len() + 3);
        for l in lines {
            let t = match l.tag.as_str() {
                "+" => DiffType::Added,
                "-" => DiffType::Deleted,
                _ => DiffType::None,
            };
            let text = format!(
                "{} {}",
                if t == DiffType::None { " " } else { l.tag.as_str() },
                l.text
            );
            let _ = writeln!(out, "{inner}{}", p.paint(t, text.trim_end()));
        }
        let _ = writeln!(out, "{inner}>>");
        return;
    }
    let value = match f.r#type {
        DiffType::Added => format!("{:?}", f.new),
        DiffType::Deleted => format!("{:?}", f.old),
        _ => format!("{:?} => {:?}", f.old, f.new),
    };
    let _ = writeln!(
        out,
        "{pad}{}{name:<w$} {value}{ann}",
        prefix(p, f.r#type),
        w = width + 1
    );
}

fn render_object(out: &mut String, o: &ObjectDiff, indent: usize, p: &Painter) {
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}{}{} {{", prefix(p, o.r#type), o.name);
    render_members(out, &o.fields, &o.objects, indent + 2, p);
    let _ = writeln!(out, "{pad}}}");
}

//! The graph as text people read: DOT for Graphviz (jobs ranked by wave) and a plain listing
//! by wave.

use std::fmt::Write;

use super::build::StackGraph;
use crate::stack::{DependencyKind, Gate};

/// How `deploy graph` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// A listing by wave.
    Text,
}

/// The gate's name as written in a stack.
pub fn gate_name(gate: Gate) -> &'static str {
    match gate {
        Gate::Healthy => "healthy",
        Gate::Complete => "complete",
        Gate::Registered => "registered",
        Gate::Running => "running",
    }
}

/// Graphviz DOT: one `subgraph cluster_wave_N` per wave, edges labelled with their gate,
/// implicit (reference) edges dashed.
pub fn render_dot(graph: &StackGraph, stack_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(stack_name));
    out.push_str("  rankdir = \"BT\";\n  node [shape = box];\n");
    for wave in 0..graph.wave_count() {
        let _ = writeln!(out, "  subgraph cluster_wave_{wave} {{");
        let _ = writeln!(out, "    label = \"wave {wave}\";");
        out.push_str("    style = dashed;\n");
        for (i, a) in graph.addresses().iter().enumerate() {
            if graph.wave_of(i) == wave {
                let _ = writeln!(out, "    {};", quote(&a.0));
            }
        }
        out.push_str("  }\n");
    }
    for e in graph.edges() {
        let style = match e.kind {
            DependencyKind::Declared => "",
            DependencyKind::Reference => ", style = dashed",
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label = {}{style}];",
            quote(&e.from.0),
            quote(&e.to.0),
            quote(gate_name(e.gate))
        );
    }
    out.push_str("}\n");
    out
}

/// Plain text: each wave, its jobs, and what each waits for.
pub fn render_text(graph: &StackGraph) -> String {
    let mut out = String::new();
    for wave in 0..graph.wave_count() {
        let _ = writeln!(out, "wave {wave}:");
        for (i, a) in graph.addresses().iter().enumerate() {
            if graph.wave_of(i) != wave {
                continue;
            }
            let _ = writeln!(out, "  {a}");
            for e in graph.dependencies_of(i) {
                let how = match e.kind {
                    DependencyKind::Declared => "declared",
                    DependencyKind::Reference => "reference",
                };
                let timeout = e.timeout.map(|t| format!(", timeout {t}")).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "    waits for {} ({}, {how}{timeout})",
                    e.to,
                    gate_name(e.gate)
                );
            }
        }
    }
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

//! From a place in a job's JSON back to the HCL that wrote it, with the decoder's own schemas.
//!
//! ```text
//!  ["TaskGroups[0]", "Tasks[1]", "Resources"] + "MemoryMB"
//!     ─► group #0 ─► task #1 ─► resources ─► `memory = ...`  (its key's byte range)
//! ```
//!
//! The walk stops at the deepest block it can follow: a step the schemas do not know (a
//! field the decoder builds itself, such as `ReservedPorts`) locates the block above it.

use std::ops::Range;

use hcl::edit::Span;
use hcl::edit::structure::Block;

use super::schema::{BodyKind, Schema};
use super::schemas::JOB;

/// The byte range of the attribute (or, failing that, the deepest block) that `json_path`
/// and `field` name inside `job`, a `job` block.
pub fn locate(job: &Block, json_path: &[String], field: Option<&str>) -> Option<Range<usize>> {
    let mut schema: &Schema = &JOB;
    let mut block = job;
    let mut found = job.ident.span();
    for step in json_path {
        let (name, pick) = parse_step(step);
        let Some(rule) = schema.blocks.iter().find(|r| r.json == name) else {
            return found;
        };
        // Blocks a `dynamic` block generates have no source of their own to index.
        let generated = block.body.blocks().any(|b| {
            b.ident.value().as_str() == "dynamic" && b.labels.first().is_some_and(|l| l.as_str() == rule.hcl)
        });
        if generated {
            return found;
        }
        let mut same_kind = block
            .body
            .blocks()
            .filter(|b| b.ident.value().as_str() == rule.hcl);
        let next = match pick {
            Pick::First => same_kind.next(),
            Pick::Index(i) => same_kind.nth(i),
            Pick::Label(l) => same_kind.find(|b| b.labels.first().is_some_and(|x| x.as_str() == l)),
        };
        let Some(next) = next else { return found };
        block = next;
        found = block.ident.span();
        match rule.body {
            BodyKind::Schema(s) => schema = s,
            _ => return found,
        }
    }
    let Some(field) = field else { return found };
    let attr = schema
        .attrs
        .iter()
        .filter(|a| a.1 == field)
        .find_map(|a| block.body.get_attribute(a.0));
    match attr {
        Some(a) => a.key.span().or(found),
        None => found,
    }
}

/// Which block of a kind a JSON step means.
enum Pick<'s> {
    /// `"Field"`: the only one.
    First,
    /// `"Field[i]"`: the i-th in source order.
    Index(usize),
    /// `"Field.label"`: the one with this label.
    Label(&'s str),
}

fn parse_step(step: &str) -> (&str, Pick<'_>) {
    if let Some((name, rest)) = step.split_once('[')
        && let Some(Ok(i)) = rest.strip_suffix(']').map(str::parse)
    {
        return (name, Pick::Index(i));
    }
    match step.split_once('.') {
        Some((name, label)) => (name, Pick::Label(label)),
        None => (step, Pick::First),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(steps: &[&str]) -> Vec<String> {
        steps.iter().map(|s| s.to_string()).collect()
    }

    const SRC: &str = "job \"j\" {\n  group \"a\" {\n    count = 1\n  }\n  group \"b\" {\n    count = -1\n    task \"t\" {\n      resources {\n        memory = 1\n      }\n    }\n    volume \"v\" {\n      source = \"\"\n    }\n  }\n}\n";

    fn at(steps: &[&str], field: Option<&str>) -> &'static str {
        let body = hcl::edit::parser::parse_body(SRC).expect("parses");
        let job = body.blocks().next().expect("job block");
        let r = locate(job, &path(steps), field).expect("a range");
        &SRC[r]
    }

    #[test]
    fn follows_indices_labels_and_fields_to_the_attribute_key() {
        let body = hcl::edit::parser::parse_body(SRC).expect("parses");
        let job = body.blocks().next().expect("job block");
        let r = locate(job, &path(&["TaskGroups[1]"]), Some("Count")).expect("a range");
        assert_eq!(&SRC[r.clone()], "count");
        assert_eq!(SRC[..r.start].lines().count(), 6, "the second group's count");
        assert_eq!(
            at(&["TaskGroups[1]", "Tasks[0]", "Resources"], Some("MemoryMB")),
            "memory"
        );
        assert_eq!(at(&["TaskGroups[1]", "Volumes.v"], Some("Source")), "source");
    }

    #[test]
    fn stops_at_the_deepest_block_it_can_follow() {
        assert_eq!(at(&["TaskGroups[1]", "Tasks[0]"], Some("Driver")), "task");
        assert_eq!(at(&["TaskGroups[5]"], Some("Count")), "job");
        assert_eq!(at(&["TaskGroups[0]", "Networks[0]"], None), "group");
    }
}

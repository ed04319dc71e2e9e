//! Plan snapshots for users' own tests (`deploy test`): a plan's JSON in a stable form and a
//! comparison that shows what changed as a unified diff.
//!
//! Stable: a value that comes from `uuidv4()` or `timestamp()` differs on every load, so the
//! snapshot holds a placeholder in its place (`(changes on every plan: uuidv4())`), wherever
//! the plan repeats it (the spec to register, the diff).

use serde_json::Value;

use super::model::{JobChange, Plan};

/// The plan's JSON as a snapshot file holds it: pretty, with a final newline.
pub fn snapshot_text(plan: &Plan) -> String {
    let mut v = serde_json::to_value(plan).unwrap_or_default();
    if let Some(Value::Array(jobs)) = v.get_mut("jobs") {
        for (job, change) in jobs.iter_mut().zip(&plan.jobs) {
            stabilize(job, change);
        }
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Replaces, in one job change's JSON, each volatile field's value by its placeholder.
fn stabilize(job: &mut Value, change: &JobChange) {
    let Some(after) = &change.after else { return };
    let Ok(mut spec) = serde_json::to_value(after) else {
        return;
    };
    for field in &change.volatile {
        let value = crate::state::lookup(&mut spec, &field.path).and_then(|v| v.as_str().map(str::to_string));
        if let Some(value) = value.filter(|s| !s.is_empty()) {
            replace_in_strings(job, &value, &format!("({})", field.annotation()));
        }
    }
}

fn replace_in_strings(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|i| replace_in_strings(i, from, to)),
        Value::Object(m) => m.values_mut().for_each(|i| replace_in_strings(i, from, to)),
        _ => {}
    }
}

/// `Ok` when equal; otherwise a unified diff from the committed snapshot to the new plan.
pub fn compare_snapshot(name: &str, expected: &str, actual: &str) -> Result<(), String> {
    if expected == actual {
        return Ok(());
    }
    let diff = similar::TextDiff::from_lines(expected, actual);
    Err(diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (committed)"), &format!("{name} (new plan)"))
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_passes_and_a_change_is_shown() {
        assert!(compare_snapshot("s", "a\nb\n", "a\nb\n").is_ok());
        let d = compare_snapshot("s", "a\nb\nc\n", "a\nx\nc\n").expect_err("differs");
        assert!(d.contains("-b\n") && d.contains("+x\n"), "{d}");
        assert!(d.contains("s (committed)"), "{d}");
    }
}

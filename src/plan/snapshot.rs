//! Plan snapshots for users' own tests (`deploy test`): a plan's JSON in a stable form and a
//! comparison that shows what changed as a unified diff.

use super::model::Plan;

/// The plan's JSON as a snapshot file holds it: pretty, with a final newline.
pub fn snapshot_text(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).unwrap_or_default();
    s.push('\n');
    s
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

//! Apply's guard against a job the scheduler cannot place: when the plan's dry run says some
//! allocations would not be placed, registering the job would only leave it pending with "no
//! allocations placed", so apply stops first, naming each cause, and changes nothing.

use super::error::OperationError;
use crate::plan::{Plan, placement_causes};

/// `Ok` when every job of `plan` would be placed; otherwise the refusal, one line per job and
/// group with its causes.
pub fn refuse_unplaced(plan: &Plan) -> Result<(), OperationError> {
    let mut lines = Vec::new();
    for job in plan.unplaced() {
        for f in job.placement.iter().flat_map(|p| &p.failures) {
            let causes = placement_causes(f);
            let why = if causes.is_empty() {
                "no cause reported".to_string()
            } else {
                causes.join("; ")
            };
            lines.push(format!(
                "  {}: group \"{}\" would not place {} allocation{}: {why}",
                job.address,
                f.group,
                f.unplaced,
                if f.unplaced == 1 { "" } else { "s" }
            ));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    Err(OperationError::Unplaced(format!(
        "refusing to apply: the scheduler's dry run would not place every allocation; nothing \
         was changed (fix the job, or apply anyway with -allow-unplaced):\n{}",
        lines.join("\n")
    )))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::{Action, JobChange, PLAN_FORMAT_VERSION, PlacementFailure, PlacementPreview, Summary};
    use crate::spec::diff::{SensitivePaths, diff};
    use crate::stack::JobAddress;

    fn plan_with(placement: PlacementPreview) -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION.into(),
            stack: "s".into(),
            destroy: false,
            refreshed: true,
            targets: Vec::new(),
            state: None,
            summary: Summary::default(),
            jobs: vec![JobChange {
                address: JobAddress::root("vault"),
                action: Action::Create,
                reason: "new job".into(),
                diff: diff(None, None, &SensitivePaths::new()),
                after: None,
                drift: None,
                gate_not_passed: None,
                volatile: Vec::new(),
                placement: Some(placement),
                depends_on: Vec::new(),
                wave: 0,
                job_modify_index: None,
            }],
            variables: Vec::new(),
        }
    }

    #[test]
    fn a_plan_that_places_everything_or_has_no_preview_passes() {
        let placed = PlacementPreview {
            desired: 1,
            placed: 1,
            ..Default::default()
        };
        assert!(refuse_unplaced(&plan_with(placed)).is_ok());
        let none = PlacementPreview::unavailable("the server has no plan endpoint");
        assert!(refuse_unplaced(&plan_with(none)).is_ok());
    }

    #[test]
    fn the_refusal_names_the_job_group_and_cause() {
        let key = "${attr.vault.version} semver >= 0.6.1";
        let failing = PlacementPreview {
            desired: 1,
            failures: vec![PlacementFailure {
                group: "g".into(),
                unplaced: 1,
                constraint_filtered: BTreeMap::from([(key.to_string(), 3)]),
                nodes_evaluated: 3,
                nodes_filtered: 3,
                per_node_reasons: (0..3)
                    .map(|i| {
                        (
                            format!("n{i}"),
                            format!("constraint `{key}` not satisfied (left side is unset)"),
                        )
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let err = refuse_unplaced(&plan_with(failing)).unwrap_err().to_string();
        assert!(
            err.contains("-allow-unplaced") && err.contains("nothing was changed"),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "job.vault: group \"g\" would not place 1 allocation: constraint `{key}`: unset on all 3 nodes: this cluster has no Vault"
            )),
            "{err}"
        );
    }
}

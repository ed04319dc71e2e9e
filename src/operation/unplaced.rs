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

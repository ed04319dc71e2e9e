//! Plans: what `deploy apply` would do, as data, and its views.
//!
//! ```text
//!  Stack + StackGraph ─┐
//!  Revision (state) ───┼─► planner::plan ─► Plan ─┬─► render_text      (terminal, colour)
//!  LiveView (optional) ┘   (refresh::live_view asks a LiveSource: live jobs, dry runs)                          ├─► serde JSON       (-json, docs/plan-json.md)
//!                                                 ├─► render_markdown  (-format markdown)
//!                                                 ├─► save_plan        (-out FILE) ─► apply
//!                                                 └─► refresh_only     (-refresh-only: drift alone)
//! ```

mod model;
mod ownership;
mod placement_cause;
mod planner;
mod refresh;
mod refresh_only;
mod render_diff;
mod render_markdown;
mod render_text;
mod render_variables;
mod saved;
mod snapshot;
mod variables;

pub use model::{
    Action, DependsOn, Drift, JobChange, LiveJob, LiveView, PLAN_FORMAT_VERSION, PlacementFailure,
    PlacementPreview, Plan, StateRef, Summary,
};
pub use ownership::{Adoption, Conflict, OwnershipError, check_ownership, to_reclaim};
pub use placement_cause::causes as placement_causes;
pub use planner::{PlanError, PlanOptions, plan};
pub use refresh::{LiveSource, live_view, preview};
pub use refresh_only::refresh_only;
pub use render_diff::{Painter, render_job_diff};
pub use render_markdown::render_markdown;
pub use render_text::{TextOptions, render_text};
pub use saved::{SavedPlanError, check_current, load_plan, save_plan};
pub use snapshot::{compare_snapshot, snapshot_text};
pub use variables::{ItemChange, VariableChange, plan_variables};

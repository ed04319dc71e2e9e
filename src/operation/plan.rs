//! `plan`: a session, a live view (from the backend, a file, or none), and the pure planner.

use std::path::PathBuf;

use super::error::OperationError;
use super::session::{Notice, SessionRequest, StackSession};
use crate::plan::{LiveView, Plan, PlanOptions, check_ownership, live_view, plan};

/// Where the plan's view of what runs comes from.
#[derive(Clone, Debug)]
pub enum Refresh {
    /// Plan against the recorded state alone (`-refresh=false`).
    Off,
    /// Ask the stack's backend for live jobs and placement.
    Backend,
    /// A [`LiveView`] in JSON standing in for a backend.
    File(PathBuf),
}

/// Opens a session (lock, recovery, state), reads the live view and plans. A runtime is
/// started only when the backend is asked.
pub fn plan_stack(
    request: &SessionRequest,
    refresh: &Refresh,
    options: &PlanOptions,
    notice: Notice<'_>,
) -> Result<Plan, OperationError> {
    let mut session = StackSession::open(request, notice)?;
    let live = match refresh {
        Refresh::Off => None,
        Refresh::File(f) => Some(read_live_view(f)?),
        Refresh::Backend => Some(super::runtime()?.block_on(async {
            session.connect(notice).await?;
            let backend = session.backend()?;
            live_view(backend.as_ref(), &session.stack, session.state.as_ref(), false)
                .await
                .map_err(|e| OperationError::LiveView {
                    from: crate::backend::Backend::describe(backend.as_ref()),
                    source: Box::new(e),
                })
        })?),
    };
    let the_plan = plan(
        &session.stack,
        &session.graph,
        session.state.as_ref(),
        live.as_ref(),
        options,
    )?;
    if let Some(live) = &live {
        let name = &session.stack.settings.name;
        check_ownership(&the_plan, live, session.state.as_ref(), name, &options.adoption)?;
    }
    Ok(the_plan)
}

fn read_live_view(f: &std::path::Path) -> Result<LiveView, OperationError> {
    let bytes = std::fs::read(f).map_err(|e| OperationError::File {
        message: format!("reading {}", f.display()),
        detail: e.to_string(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| OperationError::File {
        message: format!("{} is not a live view", f.display()),
        detail: e.to_string(),
    })
}

//! Saved plans (`deploy plan -out FILE`): the plan's JSON, which already carries the state
//! lineage + serial and every job's modify index. An apply of the file checks them against the
//! state and the backend first and refuses if anything moved.

use std::path::Path;

use super::model::{LiveView, PLAN_FORMAT_VERSION, Plan};
use crate::state::{Revision, StateError, write_atomic};

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// Reading or writing the file failed.
    #[error(transparent)]
    File(#[from] StateError),
    /// Not a plan file.
    #[error("{path} is not a plan file: {detail}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// Something changed since the plan was made.
    #[error("the saved plan is stale: {0}; run deploy plan again")]
    Stale(String),
}

/// Writes a plan file atomically.
pub fn save_plan(plan: &Plan, path: &Path) -> Result<(), SavedPlanError> {
    let mut bytes = serde_json::to_vec_pretty(plan).map_err(|e| SavedPlanError::Invalid {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    bytes.push(b'\n');
    let _ = std::fs::remove_file(path);
    write_atomic(path, &bytes)?;
    Ok(())
}

/// Reads a plan file, refusing other format versions.
pub fn load_plan(path: &Path) -> Result<Plan, SavedPlanError> {
    let invalid = |detail: String| SavedPlanError::Invalid {
        path: path.display().to_string(),
        detail,
    };
    let bytes = std::fs::read(path).map_err(|source| StateError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    match v.get("format_version").and_then(|f| f.as_str()) {
        Some(PLAN_FORMAT_VERSION) => {}
        Some(other) => {
            return Err(invalid(format!(
                "format_version {other} is not {PLAN_FORMAT_VERSION}"
            )));
        }
        None => return Err(invalid("no format_version".into())),
    }
    serde_json::from_value(v).map_err(|e| invalid(e.to_string()))
}

/// Checks that the state and the live jobs are still what the plan saw.
pub fn check_current(
    plan: &Plan,
    state: Option<&Revision>,
    live: Option<&LiveView>,
) -> Result<(), SavedPlanError> {
    let now = state.map(|s| (s.lineage.as_str(), s.serial));
    let then = plan.state.as_ref().map(|s| (s.lineage.as_str(), s.serial));
    if now != then {
        let show = |x: Option<(&str, u64)>| {
            x.map_or("no state".to_string(), |(l, s)| format!("lineage {l} serial {s}"))
        };
        return Err(SavedPlanError::Stale(format!(
            "state is now {}, the plan saw {}",
            show(now),
            show(then)
        )));
    }
    if let Some(live) = live {
        for j in &plan.jobs {
            let now = live.jobs.get(&j.address).map(|l| l.modify_index);
            if now != j.job_modify_index && (now.is_some() || j.job_modify_index.is_some()) {
                return Err(SavedPlanError::Stale(format!(
                    "{} has job modify index {:?} on the backend, the plan saw {:?}",
                    j.address, now, j.job_modify_index
                )));
            }
        }
    }
    Ok(())
}

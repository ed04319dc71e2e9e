//! The stack's Nomad Variables around an apply: the plan's creates and updates are written
//! (with `?cas=`) before the first job step, so every job whose template reads one finds it;
//! its destroys are deleted after the last job step, once nothing that reads them runs.
//!
//! ```text
//!  plan.variables ─► write (cas = recorded index, 0 for a new one) ─► records ─► revision
//!                 └► job steps ─► delete the destroyed ones (cas = recorded index)
//! ```

use super::error::OperationError;
use crate::api::{ApiError, Variable};
use crate::backend::Backend;
use crate::plan::{Action, Plan, VariableChange};
use crate::stack::Stack;
use crate::state::{Revision, Sealer, VariableRecord};

/// What the job steps leave to do: the variables to delete afterwards.
pub struct PendingDeletes(Vec<VariableChange>);

fn conflict(v: &VariableChange, e: ApiError) -> OperationError {
    let detail = if e.status() == Some(409) {
        if v.modify_index.is_none() {
            "it already exists on the backend but this stack never wrote it: delete it there or remove the block".to_string()
        } else {
            "it changed on the backend since the last apply wrote it: plan again to see the live items"
                .to_string()
        }
    } else {
        e.to_string()
    };
    OperationError::Refused(format!(
        "writing Nomad Variable {} (namespace {}): {detail}",
        v.path, v.namespace
    ))
}

/// Writes the plan's created and updated variables of `stack`; returns every variable's record
/// for the new revision (destroyed ones left out) and the deletes to run after the jobs.
pub async fn write_variables<B: Backend>(
    backend: &B,
    plan: &Plan,
    stack: &Stack,
    base: Option<&Revision>,
    sealer: &Sealer,
) -> Result<(Vec<VariableRecord>, PendingDeletes), OperationError> {
    if stack
        .nomad_variables
        .iter()
        .any(|v| !v.sensitive_items.is_empty())
        && !sealer.has_recipients()
    {
        return Err(OperationError::Refused(
            "a nomad_variable has items from sensitive variables but the stack has no age recipients to encrypt \
             them to in the state: set `age_recipients` in the stack block or DEPLOY_AGE_RECIPIENTS"
                .into(),
        ));
    }
    let mut records: Vec<VariableRecord> = base.map(|b| b.nomad_variables.clone()).unwrap_or_default();
    let mut deletes = Vec::new();
    for change in &plan.variables {
        let at = records
            .iter()
            .position(|r| (&r.namespace, &r.path) == (&change.namespace, &change.path));
        let wanted = stack
            .nomad_variables
            .iter()
            .find(|v| (&v.namespace, &v.path) == (&change.namespace, &change.path));
        let record = match (change.action, wanted) {
            (Action::Destroy, _) | (_, None) => {
                deletes.push(change.clone());
                None
            }
            (Action::Noop, Some(v)) => match at {
                Some(i) => Some(records[i].clone()),
                None => Some(VariableRecord::sealed(v, change.modify_index, sealer)?),
            },
            (_, Some(v)) => {
                let var = Variable {
                    namespace: v.namespace.clone(),
                    path: v.path.clone(),
                    items: v.items.clone(),
                    ..Variable::default()
                };
                let written = backend
                    .put_variable(&var, Some(change.modify_index.unwrap_or(0)))
                    .await
                    .map_err(|e| conflict(change, e))?;
                Some(VariableRecord::sealed(v, Some(written.modify_index), sealer)?)
            }
        };
        match (at, record) {
            (Some(i), Some(r)) => records[i] = r,
            (Some(i), None) => {
                records.remove(i);
            }
            (None, Some(r)) => records.push(r),
            (None, None) => {}
        }
    }
    records.sort_by(|a, b| (&a.namespace, &a.path).cmp(&(&b.namespace, &b.path)));
    Ok((records, PendingDeletes(deletes)))
}

/// Deletes the variables the plan destroys (after the jobs that read them stopped).
pub async fn delete_variables<B: Backend>(
    backend: &B,
    pending: PendingDeletes,
) -> Result<(), OperationError> {
    for v in pending.0 {
        backend
            .delete_variable(&v.namespace, &v.path, v.modify_index)
            .await
            .map_err(|e| conflict(&v, e))?;
    }
    Ok(())
}

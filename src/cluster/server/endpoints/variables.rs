//! Nomad variables: list (metadata), read, and check-and-set writes; a conflict answers the
//! current variable.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::api::{Variable, VariableMetadata};
use crate::cluster::fsm::{Command, Outcome, variable_metadata};
use crate::cluster::server::ClusterNode;

use super::{EndpointError, Indexed, ReadOptions};

/// What a variable write answered.
#[derive(Debug, Clone)]
pub enum VariableAnswer {
    /// Written: the variable as stored.
    Written(Variable),
    /// Deleted.
    Deleted,
    /// The check-and-set index did not match: the current variable, if any.
    Conflict(Option<Variable>),
}

impl ClusterNode {
    /// The answer to a variable write, items opened.
    fn variable_answer(&self, outcome: Outcome) -> Result<VariableAnswer, EndpointError> {
        match outcome {
            Outcome::Variable(v) => Ok(VariableAnswer::Written(self.open_variable(v)?)),
            Outcome::Done => Ok(VariableAnswer::Deleted),
            Outcome::VariableConflict { current } => Ok(VariableAnswer::Conflict(
                current.map(|v| self.open_variable(v)).transpose()?,
            )),
            other => Err(EndpointError::Internal(format!("unexpected outcome {other:?}"))),
        }
    }

    /// Metadata of the variables in `ns` under `prefix`.
    pub async fn variable_list(
        &self,
        opts: &ReadOptions,
        ns: &str,
        prefix: &str,
    ) -> Result<Indexed<Vec<VariableMetadata>>, EndpointError> {
        self.blocking_read(opts, |s| {
            let list = s
                .variables_with_prefix(ns, prefix)
                .map(variable_metadata)
                .collect();
            (s.table_index("vars"), list)
        })
        .await
    }

    /// One variable with its items, blocking on its own modify index.
    pub async fn variable(
        &self,
        opts: &ReadOptions,
        ns: &str,
        path: &str,
    ) -> Result<Indexed<Variable>, EndpointError> {
        let found = self
            .blocking_read(opts, |s| match s.variable(ns, path) {
                Some(v) => (v.modify_index, Some(v.clone())),
                None => (s.table_index("vars"), None),
            })
            .await?;
        let value = found
            .value
            .ok_or_else(|| EndpointError::not_found("variable not found"))?;
        Ok(Indexed {
            index: found.index,
            value: self.open_variable(value)?,
        })
    }

    /// Creates or updates a variable (`cas`: only if its modify index is this); its items are
    /// sealed here, before they reach Raft.
    pub async fn put_variable(
        &self,
        var: Variable,
        cas: Option<u64>,
    ) -> Result<Indexed<VariableAnswer>, EndpointError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let var = self.seal_variable(var).await?;
        let resp = self.write(Command::VarPut { var, cas, now }).await?;
        Ok(Indexed {
            index: resp.index,
            value: self.variable_answer(resp.outcome)?,
        })
    }

    /// Deletes a variable (`cas`: only if its modify index is this).
    pub async fn delete_variable(
        &self,
        namespace: String,
        path: String,
        cas: Option<u64>,
    ) -> Result<Indexed<VariableAnswer>, EndpointError> {
        let resp = self.write(Command::VarDelete { namespace, path, cas }).await?;
        Ok(Indexed {
            index: resp.index,
            value: self.variable_answer(resp.outcome)?,
        })
    }
}

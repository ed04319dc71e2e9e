//! Nomad variables: list (metadata), read, check-and-set writes and locks (acquire, renew,
//! release); a conflict answers the current variable.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::api::{Variable, VariableLockSpec, VariableMetadata, go_duration};
use crate::cluster::fsm::{Command, Outcome, SealedVariable, VariableLock, variable_metadata};
use crate::cluster::server::{ClusterNode, now_millis};

use super::{EndpointError, Indexed, ReadOptions};

/// What a variable write answered.
#[derive(Debug, Clone)]
pub enum VariableAnswer {
    /// Written: the variable as stored.
    Written(Variable),
    /// Deleted.
    Deleted,
    /// The check-and-set index did not match, or another holds its lock: the current
    /// variable, if any.
    Conflict(Option<Variable>),
    /// A lock renewal or release was refused (Nomad's text; a 409).
    LockRefused(String),
}

/// The wire form of a stored lock.
pub fn lock_spec(l: &VariableLock) -> VariableLockSpec {
    VariableLockSpec {
        ttl: go_duration(Duration::from_millis(l.ttl_millis)),
        lock_delay: go_duration(Duration::from_millis(l.delay_millis)),
        id: l.id.clone(),
    }
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// The end of a holder's time from now: twice the TTL, the grace Nomad grants too.
fn holder_time_from_now(ttl_millis: u64) -> i64 {
    now_millis().saturating_add(ttl_millis.saturating_mul(2).min(i64::MAX as u64) as i64)
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
            Outcome::Refused { message } => Ok(VariableAnswer::LockRefused(message)),
            Outcome::NotFound { message } => Err(EndpointError::not_found(message)),
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
    ///
    /// A locked variable is written only by a request naming its lock's ID (`var.lock`).
    pub async fn put_variable(
        &self,
        var: Variable,
        cas: Option<u64>,
    ) -> Result<Indexed<VariableAnswer>, EndpointError> {
        let var = self.seal_claiming_lock(var).await?;
        self.variable_write(Command::VarPut {
            var,
            cas,
            now: now_nanos(),
        })
        .await
    }

    /// `var` sealed, with the lock ID it names (if any) as its claim.
    async fn seal_claiming_lock(&self, var: Variable) -> Result<SealedVariable, EndpointError> {
        let claim = var.lock.as_ref().map(|l| {
            Box::new(VariableLock {
                id: l.id.clone(),
                ..Default::default()
            })
        });
        let mut sealed = self.seal_variable(var).await?;
        sealed.lock = claim;
        Ok(sealed)
    }

    async fn variable_write(&self, cmd: Command) -> Result<Indexed<VariableAnswer>, EndpointError> {
        let resp = self.write(cmd).await?;
        Ok(Indexed {
            index: resp.index,
            value: self.variable_answer(resp.outcome)?,
        })
    }

    /// Takes a new lock of `ttl` and `delay` on `var` (created when missing); `var`'s items
    /// replace the current ones unless it has none.
    pub async fn lock_variable(
        &self,
        var: Variable,
        ttl: Duration,
        delay: Duration,
    ) -> Result<Indexed<VariableAnswer>, EndpointError> {
        let keep_items = var.items.is_empty();
        let ttl_millis = ttl.as_millis() as u64;
        let lock = VariableLock {
            id: uuid::Uuid::new_v4().to_string(),
            ttl_millis,
            delay_millis: delay.as_millis() as u64,
            expires_at_millis: holder_time_from_now(ttl_millis),
        };
        let mut sealed = self.seal_variable(var).await?;
        sealed.lock = Some(Box::new(lock));
        self.variable_write(Command::VarLockAcquire {
            var: sealed,
            keep_items,
            now: now_nanos(),
        })
        .await
    }

    /// Renews the lock `id` on a variable for another two TTLs.
    pub async fn renew_variable_lock(
        &self,
        namespace: String,
        path: String,
        id: String,
    ) -> Result<Indexed<VariableAnswer>, EndpointError> {
        let ttl = self
            .state()
            .read()
            .variable(&namespace, &path)
            .and_then(|v| v.lock.as_ref())
            .map_or(0, |l| l.ttl_millis);
        self.variable_write(Command::VarLockRenew {
            namespace,
            path,
            id,
            expires_at_millis: holder_time_from_now(ttl),
            now_millis: now_millis(),
        })
        .await
    }

    /// Releases the lock `id` on a variable.
    pub async fn release_variable_lock(
        &self,
        namespace: String,
        path: String,
        id: String,
    ) -> Result<Indexed<VariableAnswer>, EndpointError> {
        self.variable_write(Command::VarLockRelease {
            namespace,
            path,
            id,
            now: now_nanos(),
        })
        .await
    }

    /// Deletes a variable (`cas`: only if its modify index is this).
    pub async fn delete_variable(
        &self,
        namespace: String,
        path: String,
        cas: Option<u64>,
    ) -> Result<Indexed<VariableAnswer>, EndpointError> {
        self.variable_write(Command::VarDelete { namespace, path, cas })
            .await
    }
}

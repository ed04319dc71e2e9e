//! Stack state storage (an extension; Nomad has no such API): keys with check-and-set and
//! leases, replicated like everything else.

use std::time::Duration;

use crate::cluster::fsm::{Command, KvEntry, Lease, Outcome};
use crate::cluster::server::{ClusterNode, now_millis};

use super::{EndpointError, Indexed, ReadOptions};

/// What a key or lease write answered.
#[derive(Debug, Clone)]
pub enum KvAnswer {
    /// The entry as written.
    Entry(KvEntry),
    /// The lease as granted or renewed.
    Lease(Lease),
    /// Done (a delete or revoke).
    Done,
    /// The check-and-set index did not match: the current entry (an empty one under the
    /// key when there is none).
    Conflict(KvEntry),
}

fn kv_answer(index: u64, outcome: Outcome, key: &str) -> Result<Indexed<KvAnswer>, EndpointError> {
    let value = match outcome {
        Outcome::Kv(e) => KvAnswer::Entry(e),
        Outcome::Lease(l) => KvAnswer::Lease(l),
        Outcome::Done => KvAnswer::Done,
        Outcome::KvConflict { current } => KvAnswer::Conflict(current.unwrap_or_else(|| KvEntry {
            key: key.into(),
            ..Default::default()
        })),
        other => return Err(EndpointError::unexpected(other)),
    };
    Ok(Indexed { index, value })
}

impl ClusterNode {
    /// Entries under `prefix`.
    pub async fn kv_list(
        &self,
        opts: &ReadOptions,
        prefix: &str,
    ) -> Result<Indexed<Vec<KvEntry>>, EndpointError> {
        self.blocking_read(opts, |s| {
            (s.table_index("kv"), s.kv_list(prefix).cloned().collect())
        })
        .await
    }

    /// One entry, blocking on its own modify index.
    pub async fn kv_entry(&self, opts: &ReadOptions, key: &str) -> Result<Indexed<KvEntry>, EndpointError> {
        let found = self
            .blocking_read(opts, |s| match s.kv_get(key) {
                Some(e) => (e.modify_index, Some(e.clone())),
                None => (s.table_index("kv"), None),
            })
            .await?;
        let value = found
            .value
            .ok_or_else(|| EndpointError::not_found("key not found"))?;
        Ok(Indexed {
            index: found.index,
            value,
        })
    }

    /// Writes a key (`cas`: only at this modify index; `lease`: deleted with the lease).
    pub async fn kv_put(
        &self,
        key: String,
        value: String,
        cas: Option<u64>,
        lease: Option<String>,
    ) -> Result<Indexed<KvAnswer>, EndpointError> {
        let cmd = Command::KvPut {
            key: key.clone(),
            value,
            cas,
            lease,
        };
        let resp = self.write(cmd).await?;
        kv_answer(resp.index, resp.outcome, &key)
    }

    /// Deletes a key (`cas`: only at this modify index).
    pub async fn kv_delete(&self, key: String, cas: Option<u64>) -> Result<Indexed<KvAnswer>, EndpointError> {
        let resp = self
            .write(Command::KvDelete {
                key: key.clone(),
                cas,
            })
            .await?;
        kv_answer(resp.index, resp.outcome, &key)
    }

    /// A new lease of `ttl`.
    pub async fn lease_grant(&self, ttl: Duration) -> Result<Indexed<KvAnswer>, EndpointError> {
        let ttl_millis = ttl.as_millis() as u64;
        let cmd = Command::LeaseGrant {
            id: uuid::Uuid::new_v4().to_string(),
            ttl_millis,
            expires_at_millis: now_millis() + ttl_millis as i64,
        };
        let resp = self.write(cmd).await?;
        kv_answer(resp.index, resp.outcome, "")
    }

    /// Extends a lease by its TTL.
    pub async fn lease_renew(&self, id: String) -> Result<Indexed<KvAnswer>, EndpointError> {
        let ttl = self
            .state()
            .read()
            .lease(&id)
            .map(|l| l.ttl_millis)
            .ok_or_else(|| EndpointError::not_found("lease not found"))?;
        let cmd = Command::LeaseRenew {
            id,
            expires_at_millis: now_millis() + ttl as i64,
        };
        let resp = self.write(cmd).await?;
        kv_answer(resp.index, resp.outcome, "")
    }

    /// Revokes a lease: its keys are deleted now.
    pub async fn lease_revoke(&self, id: String) -> Result<Indexed<KvAnswer>, EndpointError> {
        let resp = self.write(Command::LeaseRevoke { id }).await?;
        kv_answer(resp.index, resp.outcome, "")
    }
}

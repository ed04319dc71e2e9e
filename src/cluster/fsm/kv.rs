//! A small key/value store with check-and-set and leases, for stack state storage.
//!
//! A lease has an expiry time chosen by whoever proposes the grant or renewal. Expiry itself is
//! a command: the leader proposes [`Command::LeaseExpire`](super::Command::LeaseExpire) with its
//! clock reading, and apply removes only leases that are expired at that reading, so every
//! replica makes the same decision.

use super::command::Outcome;
use super::records::{KvEntry, Lease};
use super::state::State;

impl State {
    /// Sets a key unless `cas` does not match (0 = must not exist).
    pub(super) fn apply_kv_put(
        &mut self,
        index: u64,
        key: String,
        value: String,
        cas: Option<u64>,
        lease: Option<String>,
    ) -> Outcome {
        let current = self.kv.get(&key);
        let matches = match (cas, current) {
            (None, _) | (Some(0), None) => true,
            (Some(want), Some(cur)) => cur.modify_index == want,
            (Some(_), None) => false,
        };
        if !matches {
            return Outcome::KvConflict {
                current: current.cloned(),
            };
        }
        if let Some(id) = &lease
            && !self.leases.contains_key(id)
        {
            return Outcome::NotFound {
                message: format!("lease {id:?} not found"),
            };
        }
        let entry = KvEntry {
            create_index: current.map_or(index, |c| c.create_index),
            modify_index: index,
            key: key.clone(),
            value,
            lease,
        };
        self.kv.insert(key, entry.clone());
        self.bump_table("kv", index);
        Outcome::Kv(entry)
    }

    /// Deletes a key unless `cas` does not match.
    pub(super) fn apply_kv_delete(&mut self, index: u64, key: &str, cas: Option<u64>) -> Outcome {
        if let (Some(want), Some(cur)) = (cas, self.kv.get(key))
            && cur.modify_index != want
        {
            return Outcome::KvConflict {
                current: Some(cur.clone()),
            };
        }
        self.kv.remove(key);
        self.bump_table("kv", index);
        Outcome::Done
    }

    /// Creates a lease.
    pub(super) fn apply_lease_grant(
        &mut self,
        index: u64,
        id: String,
        ttl_millis: u64,
        expires_at_millis: i64,
    ) -> Outcome {
        let lease = Lease {
            id: id.clone(),
            ttl_millis,
            expires_at_millis,
            create_index: index,
            modify_index: index,
        };
        self.leases.insert(id, lease.clone());
        self.bump_table("kv", index);
        Outcome::Lease(lease)
    }

    /// Extends a lease that still exists.
    pub(super) fn apply_lease_renew(&mut self, index: u64, id: &str, expires_at_millis: i64) -> Outcome {
        let Some(lease) = self.leases.get_mut(id) else {
            return Outcome::NotFound {
                message: format!("lease {id:?} not found"),
            };
        };
        lease.expires_at_millis = expires_at_millis;
        lease.modify_index = index;
        let lease = lease.clone();
        self.bump_table("kv", index);
        Outcome::Lease(lease)
    }

    /// Removes a lease and every key attached to it.
    pub(super) fn apply_lease_revoke(&mut self, index: u64, id: &str) -> Outcome {
        if self.leases.remove(id).is_none() {
            return Outcome::NotFound {
                message: format!("lease {id:?} not found"),
            };
        }
        self.kv.retain(|_, e| e.lease.as_deref() != Some(id));
        self.bump_table("kv", index);
        Outcome::Done
    }

    /// Removes each listed lease that is expired at `now_millis` (a renewed one survives).
    pub(super) fn apply_lease_expire(&mut self, index: u64, ids: &[String], now_millis: i64) -> Outcome {
        for id in ids {
            let expired = self
                .leases
                .get(id)
                .is_some_and(|l| l.expires_at_millis <= now_millis);
            if expired {
                self.apply_lease_revoke(index, id);
            }
        }
        Outcome::Done
    }

    /// Leases expired at `now_millis`, for the leader to propose expiring.
    pub fn expired_leases(&self, now_millis: i64) -> Vec<String> {
        self.leases
            .values()
            .filter(|l| l.expires_at_millis <= now_millis)
            .map(|l| l.id.clone())
            .collect()
    }

    /// The key `key`.
    pub fn kv_get(&self, key: &str) -> Option<&KvEntry> {
        self.kv.get(key)
    }

    /// Keys starting with `prefix`, sorted.
    pub fn kv_list<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a KvEntry> + 'a {
        self.kv
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
    }

    /// The lease `id`.
    pub fn lease(&self, id: &str) -> Option<&Lease> {
        self.leases.get(id)
    }
}

//! Nomad variables: a path holding a map of items, with check-and-set on ModifyIndex.
//!
//! The FSM never sees items in clear: the proposer seals them under the keyring's active root
//! key (see `cluster::keyring`) and readers open them, so the Raft log, `raft.redb` and
//! snapshots hold only ciphertext. Metadata (path, indexes, times) stays in clear for listing.
//!
//! A variable may carry a lock (Nomad's `?lock-acquire|lock-renew|lock-release`): while it is
//! held only a write naming its ID changes the variable, and no one else may take it. The
//! holder's time runs to twice the TTL after each acquire or renewal (Nomad grants the same
//! grace); once past it, renewals are refused and the lock stays for its lock delay before the
//! leader proposes [`Command::VarLockExpire`](super::Command::VarLockExpire) with its clock
//! reading, which apply re-checks, so every replica frees it at the same index.

use serde::{Deserialize, Serialize};

use super::command::Outcome;
use super::state::State;
use crate::api::VariableMetadata;
use crate::cluster::keyring::Sealed;

/// A variable as stored: metadata in clear, its items sealed as one JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SealedVariable {
    /// Namespace.
    pub namespace: String,
    /// Path.
    pub path: String,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change (the CAS value).
    pub modify_index: u64,
    /// Unix nanoseconds.
    pub create_time: i64,
    /// Unix nanoseconds.
    pub modify_time: i64,
    /// The items, sealed with the namespace and path as associated data.
    pub items: Sealed,
    /// The lock held on it, if any. In a write command: the lock ID the writer claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<Box<VariableLock>>,
}

/// A lock on a variable, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VariableLock {
    /// The holder's secret: every renewal, release and write must name it.
    #[serde(rename = "ID")]
    pub id: String,
    /// Time to live, milliseconds.
    pub ttl_millis: u64,
    /// How long the lock stays after the holder's time ran out, milliseconds.
    pub delay_millis: u64,
    /// When the holder's time runs out unless renewed, Unix milliseconds.
    pub expires_at_millis: i64,
}

impl VariableLock {
    /// When an unrenewed lock is freed, Unix milliseconds.
    pub fn freed_at_millis(&self) -> i64 {
        self.expires_at_millis
            .saturating_add(self.delay_millis.min(i64::MAX as u64) as i64)
    }
}

/// Nomad's text for a write, renewal or release naming the wrong lock (or a lock past its
/// time).
pub const LOCKED: &str = "attempting to modify locked variable";
/// Nomad's text for a renewal or release of a variable without a lock.
pub const NO_LOCK: &str = "variable doesn't hold a lock";
/// Nomad's text for a renewal or release of a missing variable.
pub const NO_VARIABLE: &str = "variable doesn't exist";

/// Associated data binding a variable's sealed items to its namespace and path, so that a
/// ciphertext moved to another variable does not open.
pub fn variable_aad(namespace: &str, path: &str) -> Vec<u8> {
    format!("deploy-variable\0{namespace}\0{path}").into_bytes()
}

/// The variable without its items, as `GET /v1/vars` lists it.
pub fn variable_metadata(v: &SealedVariable) -> VariableMetadata {
    VariableMetadata {
        namespace: v.namespace.clone(),
        path: v.path.clone(),
        create_index: v.create_index,
        modify_index: v.modify_index,
        create_time: v.create_time,
        modify_time: v.modify_time,
    }
}

/// A lock to free: its variable and ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredLock {
    /// Namespace.
    pub namespace: String,
    /// Path.
    pub path: String,
    /// The lock's ID (a lock taken again since is not freed).
    pub id: String,
}

/// Whether `cas` (if given) matches the current variable: 0 means "must not exist".
fn cas_matches(cas: Option<u64>, current: Option<&SealedVariable>) -> bool {
    match (cas, current) {
        (None, _) => true,
        (Some(0), None) => true,
        (Some(want), Some(cur)) => cur.modify_index == want,
        (Some(_), None) => false,
    }
}

impl State {
    /// Creates or updates a variable, unless `cas` does not match.
    pub(super) fn apply_var_put(
        &mut self,
        index: u64,
        var: SealedVariable,
        cas: Option<u64>,
        now: i64,
    ) -> Outcome {
        let ns = self.variables.entry(var.namespace.clone()).or_default();
        let current = ns.get(&var.path);
        let claimed = var.lock.as_ref().map(|l| l.id.as_str());
        let held = current.and_then(|c| c.lock.as_ref());
        if held.is_some_and(|h| Some(h.id.as_str()) != claimed) || !cas_matches(cas, current) {
            return Outcome::VariableConflict {
                current: current.cloned(),
            };
        }
        let (create_index, create_time) = current
            .map(|c| (c.create_index, c.create_time))
            .unwrap_or((index, now));
        // A write never takes, changes or drops a lock; the holder's write keeps it.
        let lock = held.cloned();
        let stored = SealedVariable {
            create_index,
            create_time,
            modify_index: index,
            modify_time: now,
            lock,
            ..var
        };
        ns.insert(stored.path.clone(), stored.clone());
        self.bump_table("vars", index);
        Outcome::Variable(stored)
    }

    /// Deletes a variable, unless `cas` does not match or it is locked. Deleting a missing
    /// variable succeeds.
    pub(super) fn apply_var_delete(
        &mut self,
        index: u64,
        namespace: &str,
        path: &str,
        cas: Option<u64>,
    ) -> Outcome {
        let current = self.variables.get(namespace).and_then(|ns| ns.get(path));
        if let Some(cur) = current
            && (cur.lock.is_some() || cas.is_some_and(|want| cur.modify_index != want))
        {
            return Outcome::VariableConflict {
                current: Some(cur.clone()),
            };
        }
        if let Some(ns) = self.variables.get_mut(namespace) {
            ns.remove(path);
            if ns.is_empty() {
                self.variables.remove(namespace);
            }
        }
        self.bump_table("vars", index);
        Outcome::Done
    }

    /// Takes the lock `var.lock` on the variable (creating it when missing), unless another
    /// holds it. `keep_items`: the request carried no items, so the current ones stay.
    pub(super) fn apply_var_lock_acquire(
        &mut self,
        index: u64,
        var: SealedVariable,
        keep_items: bool,
        now: i64,
    ) -> Outcome {
        let ns = self.variables.entry(var.namespace.clone()).or_default();
        let current = ns.get(&var.path);
        if current.is_some_and(|c| c.lock.is_some()) || var.lock.is_none() {
            return Outcome::VariableConflict {
                current: current.cloned(),
            };
        }
        let stored = match current {
            Some(c) => SealedVariable {
                create_index: c.create_index,
                create_time: c.create_time,
                modify_index: index,
                modify_time: now,
                items: if keep_items { c.items.clone() } else { var.items },
                lock: var.lock,
                namespace: var.namespace,
                path: var.path,
            },
            None => SealedVariable {
                create_index: index,
                create_time: now,
                modify_index: index,
                modify_time: now,
                ..var
            },
        };
        ns.insert(stored.path.clone(), stored.clone());
        self.bump_table("vars", index);
        Outcome::Variable(stored)
    }

    /// The variable's lock named `id`, if the variable and its lock are there; the refusal
    /// otherwise (Nomad's texts: a missing variable is a 404, the rest are conflicts).
    fn held_lock(
        &mut self,
        namespace: &str,
        path: &str,
        id: &str,
    ) -> Result<&mut SealedVariable, Box<Outcome>> {
        let Some(var) = self.variables.get_mut(namespace).and_then(|ns| ns.get_mut(path)) else {
            return Err(Box::new(Outcome::NotFound {
                message: NO_VARIABLE.into(),
            }));
        };
        match &var.lock {
            None => Err(Box::new(Outcome::Refused {
                message: NO_LOCK.into(),
            })),
            Some(l) if l.id != id => Err(Box::new(Outcome::Refused {
                message: LOCKED.into(),
            })),
            Some(_) => Ok(var),
        }
    }

    /// Extends the holder's time to `expires_at_millis`, unless it already ran out at the
    /// proposer's clock reading `now_millis`. The variable's indexes do not move: a renewal
    /// is not a change a check-and-set writer should lose to.
    pub(super) fn apply_var_lock_renew(
        &mut self,
        namespace: &str,
        path: &str,
        id: &str,
        (expires_at_millis, now_millis): (i64, i64),
    ) -> Outcome {
        let var = match self.held_lock(namespace, path, id) {
            Ok(v) => v,
            Err(refused) => return *refused,
        };
        let Some(lock) = var.lock.as_mut() else {
            return Outcome::Refused {
                message: NO_LOCK.into(),
            };
        };
        if lock.expires_at_millis <= now_millis {
            return Outcome::Refused {
                message: LOCKED.into(),
            };
        }
        lock.expires_at_millis = lock.expires_at_millis.max(expires_at_millis);
        Outcome::Variable(var.clone())
    }

    /// Releases the lock `id`; the variable stays, with its items.
    pub(super) fn apply_var_lock_release(
        &mut self,
        index: u64,
        (namespace, path, id): (&str, &str, &str),
        now: i64,
    ) -> Outcome {
        let var = match self.held_lock(namespace, path, id) {
            Ok(v) => v,
            Err(refused) => return *refused,
        };
        var.lock = None;
        var.modify_index = index;
        var.modify_time = now;
        let out = var.clone();
        self.bump_table("vars", index);
        Outcome::Variable(out)
    }

    /// Frees each listed lock whose time and delay have passed at `now_millis` (a renewal or
    /// release applied first wins).
    pub(super) fn apply_var_lock_expire(
        &mut self,
        index: u64,
        locks: &[ExpiredLock],
        now_millis: i64,
    ) -> Outcome {
        let mut any = false;
        for l in locks {
            let Some(var) = self
                .variables
                .get_mut(&l.namespace)
                .and_then(|ns| ns.get_mut(&l.path))
            else {
                continue;
            };
            if var
                .lock
                .as_ref()
                .is_some_and(|held| held.id == l.id && held.freed_at_millis() <= now_millis)
            {
                var.lock = None;
                var.modify_index = index;
                var.modify_time = now_millis.saturating_mul(1_000_000);
                any = true;
            }
        }
        if any {
            self.bump_table("vars", index);
        }
        Outcome::Done
    }

    /// Locks whose time and delay have passed at `now_millis`, for the leader to propose
    /// freeing.
    pub fn expired_variable_locks(&self, now_millis: i64) -> Vec<ExpiredLock> {
        self.variables
            .values()
            .flat_map(|ns| ns.values())
            .filter_map(|v| {
                let l = v.lock.as_ref()?;
                (l.freed_at_millis() <= now_millis).then(|| ExpiredLock {
                    namespace: v.namespace.clone(),
                    path: v.path.clone(),
                    id: l.id.clone(),
                })
            })
            .collect()
    }

    /// The variable at `path` in `namespace`.
    pub fn variable(&self, namespace: &str, path: &str) -> Option<&SealedVariable> {
        self.variables.get(namespace)?.get(path)
    }

    /// Variables whose path starts with `prefix`, in `namespace` (`*` for all), sorted by path.
    pub fn variables_with_prefix<'a>(
        &'a self,
        namespace: &'a str,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a SealedVariable> + 'a {
        self.variables
            .iter()
            .filter(move |(ns, _)| namespace == "*" || ns.as_str() == namespace)
            .flat_map(move |(_, vars)| vars.values().filter(move |v| v.path.starts_with(prefix)))
    }
}

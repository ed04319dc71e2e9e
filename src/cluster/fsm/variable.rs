//! Nomad variables: a path holding a map of items, with check-and-set on ModifyIndex.
//!
//! The FSM never sees items in clear: the proposer seals them under the keyring's active root
//! key (see `cluster::keyring`) and readers open them, so the Raft log, `raft.redb` and
//! snapshots hold only ciphertext. Metadata (path, indexes, times) stays in clear for listing.

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
}

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
        if !cas_matches(cas, current) {
            return Outcome::VariableConflict {
                current: current.cloned(),
            };
        }
        let (create_index, create_time) = current
            .map(|c| (c.create_index, c.create_time))
            .unwrap_or((index, now));
        let stored = SealedVariable {
            create_index,
            create_time,
            modify_index: index,
            modify_time: now,
            ..var
        };
        ns.insert(stored.path.clone(), stored.clone());
        self.bump_table("vars", index);
        Outcome::Variable(stored)
    }

    /// Deletes a variable, unless `cas` does not match. Deleting a missing variable succeeds.
    pub(super) fn apply_var_delete(
        &mut self,
        index: u64,
        namespace: &str,
        path: &str,
        cas: Option<u64>,
    ) -> Outcome {
        let current = self.variables.get(namespace).and_then(|ns| ns.get(path));
        if let (Some(want), Some(cur)) = (cas, current)
            && cur.modify_index != want
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

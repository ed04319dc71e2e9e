//! Nomad variables: a path holding a map of items, with check-and-set on ModifyIndex.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::command::Outcome;
use super::state::State;

/// A Nomad variable with its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Variable {
    /// Namespace.
    pub namespace: String,
    /// Path, e.g. `nomad/jobs/web`.
    pub path: String,
    /// Raft index that created the variable.
    pub create_index: u64,
    /// Raft index that last modified the variable.
    pub modify_index: u64,
    /// Creation time, Unix nanoseconds.
    pub create_time: i64,
    /// Modification time, Unix nanoseconds.
    pub modify_time: i64,
    /// The items.
    pub items: BTreeMap<String, String>,
}

/// A variable without its items, as `GET /v1/vars` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct VariableMetadata {
    /// Namespace.
    pub namespace: String,
    /// Path.
    pub path: String,
    /// Raft index that created the variable.
    pub create_index: u64,
    /// Raft index that last modified the variable.
    pub modify_index: u64,
    /// Creation time, Unix nanoseconds.
    pub create_time: i64,
    /// Modification time, Unix nanoseconds.
    pub modify_time: i64,
}

impl Variable {
    /// The variable without its items.
    pub fn metadata(&self) -> VariableMetadata {
        VariableMetadata {
            namespace: self.namespace.clone(),
            path: self.path.clone(),
            create_index: self.create_index,
            modify_index: self.modify_index,
            create_time: self.create_time,
            modify_time: self.modify_time,
        }
    }
}

/// Whether `cas` (if given) matches the current variable: 0 means "must not exist".
fn cas_matches(cas: Option<u64>, current: Option<&Variable>) -> bool {
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
        var: Variable,
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
        let stored = Variable {
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
    pub fn variable(&self, namespace: &str, path: &str) -> Option<&Variable> {
        self.variables.get(namespace)?.get(path)
    }

    /// Variables whose path starts with `prefix`, in `namespace` (`*` for all), sorted by path.
    pub fn variables_with_prefix<'a>(
        &'a self,
        namespace: &'a str,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a Variable> + 'a {
        self.variables
            .iter()
            .filter(move |(ns, _)| namespace == "*" || ns.as_str() == namespace)
            .flat_map(move |(_, vars)| vars.values().filter(move |v| v.path.starts_with(prefix)))
    }
}

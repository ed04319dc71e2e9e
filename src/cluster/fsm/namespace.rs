//! Namespaces as objects (Nomad's `Namespace`): created and deleted through Raft, kept in the
//! snapshot with the rest of the state. `default` always exists and cannot be deleted; a job
//! can be registered only into a namespace that exists, and a namespace that still holds jobs
//! or variables cannot be deleted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::command::Outcome;
use super::state::State;

/// The namespace every cluster has.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A namespace, with Nomad's field names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Namespace {
    /// Name (`[a-zA-Z0-9-]{1,128}`).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Quota name (quotas are an enterprise feature: kept, not enforced).
    pub quota: String,
    /// User metadata.
    pub meta: Option<BTreeMap<String, String>>,
    /// Enabled and disabled task drivers, as given (not enforced).
    pub capabilities: Option<Value>,
    /// Node pool settings, as given (not enforced).
    pub node_pool_configuration: Option<Value>,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
}

impl State {
    /// The namespace called `name`; `default` exists even before anyone writes it.
    pub fn namespace(&self, name: &str) -> Option<Namespace> {
        match self.namespaces.get(name) {
            Some(ns) => Some(ns.clone()),
            None if name == DEFAULT_NAMESPACE => Some(Namespace {
                name: DEFAULT_NAMESPACE.into(),
                description: "Default shared namespace".into(),
                create_index: 1,
                modify_index: 1,
                ..Namespace::default()
            }),
            None => None,
        }
    }

    /// Every namespace, `default` included, by name.
    pub fn namespaces(&self) -> Vec<Namespace> {
        let mut out: Vec<Namespace> = self.namespaces.values().cloned().collect();
        if !self.namespaces.contains_key(DEFAULT_NAMESPACE)
            && let Some(d) = self.namespace(DEFAULT_NAMESPACE)
        {
            out.push(d);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Whether namespace `name` exists.
    pub fn namespace_exists(&self, name: &str) -> bool {
        name == DEFAULT_NAMESPACE || self.namespaces.contains_key(name)
    }

    /// Creates or updates a namespace (its create index is kept on update).
    pub(super) fn apply_namespace_upsert(&mut self, index: u64, mut ns: Namespace) -> Outcome {
        ns.create_index = self
            .namespaces
            .get(&ns.name)
            .map_or(index, |old| old.create_index);
        ns.modify_index = index;
        self.namespaces.insert(ns.name.clone(), ns);
        self.bump_table("namespaces", index);
        Outcome::Done
    }

    /// Deletes a namespace that holds no jobs and no variables.
    pub(super) fn apply_namespace_delete(&mut self, index: u64, name: &str) -> Outcome {
        if name == DEFAULT_NAMESPACE {
            return Outcome::Refused {
                message: "default namespace can not be deleted".into(),
            };
        }
        if !self.namespaces.contains_key(name) {
            return Outcome::NotFound {
                message: format!("namespace {name:?} not found"),
            };
        }
        if self.jobs.get(name).is_some_and(|jobs| !jobs.is_empty()) {
            return Outcome::Refused {
                message: format!("namespace {name:?} has jobs: stop and purge them first"),
            };
        }
        if self.variables.get(name).is_some_and(|vars| !vars.is_empty()) {
            return Outcome::Refused {
                message: format!("namespace {name:?} has variables: delete them first"),
            };
        }
        self.namespaces.remove(name);
        self.bump_table("namespaces", index);
        Outcome::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::fsm::Command;

    fn upsert(name: &str) -> Command {
        Command::NamespaceUpsert {
            namespace: Box::new(Namespace {
                name: name.into(),
                description: "d".into(),
                ..Namespace::default()
            }),
        }
    }

    #[test]
    fn namespaces_are_created_listed_and_deleted() {
        let mut s = State::default();
        assert_eq!(s.namespaces().len(), 1, "default exists from the start");
        s.apply(5, upsert("prod"));
        s.apply(6, upsert("prod"));
        let prod = s.namespace("prod").expect("prod");
        assert_eq!((prod.create_index, prod.modify_index), (5, 6));
        let names: Vec<String> = s.namespaces().into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["default", "prod"]);
        let refused = s.apply(
            7,
            Command::NamespaceDelete {
                name: "default".into(),
            },
        );
        assert!(matches!(refused.outcome, Outcome::Refused { .. }));
        let missing = s.apply(8, Command::NamespaceDelete { name: "nope".into() });
        assert!(matches!(missing.outcome, Outcome::NotFound { .. }));
        assert_eq!(
            s.apply(9, Command::NamespaceDelete { name: "prod".into() })
                .outcome,
            Outcome::Done
        );
        assert!(!s.namespace_exists("prod"));
        // The snapshot is the state serialised whole: namespaces travel with it.
        s.apply(10, upsert("qa"));
        let copy: State = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert!(copy.namespace_exists("qa"));
    }
}

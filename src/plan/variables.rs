//! Planning the stack's Nomad Variables against the recorded state: each variable is created,
//! updated (item by item), destroyed, or left alone. Items from sensitive variables show
//! `(sensitive)` on both sides; their change still shows, as the recorded values are opened.

use serde::{Deserialize, Serialize};

use super::model::Action;
use crate::stack::{JobAddress, NomadVariable};
use crate::state::{Revision, SEALED, VariableRecord};

/// One item's change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemChange {
    /// Item key.
    pub key: String,
    /// Create, update, destroy or no-op.
    pub action: Action,
    /// Recorded value (`(sensitive)` for a sensitive item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Value to write (`(sensitive)` for a sensitive item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The value comes from a sensitive variable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

/// What apply would do to one Nomad Variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableChange {
    /// Path.
    pub path: String,
    /// Namespace.
    pub namespace: String,
    /// Create (write with `cas=0`), update (write with the recorded index), destroy (delete,
    /// after every job) or no-op.
    pub action: Action,
    /// Item changes, by key (no-op items included).
    pub items: Vec<ItemChange>,
    /// Jobs whose templates read it: it is written before them and deleted after them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_by: Vec<JobAddress>,
    /// The recorded `ModifyIndex`: apply writes with it as `cas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modify_index: Option<u64>,
}

fn shown(value: &str, sensitive: bool) -> String {
    if sensitive { SEALED.into() } else { value.into() }
}

/// Changes of every variable of the stack and of the state; with `destroy`, every recorded
/// variable is destroyed.
pub fn plan_variables(
    stack: &[NomadVariable],
    state: Option<&Revision>,
    destroy: bool,
) -> Vec<VariableChange> {
    let recorded: &[VariableRecord] = state.map(|s| s.nomad_variables.as_slice()).unwrap_or_default();
    let find = |ns: &str, path: &str| recorded.iter().find(|r| r.namespace == ns && r.path == path);
    let mut out = Vec::new();
    if !destroy {
        for v in stack {
            out.push(change(Some(v), find(&v.namespace, &v.path)));
        }
    }
    for r in recorded {
        let kept = !destroy
            && stack
                .iter()
                .any(|v| v.namespace == r.namespace && v.path == r.path);
        if !kept {
            out.push(change(None, Some(r)));
        }
    }
    out.sort_by(|a, b| {
        (a.action == Action::Destroy, &a.namespace, &a.path).cmp(&(
            b.action == Action::Destroy,
            &b.namespace,
            &b.path,
        ))
    });
    out
}

fn change(new: Option<&NomadVariable>, old: Option<&VariableRecord>) -> VariableChange {
    let mut keys: Vec<&String> = new.map(|v| v.items.keys().collect()).unwrap_or_default();
    keys.extend(old.map(|r| r.items.keys()).into_iter().flatten());
    keys.sort();
    keys.dedup();
    let items: Vec<ItemChange> = keys
        .into_iter()
        .map(|k| {
            let after = new.and_then(|v| v.items.get(k));
            let before = old.and_then(|r| r.items.get(k));
            let sensitive = new.is_some_and(|v| v.sensitive_items.contains(k))
                || old.is_some_and(|r| r.sensitive_items.contains(k));
            let action = match (before, after) {
                (None, Some(_)) => Action::Create,
                (Some(_), None) => Action::Destroy,
                (Some(b), Some(a)) if a != b => Action::Update,
                _ => Action::Noop,
            };
            ItemChange {
                key: k.clone(),
                action,
                before: before.map(|b| shown(b, sensitive)),
                after: after.map(|a| shown(a, sensitive)),
                sensitive,
            }
        })
        .collect();
    let action = match (new, old) {
        (Some(_), None) => Action::Create,
        (None, _) => Action::Destroy,
        (Some(_), Some(_)) if items.iter().any(|i| i.action != Action::Noop) => Action::Update,
        _ => Action::Noop,
    };
    let (path, namespace) = new
        .map(|v| (&v.path, &v.namespace))
        .or(old.map(|r| (&r.path, &r.namespace)))
        .map(|(p, n)| (p.clone(), n.clone()))
        .unwrap_or_default();
    VariableChange {
        path,
        namespace,
        action,
        items,
        read_by: new.map(|v| v.read_by.clone()).unwrap_or_default(),
        modify_index: old.and_then(|r| r.modify_index),
    }
}

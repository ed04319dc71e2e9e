//! ACL policies and tokens as replicated objects: upsert and delete, keyed by policy name and
//! by the SHA-256 of a token's secret (the secret itself is never in a command or the state).

use super::command::Outcome;
use super::records::{AclPolicy, AclToken};
use super::state::State;

impl State {
    /// Creates or replaces policies, keeping each one's `CreateIndex`.
    pub(super) fn apply_acl_policy_upsert(&mut self, index: u64, policies: Vec<AclPolicy>) -> Outcome {
        for mut p in policies {
            p.create_index = self
                .acl
                .policies
                .get(&p.name)
                .map_or(index, |old| old.create_index);
            p.modify_index = index;
            self.acl.policies.insert(p.name.clone(), p);
        }
        self.bump_table("acl_policy", index);
        Outcome::Done
    }

    /// Deletes policies; every name must exist.
    pub(super) fn apply_acl_policy_delete(&mut self, index: u64, names: &[String]) -> Outcome {
        if let Some(missing) = names.iter().find(|n| !self.acl.policies.contains_key(*n)) {
            return Outcome::NotFound {
                message: format!("ACL policy not found: {missing}"),
            };
        }
        for n in names {
            self.acl.policies.remove(n);
        }
        self.bump_table("acl_policy", index);
        Outcome::Done
    }

    /// Creates a token under `secret_hash`, or updates the token with the same accessor
    /// (keeping its secret, type, creation and expiry).
    pub(super) fn apply_acl_token_upsert(
        &mut self,
        index: u64,
        mut token: AclToken,
        secret_hash: Option<String>,
    ) -> Outcome {
        token.secret_id.clear();
        token.modify_index = index;
        let stored = match secret_hash {
            Some(hash) => {
                if self.acl.tokens.contains_key(&hash)
                    || self.acl_token_by_accessor(&token.accessor_id).is_some()
                {
                    return Outcome::Refused {
                        message: "ACL token already exists".into(),
                    };
                }
                token.create_index = index;
                self.acl.tokens.insert(hash, token.clone());
                token
            }
            None => {
                let Some((_, old)) = self
                    .acl
                    .tokens
                    .iter_mut()
                    .find(|(_, t)| t.accessor_id == token.accessor_id)
                else {
                    return Outcome::NotFound {
                        message: format!("ACL token not found: {}", token.accessor_id),
                    };
                };
                old.name = token.name;
                old.policies = token.policies;
                old.global = token.global;
                old.modify_index = index;
                old.clone()
            }
        };
        self.bump_table("acl_token", index);
        Outcome::AclToken(Box::new(stored))
    }

    /// Deletes tokens by accessor; every accessor must exist.
    pub(super) fn apply_acl_token_delete(&mut self, index: u64, accessors: &[String]) -> Outcome {
        if let Some(missing) = accessors.iter().find(|a| self.acl_token_by_accessor(a).is_none()) {
            return Outcome::NotFound {
                message: format!("ACL token not found: {missing}"),
            };
        }
        self.acl.tokens.retain(|_, t| !accessors.contains(&t.accessor_id));
        self.bump_table("acl_token", index);
        Outcome::Done
    }

    /// The token with this accessor ID.
    pub fn acl_token_by_accessor(&self, accessor: &str) -> Option<&AclToken> {
        self.acl.tokens.values().find(|t| t.accessor_id == accessor)
    }
}

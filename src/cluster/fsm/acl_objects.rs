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

#[cfg(test)]
mod tests {
    use super::super::acl::secret_hash;
    use super::super::command::Command;
    use super::*;

    fn policy(name: &str, rules: &str) -> AclPolicy {
        AclPolicy {
            name: name.into(),
            rules: rules.into(),
            ..AclPolicy::default()
        }
    }

    fn token(accessor: &str, name: &str) -> Box<AclToken> {
        Box::new(AclToken {
            accessor_id: accessor.into(),
            secret_id: "must-not-be-kept".into(),
            name: name.into(),
            r#type: "client".into(),
            policies: Some(vec!["p".into()]),
            ..AclToken::default()
        })
    }

    #[test]
    fn policies_keep_their_creation_index() {
        let mut s = State::default();
        s.apply(
            1,
            Command::AclPolicyUpsert {
                policies: vec![policy("p", "a")],
            },
        );
        s.apply(
            2,
            Command::AclPolicyUpsert {
                policies: vec![policy("p", "b")],
            },
        );
        let p = &s.acl.policies["p"];
        assert_eq!((p.create_index, p.modify_index, p.rules.as_str()), (1, 2, "b"));
        let out = s.apply(
            3,
            Command::AclPolicyDelete {
                names: vec!["q".into()],
            },
        );
        assert!(matches!(out.outcome, Outcome::NotFound { .. }));
        s.apply(
            4,
            Command::AclPolicyDelete {
                names: vec!["p".into()],
            },
        );
        assert!(s.acl.policies.is_empty());
        assert_eq!(s.table_index("acl_policy"), 4);
    }

    #[test]
    fn tokens_are_created_updated_and_deleted_without_their_secret() {
        let mut s = State::default();
        let hash = secret_hash("the-secret");
        let out = s.apply(
            1,
            Command::AclTokenUpsert {
                token: token("a1", "one"),
                secret_hash: Some(hash.clone()),
            },
        );
        assert!(matches!(&out.outcome, Outcome::AclToken(t) if t.secret_id.is_empty()));
        let dup = s.apply(
            2,
            Command::AclTokenUpsert {
                token: token("a1", "two"),
                secret_hash: Some(secret_hash("x")),
            },
        );
        assert!(matches!(dup.outcome, Outcome::Refused { .. }));
        s.apply(
            3,
            Command::AclTokenUpsert {
                token: token("a1", "renamed"),
                secret_hash: None,
            },
        );
        let t = s.acl_token("the-secret").expect("found by its secret");
        assert_eq!(
            (t.name.as_str(), t.create_index, t.modify_index),
            ("renamed", 1, 3)
        );
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("the-secret") && !json.contains("must-not-be-kept"));
        let missing = s.apply(
            4,
            Command::AclTokenUpsert {
                token: token("zz", "x"),
                secret_hash: None,
            },
        );
        assert!(matches!(missing.outcome, Outcome::NotFound { .. }));
        s.apply(
            5,
            Command::AclTokenDelete {
                accessors: vec!["a1".into()],
            },
        );
        assert!(s.acl_token("the-secret").is_none());
    }

    #[test]
    fn bootstrap_again_only_with_the_reset_index() {
        let mut s = State::default();
        let boot = |reset_index| Command::AclBootstrap {
            token: token("m", "boot"),
            secret_hash: secret_hash(&format!("s{reset_index}")),
            reset_index,
        };
        assert!(matches!(s.apply(5, boot(0)).outcome, Outcome::AclToken(_)));
        let again = s.apply(6, boot(0)).outcome;
        assert!(matches!(&again, Outcome::Refused { message } if message.contains("reset index: 5")));
        assert!(matches!(s.apply(7, boot(4)).outcome, Outcome::Refused { .. }));
        assert!(matches!(s.apply(8, boot(5)).outcome, Outcome::AclToken(_)));
        assert!(
            matches!(s.apply(9, boot(5)).outcome, Outcome::Refused { .. }),
            "used up"
        );
    }
}

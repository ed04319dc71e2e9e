//! ACL tokens. The cluster keeps management tokens only: `deploy acl bootstrap` (Nomad's
//! `POST /v1/acl/bootstrap`) creates the first one, once. With ACLs enabled in the agent
//! configuration, the HTTP layer refuses requests that carry no known token.

use serde::{Deserialize, Serialize};

use super::command::Outcome;
use super::state::State;

/// Nomad's `ACLToken` as the API returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AclToken {
    /// Public identifier.
    #[serde(rename = "AccessorID")]
    pub accessor_id: String,
    /// The secret sent as `X-Nomad-Token`.
    #[serde(rename = "SecretID")]
    pub secret_id: String,
    /// Human name.
    pub name: String,
    /// `management` (the only kind kept here).
    pub r#type: String,
    /// Policies (none for management tokens).
    pub policies: Option<Vec<String>>,
    /// Replicated to every region.
    pub global: bool,
    /// RFC 3339 creation time.
    pub create_time: String,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
}

/// The ACL tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AclState {
    /// Index at which bootstrap happened (0 = not yet).
    pub bootstrap_index: u64,
    /// Secret ID → token.
    pub tokens: std::collections::BTreeMap<String, AclToken>,
}

impl State {
    /// Stores the bootstrap token unless bootstrap already happened.
    pub(super) fn apply_acl_bootstrap(&mut self, index: u64, mut token: AclToken) -> Outcome {
        if self.acl.bootstrap_index != 0 {
            return Outcome::Refused {
                message: format!(
                    "ACL bootstrap already done (reset index: {})",
                    self.acl.bootstrap_index
                ),
            };
        }
        token.create_index = index;
        token.modify_index = index;
        self.acl.bootstrap_index = index;
        self.acl.tokens.insert(token.secret_id.clone(), token.clone());
        self.bump_table("acl_token", index);
        Outcome::AclToken(Box::new(token))
    }

    /// The token with secret `secret`, if it exists.
    pub fn acl_token(&self, secret: &str) -> Option<&AclToken> {
        self.acl.tokens.get(secret)
    }
}

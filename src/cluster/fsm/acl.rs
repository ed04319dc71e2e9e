//! ACL tokens. The cluster keeps management tokens only: `deploy acl bootstrap` (Nomad's
//! `POST /v1/acl/bootstrap`) creates the first one, once. With ACLs enabled in the agent
//! configuration, the HTTP layer refuses requests that carry no known token.

use super::command::Outcome;
use super::records::AclToken;
use super::state::State;

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

//! ACL bootstrap and token lookup: `deploy acl bootstrap` (Nomad's `POST /v1/acl/bootstrap`)
//! creates the first management token, once, or again after an operator reset (the index
//! named in the `acl-bootstrap-reset` file). Policies and other tokens: `fsm::acl_objects`.
//!
//! Secrets are kept as their SHA-256 only: the proposer hashes the secret it chose, shows the
//! secret once in its answer, and every check hashes the presented token to look it up. A
//! secret is a random UUID (122 random bits), so an unsalted fast hash is enough to make the
//! stored form useless to whoever reads the Raft log or a snapshot.

use sha2::{Digest, Sha256};

use super::command::Outcome;
use super::records::AclToken;
use super::state::State;

/// How a token's secret is stored and looked up: hex SHA-256.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl State {
    /// Stores the bootstrap token under `secret_hash` unless bootstrap already happened.
    pub(super) fn apply_acl_bootstrap(
        &mut self,
        index: u64,
        mut token: AclToken,
        secret_hash: String,
        reset_index: u64,
    ) -> Outcome {
        if self.acl.bootstrap_index != 0 && reset_index != self.acl.bootstrap_index {
            return Outcome::Refused {
                message: format!(
                    "ACL bootstrap already done (reset index: {})",
                    self.acl.bootstrap_index
                ),
            };
        }
        token.create_index = index;
        token.modify_index = index;
        // The proposer sends no secret; clearing it again keeps a faulty one from storing it.
        token.secret_id.clear();
        self.acl.bootstrap_index = index;
        self.acl.tokens.insert(secret_hash, token.clone());
        self.bump_table("acl_token", index);
        Outcome::AclToken(Box::new(token))
    }

    /// The token whose secret is `secret`, if it exists.
    pub fn acl_token(&self, secret: &str) -> Option<&AclToken> {
        self.acl.tokens.get(&secret_hash(secret))
    }
}

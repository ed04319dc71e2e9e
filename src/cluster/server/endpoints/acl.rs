//! ACL tokens: bootstrapping the one management token, and checking a request's token.

use chrono::Utc;

use crate::cluster::fsm::{AclToken, Command, Outcome, secret_hash};
use crate::cluster::server::ClusterNode;

use super::{EndpointError, Indexed};

impl ClusterNode {
    /// Creates the management token, once. Its secret is in this answer only: Raft carries
    /// and the state keeps its SHA-256.
    pub async fn acl_bootstrap(&self) -> Result<Indexed<AclToken>, EndpointError> {
        let secret = uuid::Uuid::new_v4().to_string();
        let token = AclToken {
            accessor_id: uuid::Uuid::new_v4().to_string(),
            name: "Bootstrap Token".into(),
            r#type: "management".into(),
            policies: None,
            global: true,
            create_time: Utc::now().to_rfc3339(),
            ..AclToken::default()
        };
        let resp = self
            .write(Command::AclBootstrap {
                token: Box::new(token),
                secret_hash: secret_hash(&secret),
            })
            .await?;
        match resp.outcome {
            Outcome::AclToken(t) => Ok(Indexed {
                index: resp.index,
                value: AclToken {
                    secret_id: secret,
                    ..*t
                },
            }),
            other => Err(EndpointError::unexpected(other)),
        }
    }

    /// Whether `secret` is a known token's secret.
    pub fn acl_token_known(&self, secret: &str) -> bool {
        self.state().read().acl_token(secret).is_some()
    }
}

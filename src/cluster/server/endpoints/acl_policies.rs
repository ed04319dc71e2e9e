//! ACL policy endpoints: list, read, create or replace (rules checked here, before anything
//! is proposed), delete.

use crate::cluster::acl::policy;
use crate::cluster::fsm::{AclPolicy, Command, Outcome};
use crate::cluster::server::ClusterNode;

use super::{EndpointError, Indexed};

/// Longest rules text accepted.
const MAX_RULES: usize = 64 * 1024;

/// Whether `name` is a valid policy name (Nomad's: letters, digits and `-`, 1 to 128).
pub fn valid_policy_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl ClusterNode {
    /// Every policy.
    pub fn acl_policies(&self) -> Indexed<Vec<AclPolicy>> {
        let state = self.state().read();
        Indexed {
            index: state.table_index("acl_policy"),
            value: state.acl.policies.values().cloned().collect(),
        }
    }

    /// One policy by name.
    pub fn acl_policy(&self, name: &str) -> Result<Indexed<AclPolicy>, EndpointError> {
        let state = self.state().read();
        let p = state
            .acl
            .policies
            .get(name)
            .cloned()
            .ok_or_else(|| EndpointError::not_found("ACL policy not found"))?;
        Ok(Indexed {
            index: state.table_index("acl_policy"),
            value: p,
        })
    }

    /// Creates or replaces a policy after checking its name and rules.
    pub async fn acl_policy_upsert(&self, p: AclPolicy) -> Result<u64, EndpointError> {
        if !valid_policy_name(&p.name) {
            return Err(EndpointError::bad_request(format!(
                "invalid policy name {:?}: use 1 to 128 letters, digits and dashes",
                p.name
            )));
        }
        if p.rules.len() > MAX_RULES {
            return Err(EndpointError::bad_request(format!(
                "policy rules are {} bytes; at most {MAX_RULES}",
                p.rules.len()
            )));
        }
        policy::parse(&p.rules)
            .map_err(|e| EndpointError::bad_request(format!("failed to parse rules: {e}")))?;
        let policy = AclPolicy {
            name: p.name,
            description: p.description,
            rules: p.rules,
            ..AclPolicy::default()
        };
        let resp = self
            .write(Command::AclPolicyUpsert {
                policies: vec![policy],
            })
            .await?;
        Ok(resp.index)
    }

    /// Deletes a policy.
    pub async fn acl_policy_delete(&self, name: &str) -> Result<u64, EndpointError> {
        let resp = self
            .write(Command::AclPolicyDelete {
                names: vec![name.to_owned()],
            })
            .await?;
        match resp.outcome {
            Outcome::Done => Ok(resp.index),
            other => Err(EndpointError::unexpected(other)),
        }
    }
}

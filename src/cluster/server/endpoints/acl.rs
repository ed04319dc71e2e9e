//! ACL endpoints: bootstrap (with Nomad's reset file), token resolution for the HTTP check,
//! and the token reads and writes. Policies: `acl_policies`.
//!
//! Secrets are chosen here, hashed before anything is proposed, and shown once in the answer
//! to the call that created them.

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::cluster::acl::{ANONYMOUS_POLICY, Acl, Rules, policy};
use crate::cluster::error::ClusterError;
use crate::cluster::fsm::{AclToken, Command, Outcome, State, secret_hash};
use crate::cluster::server::ClusterNode;

use super::{EndpointError, Indexed};

/// The file an operator writes a bootstrap index into to bootstrap again (Nomad's name).
pub const BOOTSTRAP_RESET_FILE: &str = "acl-bootstrap-reset";

/// Longest `ExpirationTTL` accepted (ten years).
const MAX_TTL_SECS: i64 = 10 * 365 * 24 * 3600;

/// A request's identity as the ACL check sees it.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The token (none: the anonymous policy).
    pub token: Option<AclToken>,
    /// What it may do.
    pub acl: Acl,
}

/// What a create or update of a token asks for (Nomad's `ACLToken` request fields).
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    /// Name.
    pub name: String,
    /// `client` or `management` (create only; default `client`).
    pub r#type: String,
    /// Policy names (client tokens).
    pub policies: Vec<String>,
    /// Global.
    pub global: bool,
    /// Absolute expiry (RFC 3339).
    pub expiration_time: Option<String>,
    /// Lifetime from now, nanoseconds (0: none).
    pub expiration_ttl_nanos: i64,
}

impl ClusterNode {
    /// Creates a management token: once, or again when the data dir's `acl-bootstrap-reset`
    /// file holds the index of the last bootstrap. Its secret is in this answer only.
    pub async fn acl_bootstrap(&self) -> Result<Indexed<AclToken>, EndpointError> {
        let reset_file = self.data_dir().join(BOOTSTRAP_RESET_FILE);
        let reset_index = std::fs::read_to_string(&reset_file)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let secret = uuid::Uuid::new_v4().to_string();
        let token = AclToken {
            accessor_id: uuid::Uuid::new_v4().to_string(),
            name: "Bootstrap Token".into(),
            r#type: "management".into(),
            global: true,
            create_time: Utc::now().to_rfc3339(),
            ..AclToken::default()
        };
        let resp = self
            .write(Command::AclBootstrap {
                token: Box::new(token),
                secret_hash: secret_hash(&secret),
                reset_index,
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
            Outcome::Refused { message } => Err(EndpointError::bad_request(format!(
                "{message}; to bootstrap again, write that index into {}",
                reset_file.display()
            ))),
            other => Err(EndpointError::unexpected(other)),
        }
    }

    /// Brings this server up to date before a request carrying `secret` is checked, when the
    /// secret is unknown here: a follower may not yet have applied a token the leader has
    /// already acknowledged creating (a bootstrap, a new token), and refusing it would make a
    /// committed write look lost. A known or absent secret costs nothing; an unknown one costs
    /// one read index from the leader.
    pub async fn catch_up_for_token(&self, secret: Option<&str>) {
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            return;
        };
        if self.state().read().acl_token(secret).is_some() {
            return;
        }
        if let Err(e) = self.read_barrier().await {
            tracing::debug!("catching up before resolving a token: {e}");
        }
    }

    /// Whether `secret` is a known, unexpired token's secret.
    pub fn acl_token_known(&self, secret: &str) -> bool {
        self.resolve_acl(Some(secret)).is_ok()
    }

    /// The token and rights of a request carrying `secret` (none or empty: the anonymous
    /// policy's rights). Unknown and expired tokens are refused with Nomad's text.
    pub fn resolve_acl(&self, secret: Option<&str>) -> Result<Resolved, EndpointError> {
        let state = self.state().read();
        let secret = secret.filter(|s| !s.is_empty());
        let Some(secret) = secret else {
            return Ok(Resolved {
                token: None,
                acl: acl_of(&state, &[ANONYMOUS_POLICY.to_owned()]),
            });
        };
        let token = state
            .acl_token(secret)
            .ok_or_else(|| EndpointError::Forbidden("ACL token not found".into()))?;
        if expired(token, Utc::now()) {
            return Err(EndpointError::Forbidden("ACL token expired".into()));
        }
        let acl = if token.r#type == "management" {
            Acl::Management
        } else {
            acl_of(&state, token.policies.as_deref().unwrap_or_default())
        };
        Ok(Resolved {
            token: Some(token.clone()),
            acl,
        })
    }

    /// Every token, without secrets.
    pub fn acl_tokens(&self) -> Indexed<Vec<AclToken>> {
        let state = self.state().read();
        Indexed {
            index: state.table_index("acl_token"),
            value: state.acl.tokens.values().cloned().collect(),
        }
    }

    /// One token by accessor ID, without its secret.
    pub fn acl_token(&self, accessor: &str) -> Result<Indexed<AclToken>, EndpointError> {
        let state = self.state().read();
        let token = state
            .acl_token_by_accessor(accessor)
            .cloned()
            .ok_or_else(|| EndpointError::not_found("ACL token not found"))?;
        Ok(Indexed {
            index: state.table_index("acl_token"),
            value: token,
        })
    }

    /// Creates a token; its secret is in this answer only.
    pub async fn acl_token_create(&self, req: TokenRequest) -> Result<Indexed<AclToken>, EndpointError> {
        let kind = if req.r#type.is_empty() {
            "client"
        } else {
            req.r#type.as_str()
        };
        self.check_token_policies(kind, &req.policies)?;
        let now = Utc::now();
        let expiration_time = expiry(&req, now)?;
        let secret = uuid::Uuid::new_v4().to_string();
        let token = AclToken {
            accessor_id: uuid::Uuid::new_v4().to_string(),
            name: req.name,
            r#type: kind.to_owned(),
            policies: (kind == "client").then_some(req.policies),
            global: req.global,
            create_time: now.to_rfc3339(),
            expiration_time,
            expiration_ttl: req.expiration_ttl_nanos,
            ..AclToken::default()
        };
        let resp = self
            .write(Command::AclTokenUpsert {
                token: Box::new(token),
                secret_hash: Some(secret_hash(&secret)),
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

    /// Updates a token's name, policies and `Global` (its type, secret and expiry stay).
    pub async fn acl_token_update(
        &self,
        accessor: &str,
        req: TokenRequest,
    ) -> Result<Indexed<AclToken>, EndpointError> {
        let current = self.acl_token(accessor)?.value;
        if !req.r#type.is_empty() && req.r#type != current.r#type {
            return Err(EndpointError::bad_request("cannot change an ACL token's type"));
        }
        self.check_token_policies(&current.r#type, &req.policies)?;
        let token = AclToken {
            accessor_id: accessor.to_owned(),
            name: req.name,
            policies: (current.r#type == "client").then_some(req.policies),
            global: req.global,
            ..current
        };
        let resp = self
            .write(Command::AclTokenUpsert {
                token: Box::new(token),
                secret_hash: None,
            })
            .await?;
        match resp.outcome {
            Outcome::AclToken(t) => Ok(Indexed {
                index: resp.index,
                value: *t,
            }),
            other => Err(EndpointError::unexpected(other)),
        }
    }

    /// Deletes a token.
    pub async fn acl_token_delete(&self, accessor: &str) -> Result<u64, EndpointError> {
        let resp = self
            .write(Command::AclTokenDelete {
                accessors: vec![accessor.to_owned()],
            })
            .await?;
        match resp.outcome {
            Outcome::Done => Ok(resp.index),
            other => Err(EndpointError::unexpected(other)),
        }
    }

    /// Deletes the tokens expired by now (the leader's garbage collector calls it).
    pub async fn acl_collect_expired_tokens(&self) -> Result<(), ClusterError> {
        let now = Utc::now();
        let accessors: Vec<String> = self
            .state()
            .read()
            .acl
            .tokens
            .values()
            .filter(|t| expired(t, now))
            .map(|t| t.accessor_id.clone())
            .collect();
        if !accessors.is_empty() {
            self.write(Command::AclTokenDelete { accessors }).await?;
        }
        Ok(())
    }

    fn check_token_policies(&self, kind: &str, policies: &[String]) -> Result<(), EndpointError> {
        match kind {
            "management" if !policies.is_empty() => Err(EndpointError::bad_request(
                "management tokens cannot be associated with policies",
            )),
            "management" => Ok(()),
            "client" if policies.is_empty() => Err(EndpointError::bad_request(
                "client tokens must be associated with at least one policy",
            )),
            "client" => {
                let state = self.state().read();
                match policies.iter().find(|p| !state.acl.policies.contains_key(*p)) {
                    Some(p) => Err(EndpointError::bad_request(format!("ACL policy not found: {p}"))),
                    None => Ok(()),
                }
            }
            other => Err(EndpointError::bad_request(format!(
                "token type must be \"client\" or \"management\", not {other:?}"
            ))),
        }
    }
}

/// The merged rights of `names` (policies that no longer exist grant nothing).
fn acl_of(state: &State, names: &[String]) -> Acl {
    let rules: Vec<Rules> = names
        .iter()
        .filter_map(|n| state.acl.policies.get(n))
        .filter_map(|p| policy::parse(&p.rules).ok())
        .collect();
    Acl::from_rules(&rules)
}

/// Whether `token` is past its `ExpirationTime` at `now`.
pub fn expired(token: &AclToken, now: DateTime<Utc>) -> bool {
    token
        .expiration_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t <= now)
}

fn expiry(req: &TokenRequest, now: DateTime<Utc>) -> Result<Option<String>, EndpointError> {
    if req.expiration_ttl_nanos < 0 || req.expiration_ttl_nanos / 1_000_000_000 > MAX_TTL_SECS {
        return Err(EndpointError::bad_request(
            "ExpirationTTL must be between 0 and ten years",
        ));
    }
    if req.expiration_ttl_nanos > 0 {
        if req.expiration_time.is_some() {
            return Err(EndpointError::bad_request(
                "set ExpirationTTL or ExpirationTime, not both",
            ));
        }
        let at = now + ChronoDuration::nanoseconds(req.expiration_ttl_nanos);
        return Ok(Some(at.to_rfc3339()));
    }
    match &req.expiration_time {
        Some(t) => {
            let at = DateTime::parse_from_rfc3339(t)
                .map_err(|e| EndpointError::bad_request(format!("ExpirationTime {t:?}: {e}")))?;
            if at <= now {
                return Err(EndpointError::bad_request("ExpirationTime is in the past"));
            }
            Ok(Some(at.with_timezone(&Utc).to_rfc3339()))
        }
        None => Ok(None),
    }
}

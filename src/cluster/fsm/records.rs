//! The objects the state stores beside the API's own (jobs with their versions, ACL tokens,
//! keys and leases, periodic launch times): plain serialisable values with read accessors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::job_versions::{JobRecord, JobVersion};

/// Nomad's `ACLToken` as the API returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AclToken {
    /// Public identifier.
    #[serde(rename = "AccessorID")]
    pub accessor_id: String,
    /// The secret sent as `X-Nomad-Token`: shown once at creation, never stored (the state
    /// keeps its SHA-256 only).
    #[serde(rename = "SecretID")]
    pub secret_id: String,
    /// Human name.
    pub name: String,
    /// `client` (rights from `Policies`) or `management` (every right).
    pub r#type: String,
    /// Policy names (none for management tokens).
    pub policies: Option<Vec<String>>,
    /// Roles (always empty: roles are not kept here).
    pub roles: Option<Vec<serde_json::Value>>,
    /// Replicated to every region.
    pub global: bool,
    /// RFC 3339 creation time.
    pub create_time: String,
    /// RFC 3339 time after which the token is refused (none: never).
    pub expiration_time: Option<String>,
    /// The lifetime asked for at creation, nanoseconds as Nomad's Go client sends it
    /// (0: none).
    #[serde(rename = "ExpirationTTL")]
    pub expiration_ttl: i64,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
}

/// Nomad's `ACLPolicy`: named rules in its rule language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AclPolicy {
    /// Name (the key tokens refer to it by).
    pub name: String,
    /// Human description.
    pub description: String,
    /// The rules text, HCL or JSON, as submitted (checked before it is proposed).
    pub rules: String,
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
    /// SHA-256 (hex) of the secret ID → token (stored with an empty `SecretID`).
    pub tokens: std::collections::BTreeMap<String, AclToken>,
    /// Policies by name.
    pub policies: std::collections::BTreeMap<String, AclPolicy>,
}

/// One key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct KvEntry {
    /// The key.
    pub key: String,
    /// The value (opaque text; callers encode binary data themselves).
    pub value: String,
    /// Lease the key is attached to: the key is deleted when the lease expires.
    pub lease: Option<String>,
    /// Raft index that created the key.
    pub create_index: u64,
    /// Raft index that last modified the key.
    pub modify_index: u64,
}

/// A lease: keys attached to it live until it expires or is revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Lease {
    /// Lease ID (chosen by the proposer).
    #[serde(rename = "ID")]
    pub id: String,
    /// Time to live in milliseconds, reused by renewals.
    #[serde(rename = "TTLMillis")]
    pub ttl_millis: u64,
    /// Expiry, Unix milliseconds.
    pub expires_at_millis: i64,
    /// Raft index that created the lease.
    pub create_index: u64,
    /// Raft index that last modified the lease.
    pub modify_index: u64,
}

/// Per namespace, per periodic job: its last launch, Unix nanoseconds.
pub type PeriodicLaunches = BTreeMap<String, BTreeMap<String, i64>>;

//! Nomad variables: `/v1/var/:path` and `/v1/vars`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A variable with its items (`GET /v1/var/:path`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Variable {
    /// Namespace.
    pub namespace: String,
    /// Path (`nomad/jobs/web`).
    pub path: String,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change (the CAS value).
    pub modify_index: u64,
    /// Unix nanoseconds.
    pub create_time: i64,
    /// Unix nanoseconds.
    pub modify_time: i64,
    /// The key/value items.
    pub items: BTreeMap<String, String>,
}

/// A variable without its items (`GET /v1/vars`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VariableMetadata {
    /// Namespace.
    pub namespace: String,
    /// Path.
    pub path: String,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
    /// Unix nanoseconds.
    pub create_time: i64,
    /// Unix nanoseconds.
    pub modify_time: i64,
}

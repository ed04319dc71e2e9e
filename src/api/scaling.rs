//! Scaling: policies as `GET /v1/scaling/policies` lists them, and the scaling events
//! `POST /v1/job/:id/scale` records (Nomad's `ScalingEvent`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One scaling action on a task group, newest first in `GET /v1/job/:id/scale`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ScalingEvent {
    /// Unix nanoseconds.
    pub time: i64,
    /// The count asked for (none for an event without a count change).
    pub count: Option<i64>,
    /// The group's count before.
    pub previous_count: i64,
    /// Whether the event reports an error.
    pub error: bool,
    /// Description.
    pub message: String,
    /// Free-form metadata.
    pub meta: Option<BTreeMap<String, serde_json::Value>>,
    /// The evaluation the count change created.
    #[serde(rename = "EvalID")]
    pub eval_id: Option<String>,
    /// Raft index.
    pub create_index: u64,
}

/// One row of `GET /v1/scaling/policies`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ScalingPolicyListStub {
    /// Policy ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Enabled.
    pub enabled: bool,
    /// `horizontal`.
    pub r#type: String,
    /// `Namespace`, `Job`, `Group`.
    pub target: BTreeMap<String, String>,
    /// Raft index.
    pub create_index: u64,
    /// Raft index.
    pub modify_index: u64,
}

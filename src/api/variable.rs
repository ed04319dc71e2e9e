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
    /// The lock on it (Nomad >= 1.7): shown to its holder and to management tokens only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<VariableLockSpec>,
}

/// A variable's lock on the wire (`"Lock": {"TTL": "15s", "LockDelay": "15s", "ID": "..."}`):
/// durations in Go's notation; the ID is the server's, named by every later call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VariableLockSpec {
    /// Time to live.
    #[serde(rename = "TTL", skip_serializing_if = "String::is_empty")]
    pub ttl: String,
    /// How long the lock stays after its holder's time ran out.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lock_delay: String,
    /// The lock's ID.
    #[serde(rename = "ID", skip_serializing_if = "String::is_empty")]
    pub id: String,
}

/// `d` in Go's duration notation (`15s`, `1m30s`, `1h0m0s`, `250ms`), as Nomad prints one.
pub fn go_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m) = (ms / 3_600_000, ms / 60_000 % 60);
    let secs = (ms % 60_000) as f64 / 1000.0;
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
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

#[cfg(test)]
mod tests {
    use super::go_duration;
    use std::time::Duration;

    #[test]
    fn durations_print_as_go_does() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(ms(15_000)), "15s");
        assert_eq!(go_duration(ms(60_000)), "1m0s");
        assert_eq!(go_duration(ms(90_500)), "1m30.5s");
        assert_eq!(go_duration(ms(3_600_000)), "1h0m0s");
        assert_eq!(go_duration(ms(250)), "250ms");
    }
}

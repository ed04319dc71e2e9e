//! Small shapers from the API's JSON to what templates print: status labels with their
//! colour class, times, counts, facts.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// `{"text", "class"}` for a status word: the colour always sits beside the word itself.
pub fn status(text: &str) -> Value {
    let t = if text.is_empty() { "unknown" } else { text };
    let class = match t.to_ascii_lowercase().as_str() {
        "running" | "ready" | "healthy" | "complete" | "successful" | "eligible" | "leader" | "alive"
        | "promoted" | "stable" => "s-ok",
        "pending" | "starting" | "blocked" | "draining" | "initializing" | "ineligible" | "queued"
        | "paused" | "waiting" | "applying" | "locked" => "s-warn",
        "failed" | "lost" | "down" | "disconnected" | "unhealthy" | "denied" => "s-bad",
        "follower" | "candidate" => "s-info",
        _ => "s-muted",
    };
    json!({ "text": t, "class": class })
}

/// A string field (empty when absent or not a string).
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A string field, or `default` when it is absent or empty.
pub fn s_or<'a>(v: &'a Value, key: &str, default: &'a str) -> &'a str {
    match s(v, key) {
        "" => default,
        found => found,
    }
}

/// A number field as text (empty when absent).
pub fn n(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::Number(x)) => x.to_string(),
        _ => String::new(),
    }
}

/// A number field (0 when absent).
pub fn u(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// A time as Nomad gives it (Unix nanoseconds, or RFC 3339 text), in UTC; empty for none.
pub fn when(v: Option<&Value>) -> String {
    let at: Option<DateTime<Utc>> = match v {
        Some(Value::Number(x)) => x
            .as_i64()
            .filter(|ns| *ns > 0)
            .map(DateTime::from_timestamp_nanos),
        Some(Value::String(t)) => DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|d| d.with_timezone(&Utc)),
        _ => None,
    };
    at.filter(|d| d.timestamp() > 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// `k=v, k=v` of a map of scalars.
pub fn pairs(v: Option<&Value>) -> String {
    let Some(Value::Object(m)) = v else {
        return String::new();
    };
    m.iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A fact row: label and text.
pub fn fact(k: &str, v: impl Into<String>) -> Value {
    json!({ "k": k, "v": v.into(), "status": null, "href": null })
}

/// A fact row shown as a status label.
pub fn fact_status(k: &str, v: &str) -> Value {
    json!({ "k": k, "v": v, "status": status(v), "href": null })
}

/// A fact row shown as a link.
pub fn fact_link(k: &str, v: &str, href: &str) -> Value {
    json!({ "k": k, "v": v, "status": null, "href": href })
}

/// The first 8 characters of an ID.
pub fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// `1 node` / `2 nodes`.
pub fn plural(count: u64, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// The elements of an array field (none when absent).
pub fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The entries of an object field (none when absent).
pub fn entries<'a>(v: &'a Value, key: &str) -> Vec<(&'a String, &'a Value)> {
    v.get(key)
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

/// The lines of a rendered diff or plan, each with the class its `+`/`-`/`~` marker gives it.
pub fn diff_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            let class = match t.chars().next() {
                _ if t.starts_with("+/-") || t.starts_with("-/+") => "d-edit",
                Some('+') => "d-add",
                Some('-') => "d-del",
                Some('~') => "d-edit",
                _ => "",
            };
            json!({ "text": l, "class": class })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_statuses_and_counts_read_as_words() {
        assert_eq!(
            when(Some(&json!(1_700_000_000_000_000_000i64))),
            "2023-11-14 22:13:20 UTC"
        );
        assert_eq!(
            when(Some(&json!("2024-01-02T03:04:05Z"))),
            "2024-01-02 03:04:05 UTC"
        );
        assert_eq!(when(Some(&json!("0001-01-01T00:00:00Z"))), "");
        assert_eq!(when(None), "");
        assert_eq!(status("running")["class"], "s-ok");
        assert_eq!(status("")["text"], "unknown");
        assert_eq!(plural(1, "node"), "1 node");
        assert_eq!(plural(3, "node"), "3 nodes");
        assert_eq!(pairs(Some(&json!({"a": "x", "b": 2}))), "a=x, b=2");
    }
}

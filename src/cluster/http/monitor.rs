//! `GET /v1/agent/monitor`: this agent's log lines as they are written, until the caller
//! hangs up. Frames as Nomad's (`{"Offset":0,"Data":"<base64>","FileEvent":"log"}`, one per
//! line, `{}` every 10 s while quiet so a gone caller is noticed), or the bare text with
//! `plain=true`. `log_level` (default `info`), `log_json`, `log_include_location`.
//!
//! Only this agent's own lines: `node_id` or `server_id` naming another agent is refused.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::agent_control::Parts;
use super::error::ApiError;
use crate::cluster::log_hub::{self, LogLine, LogSubscription};

/// How often a quiet framed stream sends `{}`.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How many monitors may follow one agent at once.
const MAX_MONITORS: usize = 32;

/// Query of the monitor route.
#[derive(Debug, Deserialize)]
pub struct MonitorQuery {
    log_level: Option<String>,
    log_json: Option<bool>,
    log_include_location: Option<bool>,
    plain: Option<bool>,
    node_id: Option<String>,
    server_id: Option<String>,
}

/// How lines are written.
#[derive(Clone, Copy)]
struct Format {
    json: bool,
    location: bool,
    plain: bool,
}

impl Format {
    fn chunk(self, line: &LogLine) -> Vec<u8> {
        let text = match self.json {
            true => line.json(self.location),
            false => line.plain(self.location),
        };
        match self.plain {
            true => text.into_bytes(),
            false => frame(text.as_bytes()),
        }
    }
}

fn frame(data: &[u8]) -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = json!({"Offset": 0, "Data": data, "FileEvent": "log"})
        .to_string()
        .into_bytes();
    out.push(b'\n');
    out
}

/// Refuses a `node_id`/`server_id` that names another agent.
fn check_target(parts: &super::agent_control::AgentParts, q: &MonitorQuery) -> Result<(), ApiError> {
    if let Some(node) = q.node_id.as_deref().filter(|n| !n.is_empty()) {
        let own = parts.client.as_ref().map(|c| c.node().id);
        if own.as_deref() != Some(node) {
            return Err(ApiError::bad_request(format!(
                "node {node:?} is not this agent: ask that node's own agent"
            )));
        }
    }
    if let Some(server) = q.server_id.as_deref().filter(|s| !s.is_empty()) {
        let is_leader = parts.server.as_ref().is_some_and(|s| s.is_leader());
        let own = server == parts.member_name || (server == "leader" && is_leader);
        if !own {
            return Err(ApiError::bad_request(format!(
                "server {server:?} is not this agent: ask that server's own agent"
            )));
        }
    }
    Ok(())
}

/// Streams this agent's log lines.
pub async fn monitor(State(parts): Parts, Query(q): Query<MonitorQuery>) -> Result<Response, ApiError> {
    let level_text = q.log_level.clone().unwrap_or_else(|| "info".into());
    let level = log_hub::parse_level(&level_text)
        .ok_or_else(|| ApiError::bad_request(format!("unknown log level: {level_text}")))?;
    check_target(&parts, &q)?;
    let hub = log_hub::hub();
    if hub.listeners() >= MAX_MONITORS {
        return Err(ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!("at most {MAX_MONITORS} monitors may follow this agent at once"),
        });
    }
    let format = Format {
        json: q.log_json.unwrap_or(false),
        location: q.log_include_location.unwrap_or(false),
        plain: q.plain.unwrap_or(false),
    };
    let sub = hub.subscribe(level);
    tracing::info!("monitor attached at level {level}");
    let stream = futures_util::stream::unfold((sub, level), move |(mut sub, level)| async move {
        let chunk = next_chunk(&mut sub, level, format).await?;
        Some((Ok::<_, std::io::Error>(chunk), (sub, level)))
    });
    let content_type = match format.plain {
        true => "text/plain",
        false => "application/json",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], Body::from_stream(stream)).into_response())
}

/// The next bytes to send: a line at or above `level`, or a heartbeat after a quiet spell
/// (framed streams only); `None` when the hub is gone.
async fn next_chunk(sub: &mut LogSubscription, level: tracing::Level, format: Format) -> Option<Vec<u8>> {
    loop {
        let received = match format.plain {
            true => Ok(sub.lines.recv().await),
            false => tokio::time::timeout(HEARTBEAT, sub.lines.recv()).await,
        };
        match received {
            Err(_) => return Some(b"{}\n".to_vec()),
            Ok(Ok(line)) if line.level <= level => return Some(format.chunk(&line)),
            Ok(Ok(_)) => {}
            Ok(Err(RecvError::Lagged(n))) => {
                let note = format!("[monitor] {n} log lines skipped: the reader fell behind\n");
                return Some(match format.plain {
                    true => note.into_bytes(),
                    false => frame(note.as_bytes()),
                });
            }
            Ok(Err(RecvError::Closed)) => return None,
        }
    }
}

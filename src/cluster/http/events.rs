//! `GET /v1/event/stream`: the cluster's events as newline-delimited JSON, one
//! `{"Index":N,"Events":[...]}` per Raft index, `{}` every 10 s while quiet, until the caller
//! hangs up.
//!
//! `topic=Topic:Key` (repeatable; `Key` `*` for all, a topic alone for all its keys, `*` for
//! every topic; default every topic), `namespace` (default `default`, `*` for all; node events
//! have none and always pass), `index` (replay kept batches from that index on; 0 starts with
//! new events). A stream that falls behind picks up again from the kept batches.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use super::Ctx;
use super::error::ApiError;
use crate::cluster::events::{Event, EventBatch, EventBus};
use crate::cluster::fsm::StateHandle;

/// How often a quiet stream sends `{}`.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How many streams may follow one agent at once.
const MAX_STREAMS: usize = 64;
/// How many `topic` parameters one request may carry.
const MAX_TOPICS: usize = 32;
/// The topics there are.
const TOPICS: [&str; 5] = ["Job", "Evaluation", "Allocation", "Deployment", "Node"];

/// Which events a stream wants.
#[derive(Debug, Clone)]
struct Filter {
    /// (topic, key); `*` matches any.
    topics: Vec<(String, String)>,
    /// `None`: every namespace.
    namespace: Option<String>,
}

impl Filter {
    fn parse(params: &[(String, String)]) -> Result<(Self, u64), ApiError> {
        let mut topics = Vec::new();
        let mut namespace = Some("default".to_owned());
        let mut index = 0;
        for (name, value) in params {
            match name.as_str() {
                "topic" => topics.push(parse_topic(value)?),
                "namespace" if value == "*" => namespace = None,
                "namespace" if !value.is_empty() => namespace = Some(value.clone()),
                "index" => {
                    index = value.parse().map_err(|_| {
                        ApiError::bad_request(format!("index {value:?} is not a whole number"))
                    })?
                }
                _ => {}
            }
        }
        if topics.len() > MAX_TOPICS {
            return Err(ApiError::bad_request(format!(
                "at most {MAX_TOPICS} topic parameters"
            )));
        }
        if topics.is_empty() {
            topics.push(("*".into(), "*".into()));
        }
        Ok((Self { topics, namespace }, index))
    }

    fn wants(&self, e: &Event) -> bool {
        let ns_ok = e.namespace.is_empty() || self.namespace.as_deref().is_none_or(|n| n == e.namespace);
        ns_ok
            && self.topics.iter().any(|(topic, key)| {
                (topic == "*" || topic == e.topic)
                    && (key == "*" || *key == e.key || e.filter_keys.iter().any(|k| k == key))
            })
    }

    /// The batch with only the wanted events, or `None` when none is.
    fn pick(&self, batch: &EventBatch) -> Option<Vec<u8>> {
        let mut wanted = batch.events.iter().filter(|e| self.wants(e)).peekable();
        wanted.peek()?;
        let mut out = format!("{{\"Index\":{},\"Events\":[", batch.index).into_bytes();
        for (i, e) in wanted.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            e.write_json(&mut out).ok()?;
        }
        out.extend_from_slice(b"]}\n");
        Some(out)
    }
}

fn parse_topic(value: &str) -> Result<(String, String), ApiError> {
    let (topic, key) = value.split_once(':').unwrap_or((value, "*"));
    if topic != "*" && !TOPICS.contains(&topic) {
        return Err(ApiError::bad_request(format!(
            "unknown topic {topic:?}: use one of {} or *",
            TOPICS.join(", ")
        )));
    }
    let key = if key.is_empty() { "*" } else { key };
    Ok((topic.to_owned(), key.to_owned()))
}

/// A stream's position.
struct Cursor {
    state: StateHandle,
    live: Receiver<Arc<EventBatch>>,
    /// Batches to send before waiting on `live`.
    backlog: std::collections::VecDeque<Arc<EventBatch>>,
    /// Highest index sent or skipped.
    last: u64,
    filter: Filter,
}

impl Cursor {
    fn bus(&self) -> &EventBus {
        self.state.events()
    }

    /// The next bytes to send; `None` when the bus is gone.
    async fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(batch) = self.backlog.pop_front() {
                if batch.index <= self.last {
                    continue;
                }
                self.last = batch.index;
                match self.filter.pick(&batch) {
                    Some(bytes) => return Some(bytes),
                    None => continue,
                }
            }
            match tokio::time::timeout(HEARTBEAT, self.live.recv()).await {
                Err(_) => return Some(b"{}\n".to_vec()),
                Ok(Ok(batch)) => self.backlog.push_back(batch),
                Ok(Err(RecvError::Lagged(_))) => {
                    let missed = self.bus().since(self.last + 1);
                    self.backlog.extend(missed);
                }
                Ok(Err(RecvError::Closed)) => return None,
            }
        }
    }
}

/// Streams the cluster's events.
pub async fn stream(ctx: Ctx, Query(params): Query<Vec<(String, String)>>) -> Result<Response, ApiError> {
    let (filter, index) = Filter::parse(&params)?;
    let state = ctx.node.state().clone();
    if state.events().subscribers() >= MAX_STREAMS {
        return Err(ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!("at most {MAX_STREAMS} event streams may follow this agent at once"),
        });
    }
    let live = state.events().subscribe();
    let backlog = match index {
        0 => Default::default(),
        from => state.events().since(from).into(),
    };
    let cursor = Cursor {
        state,
        live,
        backlog,
        last: 0,
        filter,
    };
    let body = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let chunk = cursor.next().await?;
        Some((Ok::<_, std::io::Error>(chunk), cursor))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

//! The receiving side of the Raft transport: axum routes under `/v1/internal/raft/`.
//!
//! Each handler decodes the request, hands it to openraft and returns openraft's `Result` as
//! JSON, so the sender can tell a remote Raft error from a transport failure.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use openraft::Snapshot;
use openraft::error::RaftError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::network::SnapshotTransfer;
use super::{ClusterRaft, NodeId};

/// Snapshots (and batches of appended entries) can be much larger than API requests.
const SNAPSHOT_BODY_LIMIT: usize = 1 << 30;
/// A vote request is a few hundred bytes.
const VOTE_BODY_LIMIT: usize = 64 * 1024;

/// When this server last heard from a leader (for `X-Nomad-LastContact`).
#[derive(Clone, Default)]
pub struct LeaderContact(Arc<Mutex<Option<Instant>>>);

impl LeaderContact {
    /// Records contact now.
    pub fn touch(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Time since the last contact, if there was one.
    pub fn since(&self) -> Option<Duration> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|t| t.elapsed())
    }
}

#[derive(Clone)]
struct RpcState {
    raft: ClusterRaft,
    contact: LeaderContact,
}

/// The internal Raft routes, ready to merge into the agent's router.
pub fn router(raft: ClusterRaft, contact: LeaderContact) -> Router {
    Router::new()
        .route("/v1/internal/raft/append", post(append))
        .route(
            "/v1/internal/raft/vote",
            post(vote).layer(DefaultBodyLimit::max(VOTE_BODY_LIMIT)),
        )
        .route("/v1/internal/raft/snapshot", post(snapshot))
        .layer(DefaultBodyLimit::max(SNAPSHOT_BODY_LIMIT))
        .with_state(RpcState { raft, contact })
}

fn decode<T: DeserializeOwned>(body: &Bytes) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        let msg = format!("invalid raft message: {e}");
        Box::new((StatusCode::BAD_REQUEST, msg).into_response())
    })
}

fn reply<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn append(State(s): State<RpcState>, body: Bytes) -> Response {
    let req = match decode(&body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    s.contact.touch();
    reply(&s.raft.append_entries(req).await)
}

async fn vote(State(s): State<RpcState>, body: Bytes) -> Response {
    match decode(&body) {
        Ok(req) => reply(&s.raft.vote(req).await),
        Err(resp) => *resp,
    }
}

async fn snapshot(State(s): State<RpcState>, body: Bytes) -> Response {
    let transfer: SnapshotTransfer = match decode(&body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let data = match transfer.decode() {
        Ok(d) => d,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("invalid snapshot data: {e}")).into_response();
        }
    };
    s.contact.touch();
    let snapshot = Snapshot {
        meta: transfer.meta,
        snapshot: Box::new(std::io::Cursor::new(data)),
    };
    let res: Result<_, RaftError<NodeId, openraft::error::Fatal<NodeId>>> = s
        .raft
        .install_full_snapshot(transfer.vote, snapshot)
        .await
        .map_err(RaftError::Fatal);
    reply(&res)
}

//! The receiving side of the Raft transport: axum routes under `/v1/internal/raft/`.
//!
//! Each handler decodes the request, hands it to openraft and returns openraft's `Result` as
//! JSON, so the sender can tell a remote Raft error from a transport failure.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use openraft::Snapshot;
use openraft::error::RaftError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;

use super::network::{SNAPSHOT_META_HEADER, SnapshotHeader};
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
    /// Where incoming snapshots are spooled.
    spool_dir: PathBuf,
}

/// The internal Raft routes, ready to merge into the RPC router; incoming snapshots are
/// spooled under `spool_dir`.
pub fn router(raft: ClusterRaft, contact: LeaderContact, spool_dir: PathBuf) -> Router {
    Router::new()
        .route("/v1/internal/raft/append", post(append))
        .route(
            "/v1/internal/raft/vote",
            post(vote).layer(DefaultBodyLimit::max(VOTE_BODY_LIMIT)),
        )
        .route("/v1/internal/raft/snapshot", post(snapshot))
        .layer(DefaultBodyLimit::max(SNAPSHOT_BODY_LIMIT))
        .with_state(RpcState {
            raft,
            contact,
            spool_dir,
        })
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

/// Writes the request body to `path`, refusing more than `limit` bytes.
async fn spool(body: Body, path: &Path, limit: usize) -> Result<(), String> {
    let mut file = tokio::fs::File::create(path).await.map_err(|e| e.to_string())?;
    let mut stream = body.into_data_stream();
    let mut written = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        written += chunk.len();
        if written > limit {
            return Err(format!("snapshot over {limit} bytes"));
        }
        file.write_all(&chunk).await.map_err(|e| e.to_string())?;
    }
    file.flush().await.map_err(|e| e.to_string())
}

/// Installs a snapshot sent whole: the body (the snapshot's bytes) is spooled to a file in the
/// server's directory as it arrives, not held in memory twice, then handed to Raft.
async fn snapshot(State(s): State<RpcState>, headers: HeaderMap, body: Body) -> Response {
    let Some(header) = headers
        .get(SNAPSHOT_META_HEADER)
        .and_then(|v| SnapshotHeader::decode(v.as_bytes()))
    else {
        return (StatusCode::BAD_REQUEST, "missing or invalid snapshot metadata").into_response();
    };
    let path = s
        .spool_dir
        .join(format!("incoming-snapshot-{}.tmp", uuid::Uuid::new_v4()));
    let spooled = spool(body, &path, SNAPSHOT_BODY_LIMIT).await;
    let data = match spooled {
        Ok(()) => tokio::fs::read(&path).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let _ = tokio::fs::remove_file(&path).await;
    let data = match data {
        Ok(d) => d,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("receiving the snapshot: {e}")).into_response(),
    };
    s.contact.touch();
    tracing::info!(bytes = data.len(), "installing a snapshot sent by the leader");
    let snapshot = Snapshot {
        meta: header.meta,
        snapshot: Box::new(std::io::Cursor::new(data)),
    };
    let res: Result<_, RaftError<NodeId, openraft::error::Fatal<NodeId>>> = s
        .raft
        .install_full_snapshot(header.vote, snapshot)
        .await
        .map_err(RaftError::Fatal);
    reply(&res)
}

//! Nomad's allocation actions on the client that runs the allocation:
//! `POST /v1/client/allocation/:id/signal` (`{"Signal", "Task"}`) and
//! `POST /v1/client/allocation/:id/restart` (`{"TaskName", "AllTasks"}`).
//!
//! ```text
//!  request ─► AllocShared::command(task | all running) ─► TaskRunner
//!     signal  ─► "Signaling" event, driver.signal
//!     restart ─► "Restart Signaled" event, stop, "Restarting", start (Restarts + 1)
//! ```
//!
//! A restart asked for here is counted in the task's `Restarts` but not against its restart
//! policy, as Nomad's.

use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Client;
use super::alloc_state::CommandError;
use super::driver::signal_number;
use super::http::{elsewhere_with, error, valid_alloc_id};
use super::task_runner::TaskCommand;
use crate::cluster::http::node_proxy::{self, MAX_FORWARDED_BODY};

/// Body of the signal route.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct SignalRequest {
    signal: Option<String>,
    task: Option<String>,
}

/// Body of the restart route.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RestartRequest {
    task_name: Option<String>,
    all_tasks: Option<bool>,
}

/// The action routes.
pub fn router(client: Arc<Client>) -> Router {
    Router::new()
        .route("/v1/client/allocation/{id}/signal", post(signal).put(signal))
        .route("/v1/client/allocation/{id}/restart", post(restart).put(restart))
        .with_state(client)
}

/// The request body (empty means defaults), or the status and message to answer.
fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, (StatusCode, String)> {
    if bytes.len() > MAX_FORWARDED_BODY {
        let msg = format!("request body larger than {MAX_FORWARDED_BODY} bytes");
        return Err((StatusCode::PAYLOAD_TOO_LARGE, msg));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| (StatusCode::BAD_REQUEST, format!("invalid request body: {e}")))
}

/// Sends `cmd` to the allocation's task `task` (all running tasks when empty), or forwards
/// the request to the client that runs the allocation.
async fn deliver(client: &Client, id: &str, task: &str, cmd: TaskCommand, req: Forwardable<'_>) -> Response {
    if !valid_alloc_id(id) {
        return error(StatusCode::BAD_REQUEST, format!("invalid allocation ID {id:?}"));
    }
    let Some(shared) = client.alloc(id) else {
        let path = req.uri.path_and_query().map_or("", |p| p.as_str());
        let f = node_proxy::Forward {
            method: req.method,
            path_and_query: path,
            headers: req.headers,
            body: req.body,
        };
        return elsewhere_with(client, id, f).await;
    };
    match shared.command(task, cmd).await {
        Ok(_) => axum::Json(serde_json::json!({})).into_response(),
        Err(e @ CommandError::UnknownTask(_)) => error(StatusCode::NOT_FOUND, e.to_string()),
        Err(e @ CommandError::NotRunning(_)) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// What is needed to pass the request on.
struct Forwardable<'a> {
    method: Method,
    uri: &'a OriginalUri,
    headers: &'a HeaderMap,
    body: Bytes,
}

async fn signal(
    State(client): State<Arc<Client>>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    uri: OriginalUri,
    bytes: Bytes,
) -> Response {
    let req: SignalRequest = match body(&bytes) {
        Ok(r) => r,
        Err((status, msg)) => return error(status, msg),
    };
    let Some(sig) = req.signal.filter(|s| !s.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "missing Signal (e.g. \"SIGUSR1\")");
    };
    if signal_number(&sig).is_none() {
        return error(StatusCode::BAD_REQUEST, format!("unknown signal {sig:?}"));
    }
    let task = req.task.unwrap_or_default();
    let fwd = Forwardable {
        method,
        uri: &uri,
        headers: &headers,
        body: bytes,
    };
    deliver(&client, &id, &task, TaskCommand::Signal(sig), fwd).await
}

async fn restart(
    State(client): State<Arc<Client>>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    uri: OriginalUri,
    bytes: Bytes,
) -> Response {
    let req: RestartRequest = match body(&bytes) {
        Ok(r) => r,
        Err((status, msg)) => return error(status, msg),
    };
    let task = req.task_name.unwrap_or_default();
    if req.all_tasks.unwrap_or(false) && !task.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "TaskName and AllTasks cannot both be set",
        );
    }
    let fwd = Forwardable {
        method,
        uri: &uri,
        headers: &headers,
        body: bytes,
    };
    let cmd = TaskCommand::Restart("User requested restart".into());
    deliver(&client, &id, &task, cmd, fwd).await
}

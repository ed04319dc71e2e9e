//! Nomad's client filesystem routes on the client that runs the allocation:
//! `/v1/client/fs/{ls,stat,cat,readat,stream}/:alloc?path=`.
//!
//! ```text
//!  ls / stat ─► [AllocFileInfo] / AllocFileInfo          cat ─► the file, in 64 KiB chunks
//!  readat?offset&limit ─► ≤ 16 MiB                        stream?offset&origin&follow&plain
//!     ─► frames {"Offset","Data"(base64),"File"} · {"File","FileEvent"} · heartbeat {}
//! ```
//!
//! An allocation this client does not hold goes to the client that does (`http::elsewhere`).

use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Client;
use super::alloc_dir::AllocDir;
use super::beneath::Beneath;
use super::fs::{self, CHUNK};
use super::http::{elsewhere, error, valid_alloc_id};

/// How often a followed file is looked at again.
const POLL: Duration = Duration::from_millis(200);
/// Idle polls between two heartbeat frames (about a second).
const HEARTBEAT_POLLS: u32 = 5;

/// Query of the file routes.
#[derive(Debug, Deserialize)]
pub struct FsQuery {
    path: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
    origin: Option<String>,
    follow: Option<bool>,
    plain: Option<bool>,
}

/// The file routes.
pub fn router(client: Arc<Client>) -> Router {
    Router::new()
        .route("/v1/client/fs/ls/{alloc}", get(ls))
        .route("/v1/client/fs/stat/{alloc}", get(stat))
        .route("/v1/client/fs/cat/{alloc}", get(cat))
        .route("/v1/client/fs/readat/{alloc}", get(readat))
        .route("/v1/client/fs/stream/{alloc}", get(stream))
        .with_state(client)
}

/// An I/O error as the answer Nomad gives: 404 missing, 403 refused, 400 bad input.
fn io_error(e: &io::Error) -> Response {
    let status = match e.kind() {
        io::ErrorKind::NotFound => StatusCode::NOT_FOUND,
        io::ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        io::ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.to_string())
}

/// The allocation's directory opened beneath, and the path asked for; `Err` is the answer
/// (400, or the forwarded request when another client runs the allocation).
async fn resolve(
    client: &Client,
    alloc: &str,
    path: Option<&str>,
    headers: &HeaderMap,
    uri: &OriginalUri,
) -> Result<(Beneath, PathBuf), Response> {
    if !valid_alloc_id(alloc) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("invalid allocation ID {alloc:?}"),
        ));
    }
    let rel = fs::parse_path(path.unwrap_or("/")).map_err(|e| io_error(&e))?;
    let dir = AllocDir::new(&client.config().alloc_root(), alloc);
    if !dir.root.is_dir() {
        return Err(elsewhere(client, alloc, headers, uri).await);
    }
    let b = dir.beneath().map_err(|e| io_error(&e))?;
    Ok((b, rel))
}

async fn ls(
    State(client): State<Arc<Client>>,
    Path(alloc): Path<String>,
    Query(q): Query<FsQuery>,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let path = q.path.as_deref();
    json_answer(&client, &alloc, path, &headers, &uri, fs::list).await
}

async fn stat(
    State(client): State<Arc<Client>>,
    Path(alloc): Path<String>,
    Query(q): Query<FsQuery>,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let path = q.path.as_deref();
    json_answer(&client, &alloc, path, &headers, &uri, fs::stat).await
}

/// `read` of the path resolved beneath the allocation's directory, answered as JSON.
async fn json_answer<T: serde::Serialize>(
    client: &Client,
    alloc: &str,
    path: Option<&str>,
    headers: &HeaderMap,
    uri: &OriginalUri,
    read: impl FnOnce(&Beneath, &std::path::Path) -> io::Result<T>,
) -> Response {
    match resolve(client, alloc, path, headers, uri).await {
        Ok((b, rel)) => match read(&b, &rel) {
            Ok(v) => axum::Json(v).into_response(),
            Err(e) => io_error(&e),
        },
        Err(r) => r,
    }
}

fn text(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

async fn cat(
    State(client): State<Arc<Client>>,
    Path(alloc): Path<String>,
    Query(q): Query<FsQuery>,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let (b, rel) = match resolve(&client, &alloc, q.path.as_deref(), &headers, &uri).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let file = match fs::open_file(&b, &rel) {
        Ok((f, _)) => f,
        Err(e) => return io_error(&e),
    };
    // The file goes out a chunk at a time: never whole in memory.
    let chunks = futures_util::stream::unfold(file, |mut f| async move {
        let mut buf = vec![0; CHUNK];
        match f.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, io::Error>(buf), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    text(Body::from_stream(chunks))
}

async fn readat(
    State(client): State<Arc<Client>>,
    Path(alloc): Path<String>,
    Query(q): Query<FsQuery>,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let (Some(offset), Some(limit)) = (q.offset, q.limit) else {
        return error(StatusCode::BAD_REQUEST, "must provide offset and limit");
    };
    let (b, rel) = match resolve(&client, &alloc, q.path.as_deref(), &headers, &uri).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let read = fs::open_file(&b, &rel).and_then(|(mut f, size)| fs::read_at(&mut f, size, offset, limit));
    match read {
        Ok(bytes) => text(Body::from(bytes)),
        Err(e) => io_error(&e),
    }
}

/// One frame as Nomad's `StreamFrame` (empty fields left out; `{}` is a heartbeat).
fn frame(file: &str, data: &[u8], offset: u64, event: &str) -> Vec<u8> {
    let mut f = Map::new();
    if offset > 0 {
        f.insert("Offset".into(), json!(offset));
    }
    if !data.is_empty() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        f.insert("Data".into(), Value::String(b64));
    }
    if !file.is_empty() {
        f.insert("File".into(), json!(file));
    }
    if !event.is_empty() {
        f.insert("FileEvent".into(), json!(event));
    }
    serde_json::to_vec(&Value::Object(f)).unwrap_or_default()
}

/// A followed (or read once) file, beneath its allocation directory.
struct Tail {
    client: Arc<Client>,
    alloc: String,
    dir: Beneath,
    rel: PathBuf,
    label: String,
    pos: u64,
    follow: bool,
    plain: bool,
    idle: u32,
    done: bool,
}

impl Tail {
    fn encode(&self, data: &[u8], event: &str) -> Vec<u8> {
        if self.plain {
            data.to_vec()
        } else {
            frame(&self.label, data, self.pos, event)
        }
    }

    /// Whether the allocation still runs here (a finished one's file will not grow).
    fn alloc_running(&self) -> bool {
        self.client.alloc(&self.alloc).is_some_and(|s| !s.is_closed())
    }

    /// The next chunk to send; `None` at the end.
    async fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            if self.done {
                return None;
            }
            let (mut file, size) = match fs::open_file(&self.dir, &self.rel) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::NotFound && !self.plain => {
                    self.done = true;
                    return Some(self.encode(&[], "file deleted"));
                }
                Err(_) => return None,
            };
            if size < self.pos {
                self.pos = 0;
                if !self.plain {
                    return Some(self.encode(&[], "file truncated"));
                }
            }
            if size > self.pos {
                let want = usize::try_from(size - self.pos).unwrap_or(CHUNK).min(CHUNK);
                let mut buf = vec![0; want];
                let n = file
                    .seek(SeekFrom::Start(self.pos))
                    .and_then(|_| file.read(&mut buf))
                    .ok()?;
                buf.truncate(n);
                self.pos += n as u64;
                self.idle = 0;
                return Some(self.encode(&buf, ""));
            }
            if !self.follow || !self.alloc_running() {
                return None;
            }
            tokio::time::sleep(POLL).await;
            self.idle += 1;
            if self.idle >= HEARTBEAT_POLLS && !self.plain {
                self.idle = 0;
                return Some(b"{}".to_vec());
            }
        }
    }
}

async fn stream(
    State(client): State<Arc<Client>>,
    Path(alloc): Path<String>,
    Query(q): Query<FsQuery>,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let Some(label) = q.path.clone().filter(|p| !p.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "must provide a file name (path)");
    };
    let origin = q.origin.as_deref().unwrap_or("start");
    if origin != "start" && origin != "end" {
        return error(StatusCode::BAD_REQUEST, "origin must be start or end");
    }
    let (dir, rel) = match resolve(&client, &alloc, Some(&label), &headers, &uri).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let size = match fs::open_file(&dir, &rel) {
        Ok((_, size)) => size,
        Err(e) => return io_error(&e),
    };
    let offset = q.offset.unwrap_or(0);
    if offset > size {
        let msg = format!("offset {offset} is past the end of the file ({size} bytes)");
        return error(StatusCode::BAD_REQUEST, msg);
    }
    let plain = q.plain.unwrap_or(false);
    let tail = Tail {
        client: Arc::clone(&client),
        alloc,
        dir,
        rel,
        label: label.trim_start_matches('/').to_owned(),
        pos: if origin == "end" { size - offset } else { offset },
        // Nomad follows unless told not to.
        follow: q.follow.unwrap_or(true),
        plain,
        idle: 0,
        done: false,
    };
    let body = futures_util::stream::unfold(tail, |mut t| async move {
        t.next().await.map(|chunk| (Ok::<_, io::Error>(chunk), t))
    });
    let content_type = if plain { "text/plain" } else { "application/json" };
    ([(header::CONTENT_TYPE, content_type)], Body::from_stream(body)).into_response()
}

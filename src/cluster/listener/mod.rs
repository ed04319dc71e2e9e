//! The agent's listeners (the HTTP API and the server's RPC listener) share one serve loop:
//! hyper's HTTP/1 server over TCP or rustls, with every connection bounded.
//!
//! ```text
//!  accept ─► limits (per client IP, total) ──over──► closed at once
//!     │
//!     ├─ TLS? handshake within handshake_timeout, peer certificate names ─► PeerCert
//!     ▼
//!  hyper http1: request head within header_timeout (also while idle between requests)
//!     ▼
//!  router, answered within deadline::for_request (blocking queries: their wait)
//!     ▼
//!  shutdown: stop accepting, let open requests finish for `drain`, then drop them
//! ```
//!
//! Header and idle timeouts are one setting: hyper starts the header read timer as soon as it
//! waits for a request head, so a connection idle between requests is closed after it too.

pub mod deadline;
pub mod limits;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

pub use limits::{ConnCounter, ConnLimits};
pub use tls::{PeerCert, ServerTlsFiles, TlsVersion};

/// Default time a client has to send a request head (slowloris protection).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a non-blocking request has to be answered.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time a TLS handshake may take (Nomad's `https_handshake_timeout` and
/// `rpc_handshake_timeout`).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How one listener serves.
#[derive(Clone)]
pub struct ServeOptions {
    /// The listener's name in logs (`HTTP`, `RPC`).
    pub name: &'static str,
    /// Time to receive a request head, and the longest a connection may idle between requests.
    pub header_timeout: Duration,
    /// Time to answer a request that is not a blocking query.
    pub request_timeout: Duration,
    /// Time to complete a TLS handshake.
    pub handshake_timeout: Duration,
    /// Connection limits.
    pub limits: ConnLimits,
    /// TLS, or plain TCP.
    pub tls: Option<TlsAcceptor>,
}

impl ServeOptions {
    /// Plain TCP with the default timeouts and the given limits.
    pub fn plain(name: &'static str, limits: ConnLimits) -> Self {
        Self {
            name,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            limits,
            tls: None,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests run for
/// `drain` before returning.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let counter = ConnCounter::new(opts.limits);
    let mut refusals = limits::RefusalLog::default();
    let graceful = GracefulShutdown::new();
    let opts = Arc::new(opts);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait for connections to close.
                tracing::warn!("{} listener: accept failed: {e}", opts.name);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(permit) = counter.admit(peer.ip()) else {
            if refusals.note() {
                tracing::warn!(
                    "{} listener: refused {peer}: connection limit reached ({} open; raise \
                     limits {{}} if this peer is legitimate)",
                    opts.name,
                    counter.open()
                );
            }
            drop(stream);
            continue;
        };
        let (app, opts, watcher) = (app.clone(), Arc::clone(&opts), graceful.watcher());
        tokio::spawn(async move {
            serve_connection(stream, peer, app, &opts, watcher).await;
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::info!("{} listener: open requests dropped at shutdown", opts.name);
        }
    }
}

/// One connection: the TLS handshake if any, then HTTP/1 until it closes.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    opts: &ServeOptions,
    watcher: Watcher,
) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = &opts.tls else {
        return serve_http(TokioIo::new(stream), peer, None, app, opts, watcher).await;
    };
    let tls = match tokio::time::timeout(opts.handshake_timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!("{} listener: TLS handshake with {peer} failed: {e}", opts.name);
            return;
        }
        Err(_) => {
            tracing::debug!("{} listener: TLS handshake with {peer} timed out", opts.name);
            return;
        }
    };
    let cert = PeerCert::from_chain(tls.get_ref().1.peer_certificates());
    serve_http(TokioIo::new(tls), peer, cert, app, opts, watcher).await
}

async fn serve_http<I>(
    io: I,
    peer: SocketAddr,
    cert: Option<PeerCert>,
    app: Router,
    opts: &ServeOptions,
    watcher: Watcher,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let request_timeout = opts.request_timeout;
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        if let Some(cert) = &cert {
            req.extensions_mut().insert(cert.clone());
        }
        let deadline = deadline::for_request(req.uri().path(), req.uri().query(), request_timeout);
        let answer = app.clone().oneshot(req.map(Body::new));
        async move {
            match tokio::time::timeout(deadline, answer).await {
                Ok(answered) => answered,
                Err(_) => Ok(timed_out(deadline)),
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!("{} listener: connection from {peer} ended: {e}", opts.name);
    }
}

fn timed_out(deadline: Duration) -> Response {
    let message = format!("request not answered within {}s", deadline.as_secs());
    (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
}

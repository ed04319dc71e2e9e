//! The client's view of the servers: the internal client routes and the public reads it needs
//! (its allocations by blocking query, variables, services, KV), on the servers' RPC
//! listeners, trying each configured server in turn until one answers. Every call carries the
//! node's ID and secret, which is what authorises it (not an ACL token).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ClientError;
use crate::cluster::fsm::{
    AllocClientUpdate, Allocation, KvEntry, Node, ServiceRegistration, Variable, VariableMetadata,
};
use crate::cluster::rpc::auth::{NODE_ID_HEADER, NODE_SECRET_HEADER};
use crate::cluster::rpc::clients::{ALLOCS_GET, HeartbeatResponse, MAX_ALLOCS_GET, NODE_ALLOCS, REGISTER};
use crate::cluster::server::endpoints::ClientAllocs;
use crate::cluster::transport::Transport;

/// What node registration answers (the fields the client reads).
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RegisterResponse {
    #[serde(rename = "HeartbeatTTL", default)]
    heartbeat_ttl: u64,
}

/// HTTP access to the servers.
pub struct ServerApi {
    /// RPC addresses; replaced whole by `set_servers` (`POST /v1/agent/servers`).
    servers: std::sync::RwLock<Vec<String>>,
    current: AtomicUsize,
    http: reqwest::Client,
    transport: Transport,
}

/// An answer with its `X-Nomad-Index`.
pub struct Indexed<T> {
    /// Index of the answer.
    pub index: u64,
    /// The value (`None` for 404).
    pub value: Option<T>,
}

impl ServerApi {
    /// A client for `servers` (`host:port`) without node credentials.
    pub fn new(servers: Vec<String>) -> Result<Self, ClientError> {
        Self::for_node(servers, None, Transport::plain())
    }

    /// A client for `servers` (RPC `host:port`) that authenticates as node `(id, secret)`,
    /// over `transport` (plain or mutual TLS).
    pub fn for_node(
        servers: Vec<String>,
        node: Option<(&str, &str)>,
        transport: Transport,
    ) -> Result<Self, ClientError> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some((id, secret)) = node {
            for (name, value) in [(NODE_ID_HEADER, id), (NODE_SECRET_HEADER, secret)] {
                let value = reqwest::header::HeaderValue::from_str(value)
                    .map_err(|e| ClientError::NoServer(format!("node credentials: {e}")))?;
                headers.insert(name, value);
            }
        }
        let http = transport
            .client_builder()
            .default_headers(headers)
            .connect_timeout(transport.connect_timeout(Duration::from_millis(500)))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ClientError::NoServer(e.to_string()))?;
        Ok(Self {
            servers: std::sync::RwLock::new(servers),
            current: AtomicUsize::new(0),
            http,
            transport,
        })
    }

    /// The same servers, with `token` (if any) sent as `X-Nomad-Token` on every call.
    pub fn with_acl_token(self, token: Option<&str>) -> Result<Self, ClientError> {
        let Some(token) = token else { return Ok(self) };
        let fail = |e: String| ClientError::NoServer(e);
        let mut value = reqwest::header::HeaderValue::from_str(token).map_err(|e| fail(e.to_string()))?;
        value.set_sensitive(true);
        let headers = reqwest::header::HeaderMap::from_iter([(
            reqwest::header::HeaderName::from_static("x-nomad-token"),
            value,
        )]);
        let http = self
            .transport
            .client_builder()
            .connect_timeout(self.transport.connect_timeout(Duration::from_millis(500)))
            .tcp_nodelay(true)
            .default_headers(headers)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self { http, ..self })
    }

    /// The servers this client talks to, in the order it tries them.
    pub fn servers(&self) -> Vec<String> {
        self.servers.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the servers this client talks to (tried from the first on).
    pub fn set_servers(&self, servers: Vec<String>) {
        *self.servers.write().unwrap_or_else(|e| e.into_inner()) = servers;
        self.current.store(0, Ordering::Relaxed);
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<Indexed<T>, ClientError> {
        let servers = self.servers();
        let n = servers.len().max(1);
        let mut last = String::from("no servers configured");
        for attempt in 0..n {
            let i = (self.current.load(Ordering::Relaxed) + attempt) % n;
            let Some(server) = servers.get(i) else { break };
            let mut req = self
                .http
                .request(method.clone(), self.transport.url(server, path))
                .timeout(timeout);
            if let Some(b) = body {
                req = req.json(b);
            }
            match req.send().await {
                Ok(resp) => {
                    self.current.store(i, Ordering::Relaxed);
                    let index = resp
                        .headers()
                        .get("X-Nomad-Index")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let status = resp.status();
                    if status == StatusCode::NOT_FOUND {
                        return Ok(Indexed { index, value: None });
                    }
                    if !status.is_success() {
                        let message = resp.text().await.unwrap_or_default();
                        if status.is_server_error() {
                            last = format!("{server}: {status} {message}");
                            continue;
                        }
                        return Err(ClientError::Server {
                            status: status.as_u16(),
                            message,
                        });
                    }
                    let value = resp
                        .json()
                        .await
                        .map_err(|e| ClientError::NoServer(format!("{server}: {e}")))?;
                    return Ok(Indexed {
                        index,
                        value: Some(value),
                    });
                }
                Err(e) => last = format!("{server}: {e}"),
            }
        }
        Err(ClientError::NoServer(last))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<Indexed<T>, ClientError> {
        self.call::<(), T>(Method::GET, path, None, timeout).await
    }

    /// Registers the node (the servers' one registration route); returns the heartbeat TTL.
    pub async fn register(&self, node: &Node) -> Result<Duration, ClientError> {
        let body = serde_json::json!({ "Node": node });
        let r: Indexed<RegisterResponse> = self
            .call(Method::PUT, REGISTER, Some(&body), Duration::from_secs(10))
            .await?;
        Ok(ttl(r.value.map_or(0, |v| v.heartbeat_ttl)))
    }

    /// Sends a heartbeat; `Ok(None)` when the servers do not know the node.
    pub async fn heartbeat(&self, node_id: &str) -> Result<Option<Duration>, ClientError> {
        let path = format!("/v1/internal/client/heartbeat/{node_id}");
        let r: Indexed<HeartbeatResponse> = self
            .call::<(), _>(Method::PUT, &path, None, Duration::from_secs(5))
            .await?;
        Ok(r.value.map(|v| ttl(v.heartbeat_ttl)))
    }

    /// The node's allocations once the allocs table passes `index` (or `wait` elapses).
    pub async fn node_allocations(
        &self,
        node_id: &str,
        index: u64,
        wait: Duration,
    ) -> Result<Indexed<Vec<Allocation>>, ClientError> {
        let path = format!(
            "/v1/node/{node_id}/allocations?index={index}&wait={}ms&stale",
            wait.as_millis()
        );
        self.get(&path, wait + Duration::from_secs(10)).await
    }

    /// The node's watch on its allocations: once its allocation index passes `index` (or
    /// `wait` elapses), per allocation its `AllocModifyIndex` and status.
    pub async fn client_allocs(
        &self,
        node_id: &str,
        index: u64,
        wait: Duration,
    ) -> Result<Indexed<ClientAllocs>, ClientError> {
        let path = format!(
            "{}?index={index}&wait={}ms&stale",
            NODE_ALLOCS.replace("{node_id}", node_id),
            wait.as_millis()
        );
        self.get(&path, wait + Duration::from_secs(10)).await
    }

    /// The allocations `ids` with their jobs (unknown ones left out), asked in parts.
    pub async fn allocs_get(&self, ids: &[String]) -> Result<Vec<Allocation>, ClientError> {
        let mut out = Vec::with_capacity(ids.len());
        for part in ids.chunks(MAX_ALLOCS_GET) {
            let got: Indexed<Vec<Allocation>> = self
                .call(Method::POST, ALLOCS_GET, Some(&part), Duration::from_secs(30))
                .await?;
            out.extend(got.value.unwrap_or_default());
        }
        Ok(out)
    }

    /// The HTTP address of the client agent that runs allocation `alloc_id`, if known.
    pub async fn alloc_node_addr(&self, alloc_id: &str) -> Result<Option<String>, ClientError> {
        let wait = Duration::from_secs(5);
        let alloc: Option<Allocation> = self
            .get(&format!("/v1/allocation/{alloc_id}?stale"), wait)
            .await?
            .value;
        let Some(alloc) = alloc else { return Ok(None) };
        let node: Option<Node> = self
            .get(&format!("/v1/node/{}?stale", alloc.node_id), wait)
            .await?
            .value;
        Ok(node.map(|n| n.http_addr).filter(|a| !a.is_empty()))
    }

    /// The HTTP address of node `node_id`, as the servers know it.
    pub async fn node_addr(&self, node_id: &str) -> Result<Option<String>, ClientError> {
        if !node_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Ok(None);
        }
        let node: Option<Node> = self
            .get(&format!("/v1/node/{node_id}?stale"), Duration::from_secs(5))
            .await?
            .value;
        Ok(node.map(|n| n.http_addr).filter(|a| !a.is_empty()))
    }

    /// Reports allocation states.
    pub async fn update_allocs(&self, updates: &[AllocClientUpdate]) -> Result<(), ClientError> {
        self.call::<_, u64>(
            Method::POST,
            "/v1/internal/client/allocs",
            Some(&updates),
            Duration::from_secs(10),
        )
        .await?;
        Ok(())
    }

    /// Replaces an allocation's service registrations.
    pub async fn register_services(
        &self,
        alloc_id: &str,
        services: &[ServiceRegistration],
    ) -> Result<(), ClientError> {
        let path = format!("/v1/internal/client/services/{alloc_id}");
        self.call::<_, u64>(Method::PUT, &path, Some(&services), Duration::from_secs(10))
            .await?;
        Ok(())
    }

    /// One variable.
    pub async fn variable(&self, namespace: &str, path: &str) -> Result<Option<Variable>, ClientError> {
        Ok(self
            .get(
                &format!("/v1/var/{path}?namespace={namespace}&stale"),
                Duration::from_secs(5),
            )
            .await?
            .value)
    }

    /// Variables under a prefix; blocks while the vars table index is at most `index`.
    pub async fn variables(
        &self,
        namespace: &str,
        prefix: &str,
        index: u64,
        wait: Duration,
    ) -> Result<Indexed<Vec<VariableMetadata>>, ClientError> {
        let path = format!(
            "/v1/vars?namespace={namespace}&prefix={prefix}&index={index}&wait={}ms&stale",
            wait.as_millis()
        );
        self.get(&path, wait + Duration::from_secs(10)).await
    }

    /// Registrations of a Nomad-native service.
    pub async fn service(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<ServiceRegistration>, ClientError> {
        let path = format!("/v1/service/{name}?namespace={namespace}&stale");
        Ok(self
            .get(&path, Duration::from_secs(5))
            .await?
            .value
            .unwrap_or_default())
    }

    /// A cluster KV key.
    pub async fn kv(&self, key: &str) -> Result<Option<KvEntry>, ClientError> {
        Ok(self
            .get(&format!("/v1/deploy/kv/{key}?stale"), Duration::from_secs(5))
            .await?
            .value)
    }

    /// Whether the servers let ACL token `token` use this client's route named by
    /// `check_query` (`http::acl_check_query`; always, with ACLs off).
    pub async fn token_allowed(&self, token: Option<&str>, check_query: &str) -> Result<bool, ClientError> {
        let answer = self
            .acl_check(token.unwrap_or(""), check_query, Duration::from_secs(5))
            .await?;
        Ok(answer.is_some_and(|v| v["Allowed"] == true))
    }

    /// The servers' answer to an ACL check of `token`, from the first that answers.
    async fn acl_check(
        &self,
        token: &str,
        check_query: &str,
        timeout: Duration,
    ) -> Result<Option<serde_json::Value>, ClientError> {
        let path = format!("{}?{check_query}", crate::cluster::http::ACL_CHECK);
        let servers = self.servers();
        let n = servers.len().max(1);
        let mut last = String::from("no servers configured");
        for attempt in 0..n {
            let i = (self.current.load(Ordering::Relaxed) + attempt) % n;
            let Some(server) = servers.get(i) else { break };
            let req = self
                .http
                .get(self.transport.url(server, &path))
                .header("X-Nomad-Token", token)
                .timeout(timeout);
            match req.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(resp.json().await.ok()),
                Ok(resp) => last = format!("{server}: {}", resp.status()),
                Err(e) => last = format!("{server}: {e}"),
            }
        }
        Err(ClientError::NoServer(last))
    }
}

/// A TTL in nanoseconds as a duration; Nomad's 10 s default when the servers gave none.
fn ttl(nanos: u64) -> Duration {
    if nanos == 0 {
        Duration::from_secs(10)
    } else {
        Duration::from_nanos(nanos)
    }
}

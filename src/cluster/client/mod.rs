//! The client agent: turns the allocations placed on its node into running tasks and reports
//! how they do.
//!
//! ```text
//!  Client::start ─► fingerprint ─► register + heartbeat (TTL) ───────────────► servers
//!       │ restore persisted allocations (re-attach to running tasks)             ▲
//!       └► watch its allocations (blocking; fetch what changed) ─► reconcile     │ status,
//!              desired run: start AllocRunner │ desired stop / gone: kill        │ health,
//!              AllocRunner ─► TaskRunner ─► drivers ──────────────────────────────┘ services
//! ```
//!
//! Tasks outlive the client process: a restarted client finds them through the handles
//! persisted in its data dir, so nothing is lost or started twice.

pub mod actions;
pub mod alloc_dir;
pub mod alloc_runner;
pub mod alloc_state;
pub mod archive;
pub mod artifact;
pub mod beneath;
pub mod config;
pub mod context;
pub mod driver;
pub mod env;
pub mod error;
pub mod fingerprint;
pub mod fs;
pub mod fs_http;
pub mod gc;
pub mod health;
pub mod heartbeat;
pub mod host_stats;
pub mod http;
pub mod logs;
pub mod restart;
pub mod sandbox_config;
pub mod server_api;
pub mod services;
pub mod task_runner;
pub mod task_state;
pub mod template;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use alloc_runner::AllocRunnerHandle;
use alloc_state::AllocShared;
use context::ClientContext;
use driver::Drivers;
use server_api::ServerApi;

use crate::api::{ClientStatus, DesiredStatus, HostVolumeInfo, NodeStatus, SchedulingEligibility};
use crate::cluster::fsm::{AllocClientUpdate, Allocation, Node};
pub use config::{ClientConfig, HostVolume};
pub use error::ClientError;
pub use sandbox_config::SandboxConfig;

/// A running client agent.
pub struct Client {
    ctx: Arc<ClientContext>,
    runners: Mutex<HashMap<String, AllocRunnerHandle>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    reports: mpsc::UnboundedSender<AllocClientUpdate>,
}

fn node_id(config: &ClientConfig) -> Result<String, ClientError> {
    let path = config.state_dir().join("node-id");
    Ok(crate::cluster::id_file::read_or_create(&path, || {
        uuid::Uuid::new_v4().to_string()
    })?)
}

/// The node's secret (Nomad's `Node.SecretID`): made on first start, kept 0600 beside the
/// node ID; it authenticates every call to the servers.
fn node_secret(config: &ClientConfig) -> Result<String, ClientError> {
    let path = config.state_dir().join("node-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_owned();
        if !s.is_empty() {
            return Ok(s);
        }
    }
    let secret = uuid::Uuid::new_v4().to_string();
    crate::cluster::server::cluster_key::write_private(&path, &secret)
        .map_err(|e| ClientError::NoServer(format!("writing the node secret: {e}")))?;
    Ok(secret)
}

impl Client {
    /// Starts the client: fingerprint, restore, register, heartbeat and watch allocations.
    pub async fn start(config: ClientConfig) -> Result<Arc<Self>, ClientError> {
        std::fs::create_dir_all(config.alloc_root())?;
        let id = node_id(&config)?;
        let secret = node_secret(&config)?;
        let drivers = Drivers::standard(&config);
        let fp = fingerprint::fingerprint(&config, &drivers).await;
        let host_volumes = config
            .host_volumes
            .iter()
            .map(|(k, v)| {
                let info = HostVolumeInfo {
                    name: k.clone(),
                    path: v.path.display().to_string(),
                    read_only: v.read_only,
                };
                (k.clone(), info)
            })
            .collect();
        let api = Arc::new(ServerApi::for_node(
            config.servers.clone(),
            Some((&id, &secret)),
            config.rpc_transport.clone(),
        )?);
        let node = Node {
            id,
            secret_id: secret,
            name: config.node_name.clone(),
            datacenter: config.datacenter.clone(),
            node_class: config.node_class.clone(),
            node_pool: config.node_pool.clone(),
            http_addr: config.http_addr.clone(),
            status: NodeStatus::Ready,
            scheduling_eligibility: SchedulingEligibility::Eligible,
            attributes: fp.attributes,
            meta: config.meta.clone(),
            node_resources: fp.resources,
            drivers: fp.drivers,
            host_volumes,
            ..Default::default()
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ClientError::NoServer(e.to_string()))?;
        let agents = config
            .http_transport
            .client_builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ClientError::NoServer(e.to_string()))?;
        let ctx = Arc::new(ClientContext {
            config,
            node: RwLock::new(node),
            api,
            drivers,
            http,
            agents,
        });
        let (reports, reports_rx) = mpsc::unbounded_channel();
        let client = Arc::new(Self {
            ctx: Arc::clone(&ctx),
            runners: Mutex::default(),
            tasks: Mutex::default(),
            reports,
        });
        client.restore();
        let (registered_tx, registered_rx) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(sync_reports(Arc::clone(&ctx.api), reports_rx)),
            tokio::spawn(heartbeat::run(Arc::clone(&ctx), registered_tx)),
            tokio::spawn(Arc::clone(&client).watch(registered_rx)),
        ];
        *client.tasks.lock().unwrap_or_else(|e| e.into_inner()) = tasks;
        Ok(client)
    }

    /// The node as registered.
    pub fn node(&self) -> Node {
        self.ctx.node()
    }

    /// Whether ACL token `token` may use this client's own routes, as the servers say.
    pub async fn token_allowed(&self, token: Option<&str>, check_query: &str) -> bool {
        self.ctx
            .api
            .token_allowed(token, check_query)
            .await
            .unwrap_or(false)
    }

    /// The servers (RPC addresses) this client talks to.
    pub fn servers(&self) -> Vec<String> {
        self.ctx.api.servers()
    }

    /// Replaces the servers this client talks to (`POST /v1/agent/servers`).
    pub fn set_servers(&self, servers: Vec<String>) {
        tracing::info!("servers set to {servers:?}");
        self.ctx.api.set_servers(servers);
    }

    /// The client's configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.ctx.config
    }

    /// The state of an allocation this client runs.
    pub fn alloc(&self, id: &str) -> Option<Arc<AllocShared>> {
        self.lock().get(id).map(|r| Arc::clone(&r.shared))
    }

    /// Every route the client serves itself: logs and allocation stats, files, host stats,
    /// signal and restart, garbage collection.
    pub fn routes(self: &Arc<Self>) -> axum::Router {
        http::router(Arc::clone(self))
            .merge(fs_http::router(Arc::clone(self)))
            .merge(host_stats::router(Arc::clone(self)))
            .merge(actions::router(Arc::clone(self)))
            .merge(gc::router(Arc::clone(self)))
    }

    /// The drivers.
    pub fn drivers(&self) -> &Drivers {
        &self.ctx.drivers
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AllocRunnerHandle>> {
        self.runners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resumes the allocations persisted by an earlier run of this client.
    fn restore(&self) {
        for record in alloc_state::load_all(&self.ctx.config.state_dir()) {
            if record.client_status.is_terminal() {
                continue;
            }
            let alloc = record.alloc.clone();
            match alloc_runner::alloc_info(&alloc, &self.ctx.config.alloc_root()) {
                Ok(info) => {
                    tracing::info!("restoring allocation {}", alloc.id);
                    let h =
                        alloc_runner::start(Arc::clone(&self.ctx), info, Some(record), self.reports.clone());
                    self.lock().insert(alloc.id, h);
                }
                Err(e) => tracing::warn!("cannot restore allocation {}: {e}", alloc.id),
            }
        }
    }

    /// Follows the node's allocations: a blocking watch on the node's own allocation index
    /// answers, per allocation, its indexes and status; only the allocations that are new or
    /// whose `ModifyIndex` moved are fetched (with their jobs), then every allocation is
    /// reconciled.
    async fn watch(self: Arc<Self>, mut registered: watch::Receiver<bool>) {
        let _ = registered.wait_for(|r| *r).await;
        let id = self.ctx.node().id;
        let mut index = 0;
        let mut known: HashMap<String, Allocation> = HashMap::new();
        loop {
            let answer = match self
                .ctx
                .api
                .client_allocs(&id, index, Duration::from_secs(30))
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!("watching allocations: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            if answer.index < index {
                index = 0;
                continue;
            }
            let stubs = answer.value.unwrap_or_default().allocs;
            let stale: Vec<String> = stubs
                .iter()
                .filter(|(id, s)| known.get(*id).is_none_or(|a| a.modify_index != s.modify_index))
                .map(|(id, _)| id.clone())
                .collect();
            match self.ctx.api.allocs_get(&stale).await {
                Ok(fetched) => known.extend(fetched.into_iter().map(|a| (a.id.clone(), a))),
                Err(e) => {
                    tracing::debug!("fetching allocations: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
            known.retain(|id, _| stubs.contains_key(id));
            for (id, stub) in &stubs {
                if let Some(a) = known.get_mut(id) {
                    a.client_status = stub.client_status;
                }
            }
            index = answer.index;
            self.reconcile(known.values());
        }
    }

    /// Starts allocations that should run, stops those that should not (and those no longer
    /// listed).
    fn reconcile<'a>(&self, allocs: impl IntoIterator<Item = &'a Allocation>) {
        let mut runners = self.lock();
        let mut seen = std::collections::HashSet::new();
        for a in allocs {
            seen.insert(a.id.clone());
            let should_run = a.desired_status == DesiredStatus::Run && !a.client_status.is_terminal();
            if let Some(r) = runners.get(&a.id) {
                if a.desired_status != DesiredStatus::Run || a.client_status == ClientStatus::Lost {
                    r.kill();
                }
                if r.finished()
                    && a.client_status.is_terminal()
                    && let Some(r) = runners.remove(&a.id)
                {
                    r.shared.forget();
                }
                continue;
            }
            if !should_run {
                continue;
            }
            match alloc_runner::alloc_info(a, &self.ctx.config.alloc_root()) {
                Ok(info) => {
                    let h = alloc_runner::start(Arc::clone(&self.ctx), info, None, self.reports.clone());
                    runners.insert(a.id.clone(), h);
                }
                Err(e) => {
                    let _ = self.reports.send(AllocClientUpdate {
                        id: a.id.clone(),
                        client_status: ClientStatus::Failed,
                        client_description: e.to_string(),
                        modify_time: task_state::now_nanos(),
                        ..Default::default()
                    });
                }
            }
        }
        for (id, r) in runners.iter() {
            if !seen.contains(id) {
                r.kill();
            }
        }
    }

    /// Stops the client's own loops. Tasks keep running, as with Nomad, and are re-attached
    /// by the next start.
    pub fn shutdown(&self) {
        for t in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            t.abort();
        }
    }

    /// Stops every allocation and waits up to `timeout` for their tasks to end (dev mode
    /// shutdown, tests).
    pub async fn stop_all(&self, timeout: Duration) {
        for r in self.lock().values() {
            r.kill();
        }
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline && self.lock().values().any(|r| !r.finished()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Sends status reports to the servers in batches, keeping the newest per allocation and
/// retrying what failed.
async fn sync_reports(api: Arc<ServerApi>, mut rx: mpsc::UnboundedReceiver<AllocClientUpdate>) {
    let mut pending: HashMap<String, AllocClientUpdate> = HashMap::new();
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(u) => {
                    pending.insert(u.id.clone(), u);
                }
                None => return,
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        while let Ok(u) = rx.try_recv() {
            pending.insert(u.id.clone(), u);
        }
        let batch: Vec<AllocClientUpdate> = pending.values().cloned().collect();
        match api.update_allocs(&batch).await {
            Ok(()) => {
                for u in batch {
                    if pending.get(&u.id) == Some(&u) {
                        pending.remove(&u.id);
                    }
                }
            }
            Err(e) => {
                tracing::debug!("reporting allocation status: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

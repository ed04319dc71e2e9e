//! Running the agent: the server and/or the client, the HTTP API and (on a server) the RPC
//! listener, and shutdown on SIGINT or SIGTERM.
//!
//! ```text
//!  run_agent ─► data dir ─► bind HTTP (+ RPC) ─► start_server? ─► start_client? ─► routers
//!      ─► serve both until a signal ─► stop client, server, temporary data
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{AgentConfig, with_default_port};
use crate::cluster::client::{Client, ClientConfig};
use crate::cluster::error::ClusterError;
use crate::cluster::http::agent_control::{self, AgentParts};
use crate::cluster::http::{self, ApiContext};
use crate::cluster::listener::{self, ServeOptions};
use crate::cluster::rpc;
use crate::cluster::server::cluster_key::ClusterKey;
use crate::cluster::server::{ClusterNode, ServerConfig};

use super::client_acl;

/// How long open HTTP requests may run on after SIGINT or SIGTERM.
const HTTP_DRAIN: Duration = Duration::from_secs(1);
/// How long Raft may take to stop.
const RAFT_SHUTDOWN: Duration = Duration::from_secs(2);

/// The parts of a running agent.
struct Agent {
    server: Option<Arc<ClusterNode>>,
    client: Option<Arc<Client>>,
    data_dir: PathBuf,
    /// Whether the data directory is this run's own (`-dev`), removed at exit.
    temporary: bool,
}

/// Runs the agent until SIGINT or SIGTERM.
pub async fn run_agent(cfg: AgentConfig) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    cfg.check()?;
    let (data_dir, temporary) = data_dir(&cfg);
    let listener = tokio::net::TcpListener::bind((cfg.bind_addr.as_str(), cfg.http_port))
        .await
        .map_err(|e| ClusterError::Startup(format!("binding {}:{}: {e}", cfg.bind_addr, cfg.http_port)))?;
    let bound = listener.local_addr()?;
    let advertise = cfg.advertise(bound);
    let rpc = match cfg.server_enabled {
        true => Some(bind_rpc(&cfg).await?),
        false => None,
    };
    let rpc_advertise = match &rpc {
        Some(l) => Some(cfg.advertise_rpc(l.local_addr()?)),
        None => None,
    };
    let server = match &rpc_advertise {
        Some(rpc_addr) => Some(start_server(&cfg, &data_dir, rpc_addr).await?),
        None => None,
    };
    if let (Some(node), Some(path)) = (&server, &cfg.acl_bootstrap_token_file) {
        super::acl_token_file::bootstrap_into(node, path).await?;
    }
    let client = match cfg.client_enabled {
        true => Some(start_client(&cfg, &data_dir, rpc_advertise.as_deref(), &advertise).await?),
        false => None,
    };
    let agent = Agent {
        server,
        client,
        data_dir,
        temporary,
    };
    let (app, rpc_app) = agent.routers(&cfg, bound, rpc_advertise.as_deref())?;
    agent.announce(&cfg, &advertise, rpc_advertise.as_deref());
    let (http_opts, rpc_opts) = serve_options(&cfg)?;
    let rpc_task = match (rpc, rpc_app) {
        (Some(l), Some(app)) => Some(tokio::spawn(listener::serve(
            l,
            app,
            rpc_opts,
            std::future::pending(),
            Duration::ZERO,
        ))),
        _ => None,
    };
    // Blocking queries may stay open for minutes: after the signal, open requests get
    // `HTTP_DRAIN` to finish, then are dropped.
    listener::serve(listener, app, http_opts, shutdown_signal(), HTTP_DRAIN).await;
    if let Some(t) = rpc_task {
        t.abort();
    }
    agent.stop().await;
    Ok(())
}

/// How the HTTP and RPC listeners serve: the `limits {}` block's bounds and timeouts, and TLS
/// from the `tls {}` block.
fn serve_options(cfg: &AgentConfig) -> Result<(ServeOptions, ServeOptions), ClusterError> {
    let lim = &cfg.limits;
    let tls_err = |e: String| ClusterError::Startup(format!("tls: {e}"));
    let config_err = |e: super::ConfigError| ClusterError::Startup(e.to_string());
    let mut http = ServeOptions::plain("HTTP", lim.http());
    http.header_timeout = lim.http_header_timeout;
    http.request_timeout = lim.http_request_timeout;
    http.handshake_timeout = lim.https_handshake_timeout;
    if let Some(files) = cfg.tls.http_server().map_err(config_err)? {
        http.tls = Some(listener::tls::acceptor(&files).map_err(tls_err)?);
    }
    let mut rpc = ServeOptions {
        name: "RPC",
        limits: lim.rpc(),
        handshake_timeout: lim.rpc_handshake_timeout,
        tls: None,
        ..http.clone()
    };
    if let Some(files) = cfg.tls.rpc_server().map_err(config_err)? {
        rpc.tls = Some(listener::tls::acceptor(&files).map_err(tls_err)?);
    }
    Ok((http, rpc))
}

/// The configured data directory, or a temporary one for `-dev` (true: remove it at exit).
fn data_dir(cfg: &AgentConfig) -> (PathBuf, bool) {
    match &cfg.data_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("deploy-agent-{}", uuid::Uuid::new_v4())),
            true,
        ),
    }
}

/// Binds the RPC listener (servers only: clients need none).
async fn bind_rpc(cfg: &AgentConfig) -> Result<tokio::net::TcpListener, ClusterError> {
    let port = cfg.rpc_port();
    tokio::net::TcpListener::bind((cfg.bind_addr.as_str(), port))
        .await
        .map_err(|e| ClusterError::Startup(format!("binding RPC {}:{port}: {e}", cfg.bind_addr)))
}

/// Starts the server; `advertise` is its RPC address (its Raft address too).
async fn start_server(
    cfg: &AgentConfig,
    data_dir: &Path,
    advertise: &str,
) -> Result<Arc<ClusterNode>, ClusterError> {
    let server_dir = data_dir.join("server");
    // Only a server that bootstraps alone may make up the key; others must be given it.
    let alone = cfg.bootstrap_expect <= 1 && cfg.join.is_empty();
    let cluster_key = ClusterKey::load_or_create(&server_dir, cfg.encrypt.as_deref(), alone)?;
    ClusterNode::start(ServerConfig {
        data_dir: server_dir,
        advertise: advertise.to_owned(),
        peers: cfg.join.iter().map(|p| with_default_port(p)).collect(),
        bootstrap_expect: cfg.bootstrap_expect,
        cluster_name: cfg.region.clone(),
        compaction: cfg.raft_compaction,
        raft_multiplier: cfg.raft_multiplier,
        heartbeat_ttl: cfg.heartbeat_ttl,
        cluster_key,
        keyring_kek: cfg.keyring_kek.clone(),
        gc: cfg.server_gc,
        rpc_transport: cfg
            .tls
            .rpc_transport(&cfg.region)
            .map_err(|e| ClusterError::Startup(e.to_string()))?,
        verify_peer_region: (cfg.tls.rpc && cfg.tls.verify_server_hostname).then(|| cfg.region.clone()),
    })
    .await
}

/// Starts the client; an agent that is also a server lists its own RPC address first among
/// the servers.
async fn start_client(
    cfg: &AgentConfig,
    data_dir: &Path,
    own_rpc: Option<&str>,
    advertise: &str,
) -> Result<Arc<Client>, ClusterError> {
    let mut servers = cfg.servers.clone();
    if let Some(own) = own_rpc {
        servers.insert(0, own.to_owned());
    }
    let config = client_config(cfg, data_dir, servers, advertise)?;
    let client = Client::start(config)
        .await
        .map_err(|e| ClusterError::Startup(format!("client: {e}")))?;
    client.start_gc(cfg.client_gc);
    Ok(client)
}

fn client_config(
    cfg: &AgentConfig,
    data_dir: &Path,
    servers: Vec<String>,
    advertise: &str,
) -> Result<ClientConfig, ClusterError> {
    let startup = |e: super::ConfigError| ClusterError::Startup(e.to_string());
    let mut c = ClientConfig::new(&cfg.name, data_dir.join("client"), servers);
    c.http_addr = advertise.to_owned();
    c.datacenter = cfg.datacenter.clone();
    c.region = cfg.region.clone();
    c.node_class = cfg.node_class.clone();
    c.node_pool = cfg.node_pool.clone();
    c.meta = cfg.node_meta.clone();
    c.host_volumes = cfg.host_volumes.clone();
    c.raw_exec_enabled = cfg.raw_exec_enabled;
    c.docker_allow_privileged = cfg.docker_allow_privileged;
    c.cpu_total_compute = cfg.cpu_total_compute;
    c.memory_total_mb = cfg.memory_total_mb;
    c.sandbox = cfg.client_sandbox.clone();
    c.rpc_transport = cfg.tls.rpc_transport(&cfg.region).map_err(startup)?;
    c.http_transport = cfg.tls.http_transport().map_err(startup)?;
    Ok(c)
}

impl Agent {
    fn server_id(&self) -> String {
        self.server
            .as_ref()
            .map(|n| n.id().to_string())
            .unwrap_or_default()
    }

    /// What `/v1/agent/self` shows of the configuration and membership.
    fn agent_self(&self, cfg: &AgentConfig, bound: SocketAddr, rpc: Option<&str>) -> Value {
        let rpc_port = rpc
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(_, p)| p.parse::<u16>().ok());
        json!({
            "config": {
                "NodeName": cfg.name, "Region": cfg.region, "Datacenter": cfg.datacenter,
                "DataDir": self.data_dir, "BindAddr": cfg.bind_addr, "Ports": {"HTTP": bound.port(), "RPC": rpc_port},
                "Server": {"Enabled": cfg.server_enabled, "BootstrapExpect": cfg.bootstrap_expect},
                "Client": {"Enabled": cfg.client_enabled, "Meta": cfg.node_meta, "NodeClass": cfg.node_class},
                "Version": {"Version": env!("CARGO_PKG_VERSION")},
            },
            "member": {
                "Name": format!("{}.{}", cfg.name, cfg.region), "Addr": bound.ip().to_string(), "Port": bound.port(),
                "Status": "alive",
                "Tags": {"region": cfg.region, "dc": cfg.datacenter, "role": "nomad", "id": self.server_id()},
            },
            "stats": {"client": {"node_id": self.client.as_ref().map(|c| c.node().id)}},
        })
    }

    /// The HTTP listener's router (the public API and the client's `/v1/client/...` routes,
    /// both behind the ACL check) and, on a server, the RPC listener's.
    fn routers(
        &self,
        cfg: &AgentConfig,
        bound: SocketAddr,
        rpc_addr: Option<&str>,
    ) -> Result<(axum::Router, Option<axum::Router>), ClusterError> {
        let parts = Arc::new(AgentParts {
            server: self.server.clone(),
            client: self.client.clone(),
            region: cfg.region.clone(),
            member_name: format!("{}.{}", cfg.name, cfg.region),
        });
        let mut app = agent_control::open_router(Arc::clone(&parts));
        let mut rpc_app = None;
        if let Some(node) = &self.server {
            let ctx = Arc::new(ApiContext {
                node: Arc::clone(node),
                agent_self: self.agent_self(cfg, bound, rpc_addr),
                acl_enabled: cfg.acl_enabled,
                job_parser: cfg.job_parser.clone(),
            });
            app = app.merge(http::router(Arc::clone(&ctx)));
            let client_routes = match &self.client {
                Some(c) => c.routes(),
                None => {
                    let transport = cfg
                        .tls
                        .http_transport()
                        .map_err(|e| ClusterError::Startup(e.to_string()))?;
                    http::node_proxy::router(Arc::clone(&ctx), transport)
                }
            };
            let client_routes = client_routes.merge(agent_control::router(parts));
            app = app.merge(http::with_acl(client_routes, Arc::clone(&ctx)));
            rpc_app = Some(rpc::router(ctx));
        } else if let Some(c) = &self.client {
            app = app.merge(client_acl::guard(
                c.routes().merge(agent_control::router(parts)),
                Arc::clone(c),
            ));
        }
        let guard = http::request_guard::RequestGuard::for_bind(bound.ip());
        let app = app.layer(axum::middleware::from_fn_with_state(
            guard,
            http::request_guard::refuse_unsafe,
        ));
        Ok((app, rpc_app))
    }

    fn announce(&self, cfg: &AgentConfig, advertise: &str, rpc: Option<&str>) {
        let scheme = match cfg.tls.http {
            true => "https",
            false => "http",
        };
        let role = match (&self.server, &self.client) {
            (Some(_), Some(_)) => "server and client",
            (Some(_), None) => "server",
            _ => "client",
        };
        let server_note = match (&self.server, rpc) {
            (Some(_), Some(rpc)) => format!("RPC at {rpc}, server id {}, ", self.server_id()),
            _ => String::new(),
        };
        eprintln!(
            "==> deploy agent started ({role}): HTTP at {scheme}://{advertise} ({server_note}data {})",
            self.data_dir.display()
        );
        if let Some(c) = &self.client {
            eprintln!("==> client node id {}", c.node().id);
        }
    }

    /// Stops the client, then the server, then removes temporary data.
    async fn stop(&self) {
        if let Some(c) = &self.client {
            // A dev agent's data is temporary, so its tasks go with it. Otherwise tasks keep
            // running and the next start re-attaches to them, as Nomad's clients do.
            if self.temporary {
                c.stop_all(Duration::from_secs(10)).await;
            }
            c.shutdown();
        }
        if let Some(node) = &self.server
            && tokio::time::timeout(RAFT_SHUTDOWN, node.shutdown())
                .await
                .is_err()
        {
            tracing::warn!("raft did not shut down within {RAFT_SHUTDOWN:?}");
        }
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

//! Running the agent: the server and/or the client, the HTTP API, and shutdown on SIGINT or
//! SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{AgentConfig, with_default_port};
use crate::cluster::client::http as client_http;
use crate::cluster::client::{Client, ClientConfig};
use crate::cluster::error::ClusterError;
use crate::cluster::http::{self, ApiContext};
use crate::cluster::server::{ClusterNode, ServerConfig};

/// Runs the agent until SIGINT or SIGTERM.
pub async fn run_agent(cfg: AgentConfig) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    cfg.check()?;
    let (data_dir, temporary) = match &cfg.data_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("deploy-agent-{}", uuid::Uuid::new_v4())),
            true,
        ),
    };
    let listener = tokio::net::TcpListener::bind((cfg.bind_addr.as_str(), cfg.http_port))
        .await
        .map_err(|e| ClusterError::Startup(format!("binding {}:{}: {e}", cfg.bind_addr, cfg.http_port)))?;
    let bound = listener.local_addr()?;
    let advertise = cfg.advertise(bound);
    let server = match cfg.server_enabled {
        true => Some(
            ClusterNode::start(ServerConfig {
                data_dir: data_dir.join("server"),
                advertise: advertise.clone(),
                peers: cfg.join.iter().map(|p| with_default_port(p)).collect(),
                bootstrap_expect: cfg.bootstrap_expect,
                cluster_name: cfg.region.clone(),
                compaction: cfg.raft_compaction,
                raft_multiplier: cfg.raft_multiplier,
                heartbeat_ttl: cfg.heartbeat_ttl,
            })
            .await?,
        ),
        false => None,
    };
    let client = match cfg.client_enabled {
        true => {
            let mut servers = cfg.servers.clone();
            if server.is_some() {
                servers.insert(0, advertise.clone());
            }
            let config = client_config(&cfg, &data_dir, servers, &advertise);
            Some(
                Client::start(config)
                    .await
                    .map_err(|e| ClusterError::Startup(format!("client: {e}")))?,
            )
        }
        false => None,
    };
    let server_id = server.as_ref().map(|n| n.id().to_string()).unwrap_or_default();
    let agent_self = json!({
        "config": {
            "NodeName": cfg.name, "Region": cfg.region, "Datacenter": cfg.datacenter,
            "DataDir": data_dir, "BindAddr": cfg.bind_addr, "Ports": {"HTTP": bound.port()},
            "Server": {"Enabled": cfg.server_enabled, "BootstrapExpect": cfg.bootstrap_expect},
            "Client": {"Enabled": cfg.client_enabled, "Meta": cfg.node_meta, "NodeClass": cfg.node_class},
            "Version": {"Version": env!("CARGO_PKG_VERSION")},
        },
        "member": {
            "Name": format!("{}.{}", cfg.name, cfg.region), "Addr": bound.ip().to_string(), "Port": bound.port(),
            "Status": "alive", "Tags": {"region": cfg.region, "dc": cfg.datacenter, "role": "nomad", "id": server_id},
        },
        "stats": {"client": {"node_id": client.as_ref().map(|c| c.node().id)}},
    });
    let mut app = axum::Router::new();
    if let Some(node) = &server {
        let ctx = ApiContext {
            node: Arc::clone(node),
            agent_self,
            acl_enabled: cfg.acl_enabled,
        };
        let ctx = Arc::new(ctx);
        app = app.merge(http::router(Arc::clone(&ctx)));
        if client.is_none() {
            app = app.merge(http::node_proxy::router(ctx));
        }
    }
    if let Some(c) = &client {
        app = app.merge(client_http::router(Arc::clone(c)));
    }
    let role = match (&server, &client) {
        (Some(_), Some(_)) => "server and client",
        (Some(_), None) => "server",
        _ => "client",
    };
    let server_note = match &server {
        Some(_) => format!("server id {server_id}, "),
        None => String::new(),
    };
    eprintln!(
        "==> deploy agent started ({role}): HTTP at http://{advertise} ({server_note}data {})",
        data_dir.display()
    );
    if let Some(c) = &client {
        eprintln!("==> client node id {}", c.node().id);
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    if let Some(c) = &client {
        // A dev agent's data is temporary, so its tasks go with it. Otherwise tasks keep
        // running and the next start re-attaches to them, as Nomad's clients do.
        if temporary {
            c.stop_all(Duration::from_secs(10)).await;
        }
        c.shutdown();
    }
    if let Some(node) = &server {
        node.shutdown().await;
    }
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    Ok(())
}

fn client_config(cfg: &AgentConfig, data_dir: &Path, servers: Vec<String>, advertise: &str) -> ClientConfig {
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
    c.sandbox = cfg.client_sandbox.clone();
    c
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

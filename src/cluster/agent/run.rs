//! Running the agent: the server, its HTTP API, and shutdown on SIGINT or SIGTERM.

use std::sync::Arc;

use serde_json::json;

use super::{AgentConfig, with_default_port};
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
    let node = ClusterNode::start(ServerConfig {
        data_dir: data_dir.join("server"),
        advertise: advertise.clone(),
        peers: cfg.join.iter().map(|p| with_default_port(p)).collect(),
        bootstrap_expect: cfg.bootstrap_expect,
        cluster_name: cfg.region.clone(),
        compaction: cfg.raft_compaction,
        raft_multiplier: cfg.raft_multiplier,
    })
    .await?;
    let agent_self = json!({
        "config": {
            "NodeName": cfg.name, "Region": cfg.region, "Datacenter": cfg.datacenter,
            "DataDir": data_dir, "BindAddr": cfg.bind_addr, "Ports": {"HTTP": bound.port()},
            "Server": {"Enabled": cfg.server_enabled, "BootstrapExpect": cfg.bootstrap_expect},
            "Client": {"Enabled": cfg.client_enabled, "Meta": cfg.node_meta},
            "Version": {"Version": env!("CARGO_PKG_VERSION")},
        },
        "member": {
            "Name": format!("{}.{}", cfg.name, cfg.region), "Addr": bound.ip().to_string(), "Port": bound.port(),
            "Status": "alive", "Tags": {"region": cfg.region, "dc": cfg.datacenter, "role": "nomad", "id": node.id().to_string()},
        },
    });
    let app = http::router(Arc::new(ApiContext {
        node: Arc::clone(&node),
        agent_self,
        acl_enabled: cfg.acl_enabled,
    }));
    eprintln!(
        "==> deploy agent started: HTTP at http://{advertise} (node id {}, data {})",
        node.id(),
        data_dir.display()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    node.shutdown().await;
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    Ok(())
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

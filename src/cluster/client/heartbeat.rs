//! Registration and heartbeats: register the node (retrying until a server answers), then beat
//! at a third of the TTL the servers asked for, re-registering if they forgot the node.

use std::sync::Arc;
use std::time::Duration;

use super::context::ClientContext;

/// Registers, then heartbeats until the task is aborted.
pub async fn run(ctx: Arc<ClientContext>, registered: tokio::sync::watch::Sender<bool>) {
    let mut ttl = register(&ctx).await;
    let _ = registered.send(true);
    loop {
        tokio::time::sleep((ttl / 3).max(Duration::from_millis(100))).await;
        let id = ctx.node().id;
        match ctx.api.heartbeat(&id).await {
            Ok(Some(t)) => ttl = t,
            Ok(None) => ttl = register(&ctx).await,
            Err(e) => tracing::warn!("heartbeat: {e}"),
        }
    }
}

async fn register(ctx: &ClientContext) -> Duration {
    let mut pause = Duration::from_millis(100);
    loop {
        match ctx.api.register(&ctx.node()).await {
            Ok(ttl) => return ttl,
            Err(e) => {
                tracing::info!("registering node: {e}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

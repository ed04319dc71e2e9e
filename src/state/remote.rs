//! A client of a cluster's HTTP API for synchronous state code: every call runs on a small
//! runtime of its own and is waited for, so it works inside or outside an async context.
//! Shared by the built-in cluster's KV store and the Nomad Variables store.

use std::future::Future;
use std::sync::mpsc;

use crate::api::{ApiError, ClientConfig, NomadClient};

use super::error::StateError;

/// A client of one cluster, with the runtime its calls run on.
#[derive(Debug)]
pub struct Remote {
    client: NomadClient,
    runtime: Option<tokio::runtime::Runtime>,
    location: String,
}

impl Remote {
    /// A client of the cluster at `config`; `kind` names it in messages (`cluster`, `nomad`).
    pub fn new(config: ClientConfig, kind: &str) -> Result<Remote, StateError> {
        let location = format!("{kind} {}", config.address());
        let client = NomadClient::new(config).map_err(|e| remote(&location, e))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("deploy-state-client")
            .enable_all()
            .build()
            .map_err(|e| StateError::Remote {
                location: location.clone(),
                detail: format!("starting the state client: {e}"),
            })?;
        Ok(Remote {
            client,
            runtime: Some(runtime),
            location,
        })
    }

    /// `<kind> <address>`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Runs `fut` on this client's runtime and waits for it.
    pub fn run<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> Option<T> {
        let (tx, rx) = mpsc::channel();
        self.runtime.as_ref()?.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().ok()
    }

    /// Spawns `fut` on this client's runtime without waiting.
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        if let Some(rt) = &self.runtime {
            rt.spawn(fut);
        }
    }

    /// Runs a call and waits for it; an API error becomes a state error naming the cluster.
    pub fn call<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, ApiError>> + Send + 'static,
    ) -> Result<T, StateError> {
        match self.run(fut) {
            Some(r) => r.map_err(|e| remote(&self.location, e)),
            None => Err(self.stopped()),
        }
    }

    /// The error of a call whose runtime is gone.
    pub fn stopped(&self) -> StateError {
        StateError::Remote {
            location: self.location.clone(),
            detail: "the state client stopped".into(),
        }
    }

    /// The client.
    pub fn client(&self) -> NomadClient {
        self.client.clone()
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Dropping a runtime inside an async context would panic; let it wind down instead.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// `e` as a state error at `location`; a cluster that cannot be reached says what to do.
pub fn remote(location: &str, e: ApiError) -> StateError {
    let detail = match &e {
        ApiError::Transport(_) => format!(
            "{e}; the stack's state is kept there, so it must be reachable (start it, or point \
             the stack's backend address or NOMAD_ADDR at it)"
        ),
        _ => e.to_string(),
    };
    StateError::Remote {
        location: location.to_string(),
        detail,
    }
}

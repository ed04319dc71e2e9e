//! The built-in cluster: Raft-replicated servers speaking the Nomad HTTP API.
//!
//! ```text
//!  HTTP client ──► http (axum routes) ──► server::ClusterNode ──► raft (openraft) ──► fsm::State
//!                        ▲                    │ write: forward to leader       (apply, in memory)
//!                        └── blocking reads ◄─┘ read: local state / read index     │
//!                                                                       redb: log, vote, snapshot
//! ```
//!
//! The cluster is its own world: it may use only `crate::spec`, `crate::api` and `crate::diag`,
//! never the frontend, graph, plan, apply or cli modules. It serves the same API that the backend
//! calls, so the two meet only in the wire types.

pub mod acl;
pub mod agent;
pub mod client;
pub mod error;
pub mod events;
pub mod fsm;
pub mod http;
pub mod id_file;
pub mod keyring;
pub mod listener;
pub mod log_hub;
pub mod raft;
pub mod rpc;
pub mod scheduler;
pub mod server;
pub mod transport;

pub use agent::{AgentArgs, AgentConfig, run_agent};
pub use error::ClusterError;
pub use http::parse::JobParser;
pub use server::{ClusterNode, ServerConfig};

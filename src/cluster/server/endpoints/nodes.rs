//! Client nodes and the operator's actions on them: list and read (without the node's secret),
//! registration, scheduling eligibility, drain, and stopping one allocation so the scheduler
//! replaces it elsewhere.

use chrono::Utc;

use crate::api::{
    DrainStrategy, Node, NodeListStub, SchedulingEligibility, StubFields, namespace_or_default, triggered_by,
};
use crate::cluster::fsm::{Command, Outcome};
use crate::cluster::server::ClusterNode;
use crate::cluster::server::drainer::drain_evals;
use crate::cluster::server::evals::new_eval;

use super::{EndpointError, Indexed, ReadOptions};

/// A drain request: start one (with its deadline) or stop draining.
#[derive(Debug, Clone, Default)]
pub struct DrainRequest {
    /// `Some(deadline in nanoseconds, -1: none)` starts a drain; `None` stops it.
    pub deadline: Option<i64>,
    /// Leave system jobs running.
    pub ignore_system_jobs: bool,
    /// When stopping a drain, make the node eligible again.
    pub mark_eligible: bool,
}

/// What a node write committed.
#[derive(Debug, Clone)]
pub struct NodeWritten {
    /// Raft index of the write.
    pub index: u64,
    /// The heartbeat TTL the node must beat within.
    pub heartbeat_ttl: std::time::Duration,
}

/// What a drain committed.
#[derive(Debug, Clone)]
pub struct DrainDone {
    /// Index of the node's change.
    pub node_modify_index: u64,
    /// Evaluations created for the jobs on the node (`None` when none).
    pub eval_ids: Option<Vec<String>>,
    /// Index they were created at (0 when none).
    pub eval_create_index: u64,
}

impl ClusterNode {
    /// Stubs of nodes whose ID starts with `prefix`, with the optional fields asked for.
    pub async fn node_stubs(
        &self,
        opts: &ReadOptions,
        prefix: &str,
        fields: StubFields,
    ) -> Result<Indexed<Vec<NodeListStub>>, EndpointError> {
        self.table_read(opts, "nodes", "", |s| {
            Some(
                s.nodes
                    .values()
                    .filter(|n| n.id.starts_with(prefix))
                    .map(|n| n.stub_with(fields))
                    .collect(),
            )
        })
        .await
    }

    /// One node, without its secret.
    pub async fn client_node(&self, opts: &ReadOptions, id: &str) -> Result<Indexed<Node>, EndpointError> {
        self.table_read(opts, "nodes", "node not found", |s| {
            let mut n = s.nodes.get(id)?.clone();
            n.secret_id.clear();
            Some(n)
        })
        .await
    }

    /// Creates or replaces a client node (committed through Raft).
    pub async fn register_node(&self, node: Node) -> Result<NodeWritten, EndpointError> {
        if node.id.is_empty() {
            return Err(EndpointError::bad_request(
                "missing node ID for node registration",
            ));
        }
        if node.datacenter.is_empty() {
            return Err(EndpointError::bad_request(
                "missing datacenter for node registration",
            ));
        }
        let resp = self.write(Command::NodeUpsert { node: Box::new(node) }).await?;
        if let Outcome::Refused { message } = resp.outcome {
            return Err(EndpointError::Forbidden(message));
        }
        Ok(NodeWritten {
            index: resp.index,
            heartbeat_ttl: self.heartbeat_ttl(),
        })
    }

    /// Sets a node's scheduling eligibility; answers the write's index.
    pub async fn set_node_eligibility(&self, node_id: String, eligible: bool) -> Result<u64, EndpointError> {
        let eligibility = match eligible {
            true => SchedulingEligibility::Eligible,
            false => SchedulingEligibility::Ineligible,
        };
        let resp = self
            .write(Command::NodeEligibility { node_id, eligibility })
            .await?;
        if let Outcome::NotFound { message } = resp.outcome {
            return Err(EndpointError::NotFound(message));
        }
        Ok(resp.index)
    }

    /// Starts or stops draining a node; a started drain evaluates the jobs on it.
    pub async fn drain_node(&self, id: &str, req: DrainRequest) -> Result<DrainDone, EndpointError> {
        let now = Utc::now();
        let strategy = req.deadline.map(|deadline| DrainStrategy {
            deadline,
            ignore_system_jobs: req.ignore_system_jobs,
            force_deadline: (deadline > 0)
                .then(|| (now + chrono::Duration::nanoseconds(deadline)).to_rfc3339()),
            started_at: Some(now.to_rfc3339()),
        });
        let draining = strategy.is_some();
        let cmd = Command::NodeDrain {
            node_id: id.to_owned(),
            strategy,
            mark_eligible: req.mark_eligible,
        };
        let resp = self.write(cmd).await?;
        if let Outcome::NotFound { message } = resp.outcome {
            return Err(EndpointError::NotFound(message));
        }
        let mut done = DrainDone {
            node_modify_index: resp.index,
            eval_ids: None,
            eval_create_index: 0,
        };
        if draining {
            let evals = drain_evals(&self.state().read(), id);
            if !evals.is_empty() {
                done.eval_ids = Some(evals.iter().map(|e| e.id.clone()).collect());
                done.eval_create_index = self.write(Command::EvalUpsert { evals }).await?.index;
            }
        }
        Ok(done)
    }

    /// Stops an allocation; the scheduler places its replacement, as a migration. Answers
    /// the write's index and the evaluation's ID.
    pub async fn stop_alloc(&self, id: &str) -> Result<(u64, String), EndpointError> {
        let eval = self
            .read_now(|state| {
                let alloc = state
                    .allocs
                    .get(id)
                    .ok_or_else(|| EndpointError::NotFound(format!("alloc not found: {id}")))?;
                let ns = namespace_or_default(&alloc.namespace);
                let job = state
                    .job(ns, &alloc.job_id)
                    .map(|r| r.current())
                    .ok_or_else(|| EndpointError::NotFound(format!("job not found: {}", alloc.job_id)))?;
                Ok(new_eval(job, triggered_by::ALLOC_STOP, 0))
            })
            .await?;
        let eval_id = eval.id.clone();
        let cmd = Command::AllocStop {
            alloc_ids: vec![id.to_owned()],
            eval: Box::new(eval),
        };
        let resp = self.write(cmd).await?;
        match resp.outcome {
            Outcome::JobWritten { .. } => Ok((resp.index, eval_id)),
            other => Err(EndpointError::unexpected(other)),
        }
    }

    /// The secret node `id` registered with, if it is registered.
    pub fn node_secret(&self, id: &str) -> Option<String> {
        self.state().read().nodes.get(id).map(|n| n.secret_id.clone())
    }

    /// Whether every allocation in `alloc_ids` is placed on node `node_id` (unknown ones are
    /// not).
    pub fn allocs_on_node<'a>(&self, node_id: &str, mut alloc_ids: impl Iterator<Item = &'a str>) -> bool {
        let state = self.state().read();
        alloc_ids.all(|id| state.allocs.get(id).is_some_and(|a| a.node_id == node_id))
    }
}

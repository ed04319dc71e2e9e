//! Reads of allocations, evaluations and service registrations. The stored allocation keeps
//! only `JobVersion`; reads attach the job from the retained versions.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::api::{
    AllocListStub, Allocation, EvalStatus, Evaluation, ServiceRegistration, namespace_or_default,
};
use crate::cluster::fsm::State;
use crate::cluster::server::ClusterNode;
use crate::spec::Job;

use super::{EndpointError, Indexed, ReadOptions, in_namespace};
use crate::api::ClientStatus;
use crate::cluster::server::node_watch::node_alloc_index;

/// What a client's watch says of one of its allocations.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClientAllocStub {
    /// Moves when the servers change what the allocation asks of its client.
    pub alloc_modify_index: u64,
    /// Moves at every change of the allocation: the client fetches it again then (its own
    /// reports included, so that what it holds is what the servers hold).
    pub modify_index: u64,
    /// The status the servers hold.
    pub client_status: ClientStatus,
}

/// The answer of a client's watch on its allocations.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClientAllocs {
    /// Allocation ID → what the client needs to know of it.
    pub allocs: BTreeMap<String, ClientAllocStub>,
}

/// Jobs of allocations, each retained version decoded once per read.
#[derive(Default)]
struct AllocJobs(HashMap<(String, String, u64), Option<Job>>);

impl AllocJobs {
    /// The job version `a` runs, if still retained.
    fn job_of(&mut self, s: &State, a: &Allocation) -> Option<Job> {
        let ns = namespace_or_default(&a.namespace);
        let key = (ns.to_owned(), a.job_id.clone(), a.job_version);
        self.0
            .entry(key)
            .or_insert_with(|| Some(s.job(ns, &a.job_id)?.version(a.job_version)?.job.clone()))
            .clone()
    }

    /// `a` with its job attached.
    fn with_job(&mut self, s: &State, a: &Allocation) -> Allocation {
        let mut a = a.clone();
        a.job = self.job_of(s, &a).map(Box::new);
        a
    }
}

/// The list view of `a`, with `JobType` filled in.
pub(crate) fn alloc_stub(s: &State, a: &Allocation) -> AllocListStub {
    let mut st = a.stub();
    if st.job_type.is_empty() {
        let ns = namespace_or_default(&a.namespace);
        st.job_type = s
            .job(ns, &a.job_id)
            .and_then(|r| r.version_type(a.job_version))
            .unwrap_or_default()
            .to_owned();
    }
    st
}

/// Stubs of `allocs`.
fn stubs<'s>(s: &'s State, allocs: impl Iterator<Item = &'s Allocation>) -> Option<Vec<AllocListStub>> {
    Some(allocs.map(|a| alloc_stub(s, a)).collect())
}

/// The allocations of the job an evaluation or deployment belongs to, if there is one.
fn of_job_of<'s>(s: &'s State, job: Option<(&str, &str)>) -> impl Iterator<Item = &'s Allocation> {
    job.into_iter().flat_map(|(ns, id)| s.allocs.of_job(ns, id))
}

/// Evaluations `keep` selects, ordered by `key`.
fn evals<K: Ord>(
    s: &State,
    keep: impl Fn(&Evaluation) -> bool,
    key: impl Fn(&Evaluation) -> K,
) -> Vec<Evaluation> {
    let mut out: Vec<Evaluation> = s.evals.values().filter(|e| keep(e)).cloned().collect();
    out.sort_by_key(key);
    out
}

impl ClusterNode {
    /// Allocation stubs whose ID starts with `prefix`, in namespace `ns` (`*`: all).
    pub async fn alloc_stubs(
        &self,
        opts: &ReadOptions,
        ns: &str,
        prefix: &str,
    ) -> Result<Indexed<Vec<AllocListStub>>, EndpointError> {
        self.table_read(opts, "allocs", "", |s| {
            let allocs = s.allocs.values();
            stubs(
                s,
                allocs.filter(|a| a.id.starts_with(prefix) && in_namespace(ns, &a.namespace)),
            )
        })
        .await
    }

    /// One allocation with its job.
    pub async fn allocation(
        &self,
        opts: &ReadOptions,
        id: &str,
    ) -> Result<Indexed<Allocation>, EndpointError> {
        self.table_read(opts, "allocs", "alloc not found", |s| {
            Some(AllocJobs::default().with_job(s, s.allocs.get(id)?))
        })
        .await
    }

    /// Stubs of a job's allocations.
    pub async fn job_allocs(
        &self,
        opts: &ReadOptions,
        ns: &str,
        job_id: &str,
    ) -> Result<Indexed<Vec<AllocListStub>>, EndpointError> {
        self.table_read(opts, "allocs", "", |s| stubs(s, s.allocs.of_job(ns, job_id)))
            .await
    }

    /// Full allocations on a node, with their jobs.
    pub async fn node_allocs(
        &self,
        opts: &ReadOptions,
        node_id: &str,
    ) -> Result<Indexed<Vec<Allocation>>, EndpointError> {
        self.table_read(opts, "allocs", "", |s| {
            let mut jobs = AllocJobs::default();
            Some(
                s.allocs
                    .values()
                    .filter(|a| a.node_id == node_id)
                    .map(|a| jobs.with_job(s, a))
                    .collect(),
            )
        })
        .await
    }

    /// A client's watch on its own allocations: per allocation, what tells the client whether
    /// to fetch it again ([`Self::allocs_for_client`]). Blocks on the node's own allocation
    /// index (see [`node_watch`](crate::cluster::server::node_watch)), which it answers.
    pub async fn client_allocs(
        &self,
        opts: &ReadOptions,
        node_id: &str,
    ) -> Result<Indexed<ClientAllocs>, EndpointError> {
        self.barrier_unless_stale(opts).await?;
        if opts.min_index > 0 {
            self.node_watch
                .wait(self.state(), node_id, opts.min_index, opts.wait)
                .await;
        }
        let state = self.state().read();
        let stub = |a: &Allocation| {
            let stub = ClientAllocStub {
                alloc_modify_index: a.alloc_modify_index,
                modify_index: a.modify_index,
                client_status: a.client_status,
            };
            (a.id.clone(), stub)
        };
        let allocs = match state.node_allocs.node(node_id) {
            Some((_, ids)) => ids
                .iter()
                .filter_map(|id| state.allocs.get(*id))
                .map(stub)
                .collect(),
            None => state
                .allocs
                .values()
                .filter(|a| a.node_id == node_id)
                .map(stub)
                .collect(),
        };
        let index = node_alloc_index(&state, node_id).max(1);
        Ok(Indexed {
            index,
            value: ClientAllocs { allocs },
        })
    }

    /// The allocations `ids` with their jobs, those on `node_id` only when a client asks
    /// (`None`: a server, any node); unknown IDs are left out.
    pub fn allocs_for_client(&self, node_id: Option<&str>, ids: &[String]) -> Indexed<Vec<Allocation>> {
        let state = self.state().read();
        let mut jobs = AllocJobs::default();
        let value = ids
            .iter()
            .filter_map(|id| state.allocs.get(id))
            .filter(|a| node_id.is_none_or(|n| a.node_id == n))
            .map(|a| jobs.with_job(&state, a))
            .collect();
        Indexed {
            index: state.table_index("allocs"),
            value,
        }
    }

    /// Stubs of the allocations an evaluation created.
    pub async fn eval_allocs(
        &self,
        opts: &ReadOptions,
        eval_id: &str,
    ) -> Result<Indexed<Vec<AllocListStub>>, EndpointError> {
        self.table_read(opts, "allocs", "", |s| {
            let job = s
                .evals
                .get(eval_id)
                .map(|e| (e.namespace.as_str(), e.job_id.as_str()));
            stubs(s, of_job_of(s, job).filter(|a| a.eval_id == eval_id))
        })
        .await
    }

    /// Stubs of a deployment's allocations.
    pub async fn deployment_allocs(
        &self,
        opts: &ReadOptions,
        id: &str,
    ) -> Result<Indexed<Vec<AllocListStub>>, EndpointError> {
        self.table_read(opts, "allocs", "deployment not found", |s| {
            let d = s.deployments.get(id)?;
            let job = Some((d.namespace.as_str(), d.job_id.as_str()));
            stubs(s, of_job_of(s, job).filter(|a| a.deployment_id == id))
        })
        .await
    }

    /// Evaluations whose ID starts with `prefix` in `ns` (and in `status`, when given), oldest
    /// first.
    pub async fn evaluations(
        &self,
        opts: &ReadOptions,
        ns: &str,
        prefix: &str,
        status: Option<EvalStatus>,
    ) -> Result<Indexed<Vec<Evaluation>>, EndpointError> {
        self.table_read(opts, "evals", "", |s| {
            let keep = |e: &Evaluation| {
                e.id.starts_with(prefix)
                    && in_namespace(ns, &e.namespace)
                    && status.is_none_or(|status| e.status == status)
            };
            Some(evals(s, keep, |e| (e.create_index, e.id.clone())))
        })
        .await
    }

    /// One evaluation.
    pub async fn evaluation(
        &self,
        opts: &ReadOptions,
        id: &str,
    ) -> Result<Indexed<Evaluation>, EndpointError> {
        self.table_read(opts, "evals", "eval not found", |s| s.evals.get(id).cloned())
            .await
    }

    /// A job's evaluations, newest first.
    pub async fn job_evaluations(
        &self,
        opts: &ReadOptions,
        ns: &str,
        job_id: &str,
    ) -> Result<Indexed<Vec<Evaluation>>, EndpointError> {
        self.table_read(opts, "evals", "", |s| {
            let keep = |e: &Evaluation| e.job_id == job_id && e.namespace == ns;
            Some(evals(s, keep, |e| std::cmp::Reverse(e.create_index)))
        })
        .await
    }

    /// Service names and tags per namespace (Nomad's `/v1/services` shape).
    pub async fn service_names(
        &self,
        opts: &ReadOptions,
        ns: &str,
    ) -> Result<Indexed<Vec<Value>>, EndpointError> {
        self.table_read(opts, "services", "", |s| {
            let mut by_ns: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
            for r in s.services.values().filter(|r| in_namespace(ns, &r.namespace)) {
                let tags = by_ns
                    .entry(&r.namespace)
                    .or_default()
                    .entry(&r.service_name)
                    .or_default();
                tags.extend(r.tags.iter().map(String::as_str));
            }
            let list = by_ns
                .into_iter()
                .map(|(ns, svcs)| {
                    let services: Vec<Value> = svcs
                        .into_iter()
                        .map(|(name, mut tags)| {
                            tags.sort_unstable();
                            tags.dedup();
                            json!({"ServiceName": name, "Tags": tags})
                        })
                        .collect();
                    json!({"Namespace": ns, "Services": services})
                })
                .collect();
            Some(list)
        })
        .await
    }

    /// The registered instances of a service.
    pub async fn service(
        &self,
        opts: &ReadOptions,
        ns: &str,
        name: &str,
    ) -> Result<Indexed<Vec<ServiceRegistration>>, EndpointError> {
        self.table_read(opts, "services", "", |s| {
            Some(s.services_named(ns, name).cloned().collect())
        })
        .await
    }
}

impl ClusterNode {
    /// The HTTP address of the client node running allocation `alloc`, if known.
    pub fn alloc_node_addr(&self, alloc: &str) -> Option<String> {
        let state = self.state().read();
        state
            .allocs
            .get(alloc)
            .and_then(|a| state.nodes.get(&a.node_id))
            .map(|n| n.http_addr.clone())
            .filter(|a| !a.is_empty())
    }

    /// The HTTP address of client node `node_id`, if known.
    pub fn node_http_addr(&self, node_id: &str) -> Option<String> {
        let state = self.state().read();
        state
            .nodes
            .get(node_id)
            .map(|n| n.http_addr.clone())
            .filter(|a| !a.is_empty())
    }
}

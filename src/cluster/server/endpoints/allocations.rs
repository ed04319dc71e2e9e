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

/// Stubs of the allocations `keep` selects.
fn stubs(s: &State, keep: impl Fn(&Allocation) -> bool) -> Option<Vec<AllocListStub>> {
    Some(
        s.allocs
            .values()
            .filter(|a| keep(a))
            .map(|a| alloc_stub(s, a))
            .collect(),
    )
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
            stubs(s, |a| a.id.starts_with(prefix) && in_namespace(ns, &a.namespace))
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
        self.table_read(opts, "allocs", "", |s| {
            stubs(s, |a| a.job_id == job_id && a.namespace == ns)
        })
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

    /// Stubs of the allocations an evaluation created.
    pub async fn eval_allocs(
        &self,
        opts: &ReadOptions,
        eval_id: &str,
    ) -> Result<Indexed<Vec<AllocListStub>>, EndpointError> {
        self.table_read(opts, "allocs", "", |s| stubs(s, |a| a.eval_id == eval_id))
            .await
    }

    /// Stubs of a deployment's allocations.
    pub async fn deployment_allocs(
        &self,
        opts: &ReadOptions,
        id: &str,
    ) -> Result<Indexed<Vec<AllocListStub>>, EndpointError> {
        self.table_read(opts, "allocs", "deployment not found", |s| {
            s.deployments.get(id)?;
            stubs(s, |a| a.deployment_id == id)
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

//! THE route → capability table: every HTTP API route an agent serves, with what it asks of
//! the request's token. The ACL middleware (`http::acl::enforce`) looks each request up here by
//! its matched route pattern and method; a route missing here is refused to every token but a
//! management one, and the tests below fail until it is added.
//!
//! Adding a route: add its `.route(...)` where it belongs, then one line here with the same
//! pattern text, its methods and its [`Need`] (Nomad's "ACL Required" column for the
//! endpoint). `cargo test --lib cluster::acl` reads the routers' source and checks both agree.

use super::capability::Level::{Read, Write};
use super::need::Need::{self, *};

/// One route's entry.
#[derive(Debug, Clone, Copy)]
pub struct RouteAcl {
    /// Methods, space-separated (`"POST PUT"`).
    pub methods: &'static str,
    /// The route pattern, as registered with axum (`/v1/job/{id}`).
    pub path: &'static str,
    /// What the token must grant.
    pub need: Need,
}

const fn r(methods: &'static str, path: &'static str, need: Need) -> RouteAcl {
    RouteAcl { methods, path, need }
}

const LIST_JOBS: Need = Namespace(&["list-jobs"]);
const READ_JOB: Need = Namespace(&["read-job"]);
const SUBMIT_JOB: Need = Namespace(&["submit-job"]);
const PARSE_JOB: Need = Namespace(&["parse-job", "submit-job"]);
const DISPATCH_JOB: Need = Namespace(&["dispatch-job"]);
const FORCE_PERIODIC: Need = Namespace(&["dispatch-job", "submit-job"]);
const ALLOC_LIFECYCLE: Need = Namespace(&["alloc-lifecycle"]);
const READ_LOGS: Need = Namespace(&["read-logs", "read-fs"]);
const READ_FS: Need = Namespace(&["read-fs"]);

/// Every route of the public API (`http::router`), the client's routes (`client::http`,
/// `client::fs_http`, `client::host_stats`, `client::actions`, `client::gc`) and a server's
/// proxies of them (`http::node_proxy`).
pub const ROUTES: &[RouteAcl] = &[
    // Exempt, as Nomad: load balancers ask for the leader; bootstrap has no token yet.
    r("GET", "/v1/status/leader", None),
    r("GET", "/v1/status/peers", None),
    r("POST PUT", "/v1/acl/bootstrap", None),
    // The dashboard's static assets (http::ui): they hold no data; the page reads the API
    // with the user's token.
    r("GET", "/ui", None),
    r("GET", "/ui/app.css", None),
    r("GET", "/ui/app.js", None),
    // A rendered page: every read behind it is a request to the routes below with the
    // caller's token, checked against this table like the same request over HTTP.
    r("GET", "/ui/page/{*path}", None),
    // Jobs.
    r("GET", "/v1/jobs", LIST_JOBS),
    r("POST PUT", "/v1/jobs", SUBMIT_JOB),
    r("POST PUT", "/v1/jobs/parse", PARSE_JOB),
    r("POST PUT", "/v1/validate/job", READ_JOB),
    r("GET", "/v1/job/{id}", READ_JOB),
    r("POST PUT DELETE", "/v1/job/{id}", SUBMIT_JOB),
    r("GET", "/v1/job/{id}/versions", READ_JOB),
    r("GET", "/v1/job/{id}/submission", READ_JOB),
    r("GET", "/v1/job/{id}/summary", READ_JOB),
    r("GET", "/v1/job/{id}/deployments", READ_JOB),
    r("GET", "/v1/job/{id}/deployment", READ_JOB),
    r("GET", "/v1/job/{id}/allocations", READ_JOB),
    r("GET", "/v1/job/{id}/evaluations", READ_JOB),
    r("POST PUT", "/v1/job/{id}/stable", SUBMIT_JOB),
    r("POST PUT", "/v1/job/{id}/evaluate", SUBMIT_JOB),
    r("POST PUT", "/v1/job/{id}/revert", SUBMIT_JOB),
    r("POST PUT", "/v1/job/{id}/plan", SUBMIT_JOB),
    r("POST PUT", "/v1/job/{id}/periodic/force", FORCE_PERIODIC),
    r("POST PUT", "/v1/job/{id}/dispatch", DISPATCH_JOB),
    // Scaling.
    r(
        "GET",
        "/v1/job/{id}/scale",
        Namespace(&["read-job-scaling", "read-job"]),
    ),
    r(
        "POST PUT",
        "/v1/job/{id}/scale",
        Namespace(&["scale-job", "submit-job"]),
    ),
    r(
        "GET",
        "/v1/scaling/policies",
        Namespace(&["list-scaling-policies"]),
    ),
    r(
        "GET",
        "/v1/scaling/policy/{id}",
        Namespace(&["read-scaling-policy"]),
    ),
    // Deployments, evaluations, allocations, services.
    r("GET", "/v1/deployments", READ_JOB),
    r("GET", "/v1/deployment/{id}", READ_JOB),
    r("GET", "/v1/deployment/allocations/{id}", READ_JOB),
    r("POST PUT", "/v1/deployment/fail/{id}", SUBMIT_JOB),
    r("POST PUT", "/v1/deployment/pause/{id}", SUBMIT_JOB),
    r("POST PUT", "/v1/deployment/promote/{id}", SUBMIT_JOB),
    r("POST PUT", "/v1/deployment/unblock/{id}", SUBMIT_JOB),
    r("POST PUT", "/v1/deployment/allocation-health/{id}", SUBMIT_JOB),
    r("GET", "/v1/evaluations", READ_JOB),
    r("GET", "/v1/evaluation/{id}", READ_JOB),
    r("GET", "/v1/evaluation/{id}/allocations", READ_JOB),
    r("GET", "/v1/allocations", READ_JOB),
    r("GET", "/v1/allocation/{id}", READ_JOB),
    r("POST PUT", "/v1/allocation/{id}/stop", ALLOC_LIFECYCLE),
    r("GET", "/v1/services", READ_JOB),
    r("GET", "/v1/service/{name}", READ_JOB),
    // Nodes and the agent.
    r("GET", "/v1/nodes", Node(Read)),
    r("GET", "/v1/node/{id}", Node(Read)),
    r(
        "GET",
        "/v1/node/{id}/allocations",
        NodeAndNamespace(Read, "read-job"),
    ),
    r("POST PUT", "/v1/node/{id}/eligibility", Node(Write)),
    r("POST PUT", "/v1/node/{id}/drain", Node(Write)),
    r("POST PUT", "/v1/node/{id}/evaluate", Node(Write)),
    r("POST PUT", "/v1/node/{id}/purge", Node(Write)),
    r("GET", "/v1/agent/members", Node(Read)),
    r("GET", "/v1/agent/self", Agent(Read)),
    // Variables: the capability at the request's path.
    r("GET", "/v1/vars", Variables("list")),
    r("GET", "/v1/var/{*path}", Variables("read")),
    r("PUT", "/v1/var/{*path}", Variables("write")),
    r("DELETE", "/v1/var/{*path}", Variables("destroy")),
    // Stack state (this project's KV and leases): readable by job readers, written by
    // those who may submit jobs.
    r("GET", "/v1/deploy/kv", READ_JOB),
    r("GET", "/v1/deploy/kv/{*key}", READ_JOB),
    r("PUT DELETE", "/v1/deploy/kv/{*key}", SUBMIT_JOB),
    r("PUT", "/v1/deploy/lease", SUBMIT_JOB),
    r("PUT", "/v1/deploy/lease/{id}/renew", SUBMIT_JOB),
    r("DELETE", "/v1/deploy/lease/{id}", SUBMIT_JOB),
    // Operator and system.
    r("PUT", "/v1/system/gc", Management),
    r("PUT", "/v1/system/reconcile/summaries", Management),
    r("GET", "/v1/operator/raft/configuration", Operator(Read)),
    r("POST PUT DELETE", "/v1/operator/raft/peer", Operator(Write)),
    // Events, metrics, search. The event stream carries node events beside job ones: it asks
    // for both (stricter than Nomad's per-topic check, never looser).
    r("GET", "/v1/event/stream", NodeAndNamespace(Read, "read-job")),
    r("GET", "/v1/metrics", None),
    r("POST PUT", "/v1/search", READ_JOB),
    r("POST PUT", "/v1/search/fuzzy", READ_JOB),
    // The agent's own routes (http::agent_control); health is exempt, as Nomad's.
    r("GET", "/v1/agent/health", None),
    r("GET", "/v1/agent/servers", Agent(Read)),
    r("POST PUT", "/v1/agent/servers", Agent(Write)),
    r("POST PUT", "/v1/agent/join", Agent(Write)),
    r("POST PUT", "/v1/agent/force-leave", Agent(Write)),
    r("GET", "/v1/agent/monitor", Agent(Read)),
    // Regions and namespaces: reading needs a valid token, changing them a management one.
    r("GET", "/v1/regions", None),
    r("GET", "/v1/namespaces", Token),
    r("GET", "/v1/namespace/{name}", Token),
    r("POST PUT DELETE", "/v1/namespace/{name}", Management),
    r("POST PUT", "/v1/namespace", Management),
    r("GET", "/v1/operator/keyring/keys", Management),
    r("POST PUT", "/v1/operator/keyring/rotate", Management),
    // ACL objects.
    r("GET", "/v1/acl/policies", Management),
    r("GET POST PUT DELETE", "/v1/acl/policy/{name}", Management),
    r("GET", "/v1/acl/tokens", Management),
    r("POST PUT", "/v1/acl/token", Management),
    r("GET", "/v1/acl/token/self", Token),
    r("GET POST PUT DELETE", "/v1/acl/token/{accessor}", Management),
    // A client's own routes (served by the client, or proxied by a server to it).
    r("GET", "/v1/client/fs/logs/{alloc}", READ_LOGS),
    r("GET", "/v1/client/fs/ls/{alloc}", READ_FS),
    r("GET", "/v1/client/fs/stat/{alloc}", READ_FS),
    r("GET", "/v1/client/fs/cat/{alloc}", READ_FS),
    r("GET", "/v1/client/fs/readat/{alloc}", READ_FS),
    r("GET", "/v1/client/fs/stream/{alloc}", READ_FS),
    r("GET", "/v1/client/allocation/{id}/stats", READ_JOB),
    r("POST PUT", "/v1/client/allocation/{id}/signal", ALLOC_LIFECYCLE),
    r("POST PUT", "/v1/client/allocation/{id}/restart", ALLOC_LIFECYCLE),
    r("GET", "/v1/client/stats", Node(Read)),
    r("GET PUT", "/v1/client/allocation/{id}/gc", SUBMIT_JOB),
    r("GET PUT", "/v1/client/gc", Node(Write)),
];

/// The capability `method` on route pattern `path` needs; `None` for a route not in the table.
pub fn need_for(method: &str, path: &str) -> Option<Need> {
    ROUTES
        .iter()
        .find(|e| e.path == path && e.methods.split(' ').any(|m| m == method))
        .map(|e| e.need)
}

/// The table as Markdown, for docs/cluster-api.md (a test checks the doc holds it verbatim).
pub fn render_markdown() -> String {
    let mut out = String::from("| Method | Route | ACL required |\n|---|---|---|\n");
    for e in ROUTES {
        out.push_str(&format!(
            "| {} | `{}` | `{}` |\n",
            e.methods.replace(' ', ", "),
            e.path,
            e.need
        ));
    }
    out
}

#[cfg(test)]
#[path = "routes_tests.rs"]
pub(crate) mod tests;

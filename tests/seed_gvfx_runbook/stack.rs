//! The gvfx stack as the test applies it: the `-var` overrides for the local images, the data
//! directories, free ports and the secrets, and the runbook's phase order as edges.

use std::path::{Path, PathBuf};

use crate::apply_support::{free_port, repo_root};
use crate::cluster_harness::tls::Certs;

/// Every job of the stack, in the runbook's deploy order.
pub const JOBS: [&str; 8] = [
    "gvfx-postgres",
    "gvfx-objectstore",
    "gvfx-convex",
    "gvfx-rl-service",
    "gvfx-api",
    "gvfx-worker-egress-check",
    "gvfx-worker",
    "gvfx-bingx-full-backfill",
];

/// (dependent, what it waits for), from `examples/gvfx/stack.hcl`.
pub const EDGES: [(&str, &str); 9] = [
    ("gvfx-convex", "gvfx-postgres"),
    ("gvfx-convex", "gvfx-objectstore"),
    ("gvfx-rl-service", "gvfx-convex"),
    ("gvfx-api", "gvfx-rl-service"),
    ("gvfx-api", "gvfx-convex"),
    ("gvfx-worker-egress-check", "gvfx-api"),
    ("gvfx-worker-egress-check", "gvfx-rl-service"),
    ("gvfx-worker", "gvfx-worker-egress-check"),
    ("gvfx-bingx-full-backfill", "gvfx-worker"),
];

/// The critical path of the gates with each gate's least time: `healthy` waits the group's
/// `min_healthy_time` (10 s when the job has no update block), `complete` and `registered`
/// nothing beyond the task itself.
pub const CRITICAL_PATH: [(&str, u64); 6] = [
    ("gvfx-postgres", 10),
    ("gvfx-convex", 10),
    ("gvfx-rl-service", 15),
    ("gvfx-api", 15),
    ("gvfx-worker-egress-check", 0),
    ("gvfx-worker", 20),
];

/// The API token of the first apply.
pub const FIRST_TOKEN: &str = "tok-first-21b9";

/// The backend image build.sh builds broken: its `bun` exits 3.
pub const BROKEN_IMAGE: &str = "gvfx-backend-broken:local";

/// The second revision's overrides: a rotated API token (the secrets variable) and another
/// tailscale host name (a new version of the egress check, the worker and the backfill).
pub fn second() -> Vec<String> {
    vec![
        "api_token=tok-rotated-7f3a".to_owned(),
        "ts_hostname=gvfx-worker-b".to_owned(),
    ]
}

/// The database the apps use: the one PostgreSQL's first start creates (`POSTGRES_DB` of the
/// secrets variable). The seed's `bootstrap-app-db` task cannot create `tv_goldviewfx`: its
/// heredoc's `\\\"` reaches psql as `\"` (HCL reads heredocs without escapes, as Nomad does).
pub const APP_DB: &str = "convex";

/// The seed's ports the test keeps: `api_port` names the API's port in one job file and the
/// object store's in another, so one `-var` cannot move both apart.
pub const API_PORT: u16 = 8787;
pub const OBJECTSTORE_PORT: u16 = 9000;

pub fn stack_dir() -> PathBuf {
    repo_root().join("examples/gvfx")
}

/// The overrides for one run.
pub struct Vars {
    pub list: Vec<String>,
    pub data: PathBuf,
}

impl Vars {
    pub fn new(dir: &Path, bridge: &str) -> Self {
        let data = dir.join("volumes");
        for d in ["postgres", "objectstore", "convex"] {
            std::fs::create_dir_all(data.join(d)).expect("volume dir");
        }
        let postgres_port = free_port();
        let image = |name: &str| format!("gvfx-{name}:local");
        let mut list = vec![
            format!("postgres_image={}", image("postgres")),
            format!("backend_image={}", image("backend")),
            format!("rl_service_image={}", image("rl-service")),
            format!("objectstore_image={}", image("objectstore")),
            format!("mc_image={}", image("objectstore")),
            format!("convex_image={}", image("convex")),
            format!("tailscale_image={}", image("tailscale")),
            format!("postgres_data_dir={}", data.join("postgres").display()),
            format!("objectstore_data_dir={}", data.join("objectstore").display()),
            format!("convex_data_dir={}", data.join("convex").display()),
            format!("postgres_port={postgres_port}"),
            format!("rl_service_port={}", free_port()),
            format!("convex_port={}", free_port()),
            format!("convex_site_proxy_port={}", free_port()),
            format!("console_port={}", free_port()),
            format!("metrics_port={}", free_port()),
            // Only the forced run: no scheduled child during the test.
            "backfill_cron=0 0 1 1 *".to_owned(),
            format!("api_token={FIRST_TOKEN}"),
            "postgres_password=pg-5ecret-1".to_owned(),
            "minio_root_password=minio-5ecret-1".to_owned(),
        ];
        list.push(format!(
            "timescale_url=postgres://convex:pg-5ecret-1@{bridge}:{postgres_port}/{APP_DB}"
        ));
        Vars { list, data }
    }

    /// `cmd` with `-state STATE` and every override, then `extra` overrides (later wins).
    pub fn args<'a>(&'a self, cmd: &[&'a str], state: &'a str, extra: &'a [String]) -> Vec<&'a str> {
        let mut a: Vec<&str> = cmd.to_vec();
        a.extend(["-state", state]);
        for v in self.list.iter().chain(extra) {
            a.extend(["-var", v.as_str()]);
        }
        a
    }
}

/// A copy of the example's HCL files in `dir` whose `stack` block names the cluster through
/// `backend "nomad"`: its HTTPS address, the ACL token, the CA and the CLI certificate.
pub fn with_nomad_backend(dir: &Path, address: &str, token: &str, certs: &Certs) -> PathBuf {
    let copy = dir.join("gvfx");
    std::fs::create_dir_all(&copy).expect("stack copy");
    for entry in std::fs::read_dir(stack_dir()).expect("examples/gvfx") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "hcl") {
            std::fs::copy(&path, copy.join(path.file_name().unwrap())).expect("copy");
        }
    }
    let (cert, key) = certs.pair("cli");
    let block = format!(
        "  name = \"gvfx\"\n\n  backend \"nomad\" {{\n    address     = \"{address}\"\n    token       = \"{token}\"\n    \
         ca_cert     = {:?}\n    client_cert = {cert:?}\n    client_key  = {key:?}\n  }}\n",
        certs.ca()
    );
    let stack_hcl = copy.join("stack.hcl");
    let text = std::fs::read_to_string(&stack_hcl).expect("stack.hcl");
    assert!(text.contains("  name = \"gvfx\"\n"), "stack.hcl names the stack");
    std::fs::write(&stack_hcl, text.replacen("  name = \"gvfx\"\n", &block, 1)).expect("stack.hcl");
    copy
}

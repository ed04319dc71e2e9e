//! The runbook's machines on one host: three servers and four client agents tagged as the
//! runbook's nodes, each with the docker driver allowed the grants the jobs ask for
//! (`NET_ADMIN`, `NET_RAW`, host volumes) and listening on Docker's bridge address, so the
//! ports the jobs publish there are reachable from other containers as from the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::apply_support::{Deploy, bin, free_port, wait_until};
use crate::observe::get_json;

/// One of the runbook's machines: its node name and `meta`.
pub struct Machine {
    pub name: &'static str,
    pub meta: &'static [&'static str],
}

/// The runbook's "Required Nomad Client Metadata", with the roles of its `node meta apply`.
pub const MACHINES: [Machine; 4] = [
    Machine {
        name: "optiplex",
        meta: &["stateful=true", "egress_worker=true", "role=primary"],
    },
    Machine {
        name: "epyc",
        meta: &[
            "gpu=true",
            "rl_tier=primary",
            "egress_worker=true",
            "stateful=true",
            "role=standby",
        ],
    },
    Machine {
        name: "macmini",
        meta: &[
            "gpu=true",
            "rl_tier=secondary",
            "egress_worker=true",
            "role=standby",
        ],
    },
    Machine {
        name: "witness",
        meta: &["role=witness"],
    },
];

/// The docker plugin's settings the jobs need, and room for the RL service's 32 GiB.
const CLIENT_HCL: &str = r#"
client {
  cpu_total_compute = 20000
  memory_total_mb   = 65536
}
plugin "docker" {
  config {
    allow_caps = ["audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod",
                  "net_bind_service", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot",
                  "net_admin", "net_raw"]
    volumes {
      enabled = true
    }
  }
}
"#;

/// A running client agent.
pub struct Client {
    pub name: &'static str,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Client {
    /// Starts the client of machine `m`, listening on `bind`, under TLS with ACLs on
    /// (`tls_config`: the agent configuration holding its `tls {}` block).
    pub fn start(dir: &Path, m: &Machine, bind: &str, servers: &[String], tls_config: &Path) -> Self {
        let data = dir.join(m.name);
        std::fs::create_dir_all(&data).expect("client data dir");
        let config = data.join("client.hcl");
        std::fs::write(&config, CLIENT_HCL).expect("client config");
        let log = data.join("agent.log");
        let port = free_port().to_string();
        let mut cmd = Command::new(bin());
        cmd.args(["agent", "--client", "--bind", bind, "--http-port", &port])
            .args(["--node", m.name, "--data-dir"])
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .arg("--config")
            .arg(tls_config)
            .arg("--acl-enabled");
        for s in servers {
            cmd.args(["--servers", s]);
        }
        for kv in m.meta {
            cmd.args(["--meta", kv]);
        }
        let child = cmd
            .env("DEPLOY_LOG", "info,openraft=error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("client log"))
            .spawn()
            .expect("starting a client agent");
        Client {
            name: m.name,
            child: Some(child),
            log,
        }
    }

    /// Kills the agent at once, as a machine that loses power.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Docker's default bridge's address on the host (`docker0`): the host as containers see it.
pub fn docker_bridge_ip() -> Option<String> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "docker0"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let cidr = text.split_whitespace().skip_while(|w| *w != "inet").nth(1)?;
    cidr.split('/').next().map(str::to_owned)
}

/// Waits until `n` nodes are ready; node name → node ID.
pub fn wait_ready(address: &str, n: usize) -> std::collections::BTreeMap<String, String> {
    wait_until(Duration::from_secs(120), "the client nodes ready", || {
        let nodes = get_json(address, "/v1/nodes")?;
        let ready: std::collections::BTreeMap<String, String> = nodes
            .as_array()?
            .iter()
            .filter(|n| n["Status"] == "ready")
            .map(|n| {
                (
                    n["Name"].as_str().unwrap_or_default().to_owned(),
                    n["ID"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        (ready.len() >= n).then_some(ready)
    })
}

/// Containers of the stack's jobs, found by the label every task container carries.
pub fn gvfx_containers(alloc: Option<&str>) -> Vec<String> {
    let filter = match alloc {
        Some(a) => format!("label=com.hashicorp.nomad.alloc_id={a}"),
        None => "label=com.hashicorp.nomad.job_name".to_owned(),
    };
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "{{.ID}} {{.Label \"com.hashicorp.nomad.job_name\"}}",
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, job)| job.starts_with("gvfx-"))
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// Removes containers by ID.
pub fn remove_containers(ids: &[String]) {
    if !ids.is_empty() {
        let _ = Command::new("docker")
            .args(["rm", "-f"])
            .args(ids)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Removes the stack's containers however the test ends (agents killed leave them behind).
pub struct ContainerReaper;

impl Drop for ContainerReaper {
    fn drop(&mut self) {
        remove_containers(&gvfx_containers(None));
    }
}

/// `deploy acl bootstrap` on the cluster at `address` (retried until it has a leader), then a
/// management token made with the bootstrap token (`deploy acl token create`): its secret.
pub fn acl_token(cli: &Deploy, address: &str) -> String {
    let json = |out: Output| {
        out.status
            .success()
            .then(|| serde_json::from_slice::<Value>(&out.stdout).ok())
            .flatten()
    };
    let boot = wait_until(Duration::from_secs(60), "the ACL bootstrap", || {
        json(cli.run(&["acl", "bootstrap", "--address", address, "--json"]))
    });
    let boot = boot["SecretID"].as_str().expect("the bootstrap token");
    let out = cli.run(&[
        "acl",
        "token",
        "create",
        "--type",
        "management",
        "--name",
        "gvfx-stack",
        "--address",
        address,
        "--token",
        boot,
        "--json",
    ]);
    let made = json(out).expect("deploy acl token create");
    made["SecretID"].as_str().expect("the token's secret").to_owned()
}

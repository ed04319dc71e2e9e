//! The docker driver against the local engine: an image built here `FROM scratch` with a
//! static binary runs as a task, passes its check, and its container carries the sandbox
//! (no-new-privileges, all capabilities dropped but Nomad's default set, memory limit, not
//! privileged).
//! Without a Docker engine it skips, saying why, unless `CI=true`, where it fails.

mod client_harness;

use std::process::Command;
use std::time::Duration;

use client_harness::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// Builds `deploy-client-test:<tag>` from a static server binary; the reason when impossible.
fn build_image(dir: &std::path::Path) -> Result<String, String> {
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output();
    match ok {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Err(format!(
                "no Docker engine: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Err(e) => return Err(format!("no docker CLI: {e}")),
    }
    let ctx = dir.join("image");
    std::fs::create_dir_all(&ctx).map_err(|e| e.to_string())?;
    build_server(&ctx)?;
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY server /server\nENTRYPOINT [\"/server\"]\n",
    )
    .map_err(|e| e.to_string())?;
    let tag = format!("deploy-client-test:{}", &uuid::Uuid::new_v4().to_string()[..8]);
    let out = Command::new("docker")
        .args(["build", "-q", "-t", &tag])
        .arg(&ctx)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "docker build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(tag)
}

fn inspect(name: &str) -> Option<Value> {
    let out = Command::new("docker").args(["inspect", name]).output().ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v.as_array()?.first().cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_task_runs_sandboxed_from_a_local_scratch_image() {
    let dir = tempfile::tempdir().unwrap();
    let image = match build_image(dir.path()) {
        Ok(t) => t,
        Err(reason) => return skip(&reason),
    };
    let http = http();
    let agent = Agent::start(
        BIN,
        dir.path().join("dev"),
        &["--dev", "--node", "dock", "--heartbeat-ttl", "3s"],
    );
    let nodes = wait_nodes(&http, &agent, 1).await;
    let node = get_json(&http, &agent.url(&format!("/v1/node/{}", nodes[0].1)))
        .await
        .unwrap();
    assert_eq!(node["Drivers"]["docker"]["Detected"], true, "{node:#}");
    let job = |id: &str, privileged: bool| {
        json!({
            "ID": id, "Type": "service", "Datacenters": ["dc1"],
            "TaskGroups": [{
                "Name": "web",
                "Networks": [{"DynamicPorts": [{"Label": "http", "To": 8080}]}],
                "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
                "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
                "Update": {"MaxParallel": 1, "HealthCheck": "checks", "MinHealthyTime": secs(0.5), "HealthyDeadline": secs(20.0)},
                "Services": [{"Name": format!("{id}-svc"), "PortLabel": "http", "Provider": "nomad",
                              "Checks": [{"Type": "http", "Path": "/", "Interval": secs(0.3), "Timeout": secs(1.0)}]}],
                "Tasks": [{
                    "Name": "server", "Driver": "docker",
                    "Config": {"image": image, "args": ["8080"], "ports": ["http"], "labels": {"team": "infra"}, "privileged": privileged},
                    "Resources": {"CPU": 200, "MemoryMB": 64},
                    "Env": {"GREETING": "hi-${NOMAD_ALLOC_INDEX}"},
                }],
            }],
        })
    };
    register_job(&http, &agent, &job("dock", false)).await;
    register_job(&http, &agent, &job("dock-priv", true)).await;

    let healthy = |a: &Value| a["ClientStatus"] == "running" && a["DeploymentStatus"]["Healthy"] == true;
    let a = wait_job_alloc(&http, &agent, "dock", Duration::from_secs(60), healthy).await;
    let id = a["ID"].as_str().unwrap().to_owned();
    let port = alloc_port(&a, "http");
    let body = http
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "ok\n");
    let c = inspect(&format!("server-{id}")).expect("container exists");
    let hc = &c["HostConfig"];
    assert_eq!(hc["SecurityOpt"], json!(["no-new-privileges"]), "{hc:#}");
    assert_eq!(hc["CapDrop"], json!(["ALL"]));
    assert!(
        hc["CapAdd"].as_array().is_some_and(|caps| caps.len() == 13
            && caps.iter().any(|c| c == "FOWNER")
            && !caps.iter().any(|c| c == "SYS_ADMIN" || c == "NET_RAW")),
        "{hc:#}"
    );
    assert_eq!(hc["Privileged"], false);
    assert_eq!(hc["Memory"], 64 * 1024 * 1024);
    assert_eq!(hc["CpuShares"], 200);
    assert_eq!(hc["PidsLimit"], 4096);
    assert_eq!(c["Config"]["Labels"]["team"], "infra");
    assert_eq!(c["Config"]["Labels"]["com.hashicorp.nomad.alloc_id"], json!(id));
    let env: Vec<String> = serde_json::from_value(c["Config"]["Env"].clone()).unwrap_or_default();
    assert!(
        env.contains(&"GREETING=hi-0".to_owned()) && env.contains(&"NOMAD_ALLOC_DIR=/alloc".to_owned()),
        "{env:?}"
    );
    let logs = http
        .get(agent.url(&format!(
            "/v1/client/fs/logs/{id}?task=server&type=stdout&plain=true"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(logs.contains("listening on 8080"), "{logs:?}");

    let d = wait_job_alloc(&http, &agent, "dock-priv", Duration::from_secs(30), |a| {
        a["ClientStatus"] == "failed"
    })
    .await;
    assert!(
        d["TaskStates"]["server"]["Events"]
            .to_string()
            .contains("privileged containers are not allowed"),
        "{d:#}"
    );

    stop_job(&http, &agent, "dock").await;
    wait_alloc(&http, &agent, &id, Duration::from_secs(30), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    assert!(
        inspect(&format!("server-{id}")).is_none(),
        "the container is removed when the allocation stops"
    );
    let _ = Command::new("docker").args(["rmi", "-f", &image]).output();
}

//! The client's own safety against real agents running as root: task names and template
//! destinations that would leave the allocation directory, the `exec` chroot (as `nobody`,
//! host files unreadable, the host untouched), the docker plugin policy (capabilities, devices,
//! host binds, each refused with the client setting named until the client allows it) and
//! artifacts that are hostile archives or too large, served by a local HTTP server.
//!
//! Needs root, gcc (static binaries) and, for the docker case, a Docker engine: without them a
//! test skips, saying why, unless `CI=true`, where it fails.

mod client_harness;

use std::path::{Path, PathBuf};
use std::time::Duration;

use client_harness::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// A dev agent named `name`, with an agent configuration file when `config` is given.
fn dev_agent(dir: &Path, name: &str, config: Option<&str>) -> Agent {
    let file = dir.join(format!("{name}.hcl"));
    let file = file.display().to_string();
    let mut args = vec!["--dev", "--node", name, "--heartbeat-ttl", "3s"];
    if let Some(text) = config {
        std::fs::write(&file, text).unwrap();
        args.extend(["--config", file.as_str()]);
    }
    Agent::start(BIN, dir.join(name), &args)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn unique() -> String {
    uuid::Uuid::new_v4().to_string()[..8].to_owned()
}

/// A batch job of one group with `tasks`, never restarted or rescheduled.
fn batch(id: &str, tasks: Value) -> Value {
    json!({"ID": id, "Type": "batch", "Datacenters": ["dc1"], "TaskGroups": [{"Name": "g",
        "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
        "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
        "Tasks": tasks}]})
}

fn sh(name: &str, driver: &str, script: &str) -> Value {
    json!({"Name": name, "Driver": driver, "Resources": {"CPU": 100, "MemoryMB": 64},
           "Config": {"command": "/bin/sh", "args": ["-c", script]}})
}

/// Waits until the job's allocation is complete or failed; returns it.
async fn finished(http: &reqwest::Client, agent: &Agent, job: &str) -> Value {
    wait_job_alloc(http, agent, job, Duration::from_secs(60), |a| {
        a["ClientStatus"] == "complete" || a["ClientStatus"] == "failed"
    })
    .await
}

fn events(a: &Value, task: &str) -> String {
    a["TaskStates"][task]["Events"].to_string()
}

/// The task's log, waiting up to 10 s for it to be non-empty (a container's log is followed
/// after it started, and a short task may be done first).
async fn logs(http: &reqwest::Client, agent: &Agent, a: &Value, task: &str, kind: &str) -> String {
    let id = a["ID"].as_str().unwrap_or_default();
    let url = agent.url(&format!(
        "/v1/client/fs/logs/{id}?task={task}&type={kind}&plain=true"
    ));
    let read = || async {
        let text = http.get(&url).send().await.ok()?.text().await.ok()?;
        (!text.is_empty()).then_some(text)
    };
    wait_for(Duration::from_secs(10), read).await.unwrap_or_default()
}

/// Registers `job`; false when the servers refuse it (they validate task names too).
async fn try_register(http: &reqwest::Client, agent: &Agent, job: &Value) -> bool {
    let r = http
        .put(agent.url("/v1/jobs"))
        .json(&json!({ "Job": job }))
        .send()
        .await
        .unwrap();
    r.status().is_success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_names_and_template_symlinks_never_write_outside_the_alloc_dir() {
    if !is_root() {
        return skip("the client's sandbox tests need root");
    }
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = dev_agent(dir.path(), "paths", None);
    wait_nodes(&http, &agent, 1).await;
    let u = unique();
    let outside = dir.path().join(format!("outside-{u}"));
    let absolute = format!("{}/escaped-task", outside.display());
    let etc_before: Vec<bool> = ["local", "secrets", "tmp"]
        .iter()
        .map(|d| Path::new("/etc").join(d).exists())
        .collect();
    for (i, name) in [format!("../x-{u}"), "/etc".to_owned(), absolute.clone()]
        .iter()
        .enumerate()
    {
        let mut task = sh(name, "raw_exec", "true");
        task["Templates"] = json!([{"DestPath": "local/out.conf", "EmbeddedTmpl": "x"}]);
        let id = format!("badname-{i}");
        if try_register(&http, &agent, &batch(&id, json!([task]))).await {
            let a = finished(&http, &agent, &id).await;
            assert_eq!(a["ClientStatus"], "failed", "{a:#}");
            assert!(events(&a, name).contains("single path component"), "{a:#}");
        }
    }
    let allocs = agent.data_dir.join("client/allocs");
    assert!(
        !allocs.join(format!("x-{u}")).exists(),
        "../x made a directory beside the allocations"
    );
    assert!(
        !outside.exists(),
        "an absolute task name made {}",
        outside.display()
    );
    let etc_after: Vec<bool> = ["local", "secrets", "tmp"]
        .iter()
        .map(|d| Path::new("/etc").join(d).exists())
        .collect();
    assert_eq!(
        etc_before, etc_after,
        "a task named /etc made directories in /etc"
    );

    // A prestart task plants a symlink where the main task's template goes.
    let target = PathBuf::from(format!("/etc/deploy-sandbox-{u}.conf"));
    let mut plant = sh(
        "plant",
        "raw_exec",
        &format!("ln -s {} \"$NOMAD_ALLOC_DIR/app.conf\"", target.display()),
    );
    plant["Lifecycle"] = json!({"Hook": "prestart", "Sidecar": false});
    let mut app = sh("app", "raw_exec", "true");
    app["Templates"] = json!([{"DestPath": "alloc/app.conf", "EmbeddedTmpl": "written as root"}]);
    register_job(&http, &agent, &batch("symlinked", json!([plant, app]))).await;
    let a = finished(&http, &agent, "symlinked").await;
    assert_eq!(a["ClientStatus"], "failed", "{a:#}");
    let ev = events(&a, "app");
    assert!(ev.contains("symlink") && ev.contains("\\\"app\\\""), "{ev}");
    assert!(
        !target.exists(),
        "the template was written through the symlink to {}",
        target.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_runs_as_nobody_in_a_chroot_and_leaves_the_host_untouched() {
    if !is_root() {
        return skip("the exec driver needs root");
    }
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = dev_agent(dir.path(), "chroot", None);
    wait_nodes(&http, &agent, 1).await;
    let u = unique();
    let marker = PathBuf::from(format!("/host-marker-{u}"));
    let script = format!(
        "id; cat /etc/shadow; echo shadow=$?; touch {m}; echo touch=$?; touch /local/ok && echo local=ok; \
         ls /proc | grep -c '^[0-9]' | sed 's/^/procs=/'; echo pid=$$",
        m = marker.display()
    );
    register_job(
        &http,
        &agent,
        &batch("exec-probe", json!([sh("t", "exec", &script)])),
    )
    .await;
    let mut root_task = sh("t", "exec", "id");
    root_task["User"] = json!("root");
    register_job(&http, &agent, &batch("exec-root", json!([root_task]))).await;

    let a = finished(&http, &agent, "exec-probe").await;
    let out = logs(&http, &agent, &a, "t", "stdout").await;
    let err = logs(&http, &agent, &a, "t", "stderr").await;
    eprintln!("exec task stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(a["ClientStatus"], "complete", "{a:#}\n{out}\n{err}");
    assert!(out.contains("uid=65534"), "runs as nobody: {out}");
    assert!(out.contains("shadow=1"), "cannot read /etc/shadow: {out}");
    assert!(
        out.contains("touch=1") && !marker.exists(),
        "the host's / is untouched: {out}"
    );
    assert!(
        out.contains("local=ok"),
        "the task may write its own local/: {out}"
    );
    assert!(
        out.contains("pid=2"),
        "the task runs in its own PID namespace, under its init: {out}"
    );

    // A script check of an exec task runs in a sandbox like the task's: /local/ready exists
    // only in the chroot, and the check runs as nobody.
    let mut service = sh("t", "exec", "touch /local/ready; exec sleep 600");
    // Long enough that only the kill signal itself can stop it in time (a PID 1 would ignore it).
    service["KillTimeout"] = json!(secs(20.0));
    let checked = json!({"ID": "exec-scripted", "Type": "service", "Datacenters": ["dc1"], "TaskGroups": [{"Name": "g",
        "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
        "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
        "Update": {"MaxParallel": 1, "HealthCheck": "checks", "MinHealthyTime": secs(0.5), "HealthyDeadline": secs(30.0)},
        "Services": [{"Name": "exec-scripted", "Provider": "nomad", "TaskName": "t",
                      "Checks": [{"Name": "ready", "Type": "script", "Command": "/bin/sh", "TaskName": "t",
                                  "Args": ["-c", "test -f /local/ready && test \"$(id -u)\" = 65534"],
                                  "Interval": secs(0.3), "Timeout": secs(3.0)}]}],
        "Tasks": [service]}]});
    register_job(&http, &agent, &checked).await;
    let a = wait_job_alloc(&http, &agent, "exec-scripted", Duration::from_secs(60), |a| {
        a["DeploymentStatus"]["Healthy"].is_boolean()
    })
    .await;
    assert_eq!(
        a["DeploymentStatus"]["Healthy"], true,
        "the script check passed in the sandbox: {a:#}"
    );
    let stopping = std::time::Instant::now();
    stop_job(&http, &agent, "exec-scripted").await;
    let id = a["ID"].as_str().unwrap_or_default().to_owned();
    wait_alloc(&http, &agent, &id, Duration::from_secs(30), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "the kill signal stops an exec task without waiting for kill_timeout: {:?}",
        stopping.elapsed()
    );

    let r = finished(&http, &agent, "exec-root").await;
    assert_eq!(r["ClientStatus"], "failed", "{r:#}");
    assert!(events(&r, "t").contains("user.denylist"), "{r:#}");
}

/// A static program printing what a container was given: its effective capabilities, whether
/// `/dev/net/tun` is there and whether a host directory bound at `/host-etc` is readable; with
/// `wait` it runs until stopped.
const PROBE_C: &str = r#"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char line[256];
  if (argc > 1 && !strcmp(argv[1], "wait")) { for (;;) pause(); }
  FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f)) if (!strncmp(line, "CapEff:", 7)) printf("%s", line);
  printf("tun=%s\n", access("/dev/net/tun", F_OK) == 0 ? "yes" : "no");
  printf("host-etc=%s\n", access("/host-etc/hostname", R_OK) == 0 ? "yes" : "no");
  return 0;
}
"#;

fn build_probe_image(dir: &Path) -> Result<String, String> {
    let ok = std::process::Command::new("docker").args(["version"]).output();
    if !ok.is_ok_and(|o| o.status.success()) {
        return Err("no Docker engine answers".into());
    }
    let ctx = dir.join("probe-image");
    std::fs::create_dir_all(&ctx).map_err(|e| e.to_string())?;
    build_static(&ctx, "probe", PROBE_C)?;
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY probe /probe\nENTRYPOINT [\"/probe\"]\n",
    )
    .map_err(|e| e.to_string())?;
    let tag = format!("deploy-sandbox-probe:{}", unique());
    let out = std::process::Command::new("docker")
        .args(["build", "-q", "-t", &tag])
        .arg(&ctx)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("docker build: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(tag)
}

fn docker_task(image: &str, extra: Value) -> Value {
    let mut config = json!({"image": image});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        config[k] = v;
    }
    json!([{"Name": "t", "Driver": "docker", "Config": config, "Resources": {"CPU": 100, "MemoryMB": 32}}])
}

fn cap_eff(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no CapEff in {out:?}"))
}

const CAP_NET_ADMIN: u64 = 1 << 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_policy_refuses_caps_and_host_binds_until_the_client_allows_them() {
    let dir = tempfile::tempdir().unwrap();
    let image = match build_probe_image(dir.path()) {
        Ok(t) => t,
        Err(reason) => return skip(&reason),
    };
    let http = http();
    let closed = dev_agent(dir.path(), "closed", None);
    let open = dev_agent(
        dir.path(),
        "open",
        Some(
            r#"plugin "docker" {
                 config {
                   allow_caps = ["chown", "kill", "setuid", "setgid", "net_bind_service", "net_admin", "net_raw"]
                   volumes { enabled = true }
                 }
               }"#,
        ),
    );
    wait_nodes(&http, &closed, 1).await;
    wait_nodes(&http, &open, 1).await;
    let tun = json!({"devices": [{"host_path": "/dev/net/tun", "container_path": "/dev/net/tun"}]});
    let jobs = [
        ("caps", json!({"cap_add": ["NET_ADMIN"]})),
        ("bind", json!({"volumes": ["/etc:/host-etc:ro"]})),
        ("tun", tun),
    ];
    for agent in [&closed, &open] {
        for (id, extra) in &jobs {
            register_job(&http, agent, &batch(id, docker_task(&image, extra.clone()))).await;
        }
    }
    let scripted = json!({"ID": "scripted", "Type": "service", "Datacenters": ["dc1"], "TaskGroups": [{"Name": "g",
        "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
        "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
        "Update": {"MaxParallel": 1, "HealthCheck": "checks", "MinHealthyTime": secs(0.5), "HealthyDeadline": secs(30.0)},
        "Services": [{"Name": "scripted", "Provider": "nomad", "TaskName": "t",
                      "Checks": [{"Name": "probe", "Type": "script", "Command": "/probe", "TaskName": "t",
                                  "Interval": secs(0.3), "Timeout": secs(3.0)}]}],
        "Tasks": docker_task(&image, json!({"args": ["wait"]}))}]});
    register_job(&http, &closed, &scripted).await;

    let a = finished(&http, &closed, "caps").await;
    assert_eq!(a["ClientStatus"], "failed", "{a:#}");
    assert!(
        events(&a, "t").contains("NET_ADMIN") && events(&a, "t").contains("allow_caps"),
        "{a:#}"
    );
    let a = finished(&http, &closed, "bind").await;
    assert_eq!(a["ClientStatus"], "failed", "{a:#}");
    assert!(events(&a, "t").contains("volumes.enabled"), "{a:#}");
    let a = finished(&http, &closed, "tun").await;
    let out = logs(&http, &closed, &a, "t", "stdout").await;
    assert_eq!(a["ClientStatus"], "complete", "{a:#}");
    assert!(out.contains("tun=yes"), "the device reaches the container: {out}");
    assert_eq!(cap_eff(&out) & CAP_NET_ADMIN, 0, "{out}");

    // A script check runs inside the container: /probe exists there, not on the host.
    let a = wait_job_alloc(&http, &closed, "scripted", Duration::from_secs(60), |a| {
        a["DeploymentStatus"]["Healthy"].is_boolean()
    })
    .await;
    assert_eq!(
        a["DeploymentStatus"]["Healthy"], true,
        "the script check passed in the container: {a:#}"
    );
    stop_job(&http, &closed, "scripted").await;
    let id = a["ID"].as_str().unwrap_or_default().to_owned();
    wait_alloc(&http, &closed, &id, Duration::from_secs(30), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;

    let a = finished(&http, &open, "caps").await;
    let out = logs(&http, &open, &a, "t", "stdout").await;
    assert_eq!(a["ClientStatus"], "complete", "{a:#}");
    assert_ne!(
        cap_eff(&out) & CAP_NET_ADMIN,
        0,
        "NET_ADMIN is effective once allowed: {out}"
    );
    let a = finished(&http, &open, "bind").await;
    let out = logs(&http, &open, &a, "t", "stdout").await;
    assert_eq!(a["ClientStatus"], "complete", "{a:#}");
    assert!(out.contains("host-etc=yes"), "{out}");
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &image])
        .output();
}

/// A tar whose single entry is `name` with `mode`, written raw (tar writers refuse `..`).
fn tar_of(name: &str, mode: u32, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_cksum();
    b.append(&h, data).unwrap();
    b.into_inner().unwrap()
}

/// Serves `files` (path → body) over HTTP/1.0 on 127.0.0.1; returns the base URL.
async fn serve(files: Vec<(String, Vec<u8>)>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let files = files.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let body = files.iter().find(|(p, _)| *p == path).map(|(_, b)| b.clone());
                let (status, body) = body.map_or(("404 Not Found", Vec::new()), |b| ("200 OK", b));
                let head = format!("HTTP/1.0 {status}\r\nContent-Length: {}\r\n\r\n", body.len());
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(&body).await;
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_or_oversized_artifacts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let u = unique();
    let escaped = PathBuf::from(format!("/tmp/escaped-{u}"));
    let up = format!("../../../../../../../../../..{}", escaped.display());
    let base = serve(vec![
        ("/escape.tar".into(), tar_of(&up, 0o644, b"x")),
        ("/suid.tar".into(), tar_of("su", 0o4755, b"x")),
        ("/big.bin".into(), vec![0u8; 20_000]),
        ("/ok.tar".into(), tar_of("bin/app", 0o755, b"#!/bin/sh\n")),
    ])
    .await;
    let agent = dev_agent(
        dir.path(),
        "artifacts",
        Some("client {\n  artifact {\n    http_max_size = \"5KB\"\n  }\n}\n"),
    );
    wait_nodes(&http, &agent, 1).await;
    let cases = [
        ("escape", "leaves the destination"),
        ("suid", "setuid"),
        ("big", "http_max_size"),
        ("ok", ""),
    ];
    for (id, _) in &cases {
        let file = if *id == "big" {
            "big.bin".to_owned()
        } else {
            format!("{id}.tar")
        };
        let mut task = sh("t", "raw_exec", "test -x local/bin/app");
        task["Artifacts"] = json!([{"GetterSource": format!("{base}/{file}"), "RelativeDest": "local/"}]);
        register_job(&http, &agent, &batch(&format!("art-{id}"), json!([task]))).await;
    }
    for (id, why) in cases {
        let a = finished(&http, &agent, &format!("art-{id}")).await;
        if why.is_empty() {
            assert_eq!(a["ClientStatus"], "complete", "{a:#}");
            continue;
        }
        assert_eq!(a["ClientStatus"], "failed", "{id}: {a:#}");
        let ev = events(&a, "t");
        assert!(
            ev.contains("Failed Artifact Download") || ev.contains("artifact"),
            "{ev}"
        );
        assert!(ev.contains(why), "{id}: expected {why:?} in {ev}");
    }
    assert!(
        !escaped.exists(),
        "an archive entry escaped to {}",
        escaped.display()
    );
}

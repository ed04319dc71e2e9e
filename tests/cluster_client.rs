//! The client agent against real processes: raw_exec tasks with checks, restarts after
//! `kill -9`, batch exit codes, templates reading variables, allocation health, and a client
//! restart that re-attaches to its running task. Allocations are committed through the
//! servers' placement route (Raft), as the scheduler's plan applier will.

mod client_harness;

use std::time::Duration;

use client_harness::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

fn dev_agent(dir: &std::path::Path, name: &str) -> Agent {
    Agent::start(
        BIN,
        dir.join(name),
        &["--dev", "--node", name, "--heartbeat-ttl", "3s"],
    )
}

fn task_state<'a>(a: &'a Value, task: &str) -> &'a Value {
    &a["TaskStates"][task]
}

fn has_event(a: &Value, task: &str, kind: &str) -> bool {
    task_state(a, task)["Events"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["Type"] == kind))
}

fn web_job(id: &str, server: &std::path::Path, marker: &str, check_port_label: &str) -> Value {
    json!({
        "ID": id, "Name": id, "Type": "service", "Namespace": "default",
        "TaskGroups": [{
            "Name": "web", "Count": 1,
            "RestartPolicy": {"Attempts": 3, "Interval": secs(60.0), "Delay": secs(0.5), "Mode": "fail"},
            "Update": {"MaxParallel": 1, "HealthCheck": "checks", "MinHealthyTime": secs(0.5), "HealthyDeadline": secs(4.0)},
            "Services": [{
                "Name": format!("{id}-svc"), "PortLabel": check_port_label, "Provider": "nomad",
                "Checks": [{"Type": "http", "Path": "/", "Interval": secs(0.3), "Timeout": secs(1.0)}],
            }],
            "Tasks": [{
                "Name": "server", "Driver": "raw_exec",
                "Config": {"command": server.display().to_string(), "args": ["${NOMAD_PORT_http}", marker]},
                "KillTimeout": secs(2.0),
            }],
        }],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_exec_task_runs_passes_its_check_and_restarts_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server_bin = match build_server(dir.path()) {
        Ok(p) => p,
        Err(e) => return eprintln!("skipping: cannot build the test server ({e})"),
    };
    let http = http();
    let agent = dev_agent(dir.path(), "dev1");
    let nodes = wait_nodes(&http, &agent, 1).await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    let port = free_port();
    let job = web_job("web", &server_bin, &marker, "http");
    let a = alloc(&job, "web", 0, &nodes[0].1, &[("http", port)]);
    let id = a["ID"].as_str().unwrap().to_owned();
    place(&http, &agent, &[a], &[]).await;

    let healthy = |a: &Value| a["ClientStatus"] == "running" && a["DeploymentStatus"]["Healthy"] == true;
    let a = wait_alloc(&http, &agent, &id, Duration::from_secs(30), healthy).await;
    assert!(
        has_event(&a, "server", "Received") && has_event(&a, "server", "Started"),
        "{a:#}"
    );
    let body = http
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "ok\n");

    let services = get_json(&http, &agent.url("/v1/service/web-svc")).await.unwrap();
    assert_eq!(services.as_array().map(Vec::len), Some(1), "{services:#}");
    assert_eq!(services[0]["Port"], port);

    let logs_url = agent.url(&format!(
        "/v1/client/fs/logs/{id}?task=server&type=stdout&plain=true"
    ));
    let logs = http.get(&logs_url).send().await.unwrap().text().await.unwrap();
    assert!(logs.contains(&format!("listening on {port}")), "logs: {logs:?}");
    let stats = get_json(&http, &agent.url(&format!("/v1/client/allocation/{id}/stats")))
        .await
        .unwrap();
    assert!(
        stats["ResourceUsage"]["MemoryStats"]["RSS"].as_u64().unwrap_or(0) > 0,
        "{stats:#}"
    );

    let pids = pids_with(&marker);
    assert_eq!(pids.len(), 1, "one task process");
    // SAFETY: kill(2) of the task process this test started.
    unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) };
    let restarted =
        |a: &Value| task_state(a, "server")["Restarts"] == 1 && task_state(a, "server")["State"] == "running";
    let a = wait_alloc(&http, &agent, &id, Duration::from_secs(20), restarted).await;
    let terminated = task_state(&a, "server")["Events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Type"] == "Terminated")
        .cloned();
    assert_eq!(terminated.map(|e| e["Signal"].clone()), Some(json!(9)), "{a:#}");
    assert!(has_event(&a, "server", "Restarting"));
    let new_pids = wait_for(Duration::from_secs(5), || async {
        let p = pids_with(&marker);
        (p.len() == 1 && p != pids).then_some(p)
    })
    .await;
    assert!(new_pids.is_some(), "a new task process replaced the killed one");

    stop_alloc(&http, &agent, &id).await;
    let a = wait_alloc(&http, &agent, &id, Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    assert!(
        has_event(&a, "server", "Killing") && has_event(&a, "server", "Killed"),
        "{a:#}"
    );
    assert!(
        pids_with(&marker).is_empty(),
        "stopping the allocation ends its task"
    );
    let services = get_json(&http, &agent.url("/v1/service/web-svc")).await.unwrap();
    assert_eq!(
        services.as_array().map(Vec::len),
        Some(0),
        "services are deregistered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_task_exit_codes_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = dev_agent(dir.path(), "dev2");
    let nodes = wait_nodes(&http, &agent, 1).await;
    let job = |id: &str, code: i32| {
        json!({
            "ID": id, "Type": "batch",
            "TaskGroups": [{
                "Name": "run",
                "RestartPolicy": {"Attempts": 0, "Interval": secs(60.0), "Delay": secs(0.1), "Mode": "fail"},
                "Tasks": [{"Name": "job", "Driver": "raw_exec",
                           "Config": {"command": "/bin/sh", "args": ["-c", format!("echo out-$NOMAD_JOB_ID; exit {code}")]}}],
            }],
        })
    };
    let failing = alloc(&job("fails", 3), "run", 0, &nodes[0].1, &[]);
    let passing = alloc(&job("passes", 0), "run", 0, &nodes[0].1, &[]);
    let (fid, pid) = (
        failing["ID"].as_str().unwrap().to_owned(),
        passing["ID"].as_str().unwrap().to_owned(),
    );
    place(&http, &agent, &[failing, passing], &[]).await;

    let a = wait_alloc(&http, &agent, &fid, Duration::from_secs(20), |a| {
        a["ClientStatus"] == "failed"
    })
    .await;
    let t = task_state(&a, "job");
    assert_eq!(t["State"], "dead");
    assert_eq!(t["Failed"], true);
    let term = t["Events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Type"] == "Terminated")
        .cloned()
        .unwrap();
    assert_eq!(term["ExitCode"], 3, "{a:#}");
    assert!(has_event(&a, "job", "Not Restarting"));

    let a = wait_alloc(&http, &agent, &pid, Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    assert_eq!(task_state(&a, "job")["Failed"], false, "{a:#}");
    let logs = http
        .get(agent.url(&format!(
            "/v1/client/fs/logs/{pid}?task=job&type=stdout&plain=true"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(logs, "out-passes\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_reading_a_variable_re_renders_and_restarts_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let server_bin = match build_server(dir.path()) {
        Ok(p) => p,
        Err(e) => return eprintln!("skipping: cannot build the test server ({e})"),
    };
    let http = http();
    let agent = dev_agent(dir.path(), "dev3");
    let nodes = wait_nodes(&http, &agent, 1).await;
    let put_var = |greeting: &str| {
        http.put(agent.url("/v1/var/nomad/jobs/tmpl"))
            .json(&json!({"Items": {"greeting": greeting}}))
            .send()
    };
    assert!(put_var("hello").await.unwrap().status().is_success());
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    let script = format!(
        "cat local/app.conf; echo \" env=$GREETING node=$NODE_NAME\"; exec {} 0 {marker}",
        server_bin.display()
    );
    let job = json!({
        "ID": "tmpl", "Type": "service",
        "TaskGroups": [{
            "Name": "app",
            "RestartPolicy": {"Attempts": 3, "Interval": secs(60.0), "Delay": secs(0.2), "Mode": "fail"},
            "Tasks": [{
                "Name": "app", "Driver": "raw_exec",
                "Config": {"command": "/bin/sh", "args": ["-c", script]},
                "Env": {"NODE_NAME": "${node.unique.name}"},
                "Templates": [
                    {"EmbeddedTmpl": "greeting={{ with nomadVar \"nomad/jobs/tmpl\" }}{{ .greeting }}{{ end }}",
                     "DestPath": "local/app.conf", "ChangeMode": "restart", "Perms": "0600"},
                    {"EmbeddedTmpl": "GREETING={{ (nomadVar \"nomad/jobs/tmpl\").greeting | toUpper }}",
                     "DestPath": "secrets/app.env", "Envvars": true, "ChangeMode": "noop"},
                ],
            }],
        }],
    });
    let a = alloc(&job, "app", 0, &nodes[0].1, &[]);
    let id = a["ID"].as_str().unwrap().to_owned();
    place(&http, &agent, &[a], &[]).await;
    wait_alloc(&http, &agent, &id, Duration::from_secs(30), |a| {
        a["ClientStatus"] == "running"
    })
    .await;
    let logs_url = agent.url(&format!(
        "/v1/client/fs/logs/{id}?task=app&type=stdout&plain=true"
    ));
    let logs = wait_for(Duration::from_secs(10), || async {
        let l = http.get(&logs_url).send().await.ok()?.text().await.ok()?;
        l.contains("greeting=hello").then_some(l)
    })
    .await;
    assert!(
        logs.as_deref()
            .is_some_and(|l| l.starts_with("greeting=hello env=HELLO node=dev3\n")),
        "{logs:?}"
    );
    let conf = agent
        .data_dir
        .join("client/allocs")
        .join(&id)
        .join("app/local/app.conf");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o600
    );

    assert!(put_var("bonjour").await.unwrap().status().is_success());
    let restarted =
        |a: &Value| task_state(a, "app")["Restarts"] == 1 && task_state(a, "app")["State"] == "running";
    let a = wait_alloc(&http, &agent, &id, Duration::from_secs(20), restarted).await;
    assert!(has_event(&a, "app", "Restart Signaled"), "{a:#}");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), "greeting=bonjour");
    let logs = wait_for(Duration::from_secs(10), || async {
        let l = http.get(&logs_url).send().await.ok()?.text().await.ok()?;
        l.contains("greeting=bonjour").then_some(l)
    })
    .await;
    assert!(
        logs.as_deref()
            .is_some_and(|l| l.contains("greeting=bonjour env=BONJOUR node=dev3\n")),
        "{logs:?}"
    );
    assert_eq!(
        pids_with(&marker).len(),
        1,
        "the restart replaced the task, nothing runs twice"
    );
    stop_alloc(&http, &agent, &id).await;
    wait_alloc(&http, &agent, &id, Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    kill_marked(&marker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_check_makes_the_allocation_unhealthy_and_the_deployment_fail() {
    let dir = tempfile::tempdir().unwrap();
    let server_bin = match build_server(dir.path()) {
        Ok(p) => p,
        Err(e) => return eprintln!("skipping: cannot build the test server ({e})"),
    };
    let http = http();
    let agent = dev_agent(dir.path(), "dev4");
    let nodes = wait_nodes(&http, &agent, 1).await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    // The task listens on "http" but the service checks "admin", where nothing listens.
    let job = web_job("broken", &server_bin, &marker, "admin");
    let deployment_id = uuid::Uuid::new_v4().to_string();
    let mut a = alloc(
        &job,
        "web",
        0,
        &nodes[0].1,
        &[("http", free_port()), ("admin", free_port())],
    );
    a["DeploymentID"] = json!(deployment_id);
    let id = a["ID"].as_str().unwrap().to_owned();
    let deployment = json!({
        "ID": deployment_id, "Namespace": "default", "JobID": "broken", "Status": "running",
        "TaskGroups": {"web": {"DesiredTotal": 1, "HealthyAllocs": 0, "UnhealthyAllocs": 0}},
    });
    place(&http, &agent, &[a], &[deployment]).await;
    let a = wait_alloc(&http, &agent, &id, Duration::from_secs(30), |a| {
        a["DeploymentStatus"]["Healthy"] == false
    })
    .await;
    assert_eq!(a["ClientStatus"], "running", "the task itself runs: {a:#}");
    let d = get_json(&http, &agent.url(&format!("/v1/deployment/{deployment_id}")))
        .await
        .unwrap();
    assert_eq!(d["Status"], "failed", "{d:#}");
    assert_eq!(d["TaskGroups"]["web"]["UnhealthyAllocs"], 1);
    stop_alloc(&http, &agent, &id).await;
    wait_alloc(&http, &agent, &id, Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    kill_marked(&marker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_client_reattaches_to_its_running_task() {
    let dir = tempfile::tempdir().unwrap();
    let server_bin = match build_server(dir.path()) {
        Ok(p) => p,
        Err(e) => return eprintln!("skipping: cannot build the test server ({e})"),
    };
    let http = http();
    let mut agent = dev_agent(dir.path(), "dev5");
    let nodes = wait_nodes(&http, &agent, 1).await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    let port = free_port();
    let job = web_job("sticky", &server_bin, &marker, "http");
    let a = alloc(&job, "web", 0, &nodes[0].1, &[("http", port)]);
    let id = a["ID"].as_str().unwrap().to_owned();
    place(&http, &agent, &[a], &[]).await;
    wait_alloc(&http, &agent, &id, Duration::from_secs(30), |a| {
        a["ClientStatus"] == "running"
    })
    .await;
    let before = pids_with(&marker);
    assert_eq!(before.len(), 1);

    agent.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pids_with(&marker), before, "the task outlives its client");
    agent.spawn();
    wait_nodes(&http, &agent, 1).await;
    let a = wait_alloc(&http, &agent, &id, Duration::from_secs(30), |a| {
        has_event(a, "server", "Task Restored")
    })
    .await;
    assert_eq!(a["ClientStatus"], "running", "{a:#}");
    assert_eq!(task_state(&a, "server")["Restarts"], 0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pids_with(&marker), before, "re-attached, not started again");
    let body = http
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "ok\n");

    stop_alloc(&http, &agent, &id).await;
    wait_alloc(&http, &agent, &id, Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    assert!(
        pids_with(&marker).is_empty(),
        "a re-attached task can still be stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_exec_is_refused_unless_enabled_and_exec_runs_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let server = Agent::start(
        BIN,
        dir.path().join("s"),
        &["--server", "--bootstrap-expect", "1", "--heartbeat-ttl", "3s"],
    );
    let client = Agent::start(
        BIN,
        dir.path().join("c"),
        &["--client", "--node", "plain", "--servers", &server.addr],
    );
    let nodes = wait_nodes(&http, &server, 1).await;
    let node = get_json(&http, &server.url(&format!("/v1/node/{}", nodes[0].1)))
        .await
        .unwrap();
    assert_eq!(node["Drivers"]["raw_exec"]["Detected"], false, "{node:#}");
    assert_eq!(node["Attributes"]["kernel.name"], "linux");
    assert!(
        node["Attributes"]["unique.hostname"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );
    let job = |driver: &str| {
        json!({"ID": format!("j-{driver}"), "Type": "batch", "TaskGroups": [{"Name": "g",
            "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
            "Tasks": [{"Name": "t", "Driver": driver, "Resources": {"CPU": 100, "MemoryMB": 64},
                       "Config": {"command": "/bin/sh", "args": ["-c", "cat /proc/self/cgroup; ps -o pgid= -p $$; echo sid=$(ps -o sid= -p $$)"]}}]}]})
    };
    let raw = alloc(&job("raw_exec"), "g", 0, &nodes[0].1, &[]);
    let exec = alloc(&job("exec"), "g", 0, &nodes[0].1, &[]);
    let (rid, eid) = (
        raw["ID"].as_str().unwrap().to_owned(),
        exec["ID"].as_str().unwrap().to_owned(),
    );
    place(&http, &server, &[raw, exec], &[]).await;
    let a = wait_alloc(&http, &server, &rid, Duration::from_secs(20), |a| {
        a["ClientStatus"] == "failed"
    })
    .await;
    assert!(has_event(&a, "t", "Driver Failure"), "{a:#}");
    wait_alloc(&http, &server, &eid, Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    let logs = http
        .get(client.url(&format!("/v1/client/fs/logs/{eid}?task=t&type=stdout&plain=true")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    eprintln!("exec task view:\n{logs}");
    assert!(
        logs.contains(&format!("deploy/{eid}.t")),
        "the exec task ran in its own cgroup: {logs}"
    );
}

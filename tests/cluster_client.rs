//! The client agent against real processes: raw_exec tasks with checks, restarts after
//! `kill -9`, batch exit codes, templates reading variables, allocation health and the
//! deployment it decides, and a client restart that re-attaches to its running task. Jobs are
//! registered through `/v1/jobs`; the servers' scheduler places them on the client.

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

fn id_of(a: &Value) -> String {
    a["ID"].as_str().unwrap_or_default().to_owned()
}

/// A service job running the test server on port `http`, checked on `check_port_label`.
fn web_job(id: &str, server: &std::path::Path, marker: &str, check_port_label: &str) -> Value {
    json!({
        "ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "web", "Count": 1,
            "Networks": [{"DynamicPorts": [{"Label": "http"}, {"Label": "admin"}]}],
            "RestartPolicy": {"Attempts": 3, "Interval": secs(60.0), "Delay": secs(0.5), "Mode": "fail"},
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
            "Update": {"MaxParallel": 1, "HealthCheck": "checks", "MinHealthyTime": secs(0.5),
                       "HealthyDeadline": secs(4.0), "ProgressDeadline": secs(30.0)},
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

async fn deployment_of(http: &reqwest::Client, agent: &Agent, job: &str, status: &str) -> Value {
    let url = agent.url(&format!("/v1/job/{job}/deployment"));
    wait_for(Duration::from_secs(30), || async {
        let d = get_json(http, &url).await?;
        (d["Status"] == status).then_some(d)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "deployment of {job} did not become {status}; log:\n{}",
            agent.log()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_exec_task_runs_passes_its_check_and_restarts_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server_bin = match build_server(dir.path()) {
        Ok(p) => p,
        Err(e) => return skip(&format!("cannot build the test server ({e})")),
    };
    let http = http();
    let agent = dev_agent(dir.path(), "dev1");
    wait_nodes(&http, &agent, 1).await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    register_job(&http, &agent, &web_job("web", &server_bin, &marker, "http")).await;

    let healthy = |a: &Value| a["ClientStatus"] == "running" && a["DeploymentStatus"]["Healthy"] == true;
    let a = wait_job_alloc(&http, &agent, "web", Duration::from_secs(30), healthy).await;
    let id = id_of(&a);
    assert!(
        has_event(&a, "server", "Received") && has_event(&a, "server", "Started"),
        "{a:#}"
    );
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
    let d = deployment_of(&http, &agent, "web", "successful").await;
    assert_eq!(d["TaskGroups"]["web"]["HealthyAllocs"], 1, "{d:#}");
    let versions = get_json(&http, &agent.url("/v1/job/web")).await.unwrap();
    assert_eq!(
        versions["Stable"], true,
        "a successful deployment marks the version stable"
    );

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

    stop_job(&http, &agent, "web").await;
    let a = wait_alloc(&http, &agent, &id, Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    assert!(
        has_event(&a, "server", "Killing") && has_event(&a, "server", "Killed"),
        "{a:#}"
    );
    assert!(pids_with(&marker).is_empty(), "stopping the job ends its task");
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
    wait_nodes(&http, &agent, 1).await;
    let job = |id: &str, code: i32| {
        json!({
            "ID": id, "Type": "batch", "Datacenters": ["dc1"],
            "TaskGroups": [{
                "Name": "run",
                "RestartPolicy": {"Attempts": 0, "Interval": secs(60.0), "Delay": secs(0.1), "Mode": "fail"},
                "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
                "Tasks": [{"Name": "job", "Driver": "raw_exec",
                           "Config": {"command": "/bin/sh", "args": ["-c", format!("echo out-$NOMAD_JOB_ID; exit {code}")]}}],
            }],
        })
    };
    register_job(&http, &agent, &job("fails", 3)).await;
    register_job(&http, &agent, &job("passes", 0)).await;

    let a = wait_job_alloc(&http, &agent, "fails", Duration::from_secs(20), |a| {
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

    let a = wait_job_alloc(&http, &agent, "passes", Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    assert_eq!(task_state(&a, "job")["Failed"], false, "{a:#}");
    let logs = http
        .get(agent.url(&format!(
            "/v1/client/fs/logs/{}?task=job&type=stdout&plain=true",
            id_of(&a)
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(logs, "out-passes\n");
    let done = wait_for(Duration::from_secs(10), || async {
        let j = get_json(&http, &agent.url("/v1/job/passes")).await?;
        (j["Status"] == "dead").then_some(j)
    })
    .await;
    assert!(done.is_some(), "a finished batch job is dead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_reading_a_variable_re_renders_and_restarts_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let server_bin = match build_server(dir.path()) {
        Ok(p) => p,
        Err(e) => return skip(&format!("cannot build the test server ({e})")),
    };
    let http = http();
    let agent = dev_agent(dir.path(), "dev3");
    wait_nodes(&http, &agent, 1).await;
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
        "ID": "tmpl", "Type": "service", "Datacenters": ["dc1"],
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
    register_job(&http, &agent, &job).await;
    let a = wait_job_alloc(&http, &agent, "tmpl", Duration::from_secs(30), |a| {
        a["ClientStatus"] == "running"
    })
    .await;
    let id = id_of(&a);
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
    stop_job(&http, &agent, "tmpl").await;
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
        Err(e) => return skip(&format!("cannot build the test server ({e})")),
    };
    let http = http();
    let agent = dev_agent(dir.path(), "dev4");
    wait_nodes(&http, &agent, 1).await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    // The task listens on "http" but the service checks "admin", where nothing listens.
    register_job(&http, &agent, &web_job("broken", &server_bin, &marker, "admin")).await;
    let a = wait_job_alloc(&http, &agent, "broken", Duration::from_secs(30), |a| {
        a["DeploymentStatus"]["Healthy"] == false
    })
    .await;
    assert_eq!(a["ClientStatus"], "running", "the task itself runs: {a:#}");
    let d = deployment_of(&http, &agent, "broken", "failed").await;
    assert_eq!(d["ID"], a["DeploymentID"], "{d:#}");
    assert_eq!(d["TaskGroups"]["web"]["UnhealthyAllocs"], 1, "{d:#}");
    assert_eq!(d["StatusDescription"], "Failed due to unhealthy allocations");
    stop_job(&http, &agent, "broken").await;
    wait_alloc(&http, &agent, &id_of(&a), Duration::from_secs(20), |a| {
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
        Err(e) => return skip(&format!("cannot build the test server ({e})")),
    };
    let http = http();
    let mut agent = dev_agent(dir.path(), "dev5");
    wait_nodes(&http, &agent, 1).await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    register_job(&http, &agent, &web_job("sticky", &server_bin, &marker, "http")).await;
    let a = wait_job_alloc(&http, &agent, "sticky", Duration::from_secs(30), |a| {
        a["ClientStatus"] == "running"
    })
    .await;
    let (id, port) = (id_of(&a), alloc_port(&a, "http"));
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
    assert_eq!(
        job_allocs(&http, &agent, "sticky").await.len(),
        1,
        "the restart did not lead to a replacement"
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

    stop_job(&http, &agent, "sticky").await;
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
        &["--client", "--node", "plain", "--servers", &server.rpc_addr],
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
        json!({"ID": format!("j-{driver}"), "Type": "batch", "Datacenters": ["dc1"], "TaskGroups": [{"Name": "g",
            "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
            "Tasks": [{"Name": "t", "Driver": driver, "Resources": {"CPU": 100, "MemoryMB": 64},
                       "Config": {"command": "/bin/sh", "args": ["-c", "cat /proc/self/cgroup; ps -o pgid= -p $$; echo sid=$(ps -o sid= -p $$)"]}}]}]})
    };
    let raw_eval = register_job(&http, &server, &job("raw_exec")).await;
    register_job(&http, &server, &job("exec")).await;
    let eval = wait_for(Duration::from_secs(20), || async {
        let e = get_json(&http, &server.url(&format!("/v1/evaluation/{raw_eval}"))).await?;
        (e["Status"] == "complete").then_some(e)
    })
    .await
    .expect("the raw_exec evaluation completes");
    assert!(
        eval["FailedTGAllocs"]["g"]["ConstraintFiltered"]
            .to_string()
            .contains("missing drivers"),
        "raw_exec is not placed on a client that did not enable it: {eval:#}"
    );
    assert!(job_allocs(&http, &server, "j-raw_exec").await.is_empty());
    let a = wait_job_alloc(&http, &server, "j-exec", Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    let eid = id_of(&a);
    let path = format!("/v1/client/fs/logs/{eid}?task=t&type=stdout&plain=true");
    let logs = http
        .get(client.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The server-only agent forwards to the client that ran the allocation.
    let through_server = http.get(server.url(&path)).send().await.unwrap();
    assert_eq!(through_server.status(), 200);
    assert_eq!(through_server.text().await.unwrap(), logs);
    eprintln!("exec task view:\n{logs}");
    assert!(
        logs.contains(&format!("deploy/{eid}.t")),
        "the exec task ran in its own cgroup: {logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deployment_with_auto_revert_goes_back_to_the_stable_version() {
    let dir = tempfile::tempdir().unwrap();
    let server_bin = match build_server(dir.path()) {
        Ok(p) => p,
        Err(e) => return skip(&format!("cannot build the test server ({e})")),
    };
    let http = http();
    let agent = dev_agent(dir.path(), "dev6");
    wait_nodes(&http, &agent, 1).await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    let good = web_job("rev", &server_bin, &marker, "http");
    register_job(&http, &agent, &good).await;
    deployment_of(&http, &agent, "rev", "successful").await;

    let mut bad = web_job("rev", &server_bin, &marker, "admin");
    bad["TaskGroups"][0]["Update"]["AutoRevert"] = json!(true);
    // A task change, so the update replaces the allocation (destructive).
    bad["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"RELEASE": "2"});
    register_job(&http, &agent, &bad).await;
    let failed = wait_for(Duration::from_secs(30), || async {
        let ds = get_json(&http, &agent.url("/v1/job/rev/deployments")).await?;
        ds.as_array()?
            .iter()
            .find(|d| d["JobVersion"] == 1 && d["Status"] == "failed")
            .cloned()
    })
    .await
    .unwrap_or_else(|| panic!("the deployment of version 1 fails; log:\n{}", agent.log()));
    assert_eq!(
        failed["StatusDescription"],
        "Failed due to unhealthy allocations - rolling back to job version 0"
    );
    let job = wait_for(Duration::from_secs(10), || async {
        let j = get_json(&http, &agent.url("/v1/job/rev")).await?;
        (j["Version"] == 2).then_some(j)
    })
    .await
    .expect("the job is reverted as version 2");
    assert_eq!(job["TaskGroups"][0]["Services"][0]["PortLabel"], "http");
    let a = wait_job_alloc(&http, &agent, "rev", Duration::from_secs(30), |a| {
        a["JobVersion"] == 2 && a["DeploymentStatus"]["Healthy"] == true
    })
    .await;
    assert_eq!(a["ClientStatus"], "running");
    stop_job(&http, &agent, "rev").await;
    wait_alloc(&http, &agent, &id_of(&a), Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    kill_marked(&marker);
}

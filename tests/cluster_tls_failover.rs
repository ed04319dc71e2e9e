//! Leader failover under mutual TLS: three servers under `tls { http = true, rpc = true,
//! verify_server_hostname = true, verify_https_client = true }`; the leader is killed and a
//! write through a surviving server must wait for the new election and succeed, as it does on a
//! plain cluster, and be readable afterwards. The servers that survive must still run: with
//! SIGPIPE at its default action, the survivors' TLS writes to the dead leader killed them and
//! the cluster lost its quorum (`500 No cluster leader`, or a reset connection).

mod cluster_harness;

use std::time::Duration;

use cluster_harness::Cluster;
use cluster_harness::tls::Certs;

fn bin() -> String {
    env!("CARGO_BIN_EXE_deploy").to_owned()
}

/// The state letter of process `pid` in `/proc/PID/stat` (`-` if it cannot be read).
fn state_of(pid: u32) -> char {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit(')').next().and_then(|r| r.trim().chars().next()))
        .unwrap_or('-')
}

/// Each agent's process state (`/proc/PID/stat`'s state letter: `Z` has exited).
fn processes(c: &Cluster) -> String {
    c.agents
        .iter()
        .enumerate()
        .map(|(i, a)| format!("agent {i} at {}: {:?}", a.addr, a.pid().map(state_of)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Kills the leader of `c`, writes through a survivor and reads the write back from every
/// survivor.
async fn write_through_a_survivor_after_killing_the_leader(c: &mut Cluster, round: usize) {
    let leader = c.wait_for_leader(Duration::from_secs(30)).await;
    let survivor = c.other_than(leader);
    c.register(survivor, &format!("warm-{round}"), "1")
        .await
        .expect("write before failover");
    c.agents[leader].kill();
    let id = format!("after-failover-{round}");
    let index = c.register(survivor, &id, "2").await.unwrap_or_else(|e| {
        panic!(
            "round {round}: write through a survivor after the leader died: {e}\n{}",
            processes(c)
        )
    });
    assert!(index > 0);
    for i in (0..c.agents.len()).filter(|i| c.agents[*i].running()) {
        let (status, job) = c.get(i, &format!("/v1/job/{id}")).await;
        assert_eq!(status, 200, "round {round}: reading {id} from server {i}: {job}");
        assert_eq!(job["ID"], id.as_str());
    }
    // The survivors still run: writing to the dead leader's connections must not end them.
    for (i, a) in c.agents.iter().enumerate().filter(|(i, _)| *i != leader) {
        let exited = a.pid().is_none_or(|pid| state_of(pid) == 'Z');
        assert!(
            !exited,
            "round {round}: server {i} exited after the leader was killed\n{}",
            processes(c)
        );
    }
    c.agents[leader].spawn();
    c.wait_for_http(leader, Duration::from_secs(30)).await;
}

#[test]
fn a_write_through_a_survivor_succeeds_after_the_tls_leader_is_killed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::create(&bin(), dir.path());
    // Default Raft timing, as the failover benchmark runs it.
    let mut cluster = rt.block_on(Cluster::start_tls_with_multiplier(&bin(), 3, 1, &certs));
    for round in 0..3 {
        rt.block_on(write_through_a_survivor_after_killing_the_leader(
            &mut cluster,
            round,
        ));
    }
}

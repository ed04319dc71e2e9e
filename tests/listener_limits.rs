//! The agent's listeners under abuse, with a real agent process: 1,500 slowloris connections
//! (one byte every 5 s) are closed by the header timeout while a normal client still gets
//! answers; connections beyond `limits { http_max_conns_per_client }` are closed at once; a
//! 300 MB body to an API route and to an RPC route is refused without the agent's memory
//! growing by it.

mod cluster_harness;

use std::time::{Duration, Instant};

use cluster_harness::Cluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// One server with the `limits {}` block `limits`.
async fn server_with_limits(dir: &std::path::Path, limits: &str) -> Cluster {
    let config = dir.join("limits.hcl");
    std::fs::write(&config, format!("limits {{\n{limits}\n}}\n")).unwrap();
    Cluster::start_with_args(BIN, 1, 1, &["--config", config.to_str().unwrap()]).await
}

/// Raises this process's open-file limit to its hard limit (1,500 sockets need it).
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write and read the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A slowloris connection: one byte of a request head every 5 s until the server closes it;
/// when it did, counted from `start`.
async fn slowloris(addr: String, start: Instant) -> Option<Duration> {
    let mut s = TcpStream::connect(&addr).await.ok()?;
    let head = b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut buf = [0u8; 512];
    for i in 0.. {
        let byte = [*head.get(i).unwrap_or(&b'a')];
        if s.write_all(&byte).await.is_err() {
            return Some(start.elapsed());
        }
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {} // a 408 before the close
            Err(_) => {}
        }
        if start.elapsed() > Duration::from_secs(60) {
            return None;
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_by_the_header_timeout_while_others_get_answers() {
    raise_fd_limit();
    let dir = tempfile::tempdir().unwrap();
    let c = server_with_limits(dir.path(), "http_max_conns_per_client = 0\nhttp_max_conns = 0").await;
    let start = Instant::now();
    let conns: Vec<_> = (0..1500)
        .map(|_| tokio::spawn(slowloris(c.agents[0].addr.clone(), start)))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // A normal client, during the siege.
    let fresh = reqwest::Client::new();
    for _ in 0..5 {
        let resp = fresh
            .get(c.agents[0].url("/v1/status/leader"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("answered during the siege");
        assert!(resp.status().is_success());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut closed = Vec::new();
    for t in conns {
        closed.push(t.await.unwrap().expect("a slowloris connection was never closed"));
    }
    let last = closed.iter().max().unwrap();
    // The header timeout is 10 s; a close is seen at the next 5 s write at the latest.
    assert!(*last < Duration::from_secs(30), "last closed after {last:?}");
    assert!(
        closed.iter().all(|d| *d >= Duration::from_secs(8)),
        "closed before the timeout"
    );
}

/// Whether the server closed `s` within 500 ms of it being opened.
async fn closed_at_once(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_per_client_limit_are_closed_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = server_with_limits(dir.path(), "http_max_conns_per_client = 8").await;
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..20 {
        let mut s = TcpStream::connect(&c.agents[0].addr).await.unwrap();
        match closed_at_once(&mut s).await {
            true => refused += 1,
            false => held.push(s),
        }
    }
    // The harness's own pooled connections may hold a place or two.
    assert!((6..=8).contains(&held.len()), "held {}", held.len());
    assert_eq!(refused, 20 - held.len());
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = reqwest::Client::new()
        .get(c.agents[0].url("/v1/status/leader"))
        .send()
        .await
        .expect("answered once places are free");
    assert!(resp.status().is_success());
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Sends a request head announcing `len` bytes, then zeros until the server stops taking
/// them; the bytes sent and the status line, if one came.
async fn send_huge(addr: &str, head: &str, len: usize) -> (usize, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head =
        format!("{head}Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 1 << 20];
    let mut sent = 0;
    while sent < len {
        match tokio::time::timeout(Duration::from_secs(5), s.write_all(&chunk)).await {
            Ok(Ok(())) => sent += chunk.len(),
            _ => break,
        }
    }
    let mut answer = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut answer))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0);
    let line = String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    (sent, line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_mb_body_is_refused_on_the_api_and_rpc_listeners_without_memory_growth() {
    let dir = tempfile::tempdir().unwrap();
    let c = server_with_limits(dir.path(), "http_max_conns_per_client = 100").await;
    let pid = c.agents[0].pid().unwrap();
    let before = rss_kib(pid);
    const LEN: usize = 300 << 20;
    let (api_sent, api_line) = send_huge(&c.agents[0].addr, "PUT /v1/jobs HTTP/1.1\r\n", LEN).await;
    let (rpc_sent, rpc_line) = send_huge(
        &c.agents[0].rpc_addr,
        "POST /v1/internal/cluster/write HTTP/1.1\r\n",
        LEN,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid);
    eprintln!(
        "API: sent {api_sent} bytes, {api_line:?}; RPC: sent {rpc_sent} bytes, {rpc_line:?}; RSS {before} -> {after} KiB"
    );
    assert!(api_sent < LEN && rpc_sent < LEN, "a listener read the whole body");
    assert!(
        api_line.is_empty() || api_line.contains(" 413 ") || api_line.contains(" 400 "),
        "{api_line}"
    );
    assert!(rpc_line.is_empty() || rpc_line.contains(" 401 "), "{rpc_line}");
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
    let (status, _) = c.get(0, "/v1/status/leader").await;
    assert_eq!(status, 200, "the agent still answers");
}

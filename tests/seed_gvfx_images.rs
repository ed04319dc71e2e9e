//! The gvfx example's images, built FROM scratch by `examples/gvfx/images/build.sh` and run
//! with the real Docker engine the way the stack's jobs run them: PostgreSQL initialises an
//! empty host volume and keeps its data when its container is replaced; the backfill's rows
//! and the worker's heartbeats land in it and the API answers from it; the tailscaled
//! stand-in refuses to start without `NET_ADMIN`, `NET_RAW` and `/dev/net/tun`.
//!
//! Needs docker (a running engine), gcc with a static libc, busybox-static and Debian's
//! `postgresql` package; a missing one skips the test with the reason (fails it when CI=true).

mod seed_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const TAG: &str = "local";
const DB: &str = "tv_goldviewfx";

/// Removes the test's containers and network, however the test ends.
struct Cleanup {
    prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in ["pg", "api", "worker", "ts"] {
            let _ = docker(&["rm", "-f", &format!("{}-{c}", self.prefix)]);
        }
        let _ = docker(&["network", "rm", &self.prefix]);
    }
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("running docker")
}

/// `docker ARGS` that must succeed: its stdout.
fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Polls `probe` every 500 ms until it returns `Some`, for at most `secs` seconds.
fn wait_for<T>(what: &str, secs: u64, mut probe: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `SQL` through psql inside the PostgreSQL container (local socket), when it succeeds.
fn sql(pg: &str, query: &str) -> Option<String> {
    let out = docker(&["exec", pg, "psql", "-U", "gvfx", "-d", DB, "-qtAc", query]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `GET path` on 127.0.0.1:port: the status code and body.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").trim().to_owned();
    Some((code, body))
}

/// Starts the PostgreSQL image on `volume` as the job does (PGDATA beneath the mount).
fn start_postgres(prefix: &str, volume: &str) -> String {
    let name = format!("{prefix}-pg");
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        prefix,
        "-v",
        &format!("{volume}:/var/lib/postgresql/data"),
        "-e",
        "PGDATA=/var/lib/postgresql/data/pgdata",
        "-e",
        "POSTGRES_USER=gvfx",
        "-e",
        "POSTGRES_PASSWORD=s3cret",
        "-e",
        &format!("POSTGRES_DB={DB}"),
        &format!("gvfx-postgres:{TAG}"),
    ]);
    wait_for("PostgreSQL to accept queries", 120, || sql(&name, "SELECT 1"));
    name
}

fn images_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/gvfx/images")
}

#[test]
fn gvfx_images_run_the_data_plane_and_its_clients() {
    if !seed_support::tools_present(
        "gvfx_images_run_the_data_plane_and_its_clients",
        &[
            ("no running Docker engine", &["docker", "info"]),
            ("no static busybox at /bin/busybox", &["/bin/busybox", "true"]),
            ("no gcc", &["gcc", "--version"]),
            (
                "no PostgreSQL server package",
                &["test", "-d", "/usr/lib/postgresql"],
            ),
        ],
    ) {
        return;
    }
    let build = Command::new("sh")
        .arg(images_dir().join("build.sh"))
        .arg(TAG)
        .output()
        .expect("running build.sh");
    assert!(
        build.status.success(),
        "build.sh failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let prefix = format!("gvfx-images-{}", std::process::id());
    let _cleanup = Cleanup {
        prefix: prefix.clone(),
    };
    docker_ok(&["network", "create", &prefix]);
    let volume = tempfile::tempdir().expect("volume dir");
    let volume = volume.path().to_str().expect("utf-8 path").to_owned();
    let pg = start_postgres(&prefix, &volume);
    assert_eq!(sql(&pg, "SELECT current_user").as_deref(), Some("gvfx"));
    let uid = docker_ok(&[
        "exec",
        &pg,
        "sh",
        "-c",
        "ps -o user,args | grep -m1 '[p]ostgres -D'",
    ]);
    assert!(uid.starts_with("postgres"), "server not run as postgres: {uid}");

    let url = format!("TIMESCALE_URL=postgres://gvfx:s3cret@{pg}:5432/{DB}");
    let backend = format!("gvfx-backend:{TAG}");
    let api = format!("{prefix}-api");
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &api,
        "--network",
        &prefix,
        "-p",
        "127.0.0.1::8787",
        "-e",
        &url,
        "-e",
        "PORT=8787",
        &backend,
        "bun",
        "run",
        "src/api/server.ts",
    ]);
    let worker = format!("{prefix}-worker");
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &worker,
        "--network",
        &prefix,
        "-e",
        &url,
        &backend,
        "bun",
        "run",
        "src/jobs/worker.ts",
    ]);
    let backfill = docker_ok(&[
        "run",
        "--rm",
        "--network",
        &prefix,
        "-e",
        &url,
        "-e",
        "BINGX_MARKET_DATA_PAIRS=XAUTUSDT,PAXGUSDT",
        &backend,
        "bun",
        "run",
        "scripts/bingx-full-backfill.ts",
    ]);
    assert!(backfill.contains("20 candles"), "backfill said: {backfill}");
    assert_eq!(
        sql(&pg, "SELECT count(*) FROM market_candles").as_deref(),
        Some("20")
    );
    wait_for("worker heartbeats", 60, || {
        sql(&pg, "SELECT count(*) > 0 FROM worker_heartbeats").filter(|v| v == "t")
    });

    let mapped = docker_ok(&["port", &api, "8787/tcp"]);
    let port: u16 = mapped
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no mapped API port in {mapped:?}"));
    wait_for("the API's /health", 60, || {
        http_get(port, "/health").filter(|(c, _)| *c == 200)
    });
    wait_for("the gaps health to count the backfill", 60, || {
        http_get(port, "/ops/gaps/health").filter(|(c, b)| *c == 200 && b.contains("\"candles\":20"))
    });
    let (code, alerts) = http_get(port, "/ops/alerts").expect("GET /ops/alerts");
    assert_eq!(code, 200, "/ops/alerts: {alerts}");

    // A new container on the same host volume finds the data (no second initdb).
    docker_ok(&["rm", "-f", &pg]);
    let pg = start_postgres(&prefix, &volume);
    assert_eq!(
        sql(&pg, "SELECT count(*) FROM market_candles").as_deref(),
        Some("20")
    );
    let logs = docker_ok(&["logs", &pg]);
    assert!(!logs.contains("initialised"), "initdb ran again: {logs}");

    tailscale_needs_its_capabilities(&prefix);
}

/// The tailscaled stand-in exits 1 without `NET_ADMIN` and comes up with the job's grants.
fn tailscale_needs_its_capabilities(prefix: &str) {
    let image = format!("gvfx-tailscale:{TAG}");
    let cmd = "mkdir -p /alloc/tailscale && exec tailscaled --socket=/alloc/tailscale/tailscaled.sock";
    let bare = docker(&["run", "--rm", &image, "sh", "-ec", cmd]);
    assert!(!bare.status.success(), "tailscaled started without NET_ADMIN");
    assert!(String::from_utf8_lossy(&bare.stderr).contains("NET_ADMIN"));
    let ts = format!("{prefix}-ts");
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &ts,
        "--cap-add",
        "NET_ADMIN",
        "--cap-add",
        "NET_RAW",
        "--device",
        "/dev/net/tun",
        &image,
        "sh",
        "-ec",
        cmd,
    ]);
    wait_for("tailscaled to come up", 30, || {
        docker_ok(&["logs", &ts]).contains("tailscaled: up").then_some(())
    });
}

//! Clients that record a history: concurrent workers reading and check-and-set writing Nomad
//! variables and registering jobs through any server, each operation with monotonic call and
//! return times and an outcome (ok, refused, or unknown when it timed out or a server failed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::checker::{Kind, Op, Reg};
use super::schedule::Rng;

/// Timeout of one client request; past it the outcome is unknown.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// What the workers recorded.
#[derive(Default)]
pub struct History {
    /// Register operations by variable path.
    pub ops: BTreeMap<String, Vec<Op>>,
    /// Jobs whose registration was acknowledged.
    pub acked_jobs: BTreeSet<String>,
    /// Job registrations with an unknown outcome.
    pub unknown_jobs: usize,
}

/// Counts of outcomes, for the report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Acknowledged reads and writes.
    pub ok: usize,
    /// Refused CAS writes.
    pub refused: usize,
    /// Outcome unknown.
    pub unknown: usize,
}

impl History {
    /// Outcome counts over every key.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for op in self.ops.values().flatten() {
            match (&op.kind, op.complete) {
                (_, None) => c.unknown += 1,
                (Kind::CasFail { .. }, _) => c.refused += 1,
                _ => c.ok += 1,
            }
        }
        c
    }
}

/// Shared recorder: one clock, unique written values and job IDs.
pub struct Recorder {
    start: Instant,
    next_value: AtomicU64,
    history: Mutex<History>,
    /// Server HTTP addresses (`host:port`).
    pub servers: Vec<String>,
    /// HTTP client of every worker.
    pub http: reqwest::Client,
    /// Prefix of the job IDs this run registers.
    pub job_prefix: String,
    /// Reads with `?stale` (served from any server's local state): only to show that the
    /// checker catches stale reads in a real run (`DEPLOY_JEPSEN_STALE_READS=1`).
    pub stale_reads: bool,
}

fn parse_var(v: &Value) -> Option<Reg> {
    let index = v["ModifyIndex"].as_u64()?;
    let value = v["Items"]["v"].as_str()?.parse().ok()?;
    (index > 0).then_some((value, index))
}

impl Recorder {
    /// A recorder for clients of `servers`.
    pub fn new(servers: Vec<String>, job_prefix: &str) -> Arc<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_millis(500))
            .build()
            .expect("HTTP client");
        Arc::new(Recorder {
            start: Instant::now(),
            next_value: AtomicU64::new(1),
            history: Mutex::new(History::default()),
            servers,
            http,
            job_prefix: job_prefix.to_owned(),
            stale_reads: std::env::var_os("DEPLOY_JEPSEN_STALE_READS").is_some(),
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn record(&self, key: &str, op: Op) {
        let mut h = self.history.lock().unwrap();
        h.ops.entry(key.to_owned()).or_default().push(op);
    }

    /// Reads `key` through server `via` (a consistent read); the register if it answered.
    pub async fn read(&self, process: usize, via: usize, key: &str) -> Option<Option<Reg>> {
        let invoke = self.now();
        let stale = if self.stale_reads { "?stale" } else { "" };
        let url = format!("http://{}/v1/var/{key}{stale}", self.servers[via]);
        let resp = self.http.get(url).send().await.ok()?;
        let seen = match resp.status().as_u16() {
            200 => Some(parse_var(&resp.json::<Value>().await.ok()?)?),
            404 => None,
            _ => return None,
        };
        let complete = Some(self.now());
        self.record(
            key,
            Op {
                process,
                invoke,
                complete,
                kind: Kind::Read(seen),
            },
        );
        Some(seen)
    }

    /// Writes a fresh value to `key` through `via` if its index is `cas`; the new register,
    /// or the current one after a conflict, when known.
    pub async fn cas(&self, process: usize, via: usize, key: &str, cas: u64) -> Option<Option<Reg>> {
        let value = self.next_value.fetch_add(1, Ordering::Relaxed);
        let invoke = self.now();
        let url = format!("http://{}/v1/var/{key}?cas={cas}", self.servers[via]);
        let body = json!({"Items": {"v": value.to_string()}});
        let answer = match self.http.put(url).json(&body).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.json::<Value>().await.ok();
                (status, body)
            }
            Err(_) => (0, None),
        };
        let complete = self.now();
        let (op, result) = match answer {
            (200, Some(b)) if parse_var(&b).is_some_and(|(v, _)| v == value) => {
                let reg = parse_var(&b);
                let index = reg.map(|(_, i)| i);
                (
                    Op {
                        process,
                        invoke,
                        complete: Some(complete),
                        kind: Kind::Write { value, cas, index },
                    },
                    Some(reg),
                )
            }
            (409, Some(b)) => {
                let current = parse_var(&b);
                (
                    Op {
                        process,
                        invoke,
                        complete: Some(complete),
                        kind: Kind::CasFail { value, cas, current },
                    },
                    Some(current),
                )
            }
            (400..=499, _) if answer.0 != 409 => return None,
            _ => (
                Op {
                    process,
                    invoke,
                    complete: None,
                    kind: Kind::Write {
                        value,
                        cas,
                        index: None,
                    },
                },
                None,
            ),
        };
        self.record(key, op);
        result
    }

    /// Registers a new job through `via`.
    pub async fn register(&self, via: usize) {
        let n = self.next_value.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}{n}", self.job_prefix);
        let job = json!({"Job": {
            "ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"],
            "TaskGroups": [{"Name": "web", "Count": 1, "Tasks": [{"Name": "app", "Driver": "docker", "Config": {"image": "nginx:1"}}]}],
        }});
        let url = format!("http://{}/v1/jobs", self.servers[via]);
        let status = self
            .http
            .put(url)
            .json(&job)
            .send()
            .await
            .map(|r| r.status().as_u16());
        let mut h = self.history.lock().unwrap();
        match status {
            Ok(200) => {
                h.acked_jobs.insert(id);
            }
            Ok(400..=499) => {}
            _ => h.unknown_jobs += 1,
        }
    }

    /// The history recorded so far (the workers must have stopped).
    pub fn take(&self) -> History {
        std::mem::take(&mut self.history.lock().unwrap())
    }
}

/// One worker: random reads, CAS writes and job registrations on `keys` through random
/// servers until `until`.
pub async fn worker(rec: Arc<Recorder>, process: usize, keys: Vec<String>, seed: u64, until: Instant) {
    let mut rng = Rng::new(seed);
    let mut known: BTreeMap<String, u64> = BTreeMap::new();
    while Instant::now() < until {
        let key = &keys[rng.below(keys.len() as u64) as usize];
        let via = rng.below(rec.servers.len() as u64) as usize;
        let roll = rng.below(100);
        if roll < 8 {
            rec.register(via).await;
        } else if roll < 50 || !known.contains_key(key) {
            if let Some(seen) = rec.read(process, via, key).await {
                known.insert(key.clone(), seen.map_or(0, |(_, i)| i));
            }
        } else if let Some(seen) = rec.cas(process, via, key, known[key]).await {
            known.insert(key.clone(), seen.map_or(0, |(_, i)| i));
        } else {
            known.remove(key);
        }
        tokio::time::sleep(Duration::from_millis(rng.below(20))).await;
    }
}

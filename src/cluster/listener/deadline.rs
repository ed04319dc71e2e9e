//! How long a request may take to be answered (its response head; a streamed body such as a
//! followed log is not cut). A blocking query (`?index=` or `?wait=`) may wait its wait time,
//! capped as Nomad caps it at 10 minutes, plus a margin; anything else gets the listener's
//! request timeout. Raft snapshots, whose bodies can be large, get the longest.

use std::time::Duration;

use crate::cluster::http::query::{DEFAULT_WAIT, MAX_WAIT, parse_duration};

/// Time a blocking query gets beyond its wait (the server's jitter of wait/16 fits in it).
const BLOCKING_MARGIN: Duration = Duration::from_secs(60);

/// Paths whose requests carry large bodies and may take as long as the longest wait.
const LONG_PATHS: &[&str] = &["/v1/internal/raft/snapshot", "/v1/operator/snapshot"];

/// The deadline of a request to `path` with query string `query`, given the listener's
/// `request_timeout` for ordinary requests.
pub fn for_request(path: &str, query: Option<&str>, request_timeout: Duration) -> Duration {
    if LONG_PATHS.contains(&path) {
        return MAX_WAIT + BLOCKING_MARGIN;
    }
    let mut blocking = false;
    let mut wait = DEFAULT_WAIT;
    for pair in query.unwrap_or("").split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "index" => blocking = true,
            "wait" => {
                blocking = true;
                wait = parse_duration(value).unwrap_or(DEFAULT_WAIT);
            }
            _ => {}
        }
    }
    match blocking {
        true => (wait.min(MAX_WAIT) + BLOCKING_MARGIN).max(request_timeout),
        false => request_timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(30);

    #[test]
    fn ordinary_requests_get_the_request_timeout() {
        assert_eq!(for_request("/v1/jobs", None, T), T);
        assert_eq!(for_request("/v1/jobs", Some("namespace=x&prefix=a"), T), T);
    }

    #[test]
    fn blocking_queries_may_wait_their_wait_capped_at_ten_minutes() {
        let m = BLOCKING_MARGIN;
        assert_eq!(
            for_request("/v1/jobs", Some("index=7&wait=90s"), T),
            Duration::from_secs(90) + m
        );
        assert_eq!(for_request("/v1/jobs", Some("index=7"), T), DEFAULT_WAIT + m);
        assert_eq!(for_request("/v1/jobs", Some("index=7&wait=2h"), T), MAX_WAIT + m);
        assert_eq!(
            for_request("/v1/jobs", Some("wait=1s"), T),
            T.max(Duration::from_secs(1) + m)
        );
    }

    #[test]
    fn snapshots_get_the_longest() {
        assert_eq!(
            for_request("/v1/internal/raft/snapshot", None, T),
            MAX_WAIT + BLOCKING_MARGIN
        );
    }
}

//! Nomad's event stream (`GET /v1/event/stream`) read as it arrives: one JSON object per line,
//! `{"Index":N,"Events":[...]}` per Raft index, `{}` as a heartbeat while the cluster is quiet.
//!
//! Only each event's head is decoded (topic, type, key, namespace, filter keys); the payload
//! is skipped, since a reader that needs the object reads it through the regular endpoints.

use serde::Deserialize;

use super::client::ByteStream;
use super::errors::ApiError;

/// One event, without its payload.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "PascalCase")]
pub struct EventHead {
    /// `Job`, `Evaluation`, `Allocation`, `Deployment`, `Node`, ...
    pub topic: String,
    /// What happened (`AllocationUpdated`, ...).
    pub r#type: String,
    /// The object's ID.
    pub key: String,
    /// The object's namespace.
    pub namespace: String,
    /// Other keys the event matches: for allocations, evaluations and deployments the job ID
    /// comes first, as Nomad writes them.
    pub filter_keys: Option<Vec<String>>,
    /// The Raft index that made the change.
    pub index: u64,
}

impl EventHead {
    /// The ID of the job the event is about, where it names one.
    pub fn job_id(&self) -> Option<&str> {
        match self.topic.as_str() {
            "Job" => Some(self.key.as_str()),
            "Allocation" | "Evaluation" | "Deployment" => self
                .filter_keys
                .as_ref()
                .and_then(|k| k.first())
                .map(String::as_str)
                .filter(|k| !k.is_empty()),
            _ => None,
        }
    }
}

/// The events of one Raft index (an empty batch with index 0 is a heartbeat).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "PascalCase")]
pub struct EventBatch {
    /// The Raft index.
    pub index: u64,
    /// Its events.
    pub events: Vec<EventHead>,
}

/// An open event stream.
#[derive(Debug)]
pub struct EventStream {
    body: ByteStream,
    /// Bytes received and not yet split into lines.
    pending: Vec<u8>,
}

impl EventStream {
    /// Reads the stream in `body`.
    pub fn new(body: ByteStream) -> Self {
        EventStream {
            body,
            pending: Vec::new(),
        }
    }

    /// The next batch (heartbeats included), or `None` when the server ended the stream.
    pub async fn next(&mut self) -> Result<Option<EventBatch>, ApiError> {
        loop {
            if let Some(line) = take_line(&mut self.pending) {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return decode(&line).map(Some);
            }
            match self.body.next_chunk().await? {
                Some(chunk) => self.pending.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }
}

/// Removes and returns the first complete line of `pending`, without its newline.
fn take_line(pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    let end = pending.iter().position(|&b| b == b'\n')?;
    let mut line: Vec<u8> = pending.drain(..=end).collect();
    line.pop();
    Some(line)
}

fn decode(line: &[u8]) -> Result<EventBatch, ApiError> {
    serde_json::from_slice(line).map_err(|e| ApiError::Decode {
        path: "/v1/event/stream".into(),
        message: e.to_string(),
        body: String::from_utf8_lossy(&line[..line.len().min(512)]).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_where_they_end_and_partial_ones_wait() {
        let mut pending = b"{\"Index\":3}\n{\"Ind".to_vec();
        assert_eq!(take_line(&mut pending).as_deref(), Some(&b"{\"Index\":3}"[..]));
        assert_eq!(take_line(&mut pending), None);
        assert_eq!(pending, b"{\"Ind");
    }

    #[test]
    fn a_batch_names_the_jobs_of_its_events_and_skips_payloads() {
        let line = br#"{"Index":7,"Events":[
            {"Topic":"Allocation","Type":"AllocationUpdated","Key":"a1","Namespace":"default",
             "FilterKeys":["web","d1"],"Index":7,"Payload":{"Allocation":{"ID":"a1"}}},
            {"Topic":"Job","Type":"JobRegistered","Key":"api","Namespace":"prod","FilterKeys":null,
             "Index":7,"Payload":{"Job":{}}},
            {"Topic":"Node","Type":"NodeEvent","Key":"n1","Namespace":"","Index":7}]}"#;
        let batch = decode(&line.iter().copied().filter(|&b| b != b'\n').collect::<Vec<_>>()).unwrap();
        assert_eq!(batch.index, 7);
        let jobs: Vec<_> = batch.events.iter().map(|e| e.job_id()).collect();
        assert_eq!(jobs, [Some("web"), Some("api"), None]);
        assert_eq!(decode(b"{}").unwrap(), EventBatch::default());
    }
}

//! The built-in cluster's KV and lease API, called from synchronous state code (see
//! [`Remote`]).

use std::ops::Deref;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::api::{ApiError, ClientConfig, Method, NomadClient, QueryOptions, encode_path};
use crate::state::error::StateError;
use crate::state::remote::{Remote, remote};

/// One key as the cluster returns it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// Raft index that last modified the key.
    pub modify_index: u64,
}

#[derive(Deserialize)]
struct Granted {
    #[serde(rename = "ID")]
    id: String,
}

/// What a checked write found.
pub enum Put {
    /// The value was written.
    Written,
    /// The check failed; the current entry, if any.
    Conflict(Option<Entry>),
}

/// A client of one cluster's KV.
#[derive(Debug)]
pub struct Kv {
    remote: Remote,
}

impl Deref for Kv {
    type Target = Remote;

    fn deref(&self) -> &Remote {
        &self.remote
    }
}

impl Kv {
    /// A client of the cluster at `config`.
    pub fn new(config: ClientConfig) -> Result<Kv, StateError> {
        Ok(Kv {
            remote: Remote::new(config, "cluster")?,
        })
    }

    /// One key, or `None`.
    pub fn get(&self, key: &str) -> Result<Option<Entry>, StateError> {
        let c = self.client();
        let path = key_path(key);
        let found =
            self.call(async move { c.get_optional::<Entry>(&path, &[], QueryOptions::default()).await })?;
        Ok(found.map(|(e, _)| e))
    }

    /// Every key under `prefix`.
    pub fn list(&self, prefix: &str) -> Result<Vec<Entry>, StateError> {
        let c = self.client();
        let prefix = prefix.to_string();
        let (entries, _) = self.call(async move {
            c.get::<Vec<Entry>>("/v1/deploy/kv", &[("prefix", prefix)], QueryOptions::default())
                .await
        })?;
        Ok(entries)
    }

    /// Writes `key`: `cas` 0 only creates; `lease` ties the key to a lease.
    pub fn put(
        &self,
        key: &str,
        value: String,
        cas: Option<u64>,
        lease: Option<&str>,
    ) -> Result<Put, StateError> {
        let c = self.client();
        let path = key_path(key);
        let mut q = Vec::new();
        if let Some(cas) = cas {
            q.push(("cas", cas.to_string()));
        }
        if let Some(l) = lease {
            q.push(("lease", l.to_string()));
        }
        let body = json!({ "Value": value });
        let answer = self.run(async move {
            c.write::<_, serde_json::Value>(Method::Put, &path, &q, &body)
                .await
        });
        match answer {
            Some(Ok(_)) => Ok(Put::Written),
            Some(Err(ApiError::Status { code: 409, body, .. })) => {
                Ok(Put::Conflict(serde_json::from_slice::<Entry>(&body).ok()))
            }
            Some(Err(e)) => Err(remote(self.location(), e)),
            None => Err(self.stopped()),
        }
    }

    /// Deletes `key`.
    pub fn delete(&self, key: &str) -> Result<(), StateError> {
        let c = self.client();
        let path = key_path(key);
        self.call(async move {
            c.request_raw::<()>(Method::Delete, &path, &[], None, QueryOptions::default())
                .await
                .map(|_| ())
        })
    }

    /// A new lease of `ttl`; its ID.
    pub fn grant(&self, ttl: Duration) -> Result<String, StateError> {
        let c = self.client();
        let body = json!({ "TTL": format!("{}ms", ttl.as_millis()) });
        let granted = self.call(async move {
            c.write::<_, Granted>(Method::Put, "/v1/deploy/lease", &[], &body)
                .await
        })?;
        Ok(granted.id)
    }

    /// Revokes a lease (its keys go with it).
    pub fn revoke(&self, id: &str) -> Result<(), StateError> {
        let c = self.client();
        let path = format!("/v1/deploy/lease/{}", encode_path(id));
        self.call(async move {
            c.request_raw::<()>(Method::Delete, &path, &[], None, QueryOptions::default())
                .await
                .map(|_| ())
        })
    }
}

/// `PUT /v1/deploy/lease/{id}/renew`.
pub async fn renew(client: &NomadClient, id: &str) -> Result<(), ApiError> {
    let path = format!("/v1/deploy/lease/{}/renew", encode_path(id));
    client
        .write::<_, serde_json::Value>(Method::Put, &path, &[], &json!({}))
        .await
        .map(|_| ())
}

fn key_path(key: &str) -> String {
    let segments: Vec<String> = key.split('/').map(encode_path).collect();
    format!("/v1/deploy/kv/{}", segments.join("/"))
}

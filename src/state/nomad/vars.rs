//! Nomad Variables as a blob store: one value of any size kept in a head variable and, past
//! what one variable holds, chunk variables the head names.
//!
//! ```text
//!  <path>                 {"data": first chunk, "chunks": "N", "set": "<16 hex>",
//!                          "bytes": "<length>", "sha256": "<hex>"}
//!  <path>/<set>/1 .. N    {"data": chunk}        written before the head
//! ```
//!
//! Items are strings and a variable holds at most 64 KiB of keys and values (Nomad's limit),
//! so a value is cut into chunks of [`CHUNK`] bytes at character boundaries. Chunks are written
//! first under a set name no one else uses, then the head: the head is the commit point, so a
//! reader never sees a partial value, and a writer killed midway leaves only unnamed chunks.
//! The head's length and SHA-256 are checked on every read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api::{ApiError, Method, QueryOptions, encode_path};
use crate::state::error::StateError;
use crate::state::remote::{Remote, remote};

/// Bytes of a value per variable: under Nomad's 64 KiB per variable, with room for the keys
/// and the head's other items.
pub const CHUNK: usize = 60 * 1024;

/// Longest chunk count accepted from a head (bounds what a corrupt head makes a reader fetch:
/// 4096 chunks is 240 MiB).
const MAX_CHUNKS: usize = 4096;

/// A variable as the API returns it (items and the index check-and-set compares).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Var {
    /// Path.
    pub path: String,
    /// Items.
    pub items: BTreeMap<String, String>,
    /// Raft index of the last change.
    pub modify_index: u64,
}

/// What a checked write found.
pub enum Put {
    /// Written.
    Written,
    /// The check failed (or another holds the variable's lock).
    Conflict,
}

fn var_path(path: &str) -> String {
    let segments: Vec<String> = path.split('/').map(encode_path).collect();
    format!("/v1/var/{}", segments.join("/"))
}

/// `s` cut into pieces of at most `max` bytes at character boundaries (one empty piece for
/// an empty `s`).
fn cut(s: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while rest.len() > max {
        let mut at = max;
        while !rest.is_char_boundary(at) {
            at -= 1;
        }
        let (head, tail) = rest.split_at(at);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

impl Remote {
    /// The variable at `path`, or `None`.
    pub fn var_get(&self, path: &str) -> Result<Option<Var>, StateError> {
        let c = self.client();
        let p = var_path(path);
        let found =
            self.call(async move { c.get_optional::<Var>(&p, &[], QueryOptions::default()).await })?;
        Ok(found.map(|(v, _)| v))
    }

    /// Paths of the variables under `prefix`.
    pub fn var_list(&self, prefix: &str) -> Result<Vec<String>, StateError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Meta {
            path: String,
        }
        let c = self.client();
        let prefix = prefix.to_string();
        let (list, _) = self.call(async move {
            c.get::<Vec<Meta>>("/v1/vars", &[("prefix", prefix)], QueryOptions::default())
                .await
        })?;
        Ok(list.into_iter().map(|m| m.path).collect())
    }

    /// Writes `items` at `path` (`cas`: only at this modify index, 0 = only create).
    pub fn var_put(
        &self,
        path: &str,
        items: BTreeMap<String, String>,
        cas: Option<u64>,
    ) -> Result<Put, StateError> {
        let mut query = Vec::new();
        if let Some(cas) = cas {
            query.push(("cas", cas.to_string()));
        }
        let body = json!({ "Path": path, "Items": items });
        match self.var_send(path, &query, &body) {
            Ok(_) => Ok(Put::Written),
            Err(ApiError::Status { code: 409, .. }) => Ok(Put::Conflict),
            Err(e) => Err(remote(self.location(), e)),
        }
    }

    /// A `PUT` of `body` at `path` with `query`; the answer's JSON.
    pub fn var_send(
        &self,
        path: &str,
        query: &[(&'static str, String)],
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        let c = self.client();
        let p = var_path(path);
        let query = query.to_vec();
        let body = body.clone();
        self.run(async move {
            c.write::<_, serde_json::Value>(Method::Put, &p, &query, &body)
                .await
        })
        .unwrap_or_else(|| Err(ApiError::Transport("the state client stopped".into())))
    }

    /// Deletes the variable at `path` (one already gone is fine).
    pub fn var_delete(&self, path: &str) -> Result<(), StateError> {
        let c = self.client();
        let p = var_path(path);
        self.call(async move {
            c.request_raw::<()>(Method::Delete, &p, &[], None, QueryOptions::default())
                .await
                .map(|_| ())
        })
    }

    /// The value kept at `path` by [`Remote::blob_put`], or `None`.
    pub fn blob_get(&self, path: &str) -> Result<Option<Vec<u8>>, StateError> {
        let Some(head) = self.var_get(path)? else {
            return Ok(None);
        };
        let corrupt = |detail: String| StateError::Corrupt {
            path: format!("{}:{path}", self.location()).into(),
            detail,
        };
        let item = |k: &str| head.items.get(k).cloned().unwrap_or_default();
        let chunks: usize = item("chunks").parse().unwrap_or(0);
        if chunks > MAX_CHUNKS {
            return Err(corrupt(format!("the head names {chunks} chunks")));
        }
        let mut value = item("data");
        for i in 1..=chunks {
            let chunk_path = format!("{path}/{}/{i}", item("set"));
            let Some(chunk) = self.var_get(&chunk_path)? else {
                return Err(corrupt(format!("chunk {chunk_path} is missing")));
            };
            value.push_str(chunk.items.get("data").map_or("", String::as_str));
        }
        let digest = hex::encode(Sha256::digest(value.as_bytes()));
        if value.len().to_string() != item("bytes") || digest != item("sha256") {
            return Err(corrupt(format!(
                "the value read ({} bytes, sha256 {digest}) is not the one written ({} bytes, sha256 {})",
                value.len(),
                item("bytes"),
                item("sha256")
            )));
        }
        Ok(Some(value.into_bytes()))
    }

    /// Keeps `bytes` at `path`: chunks first, then the head (`cas` as [`Remote::var_put`]).
    /// On success, the chunks of the value it replaced are removed.
    pub fn blob_put(&self, path: &str, bytes: &[u8], cas: Option<u64>) -> Result<Put, StateError> {
        let value = String::from_utf8_lossy(bytes);
        let pieces = cut(&value, CHUNK);
        let set = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
        let previous = if cas == Some(0) { None } else { self.var_get(path)? };
        for (i, piece) in pieces.iter().enumerate().skip(1) {
            let items = BTreeMap::from([("data".to_string(), piece.to_string())]);
            self.var_put(&format!("{path}/{set}/{i}"), items, None)?;
        }
        let head = BTreeMap::from([
            ("data".to_string(), pieces[0].to_string()),
            ("chunks".to_string(), (pieces.len() - 1).to_string()),
            ("set".to_string(), set.clone()),
            ("bytes".to_string(), value.len().to_string()),
            (
                "sha256".to_string(),
                hex::encode(Sha256::digest(value.as_bytes())),
            ),
        ]);
        let written = self.var_put(path, head, cas)?;
        let stale = match &written {
            Put::Written => previous,
            Put::Conflict => Some(Var {
                items: BTreeMap::from([
                    ("chunks".to_string(), (pieces.len() - 1).to_string()),
                    ("set".to_string(), set),
                ]),
                ..Default::default()
            }),
        };
        if let Some(stale) = stale {
            self.drop_chunks(path, &stale);
        }
        Ok(written)
    }

    /// Removes the value at `path`, head first.
    pub fn blob_delete(&self, path: &str) -> Result<(), StateError> {
        let head = self.var_get(path)?;
        self.var_delete(path)?;
        if let Some(head) = head {
            self.drop_chunks(path, &head);
        }
        Ok(())
    }

    /// Best effort: the chunks `head` names (left behind, they name nothing and cost space).
    fn drop_chunks(&self, path: &str, head: &Var) {
        let chunks: usize = head
            .items
            .get("chunks")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
            .min(MAX_CHUNKS);
        let set = head.items.get("set").cloned().unwrap_or_default();
        for i in 1..=chunks {
            let _ = self.var_delete(&format!("{path}/{set}/{i}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn values_are_cut_at_character_boundaries() {
        assert_eq!(cut("", 4), vec![""]);
        assert_eq!(cut("abcdefgh", 4), vec!["abcd", "efgh"]);
        assert_eq!(cut("abcdefghi", 4), vec!["abcd", "efgh", "i"]);
        // "é" is two bytes: a cut never splits it.
        let s = "aéé";
        let pieces = cut(s, 2);
        assert_eq!(pieces.concat(), s);
        assert!(pieces.iter().all(|p| p.len() <= 2 && !p.is_empty()));
    }
}

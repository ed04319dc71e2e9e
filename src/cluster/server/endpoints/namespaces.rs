//! Namespaces: list, read, create or update, delete (Nomad's `/v1/namespace*`).

use crate::cluster::fsm::{Command, Namespace, Outcome};
use crate::cluster::server::ClusterNode;

use super::{EndpointError, Indexed, ReadOptions};

/// Longest description Nomad accepts.
const MAX_DESCRIPTION: usize = 256;

/// Checks a namespace as Nomad's `Namespace.Validate` does.
fn validate(ns: &Namespace) -> Result<(), EndpointError> {
    let valid_name =
        (1..=128).contains(&ns.name.len()) && ns.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid_name {
        return Err(EndpointError::bad_request(format!(
            "invalid name {:?}. Must match regex ^[a-zA-Z0-9-]{{1,128}}$",
            ns.name
        )));
    }
    if ns.description.len() > MAX_DESCRIPTION {
        return Err(EndpointError::bad_request(format!(
            "description longer than {MAX_DESCRIPTION}"
        )));
    }
    Ok(())
}

impl ClusterNode {
    /// Every namespace, `default` included, by name.
    pub async fn namespaces(&self, opts: &ReadOptions) -> Result<Indexed<Vec<Namespace>>, EndpointError> {
        self.blocking_read(opts, |s| (s.table_index("namespaces"), s.namespaces()))
            .await
    }

    /// One namespace (404 when it does not exist).
    pub async fn namespace(
        &self,
        opts: &ReadOptions,
        name: &str,
    ) -> Result<Indexed<Namespace>, EndpointError> {
        let found = self
            .blocking_read(opts, |s| (s.table_index("namespaces"), s.namespace(name)))
            .await?;
        match found.value {
            Some(value) => Ok(Indexed {
                index: found.index,
                value,
            }),
            None => Err(EndpointError::not_found("namespace not found")),
        }
    }

    /// Creates or updates a namespace; answers the write's index.
    pub async fn upsert_namespace(&self, ns: Namespace) -> Result<u64, EndpointError> {
        validate(&ns)?;
        let resp = self
            .write(Command::NamespaceUpsert {
                namespace: Box::new(ns),
            })
            .await?;
        match resp.outcome {
            Outcome::Done => Ok(resp.index),
            other => Err(EndpointError::unexpected(other)),
        }
    }

    /// Deletes a namespace that holds no jobs and no variables; answers the write's index.
    pub async fn delete_namespace(&self, name: String) -> Result<u64, EndpointError> {
        let resp = self.write(Command::NamespaceDelete { name }).await?;
        match resp.outcome {
            Outcome::Done => Ok(resp.index),
            other => Err(EndpointError::unexpected(other)),
        }
    }
}

//! Routes that name an object by ID (an allocation, an evaluation, a deployment) are checked
//! against that object's namespace, never the request's `?namespace=`: a token that may read
//! namespace `a` must not read an allocation of namespace `b` by asking with `?namespace=a`.
//!
//! ```text
//!  route pattern ─► Object (alloc / eval / deployment) ─► ID from the path ─► state lookup
//!      found: check the token in the object's namespace; refused as Nomad refuses:
//!             a read of one allocation or deployment: 404 (its existence is hidden); else 403
//!      not found: the request's namespace, as before (the handler answers 404)
//! ```

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::cluster::fsm::State;

/// What kind of object a route names by ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// An allocation.
    Alloc,
    /// An evaluation.
    Eval,
    /// A deployment.
    Deployment,
}

/// Route patterns naming an object by ID, the object they name, and whether a refusal hides
/// the object (Nomad's reads of one allocation or deployment answer as if it did not exist;
/// its other routes by ID answer 403).
const BY_ID: &[(&str, Object, bool)] = &[
    ("/v1/allocation/{id}", Object::Alloc, true),
    ("/v1/allocation/{id}/stop", Object::Alloc, false),
    ("/v1/client/fs/logs/{alloc}", Object::Alloc, false),
    ("/v1/client/allocation/{id}/stats", Object::Alloc, false),
    ("/v1/client/allocation/{id}/gc", Object::Alloc, false),
    ("/v1/evaluation/{id}", Object::Eval, false),
    ("/v1/evaluation/{id}/allocations", Object::Eval, false),
    ("/v1/deployment/{id}", Object::Deployment, true),
    ("/v1/deployment/allocations/{id}", Object::Deployment, false),
    ("/v1/deployment/fail/{id}", Object::Deployment, false),
    ("/v1/deployment/pause/{id}", Object::Deployment, false),
    ("/v1/deployment/promote/{id}", Object::Deployment, false),
    ("/v1/deployment/unblock/{id}", Object::Deployment, false),
];

/// The object a route pattern names by ID, if any.
pub fn object_of(route: &str) -> Option<Object> {
    BY_ID.iter().find(|(p, ..)| *p == route).map(|(_, o, _)| *o)
}

fn hides(route: &str) -> bool {
    BY_ID.iter().any(|(p, _, hidden)| *p == route && *hidden)
}

/// The ID the request's path gives at the `{...}` segment of `route` (the routes above have
/// one each).
pub fn id_in(route: &str, uri: &Uri) -> Option<String> {
    let at = route.split('/').position(|s| s.starts_with('{'))?;
    uri.path()
        .split('/')
        .nth(at)
        .map(super::acl::percent_decode)
        .filter(|id| !id.is_empty())
}

/// The namespace of `object` with `id`, if it exists.
pub fn namespace_of(state: &State, object: Object, id: &str) -> Option<String> {
    match object {
        Object::Alloc => state.allocs.get(id).map(|a| a.namespace.clone()),
        Object::Eval => state.evals.get(id).map(|e| e.namespace.clone()),
        Object::Deployment => state.deployments.get(id).map(|d| d.namespace.clone()),
    }
}

/// The refusal of a token that may not use `route` on `object` `id` in its namespace, as Nomad
/// answers it: a read of one allocation or deployment hides it (404), anything else is 403.
pub fn refusal(route: &str, object: Object, id: &str) -> Response {
    match (hides(route), object) {
        (true, Object::Alloc) => {
            (StatusCode::NOT_FOUND, format!("Unknown allocation {id:?}")).into_response()
        }
        (true, Object::Deployment) => (StatusCode::NOT_FOUND, "deployment not found").into_response(),
        _ => (StatusCode::FORBIDDEN, "Permission denied").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_id_give_their_object_and_id() {
        let uri: Uri = "/v1/allocation/a%2Db/stop?namespace=x".parse().unwrap();
        assert_eq!(object_of("/v1/allocation/{id}/stop"), Some(Object::Alloc));
        assert_eq!(id_in("/v1/allocation/{id}/stop", &uri).as_deref(), Some("a-b"));
        let uri: Uri = "/v1/deployment/promote/d1".parse().unwrap();
        assert_eq!(id_in("/v1/deployment/promote/{id}", &uri).as_deref(), Some("d1"));
        assert_eq!(object_of("/v1/job/{id}"), None);
        assert!(hides("/v1/allocation/{id}") && hides("/v1/deployment/{id}"));
        assert!(!hides("/v1/client/fs/logs/{alloc}") && !hides("/v1/evaluation/{id}"));
    }

    #[test]
    fn every_route_by_id_is_in_the_acl_table() {
        for (route, ..) in BY_ID {
            let listed = crate::cluster::acl::ROUTES.iter().any(|r| r.path == *route);
            assert!(listed, "{route} is not in the route table");
        }
    }
}

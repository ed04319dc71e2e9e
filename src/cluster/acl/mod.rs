//! ACLs as Nomad's: policies in its rule language, compiled into what a token may do, and the
//! one table that says what each HTTP route needs.
//!
//! ```text
//!  policy text ──► policy::parse ──► Rules ─┐
//!                                           ├─► authorizer::Acl::from_rules ──► Acl::allows(Need, ns, path)
//!  token's Policies (or "anonymous") ───────┘                                        ▲
//!  request ──► matched route + method ──► routes::need_for ──► Need ─────────────────┘
//! ```
//!
//! Pure: no state, no IO. The FSM stores policies and tokens (`fsm::acl`), the server resolves
//! a secret into an [`Acl`] (`server::endpoints::acl`), and the HTTP middleware asks it
//! (`http::acl::enforce`).

pub mod authorizer;
pub mod capability;
pub mod need;
pub mod policy;
pub mod routes;

#[cfg(test)]
mod policy_tests;

pub use authorizer::Acl;
pub use capability::Level;
pub use need::Need;
pub use policy::{PolicyError, Rules};
pub use routes::{ROUTES, RouteAcl, need_for};

/// The policy applied to requests that carry no token.
pub const ANONYMOUS_POLICY: &str = "anonymous";

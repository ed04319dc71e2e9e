//! TLS material for a cluster, as `nomad tls` makes it: a private certificate authority and
//! the server, client and CLI certificates it signs, in files named as Nomad's.
//!
//! ```text
//!  deploy tls ca create    ─► nomad-agent-ca.pem, nomad-agent-ca-key.pem
//!  deploy tls cert create  ─► global-server-nomad.pem, global-server-nomad-key.pem
//!     -server|-client|-cli     (server.<region>.nomad / client.<region>.nomad / cli.<region>.nomad,
//!                               plus localhost and 127.0.0.1)
//! ```
//!
//! Keys are written 0600 and never over an existing file.

mod authority;

pub use authority::{CertRequest, CertRole, IssuedFiles, TlsError, create_ca, create_cert};

//! The server keyring: what keeps Variables out of the clear at rest.
//!
//! ```text
//!  KEK (per server, 0600 file or agent config, same on every server; never in Raft)
//!   └─ wraps ─► root keys (256-bit, random) ── stored wrapped in the FSM, replicated by Raft
//!                 └─ seal ─► Variable items (XChaCha20-Poly1305, random nonce,
//!                            namespace + path as associated data)
//! ```
//!
//! The Raft log, `raft.redb` and snapshots hold only wrapped root keys and sealed items; a
//! server unwraps a root key in memory when it first needs it. Rotation adds a new active key;
//! older keys stay to open what they sealed. See `docs/keyring.md` for the design.

mod cipher;
mod error;
mod kek;
mod ring;
mod table;

pub use cipher::{Sealed, open, seal};
pub use error::KeyringError;
pub use kek::{KEK_FILE, Kek};
pub use ring::Keyring;
pub use table::{KeyState, KeyringTable, RootKeyMeta, WrappedKey};

/// The algorithm every key here uses, in Nomad's key metadata.
pub const ALGORITHM: &str = "xchacha20poly1305";

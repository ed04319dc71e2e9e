//! What can go wrong sealing, opening or loading keys.

use thiserror::Error;

/// A keyring failure.
#[derive(Debug, Error)]
pub enum KeyringError {
    /// The ciphertext was changed, moved to another path, or sealed under another key.
    #[error("decryption failed: the data was altered or does not belong to {0}")]
    Open(String),
    /// A sealed value names a root key that the keyring does not hold.
    #[error("root key {0} not found in the keyring")]
    UnknownKey(String),
    /// No root key exists yet.
    #[error("the keyring has no active root key")]
    NoActiveKey,
    /// A root key was wrapped under a KEK other than this server's.
    #[error(
        "root key {key_id} is wrapped under key-encryption key {wrapped_under}, but this server's \
         is {ours}: every server needs the same keyring_kek"
    )]
    KekMismatch {
        /// The root key.
        key_id: String,
        /// Fingerprint of the KEK the key was wrapped under.
        wrapped_under: String,
        /// Fingerprint of this server's KEK.
        ours: String,
    },
    /// A stored value is not well formed (bad base64, wrong length, bad JSON).
    #[error("malformed keyring data: {0}")]
    Malformed(String),
    /// The KEK file or setting could not be read or written.
    #[error("key-encryption key {path}: {message}")]
    Kek {
        /// Where it was looked for.
        path: String,
        /// What failed.
        message: String,
    },
}

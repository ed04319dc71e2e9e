//! Authenticated encryption of one value under one 256-bit key: XChaCha20-Poly1305 with a
//! fresh random 192-bit nonce per value (random nonces of that size never collide in
//! practice), and associated data binding the ciphertext to where it belongs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use super::error::KeyringError;

/// A sealed value: which key sealed it, its nonce and its ciphertext (with the tag).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Sealed {
    /// ID of the key that sealed it.
    #[serde(rename = "KeyID")]
    pub key_id: String,
    /// The nonce, base64.
    pub nonce: String,
    /// Ciphertext and Poly1305 tag, base64.
    pub ciphertext: String,
}

/// Seals `plaintext` under `key` (named `key_id`), bound to `aad`.
pub fn seal(key: &[u8; 32], key_id: &str, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, KeyringError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(&nonce, Payload { msg: plaintext, aad })
        .map_err(|_| KeyringError::Malformed("encryption failed".into()))?;
    Ok(Sealed {
        key_id: key_id.to_owned(),
        nonce: STANDARD.encode(nonce),
        ciphertext: STANDARD.encode(ciphertext),
    })
}

/// Opens `sealed` with `key`; fails unless it was sealed under `key` with the same `aad` and
/// not altered since. `what` names the value in the error.
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &Sealed, what: &str) -> Result<Vec<u8>, KeyringError> {
    let nonce = STANDARD
        .decode(&sealed.nonce)
        .map_err(|e| KeyringError::Malformed(format!("nonce: {e}")))?;
    if nonce.len() != 24 {
        return Err(KeyringError::Malformed(format!("nonce of {} bytes", nonce.len())));
    }
    let ciphertext = STANDARD
        .decode(&sealed.ciphertext)
        .map_err(|e| KeyringError::Malformed(format!("ciphertext: {e}")))?;
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &ciphertext,
                aad,
            },
        )
        .map_err(|_| KeyringError::Open(what.to_owned()))
}

/// 32 random bytes from the operating system.
pub(super) fn random_key() -> [u8; 32] {
    XChaCha20Poly1305::generate_key(&mut OsRng).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn round_trip() {
        let s = seal(&KEY, "k1", b"default\0app/db", b"hunter2").unwrap();
        assert_eq!(s.key_id, "k1");
        assert_eq!(open(&KEY, b"default\0app/db", &s, "x").unwrap(), b"hunter2");
    }

    #[test]
    fn nonce_is_fresh_per_value() {
        let a = seal(&KEY, "k1", b"", b"same").unwrap();
        let b = seal(&KEY, "k1", b"", b"same").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn tampered_ciphertext_is_refused() {
        let mut s = seal(&KEY, "k1", b"aad", b"hunter2").unwrap();
        let mut bytes = STANDARD.decode(&s.ciphertext).unwrap();
        bytes[0] ^= 1;
        s.ciphertext = STANDARD.encode(bytes);
        assert!(matches!(open(&KEY, b"aad", &s, "x"), Err(KeyringError::Open(_))));
    }

    #[test]
    fn tampered_nonce_is_refused() {
        let mut s = seal(&KEY, "k1", b"aad", b"hunter2").unwrap();
        let mut bytes = STANDARD.decode(&s.nonce).unwrap();
        bytes[3] ^= 0x80;
        s.nonce = STANDARD.encode(bytes);
        assert!(matches!(open(&KEY, b"aad", &s, "x"), Err(KeyringError::Open(_))));
    }

    #[test]
    fn other_associated_data_is_refused() {
        let s = seal(&KEY, "k1", b"default\0app/db", b"hunter2").unwrap();
        assert!(matches!(
            open(&KEY, b"default\0app/other", &s, "x"),
            Err(KeyringError::Open(_))
        ));
    }

    #[test]
    fn other_key_is_refused() {
        let s = seal(&KEY, "k1", b"aad", b"hunter2").unwrap();
        assert!(open(&[8; 32], b"aad", &s, "x").is_err());
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        let mut s = seal(&KEY, "k1", b"aad", b"v").unwrap();
        s.nonce = "AAAA".into();
        assert!(matches!(
            open(&KEY, b"aad", &s, "x"),
            Err(KeyringError::Malformed(_))
        ));
        s.nonce = "!!".into();
        assert!(matches!(
            open(&KEY, b"aad", &s, "x"),
            Err(KeyringError::Malformed(_))
        ));
    }
}

//! Sensitive values in state: age-encrypted to the stack's recipients (or
//! `DEPLOY_AGE_RECIPIENTS`), decrypted with `DEPLOY_AGE_IDENTITY`. A value at a sensitive path
//! of a job spec is replaced by `(sensitive)` in the stored spec and its ciphertext kept beside.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use serde_json::Value;

use super::error::StateError;
use crate::spec::Job;

/// What a sealed value reads in the stored spec.
pub const SEALED: &str = "(sensitive)";

/// Recipients to encrypt to.
pub struct Sealer {
    recipients: Vec<age::x25519::Recipient>,
}

/// Identities to decrypt with.
pub struct Opener {
    identities: Vec<age::x25519::Identity>,
}

fn secret_err(e: impl std::fmt::Display) -> StateError {
    StateError::Secret(e.to_string())
}

impl Sealer {
    /// Recipients from the stack settings, else `DEPLOY_AGE_RECIPIENTS` (comma or space separated).
    pub fn from_settings(configured: &[String], env: Option<&str>) -> Result<Sealer, StateError> {
        let list: Vec<String> = if configured.is_empty() {
            env.unwrap_or("")
                .split([',', ' ', '\n'])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        } else {
            configured.to_vec()
        };
        let recipients = list
            .iter()
            .map(|r| {
                age::x25519::Recipient::from_str(r).map_err(|e| secret_err(format!("recipient {r}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Sealer { recipients })
    }

    /// True when there is someone to encrypt to.
    pub fn has_recipients(&self) -> bool {
        !self.recipients.is_empty()
    }

    /// Encrypts `plain` to every recipient, ASCII-armored.
    pub fn seal(&self, plain: &[u8]) -> Result<String, StateError> {
        if self.recipients.is_empty() {
            return Err(secret_err(
                "the stack has sensitive values but no age recipients: set `age_recipients` in the stack \
                 block or DEPLOY_AGE_RECIPIENTS; nothing is written in clear",
            ));
        }
        let enc = age::Encryptor::with_recipients(self.recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(secret_err)?;
        let mut out = Vec::new();
        let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(secret_err)?;
        let mut w = enc.wrap_output(armor).map_err(secret_err)?;
        w.write_all(plain).map_err(secret_err)?;
        w.finish().and_then(|a| a.finish()).map_err(secret_err)?;
        String::from_utf8(out).map_err(secret_err)
    }
}

impl Opener {
    /// From `DEPLOY_AGE_IDENTITY`: an `AGE-SECRET-KEY-...` string or a file of them.
    pub fn from_env_value(value: &str) -> Result<Opener, StateError> {
        let text = if value.trim_start().starts_with("AGE-SECRET-KEY-") {
            value.to_string()
        } else {
            std::fs::read_to_string(value).map_err(|e| secret_err(format!("identity file {value}: {e}")))?
        };
        let identities = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
            .map(|l| age::x25519::Identity::from_str(l).map_err(|e| secret_err(format!("identity: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if identities.is_empty() {
            return Err(secret_err("DEPLOY_AGE_IDENTITY holds no AGE-SECRET-KEY identity"));
        }
        Ok(Opener { identities })
    }

    /// Decrypts an armored ciphertext.
    pub fn open(&self, armored: &str) -> Result<Vec<u8>, StateError> {
        let dec = age::Decryptor::new(ArmoredReader::new(armored.as_bytes())).map_err(secret_err)?;
        let mut r = dec
            .decrypt(self.identities.iter().map(|i| i as &dyn age::Identity))
            .map_err(secret_err)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(secret_err)?;
        Ok(out)
    }
}

/// Replaces every sensitive path's value with [`SEALED`] and returns the ciphertexts by path.
pub fn seal_job(
    job: &Job,
    paths: &[String],
    sealer: &Sealer,
) -> Result<(Job, BTreeMap<String, String>), StateError> {
    if paths.is_empty() {
        return Ok((job.clone(), BTreeMap::new()));
    }
    let mut v = serde_json::to_value(job).map_err(secret_err)?;
    let mut sealed = BTreeMap::new();
    for p in paths {
        if let Some(slot) = lookup(&mut v, p) {
            let plain = serde_json::to_vec(slot).map_err(secret_err)?;
            sealed.insert(p.clone(), sealer.seal(&plain)?);
            *slot = Value::String(SEALED.into());
        }
    }
    let job = serde_json::from_value(v).map_err(secret_err)?;
    Ok((job, sealed))
}

/// Puts decrypted values back at their paths.
pub fn open_job(job: &Job, sealed: &BTreeMap<String, String>, opener: &Opener) -> Result<Job, StateError> {
    let mut v = serde_json::to_value(job).map_err(secret_err)?;
    for (p, armored) in sealed {
        let plain: Value = serde_json::from_slice(&opener.open(armored)?).map_err(secret_err)?;
        if let Some(slot) = lookup(&mut v, p) {
            *slot = plain;
        }
    }
    serde_json::from_value(v).map_err(secret_err)
}

/// The value at a dotted path such as `TaskGroups[0].Tasks[1].Env.TOKEN`.
pub fn lookup<'v>(v: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    let mut cur = v;
    for seg in path.split('.') {
        let (key, rest) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !key.is_empty() {
            cur = cur.get_mut(key)?;
        }
        for idx in rest.split(']').filter(|s| !s.is_empty()) {
            let i: usize = idx.trim_start_matches('[').parse().ok()?;
            cur = cur.get_mut(i)?;
        }
    }
    Some(cur)
}

//! A managed Nomad Variable as an apply wrote it: items in clear except the sensitive ones,
//! which are age-encrypted like sensitive job values.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::error::StateError;
use super::secret::{Opener, SEALED, Sealer};
use crate::stack::NomadVariable;

/// A variable of the stack as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariableRecord {
    /// Path.
    pub path: String,
    /// Namespace.
    pub namespace: String,
    /// Item key → value; sensitive items read `(sensitive)` until opened.
    pub items: BTreeMap<String, String>,
    /// Keys of the sensitive items.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub sensitive_items: BTreeSet<String>,
    /// Key → age-armored ciphertext of the value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub encrypted: BTreeMap<String, String>,
    /// The backend's `ModifyIndex` after the write (the next write's `cas`).
    pub modify_index: Option<u64>,
}

impl VariableRecord {
    /// The record of `v` as written, sensitive items sealed to the stack's recipients.
    pub fn sealed(v: &NomadVariable, modify_index: Option<u64>, sealer: &Sealer) -> Result<Self, StateError> {
        let mut items = v.items.clone();
        let mut encrypted = BTreeMap::new();
        for k in &v.sensitive_items {
            if let Some(slot) = items.get_mut(k) {
                encrypted.insert(k.clone(), sealer.seal(slot.as_bytes())?);
                *slot = SEALED.into();
            }
        }
        Ok(VariableRecord {
            path: v.path.clone(),
            namespace: v.namespace.clone(),
            items,
            sensitive_items: v.sensitive_items.clone(),
            encrypted,
            modify_index,
        })
    }

    /// Puts the decrypted values back.
    pub fn open(&mut self, opener: &Opener) -> Result<(), StateError> {
        for (k, armored) in &self.encrypted {
            let plain = String::from_utf8(opener.open(armored)?)
                .map_err(|e| StateError::Secret(format!("item {k} of {}: {e}", self.path)))?;
            self.items.insert(k.clone(), plain);
        }
        Ok(())
    }

    /// The variable as the stack would declare it (for rolling back to this record); its
    /// items must have been opened.
    pub fn to_stack(&self) -> NomadVariable {
        NomadVariable {
            path: self.path.clone(),
            namespace: self.namespace.clone(),
            items: self.items.clone(),
            sensitive_items: self.sensitive_items.clone(),
            read_by: Vec::new(),
            span: Default::default(),
        }
    }
}

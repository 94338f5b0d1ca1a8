//! What a check hands back: the [`Facts`] a format revealed about a secret
//! (its checksum, lifetime, privilege, identity class, decoded ids and
//! claims), or why the value is not a secret of the format; and what it may
//! look at around the secret ([`Around`]).
use std::collections::BTreeMap;

use serde_json::Value;

use crate::base::kinds::{Checksum, IdentityClass, Lifetime};
use crate::base::secret::Secret;

/// What a validator learned from the secret itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub checksum: Option<Checksum>,
    /// Overrides the rule's lifetime when the token says more (JWT `exp`).
    pub lifetime: Option<Lifetime>,
    /// Overrides the rule's privilege (`admin`) when the token's own scope
    /// says it (a user-wide PyPI token).
    pub privilege: Option<String>,
    /// Overrides the rule's identity class (a PyPI token minted by Trusted
    /// Publishing belongs to a CI workflow, not to a person).
    pub identity: Option<IdentityClass>,
    pub decoded: BTreeMap<String, Value>,
    /// Secret material a live check needs beside the secret itself (the
    /// private key of a Google key file whose key id is the secret). Never
    /// reported; its `Debug` is redacted.
    pub companion: Option<Secret>,
}

/// A validator's answer: keep with facts, or reject with a reason.
pub type Outcome = Result<Facts, &'static str>;

/// What surrounds a secret, for validators whose facts sit beside it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Around<'a> {
    /// The public id the rule captured (an AWS access key id).
    pub key_id: Option<&'a [u8]>,
    /// The name the secret is assigned to, as the rule captured it.
    pub binding: Option<&'a [u8]>,
    /// The line the secret sits on, with the secret at `at`.
    pub line: &'a [u8],
    pub at: usize,
    /// The whole text searched, with the secret at `hay_at`: for the
    /// validators that read a few lines around it ([`super::beside`]).
    pub hay: &'a [u8],
    pub hay_at: usize,
}

/// A checksum's verdict as an outcome.
pub(crate) fn checksum(valid: bool) -> Outcome {
    Ok(Facts {
        checksum: Some(if valid {
            Checksum::Valid
        } else {
            Checksum::Invalid
        }),
        ..Facts::default()
    })
}

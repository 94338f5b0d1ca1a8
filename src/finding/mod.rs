//! Findings: one secret value found by one rule, with every place it was
//! seen. This module holds the types every later stage reads ([`Finding`],
//! [`Location`], and what identity correlation adds to them: [`Risk`],
//! [`CodeOwner`]); [`collect`] groups the matcher's matches into them.
//! Findings carry a fingerprint and a redacted form, never the secret unless
//! the user asked for it.
pub mod collect;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::base::kinds::Confidence;
use crate::base::kinds::{Checksum, Encoding, IdentityClass, Lifetime};
use crate::base::secret::Secret;

/// An OWASP NHI Top 10 risk a finding shows, with the sentence that says
/// why ([`crate::identity::risks`] assesses them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Risk {
    pub id: &'static str,
    pub title: &'static str,
    pub reason: String,
}

/// An owner a repository declares for a finding's location
/// ([`crate::identity::owners`] looks them up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeOwner {
    /// As declared: `team-a`, `group:default/payments`, `@acme/payments`, an email.
    pub owner: String,
    /// The file that declares it, relative to the scan root.
    pub source: String,
}

/// One place a secret was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The repository, in reports of sweeps over many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub commit: Option<String>,
    pub author: Option<String>,
    pub date: Option<String>,
    pub at_head: bool,
    /// Refs that reach the commit (history locations only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<String>,
    /// The git blob the secret was read from (history locations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// The name the secret is assigned to at this place, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
    /// `base64` where the secret was found by decoding the text at this
    /// place (a Kubernetes Secret's `data:`, a basic-auth header, a docker
    /// `auth`); line and column are those of the encoded text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
    /// In a range scan: the suppression the range adds that would hide the
    /// secret at this place (`allow comment`, `allow.values`,
    /// `allow.rules`, `baseline entry`). Not honoured: reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<String>,
    /// Inside archives: the archives that hold it, outer to inner (the
    /// outermost by its path, the others by their path in their parent);
    /// `path` joins them and the member's own path with `!`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container: Vec<String>,
    /// History locations: whether this is where the secret entered this
    /// path (the earliest commit of the versions of the file that hold it),
    /// or a later version that merely carries it. See [`mark_introduced`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<bool>,
    /// The path relative to its scan root (SARIF URIs).
    #[serde(skip)]
    pub relative: String,
}

/// One secret value found by one rule, with every place it was seen. It
/// reads back from its own JSON (sweep stores keep it so), except for the
/// risks, which are assessed anew against the inventory of the day.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub name: String,
    pub provider: String,
    pub fingerprint: String,
    pub key_id: Option<String>,
    pub redacted: String,
    /// The full secret: filled in only under `--show-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub binding: Option<String>,
    pub lifetime: Lifetime,
    pub checksum: Option<Checksum>,
    /// `low` only for a finding seen in test, example or fixture paths
    /// alone whose value also fails a format check; else `high`.
    #[serde(default)]
    pub confidence: Confidence,
    pub identity_class: IdentityClass,
    /// `admin` where the format says the credential is administrative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privilege: Option<String>,
    /// Facts the format revealed offline (JWT claims, AWS account id, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decoded: BTreeMap<String, Value>,
    /// The earliest commit date among the history locations.
    pub first_seen: Option<String>,
    /// Whether the secret is still present now (working tree or HEAD). When
    /// false it was removed, but stays exposed in history until rotated.
    pub at_head: bool,
    pub locations: Vec<Location>,
    pub identity: Option<Value>,
    pub owner: Option<String>,
    /// Who the repository says owns the code where it sits (CODEOWNERS,
    /// Backstage `catalog-info.yaml`): accountable for the leak, not a claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_owners: Vec<CodeOwner>,
    /// The live check of `--verify`; absent without it. Boxed: a finding
    /// without one stays one word bigger, not twenty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Box<crate::rules::verify::Verification>>,
    #[serde(skip_deserializing)]
    pub risks: Vec<Risk>,
    #[serde(skip)]
    pub raw: Secret,
    /// What a live check needs beside the secret (a key file's private
    /// key); never reported.
    #[serde(skip)]
    pub companion: Option<Secret>,
    /// Why the value fails a format check, if it does (see [`Confidence`]).
    #[serde(skip)]
    pub doubt: Option<&'static str>,
}

/// The rule id of a finding that stands for a suppression a range adds.
pub const SUPPRESSION_RULE: &str = "suppression-added";

impl Finding {
    /// Makes this finding, every location of which a suppression added in
    /// the range would hide, a finding of its own kind: the rule it was
    /// found by, and how it would have been hidden, go into `decoded`.
    pub fn into_suppression(&mut self) {
        let mut kinds: Vec<&str> = self
            .locations
            .iter()
            .filter_map(|l| l.suppression.as_deref())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        let kinds = kinds.join(", ");
        self.decoded
            .insert("suppressed_rule".into(), self.rule.clone().into());
        self.decoded.insert("suppression".into(), kinds.into());
        self.rule = SUPPRESSION_RULE.into();
    }

    /// Drops a `key_id` that is the whole secret (a lone AWS access key id,
    /// say): `key_id` names the secret beside it, and without
    /// `--show-secrets` no finding's whole value is written. An inventory
    /// `key_id` still claims such a finding, by fingerprint.
    pub fn drop_key_id_if_secret(&mut self) {
        let raw = self.raw.expose();
        let is_secret = |k: &String| match raw.is_empty() {
            false => k.as_bytes() == raw,
            // Read back from a store or an export: no raw secret.
            true => crate::base::secret::fingerprint(k.as_bytes()) == self.fingerprint,
        };
        if self.key_id.as_ref().is_some_and(is_secret) {
            self.key_id = None;
        }
    }

    /// Takes in `other`, the same secret found by the same rule elsewhere:
    /// its locations, and what it knows that this one does not.
    pub fn absorb(&mut self, other: Finding) {
        if self.key_id.is_none() {
            self.key_id = other.key_id;
        }
        if other.lifetime == Lifetime::Short {
            self.lifetime = Lifetime::Short;
        }
        for (k, v) in other.decoded {
            self.decoded.entry(k).or_insert(v);
        }
        if self.secret.is_none() {
            self.secret = other.secret;
        }
        if let Some(d) = other.first_seen {
            if self.first_seen.as_ref().is_none_or(|e| d < *e) {
                self.first_seen = Some(d);
            }
        }
        self.at_head |= other.at_head;
        self.locations.extend(other.locations);
        // The latest live check stands (RFC 3339 times sort as text).
        if let Some(v) = other.verification {
            if self
                .verification
                .as_ref()
                .is_none_or(|mine| v.checked_at > mine.checked_at)
            {
                self.verification = Some(v);
            }
        }
    }
}

/// Marks each history location `introduced`: per repository and path, the
/// location of the earliest commit (by its date, then its place in the
/// list) is where the secret entered that path; every other version of the
/// file holding it is `introduced: false`. Locations outside history keep
/// `None`.
pub fn mark_introduced(locations: &mut [Location]) {
    use std::collections::HashMap;
    // Commit dates are UTC RFC 3339 (`…Z`): their text sorts as time does.
    let mut first: HashMap<(Option<&str>, &str), (&str, usize)> = HashMap::new();
    for (i, l) in locations
        .iter()
        .enumerate()
        .filter(|(_, l)| l.commit.is_some())
    {
        let t = l.date.as_deref().unwrap_or("~");
        let e = first
            .entry((l.repo.as_deref(), l.path.as_str()))
            .or_insert((t, i));
        if t < e.0 {
            *e = (t, i);
        }
    }
    let chosen: std::collections::HashSet<usize> = first.into_values().map(|(_, i)| i).collect();
    for (i, l) in locations.iter_mut().enumerate() {
        l.introduced = l.commit.is_some().then(|| chosen.contains(&i));
    }
}

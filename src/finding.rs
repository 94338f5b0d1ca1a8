//! Findings: matches grouped by (rule, secret value), each with every place it
//! was seen. Receives matches with their origins; hands on findings that carry
//! a fingerprint and a redacted form, never the secret unless asked.
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::decode::Encoding;
use crate::identity::risks::Risk;
use crate::matcher::Match;
use crate::rules::{IdentityClass, Lifetime, RuleSet};
use crate::source::Origin;
use crate::validate::Checksum;

/// Secret bytes. Its `Debug` is redacted, so a stray `{:?}` leaks nothing.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", redact(&self.0))
    }
}

/// `sha256:` and the hex SHA-256 of the exact secret bytes.
pub fn fingerprint(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in digest {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// At most the first 4 and the last 2 characters; fewer for short secrets,
/// so that at least two thirds of any secret stay hidden.
pub fn redact(secret: &[u8]) -> String {
    let s = String::from_utf8_lossy(secret);
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let (head, tail) = match n {
        0..=5 => (0, 0),
        6..=11 => (1, 0),
        12..=17 => (2, 1),
        _ => (4, 2),
    };
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[n - tail..]);
    out.retain(|c| c != '\n' && c != '\r');
    out
}

/// How sure keytrace is that a finding is a live credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    #[default]
    High,
    /// Seen only in test, example or fixture paths, and the value fails a
    /// format check (its checksum, or it looks made up). Still reported: a
    /// checksum-valid credential is never `low`.
    Low,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Low => "low",
        }
    }
}

/// Test, example and fixture paths (relative to the scan root): a directory
/// named `test`, `tests`, `__tests__`, `spec`, `fixtures`, `examples`,
/// `testdata`, `__mocks__`, …, or a test file by its name (`*_test.go`,
/// `*.test.ts`, `*.spec.js`, `test_*.py`, `*_test.py`, `*Test.java`,
/// `*_spec.rb`).
pub fn is_test_path(relative: &str) -> bool {
    let mut parts: Vec<&str> = relative.split(['/', '\\']).collect();
    let file = parts.pop().unwrap_or("");
    const DIRS: &[&str] = &[
        "test",
        "tests",
        "__tests__",
        "spec",
        "specs",
        "fixture",
        "fixtures",
        "example",
        "examples",
        "testdata",
        "test-data",
        "__mocks__",
        "mocks",
        "__fixtures__",
    ];
    if parts
        .iter()
        .any(|p| DIRS.contains(&p.to_ascii_lowercase().as_str()))
    {
        return true;
    }
    let stem = file.split('.').next().unwrap_or(file);
    let ext_test = [".test.", ".spec."].iter().any(|m| file.contains(m));
    ext_test
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_spec")
        || (stem.ends_with("Test") || stem.ends_with("Tests")) && file.ends_with(".java")
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
    pub code_owners: Vec<crate::identity::owners::CodeOwner>,
    #[serde(skip_deserializing)]
    pub risks: Vec<Risk>,
    #[serde(skip)]
    pub raw: Secret,
    /// Why the value fails a format check, if it does (see [`Confidence`]).
    #[serde(skip)]
    pub doubt: Option<&'static str>,
}

/// Groups `matches` into findings (see [`Collector`]) on up to `threads`
/// threads: each takes the matches of a share of the (rule, secret) keys,
/// so no finding is split between two.
pub fn collect(
    rules: &RuleSet,
    matches: Vec<(Origin, Match)>,
    show_secrets: bool,
    threads: usize,
) -> Vec<Finding> {
    use std::hash::BuildHasher;
    let threads = threads.clamp(1, 16).min(matches.len().div_ceil(512).max(1));
    let state = std::collections::hash_map::RandomState::new();
    let mut shares: Vec<Vec<(Origin, Match)>> = (0..threads).map(|_| Vec::new()).collect();
    for (origin, m) in matches {
        let h = state.hash_one((m.rule, &m.secret));
        shares[h as usize % threads].push((origin, m));
    }
    let mut out: Vec<Finding> = crate::parallel::map(shares, |share| {
        let mut c = Collector::default();
        for (origin, m) in share {
            c.add(rules, &origin, m);
        }
        c.finish(rules, show_secrets)
    })
    .into_iter()
    .flatten()
    .collect();
    sort_findings(&mut out);
    out
}

/// A stable order: first location, then rule.
fn sort_findings(out: &mut [Finding]) {
    out.sort_by(|a, b| {
        let (la, lb) = (&a.locations[0], &b.locations[0]);
        (&la.path, la.line, la.column, &a.rule).cmp(&(&lb.path, lb.line, lb.column, &b.rule))
    });
}

/// Why a value fails a format check, if it does (see [`Confidence`]).
fn doubt(
    rule: &crate::rules::Rule,
    checksum: Option<Checksum>,
    secret: &[u8],
) -> Option<&'static str> {
    match checksum {
        Some(Checksum::Valid) => None,
        Some(Checksum::Invalid) => Some("its checksum fails"),
        // No format says what a generic assignment should be, so nothing
        // shows it to be a credential rather than a documentation or test
        // value.
        None if rule.spec.validator == Some(crate::rules::Validator::Generic) => {
            Some("no format to check a generic assignment against")
        }
        None => rule.shape().and_then(|s| s.made_up(secret)),
    }
}

/// Groups matches into findings.
#[derive(Default)]
pub struct Collector {
    by_key: HashMap<(usize, Secret), Finding>,
}

impl Collector {
    pub fn add(&mut self, rules: &RuleSet, origin: &Origin, m: Match) {
        let rule = &rules.rules()[m.rule];
        let c = origin.commit.as_deref();
        let location = Location {
            repo: None,
            path: origin.path.clone(),
            line: m.line,
            column: m.column,
            commit: c.map(|c| c.id.clone()),
            author: c.map(|c| c.author.clone()),
            date: c.map(|c| c.date.clone()),
            at_head: origin.at_head,
            refs: c.map(|c| c.refs.clone()).unwrap_or_default(),
            blob: origin.blob.map(|b| b.to_string()),
            binding: m.binding.clone(),
            encoding: m.encoding,
            relative: origin.relative(),
        };
        let secret = Secret::new(m.secret);
        let f = self
            .by_key
            .entry((m.rule, secret.clone()))
            .or_insert_with(|| Finding {
                rule: rule.spec.id.clone(),
                name: rule.spec.name.clone(),
                provider: rule.spec.provider.clone(),
                fingerprint: fingerprint(secret.expose()),
                key_id: None,
                redacted: redact(secret.expose()),
                secret: None,
                binding: None,
                lifetime: m.lifetime,
                checksum: m.facts.checksum,
                confidence: Confidence::High,
                identity_class: m.facts.identity.unwrap_or(rule.spec.identity),
                privilege: m
                    .facts
                    .privilege
                    .clone()
                    .or_else(|| rule.spec.privilege.clone()),
                decoded: BTreeMap::new(),
                first_seen: None,
                at_head: false,
                locations: Vec::new(),
                identity: None,
                owner: None,
                code_owners: Vec::new(),
                risks: Vec::new(),
                // Worked out at the end, and only where it matters: for a
                // finding seen in test paths alone.
                doubt: None,
                raw: secret,
            });
        if f.key_id.is_none() {
            f.key_id = m.key_id;
        }
        if m.lifetime == Lifetime::Short {
            f.lifetime = Lifetime::Short;
        }
        for (k, v) in m.facts.decoded {
            f.decoded.entry(k).or_insert(v);
        }
        if let Some(c) = c {
            if f.first_seen.as_ref().is_none_or(|d| c.date < *d) {
                f.first_seen = Some(c.date.clone());
            }
        }
        f.at_head |= location.at_head;
        f.locations.push(location);
    }

    /// The findings, unsorted ([`collect`] sorts them), with locations
    /// sorted and the secret filled in only if `show_secrets`. Risks are
    /// assessed later, by the identity stage.
    fn finish(self, rules: &RuleSet, show_secrets: bool) -> Vec<Finding> {
        let mut out = Vec::with_capacity(self.by_key.len());
        for ((r, _), mut f) in self.by_key {
            f.locations.sort_by(|a, b| {
                (&a.path, a.line, a.column, &a.commit).cmp(&(&b.path, b.line, b.column, &b.commit))
            });
            f.locations.dedup();
            f.binding = f.locations.iter().find_map(|l| l.binding.clone());
            if f.locations.iter().all(|l| is_test_path(&l.relative)) {
                f.doubt = doubt(&rules.rules()[r], f.checksum, f.raw.expose());
                if f.doubt.is_some() {
                    f.confidence = Confidence::Low;
                }
            }
            if show_secrets {
                f.secret = Some(String::from_utf8_lossy(f.raw.expose()).into_owned());
            }
            out.push(f);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_most() {
        assert_eq!(
            redact(b"ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "ghp_…89"
        );
        assert_eq!(redact(b"short"), "…");
        assert_eq!(redact(b"password12"), "p…");
        for s in ["abcdefghijkl", "abcdefghijklmnopqrstu", "a", "abcdef"] {
            let r = redact(s.as_bytes());
            let shown = r.chars().filter(|&c| c != '…').count();
            assert!(shown * 3 <= s.len(), "{s} -> {r}");
        }
        assert!(
            !format!("{:?}", Secret::new(b"ghp_supersecretvalue123".to_vec()))
                .contains("supersecret")
        );
    }

    #[test]
    fn test_paths() {
        for p in [
            "tests/fixtures/a.env",
            "src/__tests__/x.test.ts",
            "pkg/x/config_test.go",
            "tests/test_app.py",
            "app/test_settings.py",
            "spec/support/keys.yml",
            "examples/demo/main.tf",
            "src/test/java/com/acme/ConfigTest.java",
            "web/login.spec.js",
            "lib/x_spec.rb",
        ] {
            assert!(is_test_path(p), "{p}");
        }
        for p in [
            "src/main.rs",
            "config/prod.yaml",
            "contest/entry.py",
            "latest/config.json",
            "src/testing_utils.go",
            "docs/testimonials.md",
        ] {
            assert!(!is_test_path(p), "{p}");
        }
    }

    #[test]
    fn fingerprint_is_sha256_of_bytes() {
        assert_eq!(
            fingerprint(b"test"),
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }
}

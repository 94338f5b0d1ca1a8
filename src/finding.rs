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
    if secret.is_ascii() {
        // One byte a character: no decoding needed.
        let n = secret.len();
        let (head, tail) = shown(n);
        let mut out = String::with_capacity(head + tail + 3);
        out.extend(secret[..head].iter().map(|&b| char::from(b)));
        out.push('…');
        out.extend(secret[n - tail..].iter().map(|&b| char::from(b)));
        out.retain(|c| c != '\n' && c != '\r');
        return out;
    }
    let s = String::from_utf8_lossy(secret);
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let (head, tail) = shown(n);
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[n - tail..]);
    out.retain(|c| c != '\n' && c != '\r');
    out
}

/// How many leading and trailing characters of an `n`-character secret
/// [`redact`] shows.
fn shown(n: usize) -> (usize, usize) {
    match n {
        0..=5 => (0, 0),
        6..=11 => (1, 0),
        12..=17 => (2, 1),
        _ => (4, 2),
    }
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
    let (dirs, file) = match relative.rfind(['/', '\\']) {
        Some(i) => (&relative[..i], &relative[i + 1..]),
        None => ("", relative),
    };
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
    if dirs
        .split(['/', '\\'])
        .any(|p| DIRS.iter().any(|d| p.eq_ignore_ascii_case(d)))
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

impl Finding {
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
    }
}

/// Groups `matches` into findings (see [`Collector`]).
pub fn collect(
    rules: &RuleSet,
    matches: Vec<(Origin, Match)>,
    show_secrets: bool,
    threads: usize,
) -> Vec<Finding> {
    let mut c = Collector::default();
    for (origin, m) in matches {
        c.add(rules, &origin, m);
    }
    finish(rules, vec![c], show_secrets, threads)
}

/// The findings of several collectors (one per scanning thread), merged
/// and finished on up to `threads` threads, in a stable order: each thread
/// takes a share of the (rule, secret) shards of every collector, so no
/// finding is split between two, and sorts its findings; the sorted runs
/// are then merged.
pub fn finish(
    rules: &RuleSet,
    collectors: Vec<Collector>,
    show_secrets: bool,
    threads: usize,
) -> Vec<Finding> {
    let total: usize = collectors.iter().map(Collector::len).sum();
    let mut by_shard: Vec<Vec<Shard>> = (0..SHARDS).map(|_| Vec::new()).collect();
    for c in collectors {
        for (i, shard) in c.shards.into_iter().enumerate() {
            if !shard.is_empty() {
                by_shard[i].push(shard);
            }
        }
    }
    let threads = threads.clamp(1, SHARDS).min(total.div_ceil(512).max(1));
    let parts = crate::parallel::split(by_shard, threads);
    let runs = crate::parallel::map(parts, |part| {
        let mut out = Vec::new();
        for shards in part {
            let mut shards = shards.into_iter();
            let Some(mut all) = shards.next() else {
                continue;
            };
            for other in shards {
                merge_shard(&mut all, other);
            }
            out.extend(
                all.into_iter()
                    .map(|((r, _), f)| finish_one(&rules.rules()[r], f, show_secrets)),
            );
        }
        sort_findings(out)
    });
    merge_runs(runs)
}

/// What orders findings: first location, then rule, then fingerprint.
fn order(f: &Finding) -> (&str, u32, u32, &str, &str) {
    let l = &f.locations[0];
    (&l.path, l.line, l.column, &f.rule, &f.fingerprint)
}

/// `out` in [`order`]. Findings are large, so the sort moves indices and
/// each finding moves once.
fn sort_findings(out: Vec<Finding>) -> Vec<Finding> {
    let keys: Vec<_> = out.iter().map(order).collect();
    let mut idx: Vec<usize> = (0..out.len()).collect();
    idx.sort_unstable_by(|&a, &b| keys[a].cmp(&keys[b]));
    drop(keys);
    let mut slots: Vec<Option<Finding>> = out.into_iter().map(Some).collect();
    idx.into_iter()
        .map(|i| slots[i].take().expect("each index once"))
        .collect()
}

/// Sorted runs merged into one sorted list, pairwise.
fn merge_runs(mut runs: Vec<Vec<Finding>>) -> Vec<Finding> {
    while runs.len() > 1 {
        let mut next = Vec::with_capacity(runs.len().div_ceil(2));
        let mut it = runs.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => merge_two(a, b),
                None => a,
            });
        }
        runs = next;
    }
    runs.pop().unwrap_or_default()
}

fn merge_two(a: Vec<Finding>, b: Vec<Finding>) -> Vec<Finding> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => order(x) <= order(y),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

/// One finding made ready: locations sorted, its binding, its confidence,
/// and the secret filled in only if `show_secrets`.
fn finish_one(rule: &crate::rules::Rule, mut f: Finding, show_secrets: bool) -> Finding {
    f.locations.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.commit).cmp(&(&b.path, b.line, b.column, &b.commit))
    });
    f.locations.dedup();
    f.binding = f.locations.iter().find_map(|l| l.binding.clone());
    if f.locations.iter().all(|l| is_test_path(&l.relative)) {
        f.doubt = doubt(rule, f.checksum, f.raw.expose());
        if f.doubt.is_some() {
            f.confidence = Confidence::Low;
        }
    }
    if show_secrets {
        f.secret = Some(String::from_utf8_lossy(f.raw.expose()).into_owned());
    }
    f
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

/// How many parts a collector's findings are kept in, by a hash of (rule,
/// secret): the parts are merged and finished in parallel.
const SHARDS: usize = 16;

type Shard = HashMap<(usize, Secret), Finding, crate::hash::FnvState>;

/// Groups matches into findings by (rule, secret value). Each scanning
/// thread keeps one; [`finish`] merges them.
pub struct Collector {
    shards: Vec<Shard>,
}

impl Default for Collector {
    fn default() -> Collector {
        Collector {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

/// The shard of a (rule, secret) key, the same in every collector.
fn shard_of(key: &(usize, Secret)) -> usize {
    use std::hash::BuildHasher;
    (crate::hash::FnvState::default().hash_one(key) >> 32) as usize % SHARDS
}

/// Takes `other`'s findings into `all`, as if its matches had come after
/// those of `all`.
fn merge_shard(all: &mut Shard, other: Shard) {
    use std::collections::hash_map::Entry;
    all.reserve(other.len());
    for (key, g) in other {
        match all.entry(key) {
            Entry::Vacant(v) => {
                v.insert(g);
            }
            Entry::Occupied(o) => o.into_mut().absorb(g),
        }
    }
}

impl Collector {
    pub fn add(&mut self, rules: &RuleSet, origin: &Origin, m: Match) {
        use std::collections::hash_map::Entry;
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
            binding: m.binding,
            encoding: m.encoding,
            relative: origin.relative(),
        };
        let key = (m.rule, Secret::new(m.secret));
        let shard = &mut self.shards[shard_of(&key)];
        let f = match shard.entry(key) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let rule = &rules.rules()[m.rule];
                let secret = v.key().1.clone();
                v.insert(Finding {
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
                    // Worked out at the end, and only where it matters: for
                    // a finding seen in test paths alone.
                    doubt: None,
                    raw: secret,
                })
            }
        };
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

    /// How many findings so far.
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(HashMap::is_empty)
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

//! Grouping: the matcher's matches, with their origins, become findings
//! keyed by (rule, secret value). Each scanning thread keeps a
//! [`Collector`]; [`finish`] merges them in parallel and hands on findings
//! sorted by their first location, each made ready (locations sorted, its
//! binding, its confidence, the secret only under `--show-secrets`).
use std::collections::{BTreeMap, HashMap};

use super::{Confidence, Finding, Location};
use crate::base::kinds::{Checksum, Lifetime};
use crate::base::secret::{fingerprint, redact, Secret};
use crate::matcher::Match;
use crate::rules::{Rule, RuleSet};
use crate::source::Origin;
use crate::validate::Validator;

/// Groups `matches` into findings (see [`Collector`]).
pub fn collect(
    rules: &RuleSet,
    matches: Vec<(Origin, Match)>,
    show_secrets: bool,
    threads: usize,
) -> Vec<Finding> {
    let mut c = Collector::default();
    for (origin, m) in matches {
        c.add(rules, &origin, m, None);
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
    let parts = crate::base::parallel::split(by_shard, threads);
    let runs = crate::base::parallel::map(parts, |part| {
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

/// `out` in [`order`]. Findings are large, so the sort moves indices, and
/// the findings are then put in place by following the permutation's
/// cycles: no second list of them is ever held.
fn sort_findings(mut out: Vec<Finding>) -> Vec<Finding> {
    let keys: Vec<_> = out.iter().map(order).collect();
    let mut idx: Vec<usize> = (0..out.len()).collect();
    idx.sort_unstable_by(|&a, &b| keys[a].cmp(&keys[b]));
    drop(keys);
    // `idx[k]` is where the finding that belongs at `k` stands now.
    for start in 0..idx.len() {
        let mut k = start;
        while idx[k] != start && idx[k] != usize::MAX {
            let from = idx[k];
            out.swap(k, from);
            idx[k] = usize::MAX;
            k = from;
        }
        idx[k] = usize::MAX;
    }
    out
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
fn finish_one(rule: &Rule, mut f: Finding, show_secrets: bool) -> Finding {
    f.locations.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.commit).cmp(&(&b.path, b.line, b.column, &b.commit))
    });
    f.locations.dedup();
    super::mark_introduced(&mut f.locations);
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
fn doubt(rule: &Rule, checksum: Option<Checksum>, secret: &[u8]) -> Option<&'static str> {
    match checksum {
        Some(Checksum::Valid) => None,
        Some(Checksum::Invalid) => Some("its checksum fails"),
        // No format says what a generic assignment should be, so nothing
        // shows it to be a credential rather than a documentation or test
        // value.
        None if rule.spec.validator == Some(Validator::Generic) => {
            Some("no format to check a generic assignment against")
        }
        None => rule.shape().and_then(|s| s.made_up(secret)),
    }
}

/// How many parts a collector's findings are kept in, by a hash of (rule,
/// secret): the parts are merged and finished in parallel.
const SHARDS: usize = 16;

type Shard = HashMap<(usize, Secret), Finding, crate::base::hash::FnvState>;

/// Groups matches into findings by (rule, secret value). Each scanning
/// thread keeps one; [`finish`] merges them.
pub struct Collector {
    shards: Vec<Shard>,
    cap: Option<std::sync::Arc<Cap>>,
}

impl Default for Collector {
    fn default() -> Collector {
        Collector {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            cap: None,
        }
    }
}

/// How many findings the collectors of one scan may hold between them:
/// memory grows with the number of distinct secrets, and this bounds it.
#[derive(Debug, Default)]
pub struct Cap {
    pub max: usize,
    /// Findings made so far (a secret two threads met counts twice).
    pub kept: std::sync::atomic::AtomicUsize,
    /// Matches of new secrets dropped once `kept` reached `max`.
    pub dropped: std::sync::atomic::AtomicUsize,
}

/// The shard of a (rule, secret) key, the same in every collector.
fn shard_of(key: &(usize, Secret)) -> usize {
    use std::hash::BuildHasher;
    (crate::base::hash::FnvState::default().hash_one(key) >> 32) as usize % SHARDS
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
    /// A collector that shares `cap` with the others of its scan.
    pub fn capped(cap: std::sync::Arc<Cap>) -> Collector {
        Collector {
            cap: Some(cap),
            ..Collector::default()
        }
    }

    /// Adds a match; `suppression` says what added in a range scan would
    /// have hidden it (see [`Location::suppression`]).
    pub fn add(
        &mut self,
        rules: &RuleSet,
        origin: &Origin,
        m: Match,
        suppression: Option<&'static str>,
    ) {
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
            suppression: suppression.map(str::to_string),
            container: origin
                .container
                .as_deref()
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            introduced: None,
            relative: origin.relative(),
        };
        let key = (m.rule, Secret::new(m.secret));
        let shard = &mut self.shards[shard_of(&key)];
        let f = match shard.entry(key) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                if let Some(cap) = &self.cap {
                    use std::sync::atomic::Ordering::Relaxed;
                    if cap.kept.fetch_add(1, Relaxed) >= cap.max {
                        cap.dropped.fetch_add(1, Relaxed);
                        return;
                    }
                }
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
                    confidence: rule.spec.confidence.unwrap_or_default(),
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
                    verification: None,
                    risks: Vec::new(),
                    // Worked out at the end, and only where it matters: for
                    // a finding seen in test paths alone.
                    doubt: None,
                    raw: secret,
                    companion: None,
                })
            }
        };
        if f.key_id.is_none() {
            f.key_id = m.key_id;
            f.drop_key_id_if_secret();
        }
        if f.companion.is_none() {
            f.companion = m.facts.companion;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! Live verification in a sweep (`keytrace sweep --verify`). A sweep
//! reads only new blobs, and its store keeps no secret; so each repository
//! is checked in three parts: this sweep's findings are checked unless the
//! store holds a check of the same (rule, secret) younger than
//! `--reverify-after`; older findings whose check is missing or older are
//! read again from one blob that holds them (by id, in the repository
//! already fetched) and checked; every result goes back to the store with
//! its time, for the reports.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::finding::Finding;
use crate::net::Client;
use crate::rules::verify::State;
use crate::source::Origin;
use crate::verify::{Tally, Verification, VerifyOptions};

use crate::matcher::Matcher;

use super::store::{Store, StoreError, StoredCheck};

/// Live verification settings of a sweep.
pub struct SweepVerify {
    pub options: VerifyOptions,
    pub client: Client,
    /// A check younger than this is not made again.
    pub reverify_after: Duration,
    /// All checks of the sweep end by then.
    pub deadline: Instant,
}

/// A finding's check to store: (rule, fingerprint, verification).
pub type Check = (String, String, Verification);

/// Checks what is due in one repository; sets `verification` on this
/// sweep's findings and returns every check made or reused, and the tally
/// of those made.
pub(super) fn verify_repo(
    matcher: &Matcher,
    max_blob_size: u64,
    live: &SweepVerify,
    store: &Store,
    repo: &git2::Repository,
    name: &str,
    findings: &mut [Finding],
) -> Result<(Vec<Check>, Tally), StoreError> {
    let rules = matcher.rules();
    let verifiable: HashSet<&str> = rules
        .rules()
        .iter()
        .filter(|r| r.spec.verify.is_some())
        .map(|r| r.id())
        .collect();
    let now = crate::base::time::unix_now();
    let cutoff = crate::base::time::rfc3339(now - live.reverify_after.as_secs() as i64);
    let recent = |v: &Verification| v.state != State::Skipped && v.checked_at >= cutoff;
    let stored = store.checks(name)?;
    let by_key: HashMap<(&str, &str), &StoredCheck> = stored
        .iter()
        .map(|c| ((c.rule.as_str(), c.fingerprint.as_str()), c))
        .collect();
    let mut batch: Vec<Finding> = Vec::new();
    let mut reused: Vec<Check> = Vec::new();
    for f in findings.iter_mut() {
        if !verifiable.contains(f.rule.as_str()) {
            continue;
        }
        let before = by_key
            .get(&(f.rule.as_str(), f.fingerprint.as_str()))
            .and_then(|c| c.verification.as_ref())
            .filter(|v| recent(v));
        match before {
            Some(v) => {
                f.verification = Some(Box::new(v.clone()));
                reused.push((f.rule.clone(), f.fingerprint.clone(), v.clone()));
            }
            None => batch.push(Finding {
                locations: Vec::new(),
                ..f.clone()
            }),
        }
    }
    let this_sweep: HashSet<(&str, &str)> = findings
        .iter()
        .map(|f| (f.rule.as_str(), f.fingerprint.as_str()))
        .collect();
    let due: Vec<&StoredCheck> = stored
        .iter()
        .filter(|c| verifiable.contains(c.rule.as_str()))
        .filter(|c| !this_sweep.contains(&(c.rule.as_str(), c.fingerprint.as_str())))
        .filter(|c| !c.verification.as_ref().is_some_and(recent))
        .collect();
    batch.extend(recover(matcher, max_blob_size, repo, &due));
    let budget = live.deadline.saturating_duration_since(Instant::now());
    if batch.is_empty() || budget.is_zero() {
        return Ok((reused, Tally::default()));
    }
    let opts = VerifyOptions {
        budget,
        ..live.options.clone()
    };
    let tally = crate::verify::run(&mut batch, rules, &opts, &live.client);
    let mut checks = reused;
    let mut made: HashMap<(String, String), Verification> = HashMap::new();
    for f in batch {
        if let Some(v) = f.verification {
            made.insert((f.rule.clone(), f.fingerprint.clone()), (*v).clone());
            checks.push((f.rule, f.fingerprint, *v));
        }
    }
    for f in findings.iter_mut() {
        if let Some(v) = made.get(&(f.rule.clone(), f.fingerprint.clone())) {
            f.verification = Some(Box::new(v.clone()));
        }
    }
    Ok((checks, tally))
}

/// The findings of `due` as read again from their blobs: the secret, its
/// key id and what sits beside it, which the store does not keep. A blob
/// gone from the repository, or larger than the sweep reads whole, leaves
/// its findings unchecked (due again next time).
fn recover(
    matcher: &Matcher,
    max_blob_size: u64,
    repo: &git2::Repository,
    due: &[&StoredCheck],
) -> Vec<Finding> {
    let mut by_blob: BTreeMap<(&str, &str), Vec<&StoredCheck>> = BTreeMap::new();
    for c in due {
        if let Some((oid, path)) = &c.blob {
            by_blob.entry((oid, path)).or_default().push(c);
        }
    }
    let rules = matcher.rules();
    let mut scratch = crate::matcher::Scratch::default();
    let mut out = Vec::new();
    for ((oid, path), wanted) in by_blob {
        let Ok(oid) = git2::Oid::from_str(oid) else {
            continue;
        };
        let Ok(blob) = repo.find_blob(oid) else {
            continue;
        };
        if blob.size() as u64 > max_blob_size {
            continue;
        }
        let file_name = path.rsplit('/').next().unwrap_or(path);
        let matches = matcher.scan_named(blob.content(), file_name, &mut scratch);
        let origin = Origin {
            blob: Some(oid),
            at_head: false,
            ..Origin::file(path.to_string(), PathBuf::new())
        };
        let found = crate::finding::collect::collect(
            rules,
            matches.into_iter().map(|m| (origin.clone(), m)).collect(),
            false,
            1,
        );
        for f in found {
            if wanted
                .iter()
                .any(|c| c.rule == f.rule && c.fingerprint == f.fingerprint)
            {
                out.push(Finding {
                    locations: Vec::new(),
                    ..f
                });
            }
        }
    }
    out
}

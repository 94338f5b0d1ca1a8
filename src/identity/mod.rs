//! Identity correlation: which declared identity holds each finding, who is
//! accountable for it, and which OWASP Non-Human Identities Top 10 (2025)
//! risks it shows. Receives findings and, if given, the inventory; hands on
//! findings with `identity`, `owner` and `risks` set, and the `identities`
//! section of the report.
pub mod draft;
pub mod index;
pub mod inventory;
pub mod lint;
pub mod owners;
pub mod risks;

use serde::Serialize;

use crate::finding::Finding;
use index::{external_ids, finding_ids};
use inventory::Identity;
use lint::Issue;

pub use index::Inventory;
pub use risks::RiskOptions;

/// One line of the report's `identities` section.
#[derive(Debug, Clone, Serialize)]
pub struct IdentitySummary {
    pub agent: String,
    pub owner: Option<String>,
    pub status: String,
    /// Stable ids of what the lint found (`review-overdue`, ...).
    pub issues: Vec<&'static str>,
    /// How many findings this identity claims.
    pub findings: usize,
    /// The issues with their sentences.
    pub problems: Vec<Issue>,
}

/// Whether credential entry `c` of an identity claims finding `f`.
fn claims(c: &inventory::CredentialRef, f: &Finding) -> bool {
    if let Some(p) = &c.provider {
        if !p.eq_ignore_ascii_case(&f.provider) {
            return false;
        }
    }
    let by_fingerprint = c
        .fingerprint
        .as_deref()
        .is_some_and(|fp| fp.trim().eq_ignore_ascii_case(&f.fingerprint));
    let by_key_id = c.key_id.as_deref().is_some_and(|k| {
        let k = k.trim();
        f.key_id.as_deref() == Some(k)
            || crate::base::secret::fingerprint(k.as_bytes()) == f.fingerprint
    });
    let by_env = c.env.as_deref().is_some_and(|e| {
        let e = inventory::binding_key(e);
        let same = |b: Option<&String>| b.is_some_and(|b| inventory::binding_key(b) == e);
        same(f.binding.as_ref()) || f.locations.iter().any(|l| same(l.binding.as_ref()))
    });
    by_fingerprint || by_key_id || by_env
}

/// An external id of the identity that the secret itself decodes to.
fn claims_by_external_id(id: &Identity, f: &Finding) -> bool {
    let theirs = finding_ids(f);
    external_ids(id).into_iter().any(|(name, mine)| {
        theirs
            .iter()
            .any(|(n, v)| *n == name && v.eq_ignore_ascii_case(mine))
    })
}

/// Sets `identity`, `owner` and `risks` on every finding and returns the
/// identities section (empty without an inventory).
pub fn correlate(
    findings: &mut [Finding],
    inventory: Option<&Inventory>,
    opts: RiskOptions,
) -> Vec<IdentitySummary> {
    correlate_on(findings, inventory, opts, 1, |_| {})
}

/// [`correlate`] on up to `threads` threads, each taking a run of the
/// findings and calling `also` on it afterwards (code owners).
pub fn correlate_on(
    findings: &mut [Finding],
    inventory: Option<&Inventory>,
    opts: RiskOptions,
    threads: usize,
    also: impl Fn(&mut [Finding]) + Sync,
) -> Vec<IdentitySummary> {
    let per = findings.len().div_ceil(threads.clamp(1, 16)).max(256);
    let parts: Vec<&mut [Finding]> = findings.chunks_mut(per).collect();
    let parts = crate::base::parallel::map(parts, |part| {
        let counts = claim(part, inventory, opts);
        also(part);
        counts
    });
    let mut counts = vec![0usize; inventory.map_or(0, |i| i.identities.len())];
    for part in parts {
        for (c, n) in counts.iter_mut().zip(part) {
            *c += n;
        }
    }
    let Some(inv) = inventory else {
        return Vec::new();
    };
    inv.identities
        .iter()
        .zip(counts)
        .map(|(id, findings)| {
            let problems: Vec<Issue> = inv.issues_of(&id.agent).cloned().collect();
            IdentitySummary {
                agent: id.agent.clone(),
                owner: id.owner.clone(),
                status: id.status().to_string(),
                issues: problems.iter().map(|p| p.id).collect(),
                findings,
                problems,
            }
        })
        .collect()
}

/// Sets `identity`, `owner` and `risks` on `findings`; how many of them
/// each inventory identity claims.
fn claim(findings: &mut [Finding], inventory: Option<&Inventory>, opts: RiskOptions) -> Vec<usize> {
    let mut counts = vec![0usize; inventory.map_or(0, |i| i.identities.len())];
    for f in findings.iter_mut() {
        let mut claimed: Vec<&Identity> = Vec::new();
        if let Some(inv) = inventory {
            for n in inv.candidates(f) {
                let id = &inv.identities[n];
                let mine =
                    id.credentials.iter().any(|c| claims(c, f)) || claims_by_external_id(id, f);
                if mine && !claimed.iter().any(|c| c.agent == id.agent) {
                    claimed.push(id);
                    counts[n] += 1;
                }
            }
        }
        f.identity = match claimed.as_slice() {
            [] => None,
            [one] => Some(serde_json::Value::String(one.agent.clone())),
            many => Some(serde_json::Value::Array(
                many.iter()
                    .map(|i| serde_json::Value::String(i.agent.clone()))
                    .collect(),
            )),
        };
        f.owner = claimed.iter().find_map(|i| i.owner.clone());
        f.risks = risks::assess(
            f,
            &risks::Context {
                claimed: &claimed,
                inventory,
                opts,
            },
        );
    }
    counts
}

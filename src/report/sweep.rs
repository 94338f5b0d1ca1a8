//! The report of an org-wide sweep: findings merged over every repository of
//! one or more sweep stores, rolled up per owner and identity. This module
//! only holds the model and its JSON form; `crate::sweep::merge` builds it and
//! [`super::html`] draws it for people.
use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::identity::IdentitySummary;
use crate::source::ScanError;

/// When the sweeps saw a finding. Times are RFC 3339 (UTC) of the sweeps,
/// not commit dates: `Finding::first_seen` is the commit date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Sighting {
    /// The first sweep that recorded it.
    pub first_seen: String,
    /// The last sweep that saw it still reachable in history.
    pub last_seen: String,
    /// How many sweeps saw it.
    pub sweeps: u32,
    /// Recorded by the latest sweep of its repository, and that repository
    /// had been swept before: new since the previous sweep.
    pub new: bool,
    /// Still reachable from a ref at the last sweep. False once a history
    /// rewrite dropped every commit that held it.
    pub in_history: bool,
}

/// A finding with how the sweeps saw it.
#[derive(Debug, Clone, Serialize)]
pub struct SweptFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub sweep: Sighting,
}

/// One repository, as its latest sweep left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RepoSummary {
    /// Its stable name (`github.com/org/repo`, or the path as listed).
    pub name: String,
    /// Where it was read from: a local path, or the clone URL without any
    /// credentials.
    pub source: String,
    /// Sweeps that reached it, failed ones included.
    pub sweeps: u32,
    /// RFC 3339 time of its latest sweep.
    pub last_sweep: Option<String>,
    /// RFC 3339 time of its latest sweep that did not fail.
    pub last_success: Option<String>,
    /// Why its latest sweep failed, if it did.
    pub error: Option<String>,
    /// What the latest sweep read: commits walked, blobs scanned (new ones
    /// only, on an incremental sweep), their bytes, and its duration.
    pub commits: u64,
    pub blobs: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// Distinct blobs scanned over all sweeps.
    pub known_blobs: u64,
    /// Findings recorded in it (all sweeps).
    pub findings: u64,
    /// First given by the latest org listing (not by the one before it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub added: bool,
    /// Given by the org listing before the latest, not by the latest:
    /// deleted, renamed, moved, or filtered out since.
    #[serde(default, skip_serializing_if = "is_false")]
    pub removed: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// Counts over the whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub repositories: usize,
    /// Repositories whose latest sweep failed.
    pub failed: usize,
    pub findings: usize,
    pub unowned: usize,
    /// New since the previous sweep.
    pub new: usize,
    /// Still present at the HEAD of some repository.
    pub at_head: usize,
    pub locations: usize,
    /// Findings with a live check in the stores (`sweep --verify`), and
    /// how many of them were live at their last check.
    pub verified: usize,
    pub live: usize,
    /// Repositories the latest org listing gave and the one before did
    /// not, and the other way round.
    pub added: usize,
    pub removed: usize,
}

/// One owner's share of the findings (`owner: None` is the unowned group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerRollup {
    pub owner: Option<String>,
    pub findings: usize,
    /// Findings live at their last check (`sweep --verify`).
    pub live: usize,
    /// (agent, findings it holds) for the identities of this owner that hold any.
    pub identities: Vec<(String, usize)>,
    /// How many of this owner's findings show each risk, in [`RiskMatrix::risks`] order.
    pub risks: Vec<usize>,
}

/// Findings per (risk id, owner): `counts[r][o]` for `risks[r]` and `owners[o]`
/// (`None` is unowned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskMatrix {
    pub risks: Vec<String>,
    pub owners: Vec<Option<String>>,
    pub counts: Vec<Vec<usize>>,
}

/// Secrets by the age of their first commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgeBucket {
    pub label: String,
    /// Inclusive lower bound in days; `None` for findings without a commit date.
    pub min_days: Option<i64>,
    pub count: usize,
}

/// Everything `keytrace report` writes.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub version: u32,
    /// RFC 3339 time the report was made.
    pub generated: String,
    pub totals: Totals,
    /// Sorted by (rule, fingerprint): the same for any split of the
    /// repositories over shards.
    pub findings: Vec<SweptFinding>,
    pub owners: Vec<OwnerRollup>,
    pub identities: Vec<IdentitySummary>,
    pub risk_matrix: RiskMatrix,
    pub age_histogram: Vec<AgeBucket>,
    pub repositories: Vec<RepoSummary>,
    pub errors: Vec<ScanError>,
}

/// The report for a terminal: totals, owners, unowned credentials, failed
/// repositories. Redacted, like every human report.
pub fn write_human(report: &SweepReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use crate::base::text::terminal_safe as t;
    let n = &report.totals;
    writeln!(
        out,
        "{} repositories ({} failed), {} findings ({} unowned, {} new since the previous sweep, {} at HEAD)",
        n.repositories, n.failed, n.findings, n.unowned, n.new, n.at_head
    )?;
    if n.verified > 0 {
        writeln!(
            out,
            "verified: {} of them checked live, {} live at their last check",
            n.verified, n.live
        )?;
    }
    for o in &report.owners {
        let name = o.owner.as_deref().unwrap_or("Unowned");
        let live = if o.live > 0 {
            format!(" ({} live)", o.live)
        } else {
            String::new()
        };
        writeln!(out, "\n{}: {} findings{live}", t(name), o.findings)?;
        for (agent, n) in &o.identities {
            writeln!(out, "  {}: {n}", t(agent))?;
        }
        if o.owner.is_none() {
            for f in report
                .findings
                .iter()
                .filter(|f| f.finding.identity.is_none())
            {
                let l = &f.finding.locations[0];
                writeln!(
                    out,
                    "  {} {} at {}:{}:{}{}",
                    t(&f.finding.rule),
                    t(&f.finding.redacted),
                    t(l.repo.as_deref().unwrap_or("?")),
                    t(&l.path),
                    l.line,
                    if f.finding.locations.len() > 1 {
                        format!(" (+{} more)", f.finding.locations.len() - 1)
                    } else {
                        String::new()
                    }
                )?;
            }
        }
    }
    let failed: Vec<&RepoSummary> = report
        .repositories
        .iter()
        .filter(|r| r.error.is_some())
        .collect();
    for (flag, label) in [
        (true, "added since the previous listing"),
        (
            false,
            "removed since the previous listing (deleted, renamed or filtered out)",
        ),
    ] {
        let names: Vec<&str> = report
            .repositories
            .iter()
            .filter(|r| if flag { r.added } else { r.removed })
            .map(|r| r.name.as_str())
            .collect();
        if !names.is_empty() {
            writeln!(out, "\nRepositories {label}:")?;
            for n in names {
                writeln!(out, "  {}", t(n))?;
            }
        }
    }
    if !failed.is_empty() {
        writeln!(out, "\nRepositories that failed:")?;
        for r in failed {
            writeln!(
                out,
                "  {}: {}",
                t(&r.name),
                t(r.error.as_deref().unwrap_or(""))
            )?;
        }
    }
    Ok(())
}

//! Merging sweeps: any number of stores, or the JSONL they export, into one
//! report. A repository listed by several inputs is taken from the one that
//! swept it last; a secret found in several repositories is one finding with
//! all their locations. The result is the same for any split of the
//! repositories over shards, because nothing in it depends on the order or
//! grouping of the inputs.
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::store::{Contents, Store, StoredFinding};
use crate::base::time::Date;
use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::identity::risks::TITLES;
use crate::identity::{Inventory, RiskOptions};
use crate::report::sweep::{
    AgeBucket, OwnerRollup, RepoSummary, RiskMatrix, Sighting, SweepReport, SweptFinding, Totals,
};
use crate::source::ScanError;

/// One line of a store's JSONL export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "lowercase")]
pub enum Record {
    Repo(RepoSummary),
    Finding {
        repo: String,
        sweep: Sighting,
        finding: Box<Finding>,
    },
    Problem(ScanError),
}

/// Reads a store.
pub fn load_store(path: &Path) -> Result<Contents> {
    let store = Store::open_read(path).map_err(|e| Error::Config {
        path: e.path.clone(),
        message: e.message,
    })?;
    store.contents().map_err(|e| Error::Config {
        path: e.path.clone(),
        message: e.message,
    })
}

/// Reads an export written by [`export`]. A line that does not parse is an
/// error naming the file and line.
pub fn load_jsonl(path: &Path) -> Result<Contents> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Contents::default();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&line).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: format!("line {}: not a keytrace sweep record: {e}", n + 1),
        })?;
        match record {
            Record::Repo(r) => out.repos.push(r),
            Record::Finding {
                repo,
                sweep,
                mut finding,
            } => {
                // An export written before key ids equal to the secret
                // were dropped.
                finding.drop_key_id_if_secret();
                out.findings.push(StoredFinding {
                    repo,
                    finding: *finding,
                    sighting: sweep,
                })
            }
            Record::Problem(p) => out.problems.push(p),
        }
    }
    // Findings whose repository has no record of its own (an export cut
    // short, or edited) are kept, under a record made for them, and said.
    let known: std::collections::HashSet<String> =
        out.repos.iter().map(|r| r.name.clone()).collect();
    let mut orphans: Vec<String> = out
        .findings
        .iter()
        .filter(|f| !known.contains(&f.repo))
        .map(|f| f.repo.clone())
        .collect();
    orphans.sort();
    orphans.dedup();
    for name in orphans {
        out.problems.push(ScanError::warning(
            format!("{name}: {}", path.display()),
            "findings without their repository record in this export: kept, with no sweep times",
        ));
        out.repos.push(RepoSummary {
            name,
            source: path.display().to_string(),
            ..RepoSummary::default()
        });
    }
    Ok(out)
}

/// Writes `contents` as JSONL records that [`load_jsonl`] reads back: what a
/// worker hands to the merge step when stores cannot be copied.
pub fn export(contents: &Contents, show_secrets: bool, out: &mut dyn Write) -> std::io::Result<()> {
    for r in &contents.repos {
        serde_json::to_writer(&mut *out, &Record::Repo(r.clone()))?;
        writeln!(out)?;
    }
    for f in &contents.findings {
        let mut finding = Box::new(f.finding.clone());
        if !show_secrets {
            finding.secret = None;
        }
        let record = Record::Finding {
            repo: f.repo.clone(),
            sweep: f.sighting.clone(),
            finding,
        };
        serde_json::to_writer(&mut *out, &record)?;
        writeln!(out)?;
    }
    for p in &contents.problems {
        serde_json::to_writer(&mut *out, &Record::Problem(p.clone()))?;
        writeln!(out)?;
    }
    Ok(())
}

/// Several inputs as one: each repository from the input that swept it
/// last (ties: the later input), with that input's findings and problems.
pub fn combine(inputs: Vec<Contents>) -> Contents {
    let mut winner: HashMap<String, (usize, Option<String>)> = HashMap::new();
    for (i, c) in inputs.iter().enumerate() {
        for r in &c.repos {
            let newer = winner
                .get(&r.name)
                .is_none_or(|(_, last)| r.last_sweep >= *last);
            if newer {
                winner.insert(r.name.clone(), (i, r.last_sweep.clone()));
            }
        }
    }
    let takes = |i: usize, repo: &str| winner.get(repo).is_some_and(|w| w.0 == i);
    let mut out = Contents::default();
    for (i, c) in inputs.into_iter().enumerate() {
        out.repos
            .extend(c.repos.into_iter().filter(|r| takes(i, &r.name)));
        out.findings
            .extend(c.findings.into_iter().filter(|f| takes(i, &f.repo)));
        out.problems.extend(c.problems.into_iter().filter(|p| {
            // Problems are prefixed with their repository's name.
            winner
                .iter()
                .any(|(name, w)| w.0 == i && p.path.starts_with(&format!("{name}: ")))
        }));
    }
    out.repos.sort_by(|a, b| a.name.cmp(&b.name));
    out.problems
        .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    out
}

/// Settings of a report.
pub struct ReportSettings<'a> {
    pub inventory: Option<&'a Inventory>,
    pub risk: RiskOptions,
    pub show_secrets: bool,
    pub generated: String,
}

/// The merged report: findings grouped by (rule, secret) over every
/// repository, correlated with the inventory, rolled up per owner.
pub fn report(contents: Contents, settings: &ReportSettings) -> SweepReport {
    let mut groups: BTreeMap<(String, String), (Finding, Sighting)> = BTreeMap::new();
    for sf in contents.findings {
        let StoredFinding {
            finding: mut f,
            sighting: s,
            ..
        } = sf;
        if !s.in_history {
            for l in &mut f.locations {
                l.at_head = false;
            }
        }
        let key = (f.rule.clone(), f.fingerprint.clone());
        match groups.get_mut(&key) {
            None => {
                groups.insert(key, (f, s));
            }
            Some((g, gs)) => {
                g.absorb(f);
                if s.first_seen < gs.first_seen {
                    gs.first_seen = s.first_seen;
                }
                if s.last_seen > gs.last_seen {
                    gs.last_seen = s.last_seen;
                }
                gs.sweeps = gs.sweeps.max(s.sweeps);
                gs.new &= s.new;
                gs.in_history |= s.in_history;
            }
        }
    }
    let mut findings: Vec<Finding> = Vec::with_capacity(groups.len());
    let mut sightings: Vec<Sighting> = Vec::with_capacity(groups.len());
    for (_, (mut f, s)) in groups {
        // Marked anew over the merged locations (an export carries marks).
        for l in &mut f.locations {
            l.introduced = None;
        }
        f.locations.sort_by(|a, b| {
            (&a.repo, &a.path, a.line, a.column, &a.commit)
                .cmp(&(&b.repo, &b.path, b.line, b.column, &b.commit))
        });
        f.locations.dedup();
        crate::finding::mark_introduced(&mut f.locations);
        f.at_head = f.locations.iter().any(|l| l.at_head);
        f.first_seen = f.locations.iter().filter_map(|l| l.date.clone()).min();
        f.binding = f.locations.iter().find_map(|l| l.binding.clone());
        if !settings.show_secrets {
            f.secret = None;
        }
        findings.push(f);
        sightings.push(s);
    }
    let identities = crate::identity::correlate(&mut findings, settings.inventory, settings.risk);
    let findings: Vec<SweptFinding> = findings
        .into_iter()
        .zip(sightings)
        .map(|(finding, sweep)| SweptFinding { finding, sweep })
        .collect();
    let repos = contents.repos;
    let totals = Totals {
        repositories: repos.len(),
        failed: repos.iter().filter(|r| r.error.is_some()).count(),
        added: repos.iter().filter(|r| r.added).count(),
        removed: repos.iter().filter(|r| r.removed).count(),
        findings: findings.len(),
        unowned: findings
            .iter()
            .filter(|f| f.finding.identity.is_none())
            .count(),
        new: findings.iter().filter(|f| f.sweep.new).count(),
        at_head: findings.iter().filter(|f| f.finding.at_head).count(),
        locations: findings.iter().map(|f| f.finding.locations.len()).sum(),
        verified: findings
            .iter()
            .filter(|f| f.finding.verification.is_some())
            .count(),
        live: findings.iter().filter(|f| is_live(&f.finding)).count(),
    };
    let (owners, risk_matrix) = rollups(&findings);
    SweepReport {
        version: 1,
        generated: settings.generated.clone(),
        totals,
        age_histogram: ages(&findings, settings.risk.today),
        findings,
        owners,
        identities,
        risk_matrix,
        repositories: repos,
        errors: contents.problems,
    }
}

fn is_live(f: &Finding) -> bool {
    f.verification
        .as_ref()
        .is_some_and(|v| v.state == crate::rules::verify::State::Live)
}

/// Per owner (named owners by name, the unowned last): findings, the
/// identities holding them, and the risk counts that make the matrix.
fn rollups(findings: &[SweptFinding]) -> (Vec<OwnerRollup>, RiskMatrix) {
    let risks: Vec<String> = TITLES.iter().map(|t| t.0.to_string()).collect();
    let mut by_owner: BTreeMap<(bool, Option<String>), OwnerRollup> = BTreeMap::new();
    for sf in findings {
        let f = &sf.finding;
        // Claimed findings whose identity names no owner still belong to an
        // identity: they sort with the owners, as "(no owner)".
        let owner = match (&f.owner, &f.identity) {
            (Some(o), _) => Some(o.clone()),
            (None, Some(_)) => Some("(no owner)".to_string()),
            (None, None) => None,
        };
        let entry = by_owner
            .entry((owner.is_none(), owner.clone()))
            .or_insert_with(|| OwnerRollup {
                owner,
                findings: 0,
                live: 0,
                identities: Vec::new(),
                risks: vec![0; risks.len()],
            });
        entry.findings += 1;
        entry.live += usize::from(is_live(f));
        for agent in agents(f) {
            match entry.identities.iter_mut().find(|(a, _)| *a == agent) {
                Some((_, n)) => *n += 1,
                None => entry.identities.push((agent, 1)),
            }
        }
        for r in &f.risks {
            if let Some(i) = risks.iter().position(|id| id == r.id) {
                entry.risks[i] += 1;
            }
        }
    }
    let mut owners: Vec<OwnerRollup> = by_owner.into_values().collect();
    for o in &mut owners {
        o.identities.sort();
    }
    let matrix = RiskMatrix {
        counts: (0..risks.len())
            .map(|r| owners.iter().map(|o| o.risks[r]).collect())
            .collect(),
        owners: owners.iter().map(|o| o.owner.clone()).collect(),
        risks,
    };
    (owners, matrix)
}

fn agents(f: &Finding) -> Vec<String> {
    match &f.identity {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Secrets by the age of their first commit, in days before `today`.
fn ages(findings: &[SweptFinding], today: Date) -> Vec<AgeBucket> {
    const BUCKETS: [(&str, i64); 6] = [
        ("< 30 days", 0),
        ("30-89 days", 30),
        ("90-179 days", 90),
        ("180-364 days", 180),
        ("1-2 years", 365),
        ("> 2 years", 730),
    ];
    let mut out: Vec<AgeBucket> = BUCKETS
        .iter()
        .map(|(label, min)| AgeBucket {
            label: label.to_string(),
            min_days: Some(*min),
            count: 0,
        })
        .collect();
    let mut unknown = 0;
    for f in findings {
        let days = f
            .finding
            .first_seen
            .as_deref()
            .and_then(|d| Date::parse(d.get(..10)?))
            .map(|d| (today.0 - d.0).max(0));
        match days {
            Some(days) => {
                let i = BUCKETS.iter().rposition(|b| days >= b.1).unwrap_or(0);
                out[i].count += 1;
            }
            None => unknown += 1,
        }
    }
    if unknown > 0 {
        out.push(AgeBucket {
            label: "no commit date".into(),
            min_days: None,
            count: unknown,
        });
    }
    out
}

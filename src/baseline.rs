//! Baselines: findings accepted on purpose, recorded by (rule, fingerprint)
//! and never by path or line, so that a recorded secret stays suppressed when
//! its file moves or lines shift, while a different secret is still
//! reported. The file is JSON, sorted, one entry per line (reviewable in a
//! diff), holds no secret, and keeps a `reason` per entry.
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::finding::Finding;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub rule: String,
    pub fingerprint: String,
    /// Where it was first seen when recorded: a hint for reviewers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Why it is accepted; kept when the baseline is recorded again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    /// Keyed by (rule, fingerprint).
    #[serde(with = "entries")]
    pub findings: BTreeMap<(String, String), Entry>,
}

mod entries {
    use super::Entry;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<(String, String), Entry>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.values())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<(String, String), Entry>, D::Error> {
        let v: Vec<Entry> = Vec::deserialize(d)?;
        Ok(v.into_iter()
            .map(|e| ((e.rule.clone(), e.fingerprint.clone()), e))
            .collect())
    }
}

impl Baseline {
    pub fn read(path: &Path) -> Result<Baseline> {
        let text = crate::base::files::read_capped_text(path, crate::base::files::cap::BASELINE)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        serde_json::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: format!("not a keytrace baseline: {e}"),
        })
    }

    pub fn contains(&self, f: &Finding) -> bool {
        self.findings
            .contains_key(&(f.rule.clone(), f.fingerprint.clone()))
    }

    /// Today's findings as a baseline, keeping the reasons of `previous`.
    /// With `prune`, entries of `previous` not found today are dropped;
    /// without it they are kept, so recording never forgets an acceptance.
    pub fn record(findings: &[Finding], previous: Option<&Baseline>, prune: bool) -> Baseline {
        let mut out = Baseline {
            version: 1,
            findings: BTreeMap::new(),
        };
        if let (Some(prev), false) = (previous, prune) {
            out.findings = prev.findings.clone();
        }
        for f in findings {
            let key = (f.rule.clone(), f.fingerprint.clone());
            let reason = previous
                .and_then(|p| p.findings.get(&key))
                .and_then(|e| e.reason.clone());
            out.findings.insert(
                key,
                Entry {
                    rule: f.rule.clone(),
                    fingerprint: f.fingerprint.clone(),
                    path: f.locations.first().map(|l| l.path.clone()),
                    reason,
                },
            );
        }
        out
    }

    /// Writes one entry per line, sorted by rule and fingerprint.
    pub fn write(&self, path: &PathBuf) -> Result<()> {
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let mut text = String::from("{\n  \"version\": 1,\n  \"findings\": [\n");
        let n = self.findings.len();
        for (i, e) in self.findings.values().enumerate() {
            let line = serde_json::to_string(e).expect("entries serialise");
            text.push_str("    ");
            text.push_str(&line);
            text.push_str(if i + 1 < n { ",\n" } else { "\n" });
        }
        text.push_str("  ]\n}\n");
        let mut f = std::fs::File::create(path).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)
    }
}

/// Drops the findings a baseline accepts; returns how many.
pub fn suppress(findings: &mut Vec<Finding>, baseline: &Baseline) -> usize {
    let before = findings.len();
    findings.retain(|f| !baseline.contains(f));
    before - findings.len()
}

//! The inventory as correlation uses it: its identities loaded and linted,
//! and indexed by every selector they declare (fingerprint, key id, binding
//! name, external ids such as an AWS account), so that a finding finds the
//! identities that may claim it in a few lookups.
use std::collections::HashMap;
use std::path::PathBuf;

use super::inventory::{self, Identity};
use super::lint::{self, Issue};
use crate::base::time::Date;
use crate::error::Result;
use crate::finding::Finding;

/// A loaded and linted inventory.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub identities: Vec<Identity>,
    pub issues: Vec<Issue>,
    /// Selector (`fp:…`, `key:…`, `env:…`, `aws_account_id:…`, …) → the
    /// identities that declare it, so that a finding is matched by a few
    /// lookups instead of a pass over every credential of every identity.
    index: HashMap<String, Vec<usize>>,
}

impl Inventory {
    pub fn load(paths: &[PathBuf], today: Date) -> Result<Inventory> {
        let identities = inventory::load(paths)?;
        let issues = lint::lint(&identities, today);
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (n, id) in identities.iter().enumerate() {
            let mut keys = Vec::new();
            for c in &id.credentials {
                keys.extend(
                    c.fingerprint
                        .as_ref()
                        .map(|f| format!("fp:{}", f.trim().to_ascii_lowercase())),
                );
                keys.extend(c.key_id.as_ref().map(|k| format!("key:{}", k.trim())));
                keys.extend(c.env.as_ref().map(|e| format!("env:{e}")));
            }
            for (name, value) in external_ids(id) {
                keys.extend(value.map(|v| format!("{name}:{v}")));
            }
            for k in keys {
                let v = index.entry(k).or_default();
                if v.last() != Some(&n) {
                    v.push(n);
                }
            }
        }
        Ok(Inventory {
            identities,
            issues,
            index,
        })
    }

    /// Identities that may claim `f`: those declaring one of its selectors.
    /// `claims` then checks each (a `provider` narrows an entry).
    pub(crate) fn candidates(&self, f: &Finding) -> Vec<usize> {
        let mut keys = vec![format!("fp:{}", f.fingerprint.to_ascii_lowercase())];
        keys.extend(f.key_id.as_ref().map(|k| format!("key:{k}")));
        let bindings = f
            .binding
            .iter()
            .chain(f.locations.iter().filter_map(|l| l.binding.as_ref()));
        keys.extend(bindings.map(|b| format!("env:{b}")));
        for name in EXTERNAL_IDS {
            keys.extend(decoded_id(f, name).map(|v| format!("{name}:{v}")));
        }
        let mut out: Vec<usize> = keys
            .iter()
            .filter_map(|k| self.index.get(k))
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub(crate) fn issues_of<'a>(&'a self, agent: &'a str) -> impl Iterator<Item = &'a Issue> + 'a {
        self.issues.iter().filter(move |i| i.agent == agent)
    }
}

/// External ids an identity can declare, named as validators decode them
/// from secrets (`decoded` of a finding).
pub(crate) const EXTERNAL_IDS: [&str; 3] = ["aws_account_id", "github_app_id", "gitlab_user_id"];

pub(crate) fn external_ids(id: &Identity) -> [(&'static str, Option<&str>); 3] {
    [
        (EXTERNAL_IDS[0], id.aws_account_id.as_deref()),
        (EXTERNAL_IDS[1], id.github_app_id.as_deref()),
        (EXTERNAL_IDS[2], id.gitlab_user_id.as_deref()),
    ]
}

/// An id the secret decodes to, as text (numbers included); else the one
/// the provider gave for a live credential (`--verify`): a GitLab token's
/// user id, a GitHub App's id, an AWS key's account.
pub(crate) fn decoded_id(f: &Finding, name: &str) -> Option<String> {
    let decoded = f.decoded.get(name).map(|v| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    decoded.or_else(|| {
        let v = f.verification.as_ref()?;
        if v.state != crate::rules::verify::State::Live {
            return None;
        }
        let field = match (name, f.provider.as_str()) {
            ("gitlab_user_id", "gitlab") => "user_id",
            ("github_app_id", "github") => "app_id",
            ("aws_account_id", "aws") => "account",
            _ => return None,
        };
        v.identity.get(field).cloned()
    })
}

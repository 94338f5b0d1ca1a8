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
                if let Some(k) = &c.key_id {
                    keys.push(format!("key:{}", k.trim()));
                    // A lone key id is a finding whose secret is the id.
                    keys.push(format!(
                        "fp:{}",
                        crate::base::secret::fingerprint(k.trim().as_bytes())
                    ));
                }
                keys.extend(
                    c.env
                        .as_ref()
                        .map(|e| format!("env:{}", inventory::binding_key(e))),
                );
            }
            for (name, value) in external_ids(id) {
                keys.push(format!("{name}:{}", value.to_ascii_lowercase()));
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
        keys.extend(bindings.map(|b| format!("env:{}", inventory::binding_key(b))));
        for (name, value) in finding_ids(f) {
            keys.push(format!("{name}:{}", value.to_ascii_lowercase()));
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

/// An external id an identity can declare, and where a finding shows it:
/// decoded from the secret or found beside it (offline), or named by the
/// provider for a live credential (`--verify`).
pub(crate) struct ExternalId {
    pub name: &'static str,
    /// The finding's provider, where the id means something only for it.
    provider: Option<&'static str>,
    /// The key of the finding's `decoded` facts that holds it.
    decoded: Option<&'static str>,
    /// The live check's identity field that holds it.
    live: Option<&'static str>,
}

const fn id(
    name: &'static str,
    provider: Option<&'static str>,
    decoded: Option<&'static str>,
    live: Option<&'static str>,
) -> ExternalId {
    ExternalId {
        name,
        provider,
        decoded,
        live,
    }
}

/// Every external id, in the inventory's spelling. Values compare without
/// regard to ASCII case (GUIDs, e-mails and logins are written both ways).
pub(crate) const EXTERNAL_IDS: [ExternalId; 12] = [
    id("aws_account_id", None, Some("aws_account_id"), None),
    id("aws_account_id", Some("aws"), None, Some("account")),
    id("aws_arn", Some("aws"), None, Some("arn")),
    id("github_app_id", None, Some("github_app_id"), None),
    id("github_app_id", Some("github"), None, Some("app_id")),
    id("github_login", Some("github"), None, Some("login")),
    id("gitlab_user_id", None, Some("gitlab_user_id"), None),
    id("gitlab_user_id", Some("gitlab"), None, Some("user_id")),
    id("slack_bot_id", Some("slack"), None, Some("bot_id")),
    id("slack_team_id", Some("slack"), None, Some("team_id")),
    id(
        "gcp_service_account",
        Some("google"),
        Some("client_email"),
        Some("client_email"),
    ),
    id("azure_client_id", Some("azure"), Some("client_id"), None),
];

/// What the identity declares for an external id's name.
pub(crate) fn declared<'a>(id: &'a Identity, name: &str) -> Option<&'a str> {
    match name {
        "aws_account_id" => id.aws_account_id.as_deref(),
        "aws_arn" => id.aws_arn.as_deref(),
        "github_app_id" => id.github_app_id.as_deref(),
        "github_login" => id.github_login.as_deref(),
        "gitlab_user_id" => id.gitlab_user_id.as_deref(),
        "slack_bot_id" => id.slack_bot_id.as_deref(),
        "slack_team_id" => id.slack_team_id.as_deref(),
        "gcp_service_account" => id.gcp_service_account.as_deref(),
        "azure_client_id" => id.azure_client_id.as_deref(),
        _ => None,
    }
    .map(str::trim)
    .filter(|v| !v.is_empty())
}

/// Every (name, value) external id the identity declares.
pub(crate) fn external_ids(id: &Identity) -> Vec<(&'static str, &str)> {
    let mut out: Vec<(&'static str, &str)> = Vec::new();
    for e in &EXTERNAL_IDS {
        if let Some(v) = declared(id, e.name) {
            if !out.contains(&(e.name, v)) {
                out.push((e.name, v));
            }
        }
    }
    out
}

/// Every (name, value) external id the finding shows: decoded from the
/// secret or found beside it, or (live credentials only) named by the
/// provider: a GitLab token's user id, a GitHub token's login or App id,
/// an AWS key's account and ARN, a Slack token's bot and team.
pub(crate) fn finding_ids(f: &Finding) -> Vec<(&'static str, String)> {
    let live = f
        .verification
        .as_ref()
        .filter(|v| v.state == crate::rules::verify::State::Live);
    let mut out = Vec::new();
    for e in &EXTERNAL_IDS {
        if e.provider.is_some_and(|p| p != f.provider) {
            continue;
        }
        let decoded = e.decoded.and_then(|k| f.decoded.get(k)).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let named = e
            .live
            .and_then(|k| live.and_then(|v| v.identity.get(k)).cloned());
        for v in decoded.into_iter().chain(named) {
            if !out.contains(&(e.name, v.clone())) {
                out.push((e.name, v));
            }
        }
    }
    out
}

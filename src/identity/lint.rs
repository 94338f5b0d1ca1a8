//! The inventory lint behind `keytrace agents check` and the `identities`
//! section of a scan: what is wrong with the declarations themselves, each
//! issue with a stable id, a sentence, and the OWASP NHI risk it maps to.
use std::collections::HashMap;

use serde::Serialize;

use super::inventory::Identity;
use crate::base::text::{quoted_value, shown_value};
use crate::base::time::Date;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub id: &'static str,
    pub agent: String,
    pub message: String,
    /// The NHI Top 10 risk the issue is evidence of, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<&'static str>,
    /// Warnings (unknown keys and values) do not fail `agents check`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
    /// Where the identity it concerns is declared (`file:line`): of two
    /// declarations of one name, the later one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

/// Identity types that are not a person; `user_delegated` is the one that is.
pub const NON_HUMAN_TYPES: &[&str] = &[
    "workload_identity",
    "service_account",
    "ai_agent",
    "bot",
    "ci_job",
    "api_key",
];
const STATUSES: &[&str] = &["active", "suspended", "offboarded"];
/// Authentication that hands out long-lived static secrets.
pub const STATIC_AUTH: &[&str] = &[
    "static_api_key",
    "api_key",
    "ssh_key",
    "password",
    "basic_auth",
    "personal_access_token",
    "pat",
    "static_token",
];
/// Words that make an action administrative.
const ADMIN_WORDS: &[&str] = &[
    "admin",
    "root",
    "superuser",
    "owner",
    "change_permissions",
    "manage_permissions",
    "manage_users",
    "manage_iam",
    "iam:",
    "full_access",
];

/// Days in a `review_cycle`: monthly, quarterly, semiannual, annual or `<N>d`.
pub fn cycle_days(cycle: &str) -> Option<i64> {
    match cycle.trim().to_ascii_lowercase().as_str() {
        "monthly" => Some(31),
        "quarterly" => Some(92),
        "semiannual" | "semi-annual" | "biannual" => Some(183),
        "annual" | "yearly" => Some(366),
        other => other
            .strip_suffix('d')?
            .parse()
            .ok()
            .filter(|&n: &i64| n > 0),
    }
}

/// When the next review is due, if the identity says enough to know.
pub fn review_due(id: &Identity) -> Option<Date> {
    let last = id.last_review?;
    let days = cycle_days(id.review_cycle.as_deref()?)?;
    Some(Date(last.0 + days))
}

pub fn is_admin_action(a: &str) -> bool {
    let a = a.to_ascii_lowercase();
    ADMIN_WORDS.iter().any(|w| a.contains(w))
}

fn is_wildcard(a: &str) -> bool {
    a.trim() == "*" || a.ends_with(":*") || a.ends_with(".*") || a.ends_with("_*") || a == "all"
}

/// Every issue of every identity, in inventory order.
pub fn lint(ids: &[Identity], today: Date) -> Vec<Issue> {
    let mut out = Vec::new();
    let mut names: HashMap<&str, (usize, &str)> = HashMap::new();
    // Credential selector → first identity declaring it.
    let mut creds: HashMap<(&str, String), &str> = HashMap::new();
    for id in ids {
        let mut say = |code: &'static str, risk: Option<&'static str>, message: String| {
            out.push(Issue {
                id: code,
                agent: id.agent.clone(),
                message,
                risk,
                warning: false,
                source: id.source.clone(),
            })
        };
        let (count, first) = names
            .entry(id.agent.as_str())
            .and_modify(|(n, _)| *n += 1)
            .or_insert((1, id.source.as_str()));
        if *count == 2 {
            let first = *first;
            say(
                "duplicate-name",
                None,
                format!(
                    "the name {:?} is declared more than once (first at {first})",
                    id.agent
                ),
            );
        }
        if id.owner.as_deref().is_none_or(|o| o.trim().is_empty()) {
            say(
                "missing-owner",
                Some("NHI1"),
                "no owner: nobody is accountable for this identity".into(),
            );
        }
        match (id.last_review, id.review_cycle.as_deref()) {
            (None, _) => say(
                "review-missing",
                Some("NHI1"),
                "no last_review: its access has never been reviewed".into(),
            ),
            (Some(_), None) => say(
                "review-cycle-missing",
                None,
                "last_review is set but no review_cycle says when the next is due".into(),
            ),
            (Some(_), Some(c)) if cycle_days(c).is_none() => say(
                "review-cycle-invalid",
                None,
                format!(
                    "review_cycle {} is not monthly, quarterly, semiannual, annual or <N>d",
                    quoted_value(c)
                ),
            ),
            _ => {}
        }
        if let Some(due) = review_due(id) {
            if due < today {
                say(
                    "review-overdue",
                    Some("NHI1"),
                    format!(
                        "access review overdue since {due} (last {}, {})",
                        id.last_review.expect("due"),
                        id.review_cycle.as_deref().unwrap_or("")
                    ),
                );
            }
        }
        match id.status() {
            "offboarded" => say(
                "offboarded",
                Some("NHI1"),
                "offboarded, yet still declared with credentials to rotate".into(),
            ),
            "suspended" => say(
                "suspended",
                Some("NHI1"),
                "suspended: its credentials should not be in use".into(),
            ),
            _ => {}
        }
        let overlap: Vec<&String> = id
            .allowed_actions
            .iter()
            .filter(|a| id.forbidden_actions.contains(a))
            .collect();
        if !overlap.is_empty() {
            say(
                "actions-overlap",
                Some("NHI5"),
                format!("actions both allowed and forbidden: {}", join(&overlap)),
            );
        }
        let wild: Vec<&String> = id
            .allowed_actions
            .iter()
            .filter(|a| is_wildcard(a))
            .collect();
        if !wild.is_empty() {
            say(
                "wildcard-action",
                Some("NHI5"),
                format!("wildcard allowed actions: {}", join(&wild)),
            );
        }
        let admin: Vec<&String> = id
            .allowed_actions
            .iter()
            .filter(|a| is_admin_action(a))
            .collect();
        if !admin.is_empty() {
            say(
                "admin-action",
                Some("NHI5"),
                format!("administrative allowed actions: {}", join(&admin)),
            );
        }
        let ty = id.identity_type.as_deref().unwrap_or("");
        let auth = id.auth.as_deref().unwrap_or("");
        if ty == "workload_identity" && STATIC_AUTH.contains(&auth) {
            say("static-auth-workload", Some("NHI4"), format!("a workload identity should not authenticate with {auth}: use short-lived federated tokens"));
        }
        if ty == "ai_agent" && id.audit_log.as_deref() != Some("required") {
            say(
                "ai-agent-no-audit",
                None,
                "an AI agent without `audit_log: required`: its actions cannot be traced".into(),
            );
        }
        for c in &id.credentials {
            let provider = c.provider.as_deref().unwrap_or("*").to_ascii_lowercase();
            let selectors = [
                c.fingerprint.as_ref().map(|f| ("fingerprint", f.clone())),
                c.key_id.as_ref().map(|k| ("key_id", k.clone())),
                c.env.as_ref().map(|e| {
                    let key = crate::identity::inventory::binding_key(e);
                    ("env", format!("{provider} {key}"))
                }),
            ];
            for sel in selectors.into_iter().flatten() {
                match creds.get(&sel) {
                    Some(first) if *first != id.agent => say(
                        "shared-credential",
                        Some("NHI9"),
                        format!(
                            "the credential with {} {} is also claimed by {first}",
                            sel.0,
                            selector_shown(&sel.1)
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        creds.insert(sel, &id.agent);
                    }
                }
            }
        }
        let mut warn = |code: &'static str, message: String| {
            out.push(Issue {
                id: code,
                agent: id.agent.clone(),
                message,
                risk: None,
                warning: true,
                source: id.source.clone(),
            })
        };
        if !ty.is_empty() && ty != "user_delegated" && !NON_HUMAN_TYPES.contains(&ty) {
            warn(
                "unknown-identity-type",
                format!(
                    "identity_type {} is not one of {}, user_delegated",
                    quoted_value(ty),
                    NON_HUMAN_TYPES.join(", ")
                ),
            );
        }
        if !STATUSES.contains(&id.status()) {
            warn(
                "unknown-status",
                format!(
                    "status {} is not active, suspended or offboarded",
                    quoted_value(id.status())
                ),
            );
        }
        for k in id.unknown.keys() {
            warn(
                "unknown-key",
                format!("unknown key {} (kept, not used)", quoted_value(k)),
            );
        }
        for c in &id.credentials {
            // A fingerprint is `sha256:…` (an example may shorten the hex);
            // anything else is likely the secret itself. Never shown.
            if c.fingerprint
                .as_deref()
                .is_some_and(|fp| !fp.trim().starts_with("sha256:"))
            {
                warn(
                    "fingerprint-not-sha256",
                    "a credential's fingerprint does not start with `sha256:`: it looks like \
                     a raw secret; if it is one, rotate it, and put its fingerprint \
                     (`keytrace fingerprint < secret`) in the inventory instead"
                        .into(),
                );
            }
            for k in c.unknown.keys() {
                warn(
                    "unknown-key",
                    format!(
                        "unknown credential key {} (kept, not used)",
                        quoted_value(k)
                    ),
                );
            }
        }
    }
    out
}

/// Action names for a message, each shown as [`shown_value`] shows values.
fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| shown_value(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `sha256:` and 64 hex digits: what `keytrace fingerprint` prints.
fn is_fingerprint(v: &str) -> bool {
    v.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A credential selector for a message: a fingerprint whole (it is one),
/// anything else as [`shown_value`] shows values.
fn selector_shown(v: &str) -> std::borrow::Cow<'_, str> {
    if is_fingerprint(v) {
        std::borrow::Cow::Borrowed(v)
    } else {
        shown_value(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::inventory::parse;

    fn ids_of(text: &str, today: &str) -> Vec<(&'static str, String)> {
        let ids = parse(text, "t.yaml").unwrap();
        lint(&ids, Date::parse(today).unwrap())
            .into_iter()
            .map(|i| (i.id, i.agent))
            .collect()
    }

    #[test]
    fn seed_is_clean_until_its_review_falls_due() {
        let seed = include_str!("../../testdata/inventory/seed.yaml");
        assert_eq!(ids_of(seed, "2026-11-28"), []);
        assert_eq!(
            ids_of(seed, "2027-01-15"),
            [("review-overdue", "release-assistant".to_string())]
        );
    }

    #[test]
    fn every_issue_has_its_id() {
        let text = "agents:
  - agent: a
    identity_type: workload_identity
    auth: static_api_key
    allowed_actions: [read, '*', org_admin]
    forbidden_actions: [read]
    status: offboarded
    credentials: [{env: TOKEN}]
  - agent: a
    owner: x
    identity_type: ai_agent
    review_cycle: 30d
    last_review: 2020-01-01
    status: suspended
    credentials: [{env: TOKEN}]
    colour: blue
";
        let got: Vec<&str> = ids_of(text, "2026-11-28")
            .into_iter()
            .map(|x| x.0)
            .collect();
        for want in [
            "missing-owner",
            "review-missing",
            "offboarded",
            "actions-overlap",
            "wildcard-action",
            "admin-action",
            "static-auth-workload",
            "duplicate-name",
            "review-overdue",
            "suspended",
            "ai-agent-no-audit",
            "unknown-key",
        ] {
            assert!(got.contains(&want), "{want} missing from {got:?}");
        }
        // Two identities with one name share the env selector, but it is the
        // same name: only a different identity makes a shared credential.
        let shared = ids_of("agent: p\nowner: o\ncredentials: [{env: T}]\n---\nagent: q\nowner: o\ncredentials: [{env: T}]\n", "2026-01-01");
        assert!(
            shared.contains(&("shared-credential", "q".to_string())),
            "{shared:?}"
        );
    }
}

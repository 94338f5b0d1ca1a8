//! The OWASP Non-Human Identities Top 10 (2025) risks a finding shows, from
//! the finding itself (format, lifetime, where it sits, history) and from the
//! identities that claim it. Each risk carries a sentence saying why.
use serde::Serialize;

use super::inventory::{Date, Identity};
use super::lint::{is_admin_action, review_due, NON_HUMAN_TYPES, STATIC_AUTH};
use super::{Inventory, RiskOptions};
use crate::finding::Finding;
use crate::rules::{IdentityClass, Lifetime};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Risk {
    pub id: &'static str,
    pub title: &'static str,
    pub reason: String,
}

pub const TITLES: [(&str, &str); 10] = [
    ("NHI1", "Improper Offboarding"),
    ("NHI2", "Secret Leakage"),
    ("NHI3", "Vulnerable Third-Party NHI"),
    ("NHI4", "Insecure Authentication"),
    ("NHI5", "Overprivileged NHI"),
    ("NHI6", "Insecure Cloud Deployment Configurations"),
    ("NHI7", "Long-Lived Secrets"),
    ("NHI8", "Environment Isolation"),
    ("NHI9", "NHI Reuse"),
    ("NHI10", "Human Use of NHI"),
];

/// MCP client configuration files (research notes, 3.7): a secret there is
/// handed to a third-party server.
const MCP_CONFIGS: &[&str] = &[
    ".mcp.json",
    ".cursor/mcp.json",
    ".vscode/mcp.json",
    ".roo/mcp.json",
    ".amazonq/mcp.json",
    ".kiro/settings/mcp.json",
    ".gemini/settings.json",
    ".codex/config.toml",
    ".copilot/mcp-config.json",
    ".continue/config.yaml",
    ".continue/config.json",
    ".zed/settings.json",
    ".claude.json",
    ".claude/settings.json",
    ".claude/settings.local.json",
    "claude_desktop_config.json",
    "cline_mcp_settings.json",
    "mcp_settings.json",
    "mcp_config.json",
    "opencode.json",
];

/// What the assessment of one finding may look at.
pub struct Context<'a> {
    pub claimed: &'a [&'a Identity],
    pub inventory: Option<&'a Inventory>,
    pub opts: RiskOptions,
}

fn title(id: &str) -> &'static str {
    TITLES.iter().find(|t| t.0 == id).map_or("", |t| t.1)
}

fn env_class(path: &str) -> Option<&'static str> {
    const CLASSES: [(&str, &[&str]); 4] = [
        ("prod", &["prod", "production", "prd", "live"]),
        ("staging", &["staging", "stage", "stg", "preprod"]),
        ("dev", &["dev", "development", "local"]),
        ("test", &["test", "tests", "testing", "qa", "uat"]),
    ];
    path.split(['/', '.', '-', '_'])
        .filter(|part| (2..=11).contains(&part.len()))
        .find_map(|part| {
            CLASSES
                .iter()
                .find(|(_, words)| words.iter().any(|w| part.eq_ignore_ascii_case(w)))
                .map(|&(class, _)| class)
        })
}

fn normalise_env(e: &str) -> Option<&'static str> {
    env_class(e)
}

fn short_lived_auth(id: &Identity) -> bool {
    let auth = id.auth.as_deref().unwrap_or("").to_ascii_lowercase();
    auth.contains("oidc")
        || auth.contains("short_lived")
        || auth.contains("federat")
        || auth.contains("workload_identity")
}

/// The risks of finding `f`, in NHI order.
pub fn assess(f: &Finding, ctx: &Context) -> Vec<Risk> {
    let mut out: Vec<Risk> = Vec::new();
    let mut add = |id: &'static str, reason: String| {
        if let Some(r) = out.iter_mut().find(|r| r.id == id) {
            r.reason.push_str("; ");
            r.reason.push_str(&reason);
        } else {
            out.push(Risk {
                id,
                title: title(id),
                reason,
            });
        }
    };
    let names = |pred: &dyn Fn(&Identity) -> bool| -> Vec<String> {
        ctx.claimed
            .iter()
            .filter(|i| pred(i))
            .map(|i| i.agent.clone())
            .collect()
    };
    let n = f.locations.len();

    // NHI1 Improper Offboarding
    for status in ["offboarded", "suspended"] {
        let who = names(&|i| i.status() == status);
        if !who.is_empty() {
            add(
                "NHI1",
                format!(
                    "held by {} identity {}: rotate and revoke it",
                    status,
                    who.join(", ")
                ),
            );
        }
    }
    let overdue = names(&|i| review_due(i).is_some_and(|d| d < ctx.opts.today));
    if !overdue.is_empty() {
        add(
            "NHI1",
            format!(
                "held by {} whose access review is overdue",
                overdue.join(", ")
            ),
        );
    }
    if !f.at_head {
        add(
            "NHI1",
            format!(
                "removed from HEAD but still in git history{}: deleting it did not revoke it, rotate it",
                f.first_seen.as_ref().map(|d| format!(" (since {d})")).unwrap_or_default()
            ),
        );
    }
    if ctx.inventory.is_some() && ctx.claimed.is_empty() {
        add(
            "NHI1",
            "unowned: no identity in the inventory claims it".into(),
        );
    }

    // NHI2 Secret Leakage
    add(
        "NHI2",
        format!(
            "{} stored in plain text at {n} location{}",
            f.name,
            if n == 1 { "" } else { "s" }
        ),
    );

    // NHI3 Vulnerable Third-Party NHI
    if let Some(l) = f.locations.iter().find(|l| {
        let p = l.path.as_bytes();
        MCP_CONFIGS.iter().any(|m| {
            // The whole path, or its end after a separator; a file name
            // alone (no `/` in it) may end the path in any way.
            let m = m.as_bytes();
            p.len() >= m.len()
                && p[p.len() - m.len()..]
                    .iter()
                    .zip(m)
                    .all(|(&a, &b)| a == b || (a == b'\\' && b == b'/'))
                && (p.len() == m.len()
                    || !m.contains(&b'/')
                    || matches!(p[p.len() - m.len() - 1], b'/' | b'\\'))
        })
    }) {
        add(
            "NHI3",
            format!(
                "handed to an MCP server in {}: the server and its supply chain hold it too",
                l.path
            ),
        );
    }

    // NHI4 Insecure Authentication
    if f.lifetime == Lifetime::Long {
        let who = names(&|i| {
            short_lived_auth(i)
                || (i.identity_type.as_deref() == Some("workload_identity")
                    && !STATIC_AUTH.contains(&i.auth.as_deref().unwrap_or("")))
        });
        if !who.is_empty() {
            add("NHI4", format!("{} declares short-lived authentication, yet holds this long-lived static secret", who.join(", ")));
        }
    }

    // NHI5 Overprivileged NHI
    if let Some(inv) = ctx.inventory {
        let who = names(&|i| inv.issues_of(&i.agent).any(|x| x.risk == Some("NHI5")));
        if !who.is_empty() {
            add(
                "NHI5",
                format!(
                    "held by {}, whose declared actions are overprivileged",
                    who.join(", ")
                ),
            );
        }
    }
    if f.privilege.as_deref() == Some("admin") {
        let who = names(&|i| !i.allowed_actions.iter().any(|a| is_admin_action(a)));
        if !who.is_empty() {
            add("NHI5", format!("an administrative credential held by {}, whose allowed actions need no admin rights", who.join(", ")));
        }
    }

    // NHI7 Long-Lived Secrets
    if f.lifetime == Lifetime::Long {
        let why = if f.decoded.contains_key("expires_at") {
            "the token is valid for more than 90 days".to_string()
        } else if f.rule.contains("jwt") {
            "the token has no expiry (`exp`) claim".to_string()
        } else {
            format!("a {} does not expire unless revoked", f.name)
        };
        add("NHI7", why);
    }
    if let Some(first) = f
        .first_seen
        .as_deref()
        .and_then(|d| Date::parse(d.get(..10)?))
    {
        let age = ctx.opts.today.0 - first.0;
        if age > ctx.opts.max_age_days {
            add(
                "NHI7",
                format!(
                    "first committed {age} days ago ({first}), more than {} days",
                    ctx.opts.max_age_days
                ),
            );
        }
    }

    // NHI8 Environment Isolation
    let mut envs: Vec<&'static str> = f
        .locations
        .iter()
        .filter_map(|l| env_class(&l.path))
        .collect();
    envs.sort_unstable();
    envs.dedup();
    if envs.len() > 1 {
        add(
            "NHI8",
            format!(
                "the same secret is used in {} environments ({})",
                envs.len(),
                envs.join(", ")
            ),
        );
    }
    for id in ctx.claimed {
        if let Some(declared) = id.environment.as_deref().and_then(normalise_env) {
            let outside: Vec<&'static str> =
                envs.iter().copied().filter(|e| *e != declared).collect();
            if !outside.is_empty() {
                add(
                    "NHI8",
                    format!(
                        "{} is declared for {declared} but its secret sits in {} paths",
                        id.agent,
                        outside.join(", ")
                    ),
                );
            }
        }
    }

    // NHI9 NHI Reuse
    if ctx.claimed.len() > 1 {
        add(
            "NHI9",
            format!(
                "claimed by {} identities: {}",
                ctx.claimed.len(),
                names(&|_| true).join(", ")
            ),
        );
    }
    let mut bindings: Vec<&str> = f
        .locations
        .iter()
        .filter_map(|l| l.binding.as_deref())
        .collect();
    bindings.sort_unstable();
    bindings.dedup();
    if bindings.len() > 1 {
        add(
            "NHI9",
            format!(
                "bound to {} different names ({}): one secret serves several consumers",
                bindings.len(),
                bindings.join(", ")
            ),
        );
    }

    // NHI10 Human Use of NHI
    if f.identity_class == IdentityClass::User {
        let who = names(&|i| {
            i.identity_type
                .as_deref()
                .is_some_and(|t| NON_HUMAN_TYPES.contains(&t))
        });
        if !who.is_empty() {
            add(
                "NHI10",
                format!(
                    "a credential issued to a human user, held by non-human identity {}",
                    who.join(", ")
                ),
            );
        }
    }

    out.sort_by_key(|r| TITLES.iter().position(|t| t.0 == r.id));
    out
}

#[cfg(test)]
mod tests {
    use super::env_class;

    #[test]
    fn environments_from_paths() {
        assert_eq!(env_class("deploy/prod/app.env"), Some("prod"));
        assert_eq!(env_class(".env.production"), Some("prod"));
        assert_eq!(env_class("config/staging.yaml"), Some("staging"));
        assert_eq!(env_class("src/main.rs"), None);
    }
}

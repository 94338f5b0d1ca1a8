//! The OWASP Non-Human Identities Top 10 (2025) risks a finding shows, from
//! the finding itself (format, lifetime, where it sits, history) and from the
//! identities that claim it. Each risk is shown by one or more checks in
//! [`CHECKS`], a table of small functions in NHI order: adding a risk is
//! adding a row. A check that applies says why in a sentence; the sentences
//! of one risk are joined into its reason.
//!
//! Receives a finding and what the inventory says about it ([`Context`]);
//! hands back its [`Risk`]s.
use super::index::Inventory;
use super::inventory::Identity;
use super::lint::{is_admin_action, review_due, NON_HUMAN_TYPES, STATIC_AUTH};
use crate::base::kinds::{IdentityClass, Lifetime};
use crate::base::time::Date;
use crate::finding::{Finding, Risk};

/// The risk ids and their titles, in NHI order.
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

/// Settings of the risk assessment.
#[derive(Debug, Clone, Copy)]
pub struct RiskOptions {
    pub today: Date,
    /// A secret first committed longer ago than this is long-lived (NHI7).
    pub max_age_days: i64,
}

/// What the assessment of one finding may look at.
pub struct Context<'a> {
    /// The identities whose credential entries claim the finding.
    pub claimed: &'a [&'a Identity],
    pub inventory: Option<&'a Inventory>,
    pub opts: RiskOptions,
}

/// One row of the table: a risk, a name for the check, and the check, which
/// says why the finding shows the risk, or nothing.
pub struct Check {
    pub risk: &'static str,
    pub name: &'static str,
    pub check: fn(&Finding, &Context) -> Option<String>,
}

/// Every check, in NHI order (and in the order their sentences appear
/// within one risk).
pub const CHECKS: &[Check] = &[
    row("NHI1", "held-by-offboarded", held_by_offboarded),
    row("NHI1", "held-by-suspended", held_by_suspended),
    row("NHI1", "live-held-by-offboarded", live_held_by_offboarded),
    row("NHI1", "review-overdue", review_overdue),
    row("NHI1", "removed-but-in-history", removed_but_in_history),
    row("NHI1", "unowned", unowned),
    row("NHI2", "plain-text", plain_text),
    row("NHI3", "handed-to-mcp-server", handed_to_mcp_server),
    row("NHI4", "static-for-short-auth", static_for_short_auth),
    row("NHI5", "overprivileged-holder", overprivileged_holder),
    row("NHI5", "admin-beyond-actions", admin_beyond_actions),
    row(
        "NHI5",
        "live-scopes-beyond-actions",
        live_scopes_beyond_actions,
    ),
    row("NHI7", "does-not-expire", does_not_expire),
    row("NHI7", "committed-long-ago", committed_long_ago),
    row("NHI8", "several-environments", several_environments),
    row("NHI8", "outside-declared-env", outside_declared_env),
    row("NHI9", "claimed-by-several", claimed_by_several),
    row("NHI9", "bound-to-several-names", bound_to_several_names),
    row("NHI10", "human-credential", human_credential),
];

const fn row(
    risk: &'static str,
    name: &'static str,
    check: fn(&Finding, &Context) -> Option<String>,
) -> Check {
    Check { risk, name, check }
}

/// The risks of finding `f`, in NHI order.
pub fn assess(f: &Finding, ctx: &Context) -> Vec<Risk> {
    let mut out: Vec<Risk> = Vec::new();
    for c in CHECKS {
        let Some(reason) = (c.check)(f, ctx) else {
            continue;
        };
        match out.iter_mut().find(|r| r.id == c.risk) {
            Some(r) => {
                r.reason.push_str("; ");
                r.reason.push_str(&reason);
            }
            None => out.push(Risk {
                id: c.risk,
                title: title(c.risk),
                reason,
            }),
        }
    }
    out
}

/// The names of the claiming identities for which `pred` holds, if any.
fn holders(ctx: &Context, pred: impl Fn(&Identity) -> bool) -> Option<String> {
    let who: Vec<&str> = ctx
        .claimed
        .iter()
        .filter(|i| pred(i))
        .map(|i| i.agent.as_str())
        .collect();
    (!who.is_empty()).then(|| who.join(", "))
}

fn held_by(ctx: &Context, status: &str) -> Option<String> {
    holders(ctx, |i| i.status() == status)
        .map(|who| format!("held by {status} identity {who}: rotate and revoke it"))
}

/// NHI1: an identity that was offboarded still holds it.
fn held_by_offboarded(_: &Finding, ctx: &Context) -> Option<String> {
    held_by(ctx, "offboarded")
}

/// NHI1: an identity that is suspended still holds it.
fn held_by_suspended(_: &Finding, ctx: &Context) -> Option<String> {
    held_by(ctx, "suspended")
}

/// The live check, when `--verify` found the credential live.
fn live(f: &Finding) -> Option<&crate::rules::verify::Verification> {
    f.verification
        .as_deref()
        .filter(|v| v.state == crate::rules::verify::State::Live)
}

/// NHI1: the provider still accepts a credential whose holder is gone.
fn live_held_by_offboarded(f: &Finding, ctx: &Context) -> Option<String> {
    let v = live(f)?;
    let who = holders(ctx, |i| matches!(i.status(), "offboarded" | "suspended"))?;
    Some(format!(
        "still live at {} ({}) though its holder {who} is offboarded or suspended",
        v.host.as_deref().unwrap_or("the provider"),
        v.checked_at
    ))
}

/// NHI1: its holder's access review is overdue.
fn review_overdue(_: &Finding, ctx: &Context) -> Option<String> {
    holders(ctx, |i| review_due(i).is_some_and(|d| d < ctx.opts.today))
        .map(|who| format!("held by {who} whose access review is overdue"))
}

/// NHI1: deleted from HEAD, it still sits in history, unrevoked.
fn removed_but_in_history(f: &Finding, _: &Context) -> Option<String> {
    (!f.at_head).then(|| {
        format!(
            "removed from HEAD but still in git history{}: deleting it did not revoke it, rotate it",
            f.first_seen.as_ref().map(|d| format!(" (since {d})")).unwrap_or_default()
        )
    })
}

/// NHI1: there is an inventory, and no identity in it claims the secret.
fn unowned(_: &Finding, ctx: &Context) -> Option<String> {
    (ctx.inventory.is_some() && ctx.claimed.is_empty())
        .then(|| "unowned: no identity in the inventory claims it".into())
}

/// NHI2: every finding is a secret stored in plain text.
fn plain_text(f: &Finding, _: &Context) -> Option<String> {
    let n = f.locations.len();
    Some(format!(
        "{} stored in plain text at {n} location{}",
        f.name,
        if n == 1 { "" } else { "s" }
    ))
}

/// NHI3: it sits in an MCP client's configuration, handed to a third-party
/// server.
fn handed_to_mcp_server(f: &Finding, _: &Context) -> Option<String> {
    let l = f.locations.iter().find(|l| is_mcp_config(&l.path))?;
    Some(format!(
        "handed to an MCP server in {}: the server and its supply chain hold it too",
        l.path
    ))
}

/// Whether `path` is one of [`MCP_CONFIGS`]: the whole path, or its end
/// after a separator; a file name alone (no `/` in it) may end the path in
/// any way.
fn is_mcp_config(path: &str) -> bool {
    let p = path.as_bytes();
    MCP_CONFIGS.iter().any(|m| {
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
}

/// NHI4: a long-lived static secret held by an identity that declares
/// short-lived (federated, workload) authentication.
fn static_for_short_auth(f: &Finding, ctx: &Context) -> Option<String> {
    if f.lifetime != Lifetime::Long {
        return None;
    }
    let who = holders(ctx, |i| {
        short_lived_auth(i)
            || (i.identity_type.as_deref() == Some("workload_identity")
                && !STATIC_AUTH.contains(&i.auth.as_deref().unwrap_or("")))
    })?;
    Some(format!(
        "{who} declares short-lived authentication, yet holds this long-lived static secret"
    ))
}

/// NHI5: its holder's declared actions are overprivileged (the lint says so).
fn overprivileged_holder(_: &Finding, ctx: &Context) -> Option<String> {
    let inv = ctx.inventory?;
    let who = holders(ctx, |i| {
        inv.issues_of(&i.agent).any(|x| x.risk == Some("NHI5"))
    })?;
    Some(format!(
        "held by {who}, whose declared actions are overprivileged"
    ))
}

/// NHI5: an administrative credential held by an identity whose allowed
/// actions need no admin rights.
fn admin_beyond_actions(f: &Finding, ctx: &Context) -> Option<String> {
    if f.privilege.as_deref() != Some("admin") {
        return None;
    }
    let who = holders(ctx, |i| {
        !i.allowed_actions.iter().any(|a| is_admin_action(a))
    })?;
    Some(format!(
        "an administrative credential held by {who}, whose allowed actions need no admin rights"
    ))
}

/// NHI5: live scopes wider than the holder's declared actions: admin
/// scopes where no action is administrative, or write scopes where every
/// action only reads.
fn live_scopes_beyond_actions(f: &Finding, ctx: &Context) -> Option<String> {
    let v = live(f)?;
    let reads = |a: &str| {
        let a = a.to_ascii_lowercase();
        ["read", "get", "list", "view", "fetch", "watch"]
            .iter()
            .any(|w| a.starts_with(w))
    };
    let writes = |s: &str| {
        let s = s.to_ascii_lowercase();
        ["write", "delete", "admin", "manage", "create", "repo"]
            .iter()
            .any(|w| s.contains(w))
    };
    let mut found = None;
    for id in ctx.claimed {
        if id.allowed_actions.is_empty() {
            continue;
        }
        let admin: Vec<&str> = if id.allowed_actions.iter().any(|a| is_admin_action(a)) {
            Vec::new()
        } else {
            v.scopes
                .iter()
                .map(String::as_str)
                .filter(|s| is_admin_action(s))
                .collect()
        };
        let write: Vec<&str> = if id.allowed_actions.iter().all(|a| reads(a)) {
            v.scopes
                .iter()
                .map(String::as_str)
                .filter(|s| writes(s))
                .collect()
        } else {
            Vec::new()
        };
        let mut beyond: Vec<&str> = admin.into_iter().chain(write).collect();
        beyond.sort_unstable();
        beyond.dedup();
        if !beyond.is_empty() {
            found = Some(format!(
                "live with scopes {} beyond what {} declares it does",
                beyond.join(", "),
                id.agent
            ));
            break;
        }
    }
    found
}

/// NHI7: the format (or the token's own claims) says it does not expire.
fn does_not_expire(f: &Finding, _: &Context) -> Option<String> {
    if f.lifetime != Lifetime::Long {
        return None;
    }
    Some(if f.decoded.contains_key("expires_at") {
        "the token is valid for more than 90 days".to_string()
    } else if f.rule.contains("jwt") {
        "the token has no expiry (`exp`) claim".to_string()
    } else {
        format!("a {} does not expire unless revoked", f.name)
    })
}

/// NHI7: first committed longer ago than `--max-age` days.
fn committed_long_ago(f: &Finding, ctx: &Context) -> Option<String> {
    let first = f
        .first_seen
        .as_deref()
        .and_then(|d| Date::parse(d.get(..10)?))?;
    let age = ctx.opts.today.0 - first.0;
    (age > ctx.opts.max_age_days).then(|| {
        format!(
            "first committed {age} days ago ({first}), more than {} days",
            ctx.opts.max_age_days
        )
    })
}

/// The environments (prod, staging, dev, test) the finding's paths name.
fn environments(f: &Finding) -> Vec<&'static str> {
    let mut envs: Vec<&'static str> = f
        .locations
        .iter()
        .filter_map(|l| env_class(&l.path))
        .collect();
    envs.sort_unstable();
    envs.dedup();
    envs
}

/// NHI8: the same secret sits in the paths of several environments.
fn several_environments(f: &Finding, _: &Context) -> Option<String> {
    let envs = environments(f);
    (envs.len() > 1).then(|| {
        format!(
            "the same secret is used in {} environments ({})",
            envs.len(),
            envs.join(", ")
        )
    })
}

/// NHI8: a holder declared for one environment has it in another's paths.
fn outside_declared_env(f: &Finding, ctx: &Context) -> Option<String> {
    let envs = environments(f);
    let reasons: Vec<String> = ctx
        .claimed
        .iter()
        .filter_map(|id| {
            let declared = id.environment.as_deref().and_then(env_class)?;
            let outside: Vec<&'static str> =
                envs.iter().copied().filter(|e| *e != declared).collect();
            (!outside.is_empty()).then(|| {
                format!(
                    "{} is declared for {declared} but its secret sits in {} paths",
                    id.agent,
                    outside.join(", ")
                )
            })
        })
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// NHI9: several identities claim the one secret.
fn claimed_by_several(_: &Finding, ctx: &Context) -> Option<String> {
    (ctx.claimed.len() > 1).then(|| {
        format!(
            "claimed by {} identities: {}",
            ctx.claimed.len(),
            holders(ctx, |_| true).unwrap_or_default()
        )
    })
}

/// NHI9: the one secret is bound to several names (several consumers).
fn bound_to_several_names(f: &Finding, _: &Context) -> Option<String> {
    let mut bindings: Vec<&str> = f
        .locations
        .iter()
        .filter_map(|l| l.binding.as_deref())
        .collect();
    bindings.sort_unstable();
    bindings.dedup();
    (bindings.len() > 1).then(|| {
        format!(
            "bound to {} different names ({}): one secret serves several consumers",
            bindings.len(),
            bindings.join(", ")
        )
    })
}

/// NHI10: a credential issued to a human user, held by a non-human identity.
fn human_credential(f: &Finding, ctx: &Context) -> Option<String> {
    if f.identity_class != IdentityClass::User {
        return None;
    }
    let who = holders(ctx, |i| {
        i.identity_type
            .as_deref()
            .is_some_and(|t| NON_HUMAN_TYPES.contains(&t))
    })?;
    let as_whom = live(f).and_then(|v| {
        ["login", "user", "name", "username"]
            .iter()
            .find_map(|k| v.identity.get(*k))
            .map(|who| format!(", and live as the account {who}"))
    });
    Some(format!(
        "a credential issued to a human user, held by non-human identity {who}{}",
        as_whom.unwrap_or_default()
    ))
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

fn short_lived_auth(id: &Identity) -> bool {
    let auth = id.auth.as_deref().unwrap_or("").to_ascii_lowercase();
    auth.contains("oidc")
        || auth.contains("short_lived")
        || auth.contains("federat")
        || auth.contains("workload_identity")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_from_paths() {
        assert_eq!(env_class("deploy/prod/app.env"), Some("prod"));
        assert_eq!(env_class(".env.production"), Some("prod"));
        assert_eq!(env_class("config/staging.yaml"), Some("staging"));
        assert_eq!(env_class("src/main.rs"), None);
    }

    #[test]
    fn the_table_is_in_nhi_order_and_names_known_risks() {
        let order = |id: &str| TITLES.iter().position(|t| t.0 == id);
        let mut last = 0;
        for c in CHECKS {
            let at = order(c.risk).unwrap_or_else(|| panic!("{}: unknown risk {}", c.name, c.risk));
            assert!(at >= last, "{} is out of NHI order", c.name);
            last = at;
        }
        let mut names: Vec<&str> = CHECKS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CHECKS.len(), "check names are unique");
    }

    #[test]
    fn mcp_configs_by_path_end() {
        assert!(is_mcp_config(".cursor/mcp.json"));
        assert!(is_mcp_config("app/.cursor/mcp.json"));
        assert!(is_mcp_config("x\\.vscode\\mcp.json"));
        assert!(is_mcp_config("home/claude_desktop_config.json"));
        assert!(!is_mcp_config("app/not.cursor/mcp.json"));
        assert!(!is_mcp_config("src/mcp.json.rs"));
    }
}

//! A first inventory drafted from a scan (`keytrace agents init`): one
//! identity per group of credentials that belong together (same provider,
//! same binding name, same directory), each claimed by fingerprint (and key
//! id where the format has one; never the secret), the owner from
//! CODEOWNERS or a Backstage catalog where the scan found one, an
//! `identity_type` guessed from where the credential sits and marked as a
//! guess, and no `last_review`, so that `keytrace agents check` asks for a
//! review. Findings an inventory already claims are left out: against an
//! existing inventory the draft is a proposal of what is missing.
use std::collections::{BTreeMap, BTreeSet};

use super::inventory::binding_key;
use crate::finding::Finding;

/// Where a credential sits, and what kind of identity that suggests.
fn guess(path: &str) -> (&'static str, &'static str) {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    let ci = p.contains(".github/workflows/")
        || name == ".gitlab-ci.yml"
        || name == "jenkinsfile"
        || p.contains(".circleci/")
        || name.starts_with("azure-pipelines")
        || name == "bitbucket-pipelines.yml";
    let mcp = matches!(
        name,
        "mcp.json" | ".mcp.json" | "mcp_config.json" | "claude_desktop_config.json"
    ) || p.contains(".cursor/mcp")
        || p.contains(".vscode/mcp");
    let k8s = ["k8s/", "kubernetes/", "helm/", "charts/", "manifests/"]
        .iter()
        .any(|d| p.contains(d))
        || name.ends_with("secret.yaml")
        || name.ends_with("secret.yml");
    let env = name.starts_with(".env") || name.ends_with(".env");
    if ci {
        ("ci_job", "found in a CI workflow")
    } else if mcp {
        ("ai_agent", "found in an MCP client configuration")
    } else if k8s {
        (
            "workload_identity",
            "found in a Kubernetes manifest or chart",
        )
    } else if env {
        (
            "service_account",
            "found in an application's environment file",
        )
    } else {
        ("api_key", "found in a file of the code")
    }
}

/// A location's path below its scan root (the path itself where it has
/// no root).
fn shown_path(l: &crate::finding::Location) -> &str {
    if l.relative.is_empty() {
        &l.path
    } else {
        &l.relative
    }
}

/// Text fit for a YAML comment: one line, no control characters.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A YAML scalar for any text: a JSON string is a YAML double-quoted one.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `services/billing` + `stripe` → `billing-stripe`: lowercase letters,
/// digits and dashes.
fn slug(parts: &[&str]) -> String {
    let mut out = String::new();
    for p in parts.iter().filter(|p| !p.is_empty()) {
        for c in p.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        if !out.ends_with('-') {
            out.push('-');
        }
    }
    let s = out.trim_matches('-').to_string();
    if s.is_empty() {
        "agent".into()
    } else {
        s
    }
}

/// The draft, as YAML documents, for the findings no identity claims yet;
/// `taken` holds the names of identities that exist already. Empty when
/// every finding is claimed.
pub fn draft(findings: &[Finding], taken: &BTreeSet<String>) -> String {
    // (provider, binding, directory) → findings.
    let mut groups: BTreeMap<(String, String, String), Vec<&Finding>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.identity.is_none()) {
        let Some(l) = f.locations.first() else {
            continue;
        };
        let dir = shown_path(l)
            .rsplit_once('/')
            .map_or("", |d| d.0)
            .to_string();
        let binding = f.binding.as_deref().map(binding_key).unwrap_or_default();
        groups
            .entry((f.provider.clone(), binding, dir))
            .or_default()
            .push(f);
    }
    let mut names = taken.clone();
    let mut out = String::new();
    for ((provider, _, dir), members) in groups {
        let first = members[0];
        let last_dir = dir.rsplit('/').next().unwrap_or("");
        let binding = first.binding.as_deref().unwrap_or("");
        let base = slug(&[last_dir.trim_start_matches('.'), binding, &provider]);
        let mut name = base.clone();
        for n in 2.. {
            if !names.contains(&name) {
                break;
            }
            name = format!("{base}-{n}");
        }
        names.insert(name.clone());
        let (rel, where_) = first
            .locations
            .first()
            .map(|l| {
                (
                    shown_path(l).to_string(),
                    format!("{}:{}", shown_path(l), l.line),
                )
            })
            .unwrap_or_default();
        let (kind, why) = guess(&rel);
        if !out.is_empty() {
            out.push_str("---\n");
        }
        out.push_str(&format!(
            "# Drafted by `keytrace agents init` from {} finding{} ({}): review every field.\n",
            members.len(),
            if members.len() == 1 { "" } else { "s" },
            comment(if dir.is_empty() { "the root" } else { &dir })
        ));
        out.push_str(&format!("agent: {name}\n"));
        match members.iter().flat_map(|f| f.code_owners.iter()).next() {
            Some(o) => out.push_str(&format!(
                "owner: {}   # from {}\n",
                quoted(&o.owner),
                comment(&o.source)
            )),
            None => out.push_str(
                "# owner: who is accountable (no CODEOWNERS or catalog entry names one)\n",
            ),
        }
        out.push_str(&format!(
            "identity_type: {kind}   # a guess: {why} ({})\n",
            comment(&where_)
        ));
        out.push_str("auth: static_api_key   # a static credential was found\n");
        out.push_str("review_cycle: quarterly   # a suggestion\n");
        out.push_str("# last_review: none yet: `keytrace agents check` asks for one\n");
        out.push_str("credentials:\n");
        for f in &members {
            out.push_str(&format!("  - provider: {}\n", quoted(&f.provider)));
            out.push_str(&format!(
                "    fingerprint: {}   # {}\n",
                quoted(&f.fingerprint),
                comment(&f.rule)
            ));
            if let Some(k) = &f.key_id {
                out.push_str(&format!("    key_id: {}\n", quoted(k)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_and_names() {
        assert_eq!(guess(".github/workflows/release.yml").0, "ci_job");
        assert_eq!(guess("agents/triage/mcp.json").0, "ai_agent");
        assert_eq!(guess("deploy/k8s/app.yaml").0, "workload_identity");
        assert_eq!(guess("services/billing/.env").0, "service_account");
        assert_eq!(guess("src/main.py").0, "api_key");
        assert_eq!(
            slug(&["billing", "STRIPE_SECRET_KEY", "stripe"]),
            "billing-stripe-secret-key-stripe"
        );
        assert_eq!(slug(&["", "", ""]), "agent");
        assert_eq!(comment("a\nb\rc"), "a b c");
    }
}

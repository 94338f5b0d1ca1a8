//! OWASP Non-Human Identities Top 10 (2025) risks that a finding shows. This
//! stage sees only the finding itself; the inventory work adds the risks that
//! need to know who holds the credential.
use serde::Serialize;

use crate::finding::Finding;
use crate::rules::Lifetime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Risk {
    pub id: &'static str,
    pub title: &'static str,
    pub reason: String,
}

pub const NHI1: (&str, &str) = ("NHI1", "Improper Offboarding");
pub const NHI2: (&str, &str) = ("NHI2", "Secret Leakage");
pub const NHI7: (&str, &str) = ("NHI7", "Long-Lived Secrets");

fn risk((id, title): (&'static str, &'static str), reason: String) -> Risk {
    Risk { id, title, reason }
}

/// The risks a finding shows on its own.
pub fn assess(f: &Finding) -> Vec<Risk> {
    let n = f.locations.len();
    let mut out = Vec::new();
    if !f.at_head {
        out.push(risk(
            NHI1,
            format!(
                "removed from HEAD but still in git history{}: deleting it did not revoke it, rotate it",
                f.first_seen
                    .as_ref()
                    .map(|d| format!(" (since {d})"))
                    .unwrap_or_default()
            ),
        ));
    }
    out.push(risk(
        NHI2,
        format!(
            "{} stored in plain text at {n} location{}",
            f.name,
            if n == 1 { "" } else { "s" }
        ),
    ));
    if f.lifetime == Lifetime::Long {
        let why = if f.decoded.contains_key("expires_at") {
            "the token is valid for more than a day".to_string()
        } else if f.rule.contains("jwt") {
            "the token has no expiry (`exp`) claim".to_string()
        } else {
            format!("a {} does not expire unless revoked", f.name)
        };
        out.push(risk(NHI7, why));
    }
    out
}

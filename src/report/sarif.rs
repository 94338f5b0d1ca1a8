//! SARIF 2.1.0 for code scanning: one result per location, rule metadata with
//! help and provider links, stable `partialFingerprints`, root-relative URIs.
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use std::io::{self, Write};

use super::model::{Reporter, ScanReport};
use crate::base::kinds::Lifetime;
use crate::finding::{Finding, SUPPRESSION_RULE};
use crate::rules::{Rule, RuleSet};
use crate::source::Severity;

const INFO_URI: &str = "https://github.com/keytrace/keytrace";
/// GitHub code scanning rejects runs with more results than this.
pub const MAX_RESULTS: usize = 25_000;
/// Risks that make a result an error rather than a warning: the credential
/// outlives its use, belongs to no one accountable, or gives too much.
const ERROR_RISKS: &[&str] = &["NHI1", "NHI3", "NHI4", "NHI5", "NHI7", "NHI10"];

/// SARIF 2.1.0 for code scanning: one result per finding location (at most
/// [`MAX_RESULTS`]), the rules that found them, and the scan's problems as
/// notifications.
pub struct Sarif<'a> {
    pub rules: &'a RuleSet,
}

impl Reporter for Sarif<'_> {
    fn write(&self, report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = serde_json::to_vec_pretty(&document(report, self.rules))?;
        buf.push(b'\n');
        out.write_all(&buf)
    }
}

/// GitHub reads `security-severity` (0–10) per rule.
fn severity(rule: &Rule) -> &'static str {
    match rule.spec.lifetime {
        Lifetime::Long => "9.0",
        Lifetime::Unknown => "8.0",
        Lifetime::Short => "6.5",
    }
}

fn rule_object(rule: &Rule) -> Value {
    let s = &rule.spec;
    let refs: Vec<String> = s.references.iter().map(|r| format!("- <{r}>")).collect();
    let text = format!(
        "{} ({} credential, {}-lived). Rotate it at the provider, then remove it from the code \
         and from git history; keep the new one in a secret store.",
        s.name,
        s.provider,
        s.lifetime.as_str()
    );
    let markdown = format!(
        "**{}** (`{}`)\n\nA credential that gives whoever reads it the access of its \
         {:?} identity. Rotate it at the provider first, then remove it from the code and history.\n\n\
         Format documentation:\n{}",
        s.name,
        s.id,
        s.identity,
        refs.join("\n")
    );
    let mut o = json!({
        "id": s.id,
        "name": s.id,
        "shortDescription": {"text": s.name},
        "fullDescription": {"text": text},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "tags": ["security", "secret", s.provider],
            "security-severity": severity(rule),
            "precision": if s.validator.is_some() { "very-high" } else { "high" },
        }
    });
    if let Some(uri) = s.references.first() {
        o["helpUri"] = json!(uri);
    }
    o
}

fn partial_fingerprint(f: &Finding, path: &str) -> String {
    let mut h = Sha256::new();
    for part in [f.rule.as_str(), f.fingerprint.as_str(), path] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The SARIF rule of findings that stand for a suppression a range adds.
fn suppression_rule_object() -> Value {
    let text = "A change in the scanned range adds a suppression (a keytrace:allow \
                comment, an allow value or rule in .keytrace.toml, a baseline entry) \
                that would hide a credential. It is reported instead of honoured, so \
                that hiding a secret is reviewed like leaking one.";
    json!({
        "id": SUPPRESSION_RULE,
        "name": SUPPRESSION_RULE,
        "shortDescription": {"text": "A change hides a credential"},
        "fullDescription": {"text": text},
        "help": {"text": text, "markdown": text},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "tags": ["security", "secret", "suppression"],
            "security-severity": "8.0",
            "precision": "very-high",
        }
    })
}

pub fn document(report: &ScanReport, rules: &RuleSet) -> Value {
    let mut used: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .filter(|id| *id == SUPPRESSION_RULE || rules.get(id).is_some())
        .collect();
    used.sort_unstable();
    used.dedup();
    let rule_objects: Vec<Value> = used
        .iter()
        .map(|id| match rules.get(id) {
            Some(r) => rule_object(r),
            None => suppression_rule_object(),
        })
        .collect();
    let mut results = Vec::new();
    for f in &report.findings {
        let index = used.iter().position(|id| *id == f.rule);
        let risks: Vec<&str> = f.risks.iter().map(|r| r.id).collect();
        let live = f
            .verification
            .as_ref()
            .is_some_and(|v| v.state == crate::rules::verify::State::Live);
        let level = if live || f.risks.iter().any(|r| ERROR_RISKS.contains(&r.id)) {
            "error"
        } else {
            "warning"
        };
        for loc in &f.locations {
            let mut message = format!("{} {}", f.name, f.redacted);
            if live {
                message.push_str(" (live: the provider accepts it)");
            }
            if let Some(b) = &loc.binding {
                message.push_str(&format!(" assigned to {b}"));
            }
            message.push_str(&format!(
                " ({}-lived; {}; owner: {})",
                f.lifetime.as_str(),
                risks.join(", "),
                f.owner.as_deref().unwrap_or("none declared")
            ));
            let mut props = json!({
                "fingerprint": f.fingerprint,
                "redacted": f.redacted,
                "lifetime": f.lifetime,
                "risks": risks,
            });
            if let Some(s) = &f.secret {
                props["secret"] = json!(s);
            }
            if let Some(e) = loc.encoding {
                props["encoding"] = json!(e);
            }
            if f.confidence != crate::finding::Confidence::High {
                props["confidence"] = json!(f.confidence);
            }
            if let Some(c) = &loc.commit {
                props["commit"] = json!(c);
            }
            if let Some(v) = &f.verification {
                props["verification"] = json!(v.state);
            }
            let mut result = json!({
                "ruleId": f.rule,
                "properties": {},
                "level": level,
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri_escape(&loc.relative), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": loc.line.max(1), "startColumn": loc.column.max(1)}
                    }
                }],
                "partialFingerprints": {"keytrace/v1": partial_fingerprint(f, &loc.relative)},
            });
            if !loc.container.is_empty() {
                // Inside an archive: the artifact is the outermost archive,
                // the member is a logical location, and the line and column
                // are the member's.
                let outer = loc.relative.split('!').next().unwrap_or(&loc.relative);
                result["locations"][0]["physicalLocation"] = json!({
                    "artifactLocation": {"uri": uri_escape(outer), "uriBaseId": "%SRCROOT%"},
                });
                result["locations"][0]["logicalLocations"] = json!([{
                    "fullyQualifiedName": format!("{}:{}:{}", loc.relative, loc.line, loc.column),
                    "kind": "member",
                }]);
                props["container"] = json!(loc.container);
            }
            props["tags"] = json!(risks);
            if let Some(i) = &f.identity {
                props["identity"] = i.clone();
            }
            if let Some(o) = &f.owner {
                props["owner"] = json!(o);
            }
            result["properties"] = props;
            if let Some(i) = index {
                result["ruleIndex"] = json!(i);
            }
            results.push(result);
        }
    }
    let total = results.len();
    results.truncate(MAX_RESULTS);
    let mut notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": match e.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": {"text": format!("{}: {}", e.path, e.message)},
            })
        })
        .collect();
    if total > MAX_RESULTS {
        notifications.push(json!({
            "level": "warning",
            "message": {"text": format!(
                "{total} results, more than the {MAX_RESULTS} code scanning accepts: the first {MAX_RESULTS} are included; use --format json for all"
            )},
        }));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "keytrace",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFO_URI,
                "rules": rule_objects,
            }},
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }]
    })
}

/// Percent-encodes what may not stand in a relative URI reference.
fn uri_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

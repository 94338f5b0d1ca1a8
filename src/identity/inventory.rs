//! The agent inventory: YAML files declaring non-human identities (format in
//! SPEC.md). A file holds one identity per YAML document (`---` between
//! them), or a list under `agents:`; a directory contributes every
//! `*.yaml`/`*.yml` below it. Wrong types and bad dates are errors with file,
//! line and column; unknown keys are kept and warned about.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::base::text::redact_quoted;
use crate::base::time::Date;
use crate::error::{Error, Result};

/// An external id that YAML may give as a number or a string.
fn id_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        S(String),
        N(u64),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::S(s) => s,
        Id::N(n) => n.to_string(),
    }))
}

/// One credential an identity declares it holds; each field that is set
/// claims the findings it matches.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct CredentialRef {
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
    #[serde(default, deserialize_with = "id_string")]
    pub key_id: Option<String>,
    #[serde(default)]
    pub env: Option<String>,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, serde_yaml_ng::Value>,
}

/// A declared non-human identity.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Identity {
    pub agent: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub identity_type: Option<String>,
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub allowed_actions: Vec<String>,
    #[serde(default)]
    pub forbidden_actions: Vec<String>,
    #[serde(default)]
    pub audit_log: Option<String>,
    #[serde(default)]
    pub review_cycle: Option<String>,
    #[serde(default, alias = "last_reviewed")]
    pub last_review: Option<Date>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub lifecycle: Option<String>,
    #[serde(default)]
    pub sponsor: Option<String>,
    #[serde(default)]
    pub mcp_servers: Vec<serde_yaml_ng::Value>,
    #[serde(default, deserialize_with = "id_string")]
    pub aws_account_id: Option<String>,
    #[serde(default, deserialize_with = "id_string")]
    pub gitlab_user_id: Option<String>,
    #[serde(default, deserialize_with = "id_string")]
    pub github_app_id: Option<String>,
    /// The AWS principal a live key answers as (`arn:aws:iam::…:user/…`).
    #[serde(default)]
    pub aws_arn: Option<String>,
    /// The GitHub account a live token answers as.
    #[serde(default)]
    pub github_login: Option<String>,
    #[serde(default)]
    pub slack_bot_id: Option<String>,
    /// Claims every live token of the Slack workspace.
    #[serde(default)]
    pub slack_team_id: Option<String>,
    /// A Google service account's e-mail: claims its key files, offline.
    #[serde(default)]
    pub gcp_service_account: Option<String>,
    /// An Entra ID application (client) id: claims the client secrets
    /// assigned beside it, offline.
    #[serde(default)]
    pub azure_client_id: Option<String>,
    #[serde(default)]
    pub credentials: Vec<CredentialRef>,
    /// Keys this version does not know: kept, and warned about.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, serde_yaml_ng::Value>,
    /// `file:line` of the document or list item that declared it.
    #[serde(skip)]
    pub source: String,
}

impl Identity {
    /// `status`, defaulting to active.
    pub fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("active")
    }
}

#[derive(Deserialize)]
struct AgentList {
    agents: Vec<Identity>,
}

/// A binding name as correlation compares it: ASCII letters lowercased,
/// separators (`_`, `-`, `.`, spaces) dropped, so that `NPM_TOKEN`,
/// `npm_token`, `npmToken`, `NpmToken` and `npm-token` are one name, as
/// code, Helm values and Terraform spell one variable.
pub fn binding_key(name: &str) -> String {
    name.trim()
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The inventory files that `paths` name: files as given, and every
/// `*.yaml`/`*.yml` below a directory, sorted.
pub fn files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = ignore::WalkBuilder::new(p)
                .standard_filters(false)
                .build()
                .flatten()
                .map(|e| e.into_path())
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Every identity of the given files and directories, in order.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Identity>> {
    let mut out = Vec::new();
    for f in files(paths) {
        out.extend(load_file(&f)?);
    }
    Ok(out)
}

pub fn load_file(path: &Path) -> Result<Vec<Identity>> {
    let text = crate::base::files::read_capped_text(path, crate::base::files::cap::INVENTORY)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    parse(&text, &path.display().to_string())
}

/// Splits YAML text into documents at `---` lines: (first line number, text).
fn documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let (mut start, mut cur) = (1, String::new());
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            docs.push((start, std::mem::take(&mut cur)));
            start = i + 2;
            // `--- {inline}` keeps its content on the marker line.
            if let Some(rest) = t.strip_prefix("--- ") {
                cur.push_str(rest);
                cur.push('\n');
                start = i + 1;
            }
        } else if t == "..." {
            continue;
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    docs.push((start, cur));
    docs.retain(|(_, d)| {
        d.lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
    });
    docs
}

/// How deep YAML flow collections (`[`, `{`) may nest. The YAML parser's
/// time grows with the square of the depth (400 KB of `[` took minutes);
/// no inventory or catalog nests more than a few levels.
pub const MAX_FLOW_DEPTH: usize = 64;

/// The line of the first flow bracket nested deeper than
/// [`MAX_FLOW_DEPTH`], if any. Brackets inside quoted scalars and comments
/// do not count; one pass over the text.
pub fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    let mut quote: Option<u8> = None;
    let mut comment = false;
    let b = text.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            line += 1;
            comment = false;
            continue;
        }
        if comment {
            continue;
        }
        match quote {
            Some(q) => {
                // `\"` escapes a quote in double quotes, `''` in single ones;
                // either way the quote seen next closes or reopens it.
                if c == q && !(q == b'"' && i > 0 && b[i - 1] == b'\\') {
                    quote = None;
                }
            }
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'#' if i == 0 || b[i - 1].is_ascii_whitespace() => comment = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some(line);
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    None
}

/// Parses inventory text; `origin` names it in errors and in `source`.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Identity>> {
    if let Some(line) = too_deep(text) {
        return Err(Error::Config {
            path: PathBuf::from(origin),
            message: format!(
                "line {line}: collections nested more than {MAX_FLOW_DEPTH} levels deep; not read"
            ),
        });
    }
    let mut out = Vec::new();
    for (first_line, doc) in documents(text) {
        let err = |e: serde_yaml_ng::Error| {
            let msg = e.to_string();
            // The library appends its own (document-relative) position.
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            // Errors raised by a value's own check (a bad date) carry the
            // document's position: find the value itself instead.
            let own = msg
                .strip_prefix('"')
                .and_then(|m| m.split_once("\" is not a date"))
                .and_then(|(value, _)| {
                    doc.lines().enumerate().find_map(|(i, l)| {
                        let col = l.find(&format!(": {value}"))?;
                        Some((i + 1, col + 3))
                    })
                });
            let at = match (own, e.location()) {
                (Some((line, col)), _) => format!("line {}, column {col}", line + first_line - 1),
                (None, Some(l)) => {
                    format!("line {}, column {}", l.line() + first_line - 1, l.column())
                }
                (None, None) => format!("document starting at line {first_line}"),
            };
            Error::Config {
                path: PathBuf::from(origin),
                // The library quotes the values it could not take: they may
                // be secrets pasted in the wrong place.
                message: format!("{at}: {}", redact_quoted(&msg)),
            }
        };
        let is_list = doc.lines().any(|l| {
            let t = l.trim_end();
            t == "agents:" || t.starts_with("agents:") && !l.starts_with(' ')
        });
        if is_list {
            let list: AgentList = serde_yaml_ng::from_str(&doc).map_err(err)?;
            for (i, mut id) in list.agents.into_iter().enumerate() {
                id.source = format!("{origin} (agents[{i}])");
                out.push(id);
            }
        } else {
            let mut id: Identity = serde_yaml_ng::from_str(&doc).map_err(err)?;
            id.source = format!("{origin}:{first_line}");
            out.push(id);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_names_compare_without_case_or_separators() {
        let k = binding_key("NPM_TOKEN");
        for n in [
            "npm_token",
            "npmToken",
            "NpmToken",
            "npm-token",
            " npm.token ",
        ] {
            assert_eq!(binding_key(n), k, "{n}");
        }
        assert_ne!(binding_key("NPM_TOKEN_OLD"), k);
    }

    /// The example identity of SPEC.md, exactly as written there.
    const SEED: &str = include_str!("../../testdata/inventory/seed.yaml");

    #[test]
    fn seed_parses_unchanged() {
        let ids = parse(SEED, "seed.yaml").unwrap();
        assert_eq!(ids.len(), 1);
        let id = &ids[0];
        assert_eq!(id.agent, "release-assistant");
        assert_eq!(id.owner.as_deref(), Some("platform-team"));
        assert_eq!(id.last_review, Date::parse("2026-09-01"));
        assert_eq!(id.aws_account_id.as_deref(), Some("123456789012"));
        assert_eq!(id.credentials.len(), 3);
        assert_eq!(
            id.credentials[1].key_id.as_deref(),
            Some("AKIAXXXXXXXXXXXXXXXX")
        );
        assert_eq!(id.credentials[2].env.as_deref(), Some("RELEASE_BOT_TOKEN"));
        assert!(id.unknown.is_empty());
    }

    #[test]
    fn documents_lists_and_aliases() {
        let text = "agent: a\nowner: x\n---\n# comment only\n---\nagent: b\nlast_reviewed: 2025-01-31\nteam_slack: '#b'\n";
        let ids = parse(text, "f.yaml").unwrap();
        assert_eq!(
            ids.iter().map(|i| i.agent.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(ids[1].last_review, Date::parse("2025-01-31"));
        assert!(ids[1].unknown.contains_key("team_slack"));
        assert_eq!(ids[1].source, "f.yaml:6");
        let list = parse(
            "agents:\n  - agent: c\n  - agent: d\n    github_app_id: 12345\n",
            "l.yaml",
        )
        .unwrap();
        assert_eq!(list[1].github_app_id.as_deref(), Some("12345"));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let cases = [
            ("agent: a\n---\nagent: b\nallowed_actions: read\n", "line 4"),
            ("agent: a\nlast_review: 2026-13-01\n", "line 2"),
            ("agent: [unclosed\n", "line 1"),
            ("owner: nobody\n", "missing field `agent`"),
        ];
        for (text, want) in cases {
            let e = parse(text, "bad.yaml").unwrap_err().to_string();
            assert!(
                e.starts_with("bad.yaml: ") && e.contains(want),
                "{text:?} -> {e}"
            );
        }
        let e = parse("agent: a\nlast_review: 2026-13-01\n", "bad.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a date"), "{e}");
    }

    #[test]
    fn deep_flow_nesting_is_refused_at_once() {
        let deep = format!("agent: {}\n", "[".repeat(400_000));
        let e = parse(&deep, "deep.yaml").unwrap_err().to_string();
        assert!(e.contains("nested more than 64"), "{e}");
        // Brackets in quotes and comments do not count; sane nesting parses.
        let text = format!(
            "agent: a # {}\nowner: \"{}\"\nallowed_actions: [[x]]\n",
            "[".repeat(100),
            "{".repeat(100)
        );
        assert!(too_deep(&text).is_none());
        assert_eq!(
            too_deep(&format!("a: {}\nb: {}", "[".repeat(64), "[".repeat(65))),
            Some(2)
        );
    }
}

//! Code owners: who is accountable for the place a secret sits, as the
//! repository itself declares it. The nearest Backstage `catalog-info.yaml`
//! above a location (its entity's `spec.owner`) and the repository's
//! `CODEOWNERS` (GitHub and GitLab; the last matching pattern wins). This
//! answers "whose code leaked it" for findings no declared identity claims;
//! it never makes a finding owned (`identity`/`owner` come only from the
//! agent inventory).
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::Deserialize;

use crate::base::files::{cap, read_capped_text};
use crate::finding::{CodeOwner, Finding, Location};

const CATALOG_FILES: [&str; 2] = ["catalog-info.yaml", "catalog-info.yml"];
const CODEOWNERS_FILES: [&str; 4] = [
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

/// One CODEOWNERS rule: its pattern alone, so that the last match wins.
struct OwnersRule {
    matcher: Gitignore,
    owners: Vec<String>,
}

/// Looks owners up, reading each directory's catalog file and each root's
/// CODEOWNERS once.
#[derive(Default)]
pub struct Owners {
    catalogs: HashMap<PathBuf, Option<CodeOwner>>,
    /// Scan root → a file's directory (as its location's path spells it) →
    /// the nearest catalog entity's owner.
    nearest: HashMap<PathBuf, HashMap<String, Option<CodeOwner>>>,
    codeowners: HashMap<PathBuf, Option<(String, Vec<OwnersRule>)>>,
}

/// A location in what `keytrace scan -` read on standard input (or in an
/// archive that came so).
fn from_stdin(l: &Location) -> bool {
    use crate::source::stdin::NAME;
    l.commit.is_none() && l.container.first().map_or(l.path == NAME, |c| c == NAME)
}

impl Owners {
    /// Sets `code_owners` on every finding from its locations' files.
    pub fn assign(&mut self, findings: &mut [Finding]) {
        for f in findings.iter_mut() {
            let mut found: Vec<CodeOwner> = Vec::new();
            for l in &f.locations {
                // A sweep location, or what came on standard input: no
                // work tree to read (the working directory's CODEOWNERS
                // does not own `<stdin>`).
                if l.repo.is_some() || from_stdin(l) {
                    continue;
                }
                let Some(root) = l.path.strip_suffix(&l.relative) else {
                    continue;
                };
                let root = Path::new(root.trim_end_matches('/'));
                let root = if root.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    root
                };
                let dir = &l.path[..l.path.rfind(['/', '\\']).unwrap_or(0)];
                let cached = self.nearest.get(root).and_then(|m| m.get(dir)).cloned();
                let catalog = match cached {
                    Some(hit) => hit,
                    None => {
                        let hit = self.catalog_for(root, &l.relative);
                        self.nearest
                            .entry(root.to_path_buf())
                            .or_default()
                            .insert(dir.to_string(), hit.clone());
                        hit
                    }
                };
                for o in self
                    .codeowners_for(root, &l.relative)
                    .into_iter()
                    .chain(catalog)
                {
                    if !found.contains(&o) {
                        found.push(o);
                    }
                }
            }
            f.code_owners = found;
        }
    }

    /// The nearest catalog entity's owner in `rel`'s directory or above it,
    /// up to the root.
    fn catalog_for(&mut self, root: &Path, rel: &str) -> Option<CodeOwner> {
        let mut dir = Path::new(rel).parent();
        while let Some(d) = dir {
            let abs = root.join(d);
            let hit = self
                .catalogs
                .entry(abs.clone())
                .or_insert_with(|| read_catalog(&abs, d))
                .clone();
            if hit.is_some() {
                return hit;
            }
            dir = d.parent();
        }
        None
    }

    fn codeowners_for(&mut self, root: &Path, rel: &str) -> Vec<CodeOwner> {
        if !self.codeowners.contains_key(root) {
            self.codeowners
                .insert(root.to_path_buf(), read_codeowners(root));
        }
        let entry = self.codeowners.get_mut(root).expect("just inserted");
        let Some((source, rules)) = entry else {
            return Vec::new();
        };
        let path = Path::new(rel);
        for rule in rules.iter().rev() {
            if rule
                .matcher
                .matched_path_or_any_parents(path, false)
                .is_ignore()
            {
                return rule
                    .owners
                    .iter()
                    .map(|o| CodeOwner {
                        owner: o.clone(),
                        source: source.clone(),
                    })
                    .collect();
            }
        }
        Vec::new()
    }
}

/// `spec.owner` of the first entity in `dir`'s catalog file that names one.
fn read_catalog(dir: &Path, rel_dir: &Path) -> Option<CodeOwner> {
    for name in CATALOG_FILES {
        let Ok(text) = read_capped_text(&dir.join(name), cap::CATALOG) else {
            continue;
        };
        if super::inventory::too_deep(&text).is_some() {
            continue;
        }
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let Ok(v) = serde_yaml_ng::Value::deserialize(doc) else {
                break; // not Backstage's, or broken: no owner from it
            };
            if let Some(owner) = v["spec"]["owner"].as_str() {
                let source = rel_dir.join(name).to_string_lossy().replace('\\', "/");
                return Some(CodeOwner {
                    owner: owner.to_string(),
                    source,
                });
            }
        }
    }
    None
}

fn read_codeowners(root: &Path) -> Option<(String, Vec<OwnersRule>)> {
    for name in CODEOWNERS_FILES {
        let Ok(text) = read_capped_text(&root.join(name), cap::CODEOWNERS) else {
            continue;
        };
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.split_once('#').map_or(line, |x| x.0).trim();
            // GitLab sections (`[Docs]`, `^[Optional]`) group rules; their
            // default owners are not applied here.
            if line.is_empty() || line.starts_with('[') || line.starts_with("^[") {
                continue;
            }
            let mut parts = line.split_whitespace();
            let Some(pattern) = parts.next() else {
                continue;
            };
            let owners: Vec<String> = parts.map(str::to_string).collect();
            let mut b = GitignoreBuilder::new("");
            if b.add_line(None, pattern).is_err() {
                continue;
            }
            let Ok(matcher) = b.build() else { continue };
            rules.push(OwnersRule { matcher, owners });
        }
        return Some((name.to_string(), rules));
    }
    None
}

//! What a swept repository says of its own secrets, honoured only under
//! `--trust-repo-config`: the `allow` table of the `.keytrace.toml` and the
//! `.keytrace-baseline.json` at the root of its HEAD tree (the default
//! branch of a clone). Both are read from git objects, never from a
//! checkout, with the same size caps as a scan's own files. A file that
//! cannot be read or parsed is a warning of the repository and suppresses
//! nothing. The `rules` and `agents` of a swept `.keytrace.toml` are not
//! taken: one matcher serves every repository, and the sweep's inventory is
//! the sweep's.
use std::collections::HashSet;
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::{Regex, RegexBuilder};

use crate::base::files::cap;
use crate::baseline::Baseline;
use crate::config::{ProjectFile, PROJECT_FILE};
use crate::finding::Finding;
use crate::source::ScanError;

/// The baseline a swept repository keeps at its root (the name the README's
/// CI examples use).
pub const BASELINE_FILE: &str = ".keytrace-baseline.json";

/// Compiled size a repository's `allow.values` regex may take: a hostile
/// repository cannot make the sweep build a huge automaton.
const REGEX_SIZE: usize = 1 << 20;

/// The suppressions one repository declares.
#[derive(Default)]
pub struct RepoConfig {
    paths: Option<GlobSet>,
    values: Vec<Regex>,
    rules: HashSet<String>,
    baseline: Option<Baseline>,
    /// Fingerprint of the texts read (empty when none was): a change makes
    /// the sweep read the repository's blobs again.
    pub digest: String,
    /// Files that were there but could not be used.
    pub problems: Vec<ScanError>,
}

impl RepoConfig {
    /// Reads the repository's files from its HEAD tree. No HEAD (an empty
    /// repository) is no configuration.
    pub fn read(repo: &git2::Repository) -> RepoConfig {
        let mut out = RepoConfig::default();
        let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) else {
            return out;
        };
        let mut seen = Vec::new();
        match blob_text(repo, &tree, PROJECT_FILE, cap::SETTINGS) {
            Ok(None) => {}
            Ok(Some(text)) => {
                seen.extend_from_slice(text.as_bytes());
                if let Err(message) = out.take_project(&text) {
                    out.problems.push(ScanError::warning(
                        PROJECT_FILE,
                        format!("not honoured: {message}"),
                    ));
                }
            }
            Err(message) => out.problems.push(ScanError::warning(PROJECT_FILE, message)),
        }
        seen.push(0);
        match blob_text(repo, &tree, BASELINE_FILE, cap::BASELINE) {
            Ok(None) => {}
            Ok(Some(text)) => {
                seen.extend_from_slice(text.as_bytes());
                match serde_json::from_str::<Baseline>(&text) {
                    Ok(b) => out.baseline = Some(b),
                    Err(e) => out.problems.push(ScanError::warning(
                        BASELINE_FILE,
                        format!("not honoured: not a keytrace baseline: {e}"),
                    )),
                }
            }
            Err(message) => out
                .problems
                .push(ScanError::warning(BASELINE_FILE, message)),
        }
        if seen.len() > 1 {
            out.digest = crate::base::secret::fingerprint(&seen);
        }
        out
    }

    /// Takes the `allow` table, all of it or nothing.
    fn take_project(&mut self, text: &str) -> Result<(), String> {
        let pf: ProjectFile =
            toml::from_str(text).map_err(|e| crate::base::text::toml_error(text, &e))?;
        let mut globs = GlobSetBuilder::new();
        for g in &pf.allow.paths {
            globs.add(Glob::new(g).map_err(|e| format!("allow.paths: {e}"))?);
        }
        let mut values = Vec::new();
        for v in &pf.allow.values {
            let re = RegexBuilder::new(v)
                .size_limit(REGEX_SIZE)
                .build()
                .map_err(|e| format!("allow.values: {e}"))?;
            values.push(re);
        }
        let paths = globs.build().map_err(|e| format!("allow.paths: {e}"))?;
        self.paths = (!pf.allow.paths.is_empty()).then_some(paths);
        self.values = values;
        self.rules = pf.allow.rules.into_iter().collect();
        Ok(())
    }

    /// Whether the repository declared anything at all.
    pub fn is_empty(&self) -> bool {
        self.paths.is_none()
            && self.values.is_empty()
            && self.rules.is_empty()
            && self.baseline.is_none()
    }

    /// Drops what the repository allows: findings of a rule it switched
    /// off, of a value it allows or that its baseline accepts, and the
    /// locations under its allowed paths (a finding left with none is
    /// dropped). Returns how many findings were dropped.
    pub fn apply(&self, findings: &mut Vec<Finding>) -> usize {
        if self.is_empty() {
            return 0;
        }
        let before = findings.len();
        findings.retain_mut(|f| {
            if self.rules.contains(&f.rule) || self.baseline.as_ref().is_some_and(|b| b.contains(f))
            {
                return false;
            }
            if !self.values.is_empty() {
                let secret = String::from_utf8_lossy(f.raw.expose());
                if self.values.iter().any(|re| re.is_match(&secret)) {
                    return false;
                }
            }
            if let Some(paths) = &self.paths {
                f.locations.retain(|l| !paths.is_match(Path::new(&l.path)));
                if f.locations.is_empty() {
                    return false;
                }
                f.at_head = f.locations.iter().any(|l| l.at_head);
            }
            true
        });
        before - findings.len()
    }
}

/// The text of a blob at `name` in the root of `tree`: `Ok(None)` when there
/// is none (or it is not a file), an error when it is larger than `limit` or
/// not UTF-8. The size is read from the object's header before its content.
fn blob_text(
    repo: &git2::Repository,
    tree: &git2::Tree,
    name: &str,
    limit: u64,
) -> Result<Option<String>, String> {
    let Some(entry) = tree.get_name(name) else {
        return Ok(None);
    };
    if entry.kind() != Some(git2::ObjectType::Blob) || entry.filemode() == 0o120000 {
        return Ok(None);
    }
    let odb = repo.odb().map_err(|e| e.message().to_string())?;
    let (size, _) = odb
        .read_header(entry.id())
        .map_err(|e| format!("unreadable: {}", e.message()))?;
    if size as u64 > limit {
        return Err(format!(
            "not honoured: {size} bytes, more than the {limit} a {name} may have"
        ));
    }
    let blob = repo
        .find_blob(entry.id())
        .map_err(|e| format!("unreadable: {}", e.message()))?;
    String::from_utf8(blob.content().to_vec())
        .map(Some)
        .map_err(|_| "not honoured: not UTF-8 text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository cannot make the sweep compile a huge automaton, nor
    /// half-apply an allow table with a bad entry in it.
    #[test]
    fn a_hostile_allow_table_is_refused_whole() {
        let mut c = RepoConfig::default();
        let huge = "[allow]\nrules = ['x']\nvalues = ['(\\w{1000}){1000}']\n";
        let e = c.take_project(huge).unwrap_err();
        assert!(e.starts_with("allow.values"), "{e}");
        assert!(c.is_empty());
        let bad_glob = "[allow]\nrules = ['x']\npaths = ['a/{b']\n";
        assert!(c.take_project(bad_glob).is_err());
        assert!(c.is_empty());
        c.take_project("[allow]\nrules = ['x']\n").unwrap();
        assert!(!c.is_empty());
    }
}

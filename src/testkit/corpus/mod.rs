//! A labelled accuracy corpus, made from a seed at run time: a tree of
//! realistic files (env, YAML, JSON, Python, TypeScript, Go, Java, Terraform,
//! Dockerfile, shell, Markdown, Kubernetes manifests) holding one fresh fake
//! credential of every rule, more of them base64-encoded where real files
//! encode them (Kubernetes `data:`, basic-auth headers, docker `auth`), and
//! more decoys than credentials: placeholders, documentation examples,
//! checksum failures, repeated and sequential stand-ins, variable references,
//! hashes, UUIDs, lockfile integrities, inline images and near misses.
//!
//! Each credential is made in the shape of its rule: a context from one of
//! the rule's `examples`, a value sampled from the rule's pattern
//! ([`Shape`](crate::rules::shape::Shape)), then the checksum the format carries. The labels, (rule,
//! path, line) of every credential, stay in memory, so no committed file
//! holds a secret-shaped string. The generator never runs the matcher: it
//! reads formats from the rules (pattern, validator), and asks a format's
//! shape only whether a one-class stand-in is one random values of the
//! format would almost never be (else it is no decoy).
mod decoys;
mod files;
mod formats;
mod generator;
mod model;

use std::io;
use std::path::Path;

use crate::rules::RuleSet;
use generator::Generator;

pub use model::{Corpus, Label};

impl Corpus {
    /// The corpus for `seed`, with a credential of every rule of `rules`.
    pub fn generate(rules: &RuleSet, seed: u64) -> Corpus {
        Generator::new(rules, seed).run()
    }

    /// Writes every file under `dir`.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        for (rel, text) in &self.files {
            let p = dir.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, text)?;
        }
        for (rel, bytes) in &self.binaries {
            let p = dir.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, bytes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_rule_has_a_label_and_decoys_outnumber_them() {
        let rules = RuleSet::builtin().unwrap();
        let c = Corpus::generate(&rules, 1);
        let labelled: HashSet<&str> = c.labels.iter().map(|l| l.rule.as_str()).collect();
        for r in rules.rules() {
            assert!(labelled.contains(r.spec.id.as_str()), "{}", r.spec.id);
        }
        assert!(
            c.decoys >= c.labels.len(),
            "{} decoys, {} labels",
            c.decoys,
            c.labels.len()
        );
        assert!(c.labels.iter().any(|l| l.encoded));
        // Same seed, same corpus.
        assert_eq!(Corpus::generate(&rules, 1).files, c.files);
        // Every label points at a line of its file (a binary's is line 1).
        for l in &c.labels {
            if c.binaries.iter().any(|(p, _)| *p == l.path) {
                assert_eq!(l.line, 1);
                continue;
            }
            let (_, text) = c.files.iter().find(|(p, _)| *p == l.path).unwrap();
            assert!(text.lines().count() >= l.line as usize, "{l:?}");
        }
    }
}

//! Rules are data: one TOML file per provider in `rules/`, embedded at build
//! time, plus any custom files given with `--rules`. This module parses and
//! compiles them into a [`RuleSet`] for the matcher, and reads the [`shape`]
//! of each rule's secret from its pattern; it knows nothing about files
//! being scanned. A rule names its offline check by
//! [`Validator`] and its kind with the words of
//! [`crate::base::kinds`].
pub mod pattern;
pub mod shape;
pub mod verify;

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

use crate::base::kinds::{Confidence, IdentityClass, Lifetime};
use crate::error::{Error, Result};
use crate::validate::Validator;
use pattern::{capture_groups, capture_groups_unchecked, compile_pattern};
use shape::Shape;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// A rule as written in a rule file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub name: String,
    pub provider: String,
    /// Absent only in rules of `files`.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Absent only in rules of `binary`.
    #[serde(default)]
    pub pattern: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_entropy: Option<f64>,
    #[serde(default)]
    pub lifetime: Lifetime,
    pub identity: IdentityClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<Validator>,
    /// Bytes after a keyword hit that a match may span (multi-line secrets).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub window: usize,
    /// Rules whose match on a nearby line supplies this finding's `key_id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_id_from: Vec<String>,
    /// File names (globs on the last path component: `.pgpass`,
    /// `pgpass.conf`) whose whole content this rule reads, wherever they
    /// are. Such a rule has no keywords and runs in no other file; its
    /// examples are read as the first name's content.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// A binary format recognised by its structure (a PKCS#12 or Java key
    /// store, DBeaver's encrypted credentials, read by `matcher::keystore`),
    /// in every file and blob, or in those `files` names. Such a rule has no
    /// keywords or pattern; its examples are the hex of a file's first
    /// bytes, read as the first of `files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<crate::base::kinds::BinaryFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How distinctive the format is: `medium` for a value without a prefix
    /// of its own, recognised by a provider word beside it. High if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
    /// `admin` for credentials whose format says they carry administrative
    /// rights (an organisation admin key, an unrestricted payment key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privilege: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// How `--verify` asks the provider whether the credential is live
    /// ([`verify::VerifySpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<verify::VerifySpec>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub spec: RuleSpec,
    /// The file the rule came from (`github.toml`, or a custom path).
    pub origin: String,
    /// Compiled when the rule first has a keyword hit (built-in rules, whose
    /// patterns the test suite compiles), or at load (custom rules).
    regex: OnceLock<Regex>,
    pub(crate) secret_group: usize,
    pub(crate) key_id_group: Option<usize>,
    pub(crate) binding_group: Option<usize>,
    /// Indices (in the owning [`RuleSet`]) of the `key_id_from` rules.
    pub(crate) key_id_from: Vec<usize>,
    /// Read from the pattern when the rule first has a candidate.
    shape: OnceLock<Option<Shape>>,
    /// Built in: compiled on first use, kept so when rules are dropped.
    lazy: bool,
    /// The generic rule as built in: windows without a long enough value
    /// skip it ([`crate::validate::generic::may_assign`]), and its groups are found
    /// without the regex's capture engine ([`crate::validate::generic::generic_groups`]).
    pub(crate) fast_generic: bool,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The rule's regex, compiled on first use.
    pub fn regex(&self) -> &Regex {
        self.regex.get_or_init(|| {
            // The pattern parsed at load, and every built-in pattern
            // compiles in the test suite.
            compile_pattern(&self.spec.pattern).expect("a checked rule pattern compiles")
        })
    }

    /// Checks the rule's `verify` block, fixtures included (done at load
    /// for custom rules; the test suite does it for the built-in ones).
    pub fn check_verify(&self) -> std::result::Result<(), String> {
        match &self.spec.verify {
            Some(v) => v.check(self.key_id_group.is_some() || !self.spec.key_id_from.is_empty()),
            None => Ok(()),
        }
    }

    /// The shape of the rule's secret (its literal prefix and random runs).
    pub fn shape(&self) -> Option<&Shape> {
        self.shape
            .get_or_init(|| Shape::of(&self.spec.pattern))
            .as_ref()
    }
}

/// Every rule of a scan, in a fixed order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules compiled into the binary.
    pub fn builtin() -> Result<RuleSet> {
        RuleSet::load(true, &[] as &[&Path])
    }

    /// Built-in rules (unless `builtin` is false) plus the given custom files.
    /// Built-in rules compile their regexes on first use: a scan pays only
    /// for the rules whose keywords it meets. Custom rules compile here, so
    /// that a pattern over the size limit is an error at once.
    pub fn load(builtin: bool, custom: &[impl AsRef<Path>]) -> Result<RuleSet> {
        let mut specs = Vec::new();
        if builtin {
            for (name, text) in BUILTIN_RULE_FILES {
                specs.extend(parse_rule_file(name, text)?.into_iter().map(|s| (s, true)));
            }
        }
        for path in custom {
            specs.extend(
                read_rule_file(path.as_ref())?
                    .into_iter()
                    .map(|s| (s, false)),
            );
        }
        RuleSet::build(specs)
    }

    /// Rules from specs, every regex compiled now.
    pub fn from_specs(specs: Vec<(String, RuleSpec)>) -> Result<RuleSet> {
        RuleSet::build(specs.into_iter().map(|s| (s, false)).collect())
    }

    /// `lazy`: the spec is built in, its regex compiled on first use.
    fn build(specs: Vec<((String, RuleSpec), bool)>) -> Result<RuleSet> {
        let mut seen = HashSet::new();
        for ((origin, spec), _) in &specs {
            if !seen.insert(spec.id.clone()) {
                return Err(rule_err(origin, &spec.id, "duplicate rule id"));
            }
        }
        let mut rules = specs
            .into_iter()
            .map(|((origin, spec), lazy)| compile_rule(origin, spec, lazy))
            .collect::<Result<Vec<Rule>>>()?;
        let ids: Vec<String> = rules.iter().map(|r| r.spec.id.clone()).collect();
        for rule in &mut rules {
            for other in &rule.spec.key_id_from {
                let Some(i) = ids.iter().position(|id| id == other) else {
                    return Err(rule_err(
                        &rule.origin,
                        &rule.spec.id,
                        &format!("key_id_from names unknown rule {other:?}"),
                    ));
                };
                rule.key_id_from.push(i);
            }
        }
        Ok(RuleSet { rules })
    }

    /// `sha256:` of every rule as written: a blob scanned with one rule set
    /// must be scanned again when the set changes.
    pub fn digest(&self) -> String {
        let specs: Vec<&RuleSpec> = self.rules.iter().map(|r| &r.spec).collect();
        crate::base::secret::fingerprint(&serde_json::to_vec(&specs).expect("rules serialize"))
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.spec.id == id)
    }

    /// Removes the live checks of the rules read from these files (a
    /// scanned repository's own); returns (file, rule id) of each.
    pub fn drop_live_checks_from(&mut self, origins: &[String]) -> Vec<(String, String)> {
        let mut dropped = Vec::new();
        for r in &mut self.rules {
            if origins.contains(&r.origin) && r.spec.verify.take().is_some() {
                dropped.push((r.origin.clone(), r.spec.id.clone()));
            }
        }
        dropped
    }

    /// Drops the rules whose id is listed (from `.keytrace.toml`).
    pub fn without(mut self, disabled: &[String]) -> Result<RuleSet> {
        if disabled.is_empty() {
            return Ok(self);
        }
        let mut specs: Vec<((String, RuleSpec), bool)> = std::mem::take(&mut self.rules)
            .into_iter()
            .filter(|r| !disabled.contains(&r.spec.id))
            .map(|r| ((r.origin, r.spec), r.lazy))
            .collect();
        // Rebuild so key_id_from indices stay right; a dropped partner is
        // simply no longer paired.
        let ids: HashSet<String> = specs.iter().map(|((_, s), _)| s.id.clone()).collect();
        for ((_, s), _) in &mut specs {
            s.key_id_from.retain(|k| ids.contains(k));
        }
        RuleSet::build(specs)
    }
}

fn rule_err(origin: &str, id: &str, message: &str) -> Error {
    Error::Rules {
        file: origin.to_string(),
        message: format!("rule {id:?}: {message}"),
    }
}

/// Parses one rule file's text; `origin` names it in errors.
pub fn parse_rule_file(origin: &str, text: &str) -> Result<Vec<(String, RuleSpec)>> {
    let file: RuleFile = toml::from_str(text).map_err(|e| Error::Rules {
        file: origin.to_string(),
        message: crate::base::text::toml_error(text, &e),
    })?;
    Ok(file
        .rule
        .into_iter()
        .map(|r| (origin.to_string(), r))
        .collect())
}

pub fn read_rule_file(path: &Path) -> Result<Vec<(String, RuleSpec)>> {
    let text = crate::base::files::read_capped_text(path, crate::base::files::cap::RULES).map_err(
        |source| Error::Io {
            path: path.to_path_buf(),
            source,
        },
    )?;
    parse_rule_file(&path.display().to_string(), &text)
}

fn compile_rule(origin: String, spec: RuleSpec, lazy: bool) -> Result<Rule> {
    let bad = |m: &str| rule_err(&origin, &spec.id, m);
    if spec.id.is_empty()
        || !spec
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(bad("id must be non-empty kebab-case (a-z, 0-9, -)"));
    }
    if let Some(f) = spec
        .files
        .iter()
        .find(|f| f.is_empty() || f.contains('/') || globset::Glob::new(f).is_err())
    {
        return Err(bad(&format!(
            "files: {f:?} is not a file name glob (no `/`: names are matched wherever they are)"
        )));
    }
    if spec.binary.is_some() {
        if !spec.keywords.is_empty() || !spec.pattern.is_empty() {
            return Err(bad(
                "a rule with `binary` is found by the format's structure: no keywords or pattern",
            ));
        }
        return Ok(Rule {
            origin,
            regex: OnceLock::new(),
            secret_group: 0,
            key_id_group: None,
            binding_group: None,
            key_id_from: Vec::new(),
            shape: OnceLock::new(),
            lazy,
            fast_generic: false,
            spec,
        });
    }
    if !spec.files.is_empty() {
        if !spec.keywords.is_empty() {
            return Err(bad(
                "a rule with `files` reads the whole of those files and takes no keywords",
            ));
        }
    } else if spec.keywords.is_empty() {
        return Err(bad(
            "needs at least one keyword (or `files`): rules only run near their keywords",
        ));
    }
    if let Some(k) = spec.keywords.iter().find(|k| k.len() < 3) {
        return Err(bad(&format!(
            "keyword {k:?} is shorter than 3 bytes and would match almost everywhere"
        )));
    }
    if let Some(e) = spec.min_entropy {
        if !(0.0..=8.0).contains(&e) {
            return Err(bad("min_entropy must be between 0 and 8 bits per byte"));
        }
    }
    let groups = match lazy {
        true => capture_groups_unchecked(&spec.pattern),
        false => capture_groups(&spec.pattern)
            .map_err(|e| bad(&format!("pattern does not compile: {e}")))?,
    };
    let regex = OnceLock::new();
    if !lazy {
        let compiled = compile_pattern(&spec.pattern)
            .map_err(|e| bad(&format!("pattern does not compile: {e}")))?;
        let _ = regex.set(compiled);
    }
    let group = |name: &str| groups.iter().find(|(n, _)| n == name).map(|&(_, i)| i);
    let secret_group = group("secret").ok_or_else(|| bad("pattern needs a `secret` capture"))?;
    let key_id_group = group("key_id");
    let binding_group = group("binding");
    // Built-in blocks are checked by the test suite, not at each start.
    if let (Some(v), false) = (&spec.verify, lazy) {
        v.check(key_id_group.is_some() || !spec.key_id_from.is_empty())
            .map_err(|e| bad(&e))?;
    }
    Ok(Rule {
        origin,
        regex,
        secret_group,
        key_id_group,
        binding_group,
        key_id_from: Vec::new(),
        shape: OnceLock::new(),
        lazy,
        fast_generic: spec.validator == Some(Validator::Generic)
            && spec.pattern == crate::validate::generic::GENERIC_PATTERN,
        spec,
    })
}

/// The supported credential kinds as a Markdown table (the README's), by
/// provider and rule id.
pub fn markdown_table(set: &RuleSet) -> String {
    let mut specs: Vec<&RuleSpec> = set.rules().iter().map(|r| &r.spec).collect();
    specs.sort_by(|a, b| (&a.provider, &a.id).cmp(&(&b.provider, &b.id)));
    let mut providers: Vec<&str> = specs.iter().map(|s| s.provider.as_str()).collect();
    providers.dedup();
    let mut live: Vec<&str> = specs
        .iter()
        .filter(|s| s.verify.is_some())
        .map(|s| s.provider.as_str())
        .collect();
    live.dedup();
    let mut out = format!(
        "{} credential kinds from {} providers; {} kinds of {} providers have a live check \
         (`--verify`, the host it asks in the last column).\n\n\
         | provider | credential | rule | lifetime | identity | checks |\n\
         |---|---|---|---|---|---|\n",
        specs.len(),
        providers.len(),
        specs.iter().filter(|s| s.verify.is_some()).count(),
        live.len()
    );
    for s in specs {
        let check = match s.validator {
            Some(v) => serde_json::to_value(v)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            None => String::new(),
        };
        let check = match &s.verify {
            Some(v) if check.is_empty() => format!("live: {}", v.host),
            Some(v) => format!("{check}; live: {}", v.host),
            None => check,
        };
        let identity = serde_json::to_value(s.identity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let admin = if s.privilege.as_deref() == Some("admin") {
            " (admin)"
        } else {
            ""
        };
        out.push_str(&format!(
            "| {} | {}{admin} | `{}` | {} | {identity} | {check} |\n",
            s.provider,
            s.name.replace('|', "\\|"),
            s.id,
            s.lifetime.as_str(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, pattern: &str) -> (String, RuleSpec) {
        let text = format!(
            "[[rule]]\nid = {id:?}\nname = \"t\"\nprovider = \"t\"\nkeywords = [\"abc\"]\npattern = '''{pattern}'''\nidentity = \"service\"\n"
        );
        parse_rule_file("t.toml", &text).unwrap().remove(0)
    }

    #[test]
    fn builtin_rules_load() {
        let set = RuleSet::builtin().unwrap();
        assert!(set.len() >= 30, "only {} built-in rules", set.len());
        for rule in set.rules().iter().filter(|r| r.spec.binary.is_none()) {
            // What the lazy path would compile, and the groups it names.
            let re = compile_pattern(&rule.spec.pattern)
                .unwrap_or_else(|e| panic!("{}: {e}", rule.spec.id));
            let named = |name: &str| re.capture_names().position(|n| n == Some(name));
            assert_eq!(Some(rule.secret_group), named("secret"), "{}", rule.spec.id);
            assert_eq!(rule.key_id_group, named("key_id"), "{}", rule.spec.id);
            assert_eq!(rule.binding_group, named("binding"), "{}", rule.spec.id);
            assert_eq!(
                capture_groups_unchecked(&rule.spec.pattern),
                capture_groups(&rule.spec.pattern).unwrap(),
                "{}",
                rule.spec.id
            );
        }
    }

    #[test]
    fn groups_found_without_parsing_agree_with_the_parser() {
        for p in [
            r"(?P<secret>a)(b)(?<key_id>c)",
            r"\((?P<secret>[()])\)(?i)(?i:x)(?:y)(?P<binding>z)",
            r"[]()][^]()]([[:alpha:]&&[^(]])(?P<secret>\[(\]))",
            r"(?x) ( a ) [\]] (?P<secret>b)",
        ] {
            assert_eq!(
                capture_groups_unchecked(p),
                capture_groups(p).unwrap(),
                "{p}"
            );
        }
    }

    #[test]
    fn rejects_missing_secret_group_and_duplicates() {
        let e = RuleSet::from_specs(vec![spec("a", "abc[0-9]+")]).unwrap_err();
        assert!(e.to_string().contains("secret"), "{e}");
        let e = RuleSet::from_specs(vec![
            spec("a", "(?P<secret>abc)"),
            spec("a", "(?P<secret>abc)"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
        let e = RuleSet::from_specs(vec![spec("a", "(?P<secret>abc")]).unwrap_err();
        assert!(e.to_string().contains("does not compile"), "{e}");
    }

    #[test]
    fn unknown_fields_are_errors_with_position() {
        let e = parse_rule_file(
            "x.toml",
            "[[rule]]\nid = \"a\"\nname = \"t\"\nprovider = \"t\"\nkeywords = [\"abc\"]\npattern = \"(?P<secret>abc)\"\nidentity = \"service\"\nfoo = 1\n",
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("x.toml") && s.contains("foo") && s.contains("line 8"),
            "{s}"
        );
    }
}

//! The rule lint behind `keytrace rules check` and the test over every
//! built-in rule: each example must yield a finding of its rule through the
//! whole matcher (filters and validators included), and no negative example
//! may.
use crate::matcher::{MatchOptions, Matcher, Scratch};
use crate::rules::RuleSet;

/// One problem with one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub rule: String,
    pub origin: String,
    pub message: String,
}

/// Checks every rule of `set`. `strict` also asks for negative examples and
/// references (the standard for built-in rules).
pub fn check(set: &RuleSet, strict: bool) -> Vec<Problem> {
    let matcher = match Matcher::new(set.clone(), MatchOptions::default()) {
        Ok(m) => m,
        Err(e) => {
            return vec![Problem {
                rule: String::new(),
                origin: String::new(),
                message: e.to_string(),
            }]
        }
    };
    let mut scratch = Scratch::default();
    let mut problems = Vec::new();
    for (i, rule) in set.rules().iter().enumerate() {
        let mut say = |message: String| {
            problems.push(Problem {
                rule: rule.spec.id.clone(),
                origin: rule.origin.clone(),
                message,
            })
        };
        let s = &rule.spec;
        if s.examples.is_empty() {
            say("has no examples".into());
        }
        if strict && s.negative_examples.is_empty() {
            say("has no negative examples".into());
        }
        if strict && s.references.is_empty() {
            say("cites no documentation of the format in `references`".into());
        }
        // A rule of `files` reads its examples as the first name's content.
        let name = s.files.first().map(String::as_str).unwrap_or_default();
        if s.files
            .first()
            .is_some_and(|f| f.contains(['*', '?', '[', '{']))
        {
            say("the first of `files` is a glob: examples need a file name to be read as".into());
        }
        // A rule of `binary` reads its examples as the hex of a file's
        // first bytes.
        let mut scan = |ex: &str, n: usize, say: &mut dyn FnMut(String)| match s.binary {
            None => matcher.scan_named(ex.as_bytes(), name, &mut scratch),
            Some(_) => match hex_bytes(ex) {
                Some(bytes) => matcher.scan_binary(&bytes, name),
                None => {
                    say(format!(
                        "example {n} is not hex: a rule of `binary` gives bytes in hex"
                    ));
                    Vec::new()
                }
            },
        };
        for (n, ex) in s.examples.iter().enumerate() {
            let found = scan(ex, n + 1, &mut say);
            if !found.iter().any(|m| m.rule == i) {
                say(format!("example {} does not yield a finding", n + 1));
            }
        }
        for (n, ex) in s.negative_examples.iter().enumerate() {
            let found = scan(ex, n + 1, &mut say);
            if found.iter().any(|m| m.rule == i) {
                say(format!("negative example {} yields a finding", n + 1));
            }
        }
    }
    problems
}

/// `text` as hex (spaces allowed between bytes), or `None`.
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

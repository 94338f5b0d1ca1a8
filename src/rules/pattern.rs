//! A rule's pattern as the matcher compiles it (bytes, ASCII classes,
//! multi-line) and as the rest of the crate reads it: its syntax tree and
//! its named capture groups.
use regex::bytes::{Regex, RegexBuilder};

/// Regexes run on bytes with ASCII semantics: invalid UTF-8 must not hide a
/// secret, and ASCII classes keep the lazy DFA usable on any input.
pub fn compile_pattern(pattern: &str) -> std::result::Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .multi_line(true)
        .size_limit(8 << 20)
        .build()
}

/// `pattern` parsed with the settings [`compile_pattern`] compiles it with.
pub fn parse_hir(pattern: &str) -> std::result::Result<regex_syntax::hir::Hir, String> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .multi_line(true)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())
}

/// [`capture_groups`] without parsing the pattern, for the built-in rules,
/// whose patterns are known to compile (parsing 600 patterns was two
/// thirds of the start-up): each unescaped `(` outside a class opens a
/// group, numbered unless it is `(?…`; `(?P<name>` and `(?<name>` name it.
/// The unit test `builtin_rules_load` checks it against the compiled
/// regexes of every built-in rule.
pub fn capture_groups_unchecked(pattern: &str) -> Vec<(String, usize)> {
    let b = pattern.as_bytes();
    let (mut i, mut index, mut class) = (0, 0, 0usize);
    let mut out = Vec::new();
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            // `[` opens a class (or a nested one); a `]` first in a class,
            // or after its `^`, is a literal.
            b'[' => {
                class += 1;
                if b.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b']' if class > 0 => class -= 1,
            b'(' if class == 0 => {
                let rest = &pattern[i + 1..];
                let name = rest
                    .strip_prefix("?P<")
                    .or_else(|| rest.strip_prefix("?<"))
                    .and_then(|r| r.split_once('>'))
                    .map(|(n, _)| n);
                if !rest.starts_with('?') || name.is_some() {
                    index += 1;
                }
                if let Some(n) = name {
                    out.push((n.to_string(), index));
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The capture groups of `pattern` by name, with their indices, as the
/// compiled regex numbers them.
pub fn capture_groups(pattern: &str) -> std::result::Result<Vec<(String, usize)>, String> {
    use regex_syntax::hir::{Hir, HirKind};
    let hir = parse_hir(pattern)?;
    fn walk(h: &Hir, out: &mut Vec<(String, usize)>) {
        match h.kind() {
            HirKind::Capture(c) => {
                if let Some(name) = &c.name {
                    out.push((name.to_string(), c.index as usize));
                }
                walk(&c.sub, out);
            }
            HirKind::Repetition(r) => walk(&r.sub, out),
            HirKind::Concat(hs) | HirKind::Alternation(hs) => {
                hs.iter().for_each(|h| walk(h, out));
            }
            HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {}
        }
    }
    let mut groups = Vec::new();
    walk(&hir, &mut groups);
    Ok(groups)
}

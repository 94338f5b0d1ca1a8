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

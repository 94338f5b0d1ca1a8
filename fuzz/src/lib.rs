//! What the fuzz targets share: the built-in rules and matcher (built once
//! per process), and the checks of a match's place in its input.
use std::sync::OnceLock;

use keytrace::matcher::{Match, Matcher};
use keytrace::rules::RuleSet;

/// The built-in rules, compiled once.
pub fn builtin_rules() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| RuleSet::builtin().expect("built-in rules load"))
}

/// A matcher over the built-in rules, built once.
pub fn builtin_matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| {
        Matcher::new(builtin_rules().clone(), Default::default()).expect("built-in matcher")
    })
}

/// Panics unless `m` lies inside `hay` with the line and column of its
/// offset: offset < len, line = 1 + newlines before it, column 1-based and
/// no more than the bytes since the line start (exactly the characters
/// since then where that text is UTF-8).
pub fn check_place(hay: &[u8], m: &Match) {
    assert!(
        m.offset < hay.len(),
        "match at {} past the input ({} bytes)",
        m.offset,
        hay.len()
    );
    assert!(!m.secret.is_empty(), "empty secret at {}", m.offset);
    let before = &hay[..m.offset];
    let newlines = before.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(
        m.line as usize,
        1 + newlines,
        "line of the match at {}",
        m.offset
    );
    let ls = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = m.column as usize;
    assert!(
        col >= 1 && col <= m.offset - ls + 1,
        "column {col} of the match at {} (line starts at {ls})",
        m.offset
    );
    if let Ok(s) = std::str::from_utf8(&hay[ls..m.offset]) {
        assert_eq!(
            col,
            s.chars().count() + 1,
            "column of the match at {}",
            m.offset
        );
    }
    if m.encoding.is_none() {
        // Found in the text itself: the secret is what stands there.
        assert_eq!(
            hay.get(m.offset..m.offset + m.secret.len()),
            Some(&m.secret[..]),
            "secret bytes at {}",
            m.offset
        );
    }
}

/// Splits `data` at NUL bytes into at most `n` strings (lossy UTF-8).
pub fn pieces(data: &[u8], n: usize) -> Vec<String> {
    data.split(|&b| b == 0)
        .take(n)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

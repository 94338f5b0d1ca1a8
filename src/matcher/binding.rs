//! The name a secret is assigned to, read from the text before it on its
//! line, for rules whose pattern does not capture one: inventories claim
//! credentials by it (`env: NPM_TOKEN`).
use std::sync::LazyLock;

use regex::bytes::Regex;

static BINDING: LazyLock<Regex> = LazyLock::new(|| {
    regex::bytes::RegexBuilder::new(
        r#"(?x)
        (?:^|[^A-Za-z0-9_.])
        (?:
            (?:ENV|ARG)\s+(?P<docker>[A-Za-z_][A-Za-z0-9_]*)\s+
          |
            (?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)
            ["'`]?\]?\s*
            (?::=|=>|\?=|\+=|=|:|,)
        )
        \s*(?:!!?[A-Za-z]+\s+)?["'`(]*\s*
        (?:[A-Za-z][A-Za-z0-9+.\-]*://[^\s"'`]*)?
        $"#,
    )
    .unicode(false)
    .build()
    .expect("binding regex")
});

/// The name a value is assigned to, read from the text before it on its line:
/// `FOO=`, `export FOO=`, `ENV FOO `, `foo:`, `"foo":`, `foo =`, `foo :=`,
/// `f(foo="`, `os.environ["FOO"] = `, and a URI's scheme and user before a
/// password.
pub fn binding_before(prefix: &[u8]) -> Option<String> {
    let prefix = &prefix[prefix.len().saturating_sub(256)..];
    let caps = BINDING.captures(prefix)?;
    let name = caps.name("docker").or_else(|| caps.name("name"))?;
    let name = name.as_bytes();
    let name = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
    if name.is_empty() || name.len() > 128 {
        return None;
    }
    Some(String::from_utf8_lossy(name).into_owned())
}

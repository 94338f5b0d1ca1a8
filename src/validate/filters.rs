//! Whether a captured value looks like a real secret at all, whatever its
//! format: its entropy, placeholder text (`your_api_key_here`, `<token>`,
//! `${TOKEN}`), and the stand-in passwords of examples (`postgres://user:password@`).
use super::facts::{Facts, Outcome};

/// Shannon entropy in bits per byte.
pub fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    // H = log2(n) - (1/n) Σ c·log2(c) over the byte counts c, with c·log2(c)
    // from a table for the counts short values have.
    static C_LOG_C: std::sync::LazyLock<[f64; 256]> = std::sync::LazyLock::new(|| {
        std::array::from_fn(|c| {
            if c < 2 {
                0.0
            } else {
                c as f64 * (c as f64).log2()
            }
        })
    });
    let table = &*C_LOG_C;
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    // Over the value's own bytes, each taken once, rather than all 256
    // counts: secrets are short.
    let mut sum = 0.0;
    for &b in bytes {
        let c = std::mem::take(&mut counts[b as usize]);
        if c > 1 {
            sum += match table.get(c as usize) {
                Some(&t) => t,
                None => f64::from(c) * f64::from(c).log2(),
            };
        }
    }
    (n.log2() - sum / n).max(0.0)
}

const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "placeholder",
    "replace_me",
    "replaceme",
    "replace-me",
    "changeme",
    "change_me",
    "change-me",
    "your_",
    "your-",
    "yourapi",
    "yourtoken",
    "dummy",
    "redacted",
    "xxxx",
    "****",
    "${",
    "{{",
    "...",
    "123456789",
    "abcdefgh",
    "insert_",
    "_here",
    "-here",
];

/// Why a value looks like a placeholder rather than a secret, if it does.
pub fn placeholder(secret: &[u8]) -> Option<&'static str> {
    // `<...>` placeholders, but not the `<` of a PEM body or an escaped form.
    if secret.first() == Some(&b'<') || secret.contains(&b'<') && secret.contains(&b'>') {
        return Some("placeholder: <...>");
    }
    static WORDS: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(PLACEHOLDER_WORDS)
            .expect("placeholder words")
    });
    if WORDS.is_match(secret) {
        return Some("placeholder text");
    }
    let mut run = 1;
    for pair in secret.windows(2) {
        if pair[0] == pair[1] && pair[0] != b'\n' && pair[0] != b' ' && pair[0] != b'-' {
            run += 1;
            if run >= 6 {
                return Some("placeholder: a run of one character");
            }
        } else {
            run = 1;
        }
    }
    None
}

const WEAK_PASSWORDS: &[&str] = &[
    "password", "pass", "passwd", "pwd", "secret", "changeme", "root", "admin", "test", "user",
    "guest", "postgres", "mysql", "redis", "mongo", "example", "default", "none", "null",
    // The metasyntactic names of examples and URL test suites (`foo:bar@`).
    "foo", "bar", "baz", "qux", "foobar", "hunter2",
];

/// The password of a connection URI: a real one, not a stand-in.
pub fn connection_password(pw: &[u8]) -> Outcome {
    if pw.len() < 3 {
        return Err("password too short to be real");
    }
    if matches!(pw[0], b'$' | b'%' | b'<' | b'{' | b':' | b'[') {
        return Err("password is a variable reference");
    }
    let lower = pw.to_ascii_lowercase();
    if WEAK_PASSWORDS.iter().any(|w| lower == w.as_bytes()) {
        return Err("password is a placeholder word");
    }
    Ok(Facts::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "your_api_key_here",
            "xxxxxxxxxxxxxxxx",
            "<token>",
            "${TOKEN}",
            "{{ secrets.TOKEN }}",
            "sk_live_000000000000000000",
            "REPLACE_ME",
        ] {
            assert!(placeholder(p.as_bytes()).is_some(), "{p}");
        }
        assert!(placeholder(b"ghp_q8Zr2LmX0vTe7WbN4kPs9d1FjH3cYuAa6Rk").is_none());
    }

    #[test]
    fn connection_passwords() {
        assert!(connection_password(b"S3cr3t-Pw!").is_ok());
        for p in ["password", "${DB_PASSWORD}", "<password>", "ab"] {
            assert!(connection_password(p.as_bytes()).is_err(), "{p}");
        }
    }
}

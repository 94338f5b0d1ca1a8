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
    None
}

/// The longest run of one character repeated (`AAAAAA`), newlines, spaces
/// and dashes (PEM armour, separators) left out.
pub fn longest_repeat(secret: &[u8]) -> usize {
    let (mut run, mut most) = (1, usize::from(!secret.is_empty()));
    for pair in secret.windows(2) {
        if pair[0] == pair[1] && pair[0] != b'\n' && pair[0] != b' ' && pair[0] != b'-' {
            run += 1;
            most = most.max(run);
        } else {
            run = 1;
        }
    }
    most
}

/// A run of six of one character: a stand-in (`000000`, `aaaaaa`) in a
/// value whose format says nothing of where its random part lies. Rules
/// with a shape ask this of their random runs only
/// ([`crate::rules::shape::Shape::doubt`]), so that fixed parts (the zero
/// bytes of a base64 header, a padding of `A`s) do not count.
pub fn repeats_one_character(secret: &[u8]) -> bool {
    longest_repeat(secret) >= 6
}

/// Values made up by hand in a pattern that alternates two sequences
/// (`a1b2c3d4`, `Z9y8X7w6`), or one sequence in alternating case
/// (`AbCdEfGh`): a random value does either less than once in 10^6
/// (two interleaved sequences of four, each step 1/31 for base62: 2^2
/// directions × positions × (1/31)^6; one case-folded sequence of seven
/// steps: 2 × positions × (1/31)^6).
pub fn alternating_fabrication(v: &[u8]) -> bool {
    // Letters folded to lower case; digits and letters never step into
    // each other.
    let step = |a: u8, b: u8| -> i8 {
        let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
        let same = (a.is_ascii_digit() && b.is_ascii_digit())
            || (a.is_ascii_lowercase() && b.is_ascii_lowercase());
        if !same {
            0
        } else if b == a.wrapping_add(1) {
            1
        } else if a == b.wrapping_add(1) {
            -1
        } else {
            0
        }
    };
    // Two interleaved sequences: steps at distance 2, three in a row in one
    // direction, for both parities of an 8-byte window.
    let step2 = |i: usize| step(v[i], v[i + 2]);
    let seq3 = |i: usize| -> bool {
        let d = step2(i);
        d != 0 && step2(i + 2) == d && step2(i + 4) == d
    };
    if v.len() >= 8 && (0..v.len() - 7).any(|i| seq3(i) && seq3(i + 1)) {
        return true;
    }
    // One case-folded sequence of seven with the case changing inside it.
    let (mut run, mut dir, mut cased) = (1, 0i8, false);
    for w in v.windows(2) {
        let d = step(w[0], w[1]);
        if d != 0 && (run == 1 || d == dir) {
            run += 1;
            dir = d;
            cased |= w[0].is_ascii_uppercase() != w[1].is_ascii_uppercase()
                && w[0].is_ascii_alphabetic();
        } else {
            (run, dir, cased) = if d != 0 { (2, d, false) } else { (1, 0, false) };
            cased |= d != 0
                && w[0].is_ascii_alphabetic()
                && w[0].is_ascii_uppercase() != w[1].is_ascii_uppercase();
        }
        if run >= 7 && cased {
            return true;
        }
    }
    false
}

const WEAK_PASSWORDS: &[&str] = &[
    "password", "pass", "passwd", "pwd", "secret", "changeme", "root", "admin", "test", "user",
    "guest", "postgres", "mysql", "redis", "mongo", "example", "default", "none", "null",
    // The metasyntactic names of examples and URL test suites (`foo:bar@`).
    "foo", "bar", "baz", "qux", "foobar", "hunter2",
    // Oracle's demo schema password (`scott/tiger`).
    "tiger",
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
    // A placeholder word, alone or with digits after it (`secret123`).
    let digits = lower
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let word = &lower[..lower.len() - digits];
    if WEAK_PASSWORDS.iter().any(|w| word == w.as_bytes()) {
        return Err("password is a placeholder word");
    }
    Ok(Facts::default())
}

/// A password JetBrains IDEs wrote with their legacy `PasswordUtil.encodePassword`
/// (each UTF-16 unit XOR 0xdfaa, as four hex digits): decoded, it must be a
/// real password by [`connection_password`]. The decoded text never leaves.
pub fn jetbrains_password(encoded: &[u8]) -> Outcome {
    if encoded.is_empty() || !encoded.len().is_multiple_of(4) {
        return Err("not whole 4-digit units of an encoded password");
    }
    let mut plain = Vec::with_capacity(encoded.len() / 4);
    for unit in encoded.chunks_exact(4) {
        let hex = std::str::from_utf8(unit).map_err(|_| "not hex")?;
        let c = u16::from_str_radix(hex, 16).map_err(|_| "not hex")? ^ 0xdfaa;
        // Passwords typed in a settings dialog: printable ASCII. Anything
        // else is a hex string that merely has the right length.
        match u8::try_from(c) {
            Ok(b) if b.is_ascii_graphic() || b == b' ' => plain.push(b),
            _ => return Err("does not decode to a typed password"),
        }
    }
    connection_password(&plain)
}

/// JetBrains' legacy `PasswordUtil.encodePassword`, for tests and fakes.
pub fn jetbrains_encode(pw: &str) -> String {
    pw.encode_utf16()
        .map(|c| format!("{:x}", c ^ 0xdfaa))
        .collect()
}

/// The password of a URI's userinfo, `around` its line: as
/// [`connection_password`], and not one for a host that exists only in
/// documentation (RFC 2606: `example.com`, `.org`, `.net`, and the
/// `.example` and `.invalid` top-level names).
pub fn uri_password(pw: &[u8], line: &[u8], at: usize) -> Outcome {
    let facts = connection_password(pw)?;
    let rest = line.get(at + pw.len()..).unwrap_or_default();
    if let Some(rest) = rest.strip_prefix(b"@") {
        let end = rest
            .iter()
            .position(|b| {
                matches!(
                    b,
                    b'/' | b':' | b'?' | b'#' | b';' | b'"' | b'\'' | b'`' | b'>' | b')'
                ) || b.is_ascii_whitespace()
            })
            .unwrap_or(rest.len());
        let host = rest[..end].to_ascii_lowercase();
        let host = host.strip_suffix(b".").unwrap_or(&host);
        let under = |domain: &[u8]| {
            host == domain
                || (host.ends_with(domain) && host[..host.len() - domain.len()].ends_with(b"."))
        };
        if [
            "example.com",
            "example.org",
            "example.net",
            "example",
            "invalid",
        ]
        .iter()
        .any(|d| under(d.as_bytes()))
        {
            return Err("password for a documentation host (example.com)");
        }
    }
    Ok(facts)
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
            "REPLACE_ME",
        ] {
            assert!(placeholder(p.as_bytes()).is_some(), "{p}");
        }
        assert!(placeholder(b"ghp_q8Zr2LmX0vTe7WbN4kPs9d1FjH3cYuAa6Rk").is_none());
        assert!(repeats_one_character(b"sk_live_000000000000000000"));
        assert!(!repeats_one_character(
            b"ghp_q8Zr2LmX0vTe7WbN4kPs9d1FjH3cYuAa6Rk"
        ));
    }

    #[test]
    fn uri_passwords_of_placeholders_and_documentation_hosts() {
        let at = |line: &str, pw: &str| {
            uri_password(pw.as_bytes(), line.as_bytes(), line.find(pw).unwrap())
        };
        for (line, pw) in [
            ("ftp://rms:secret123@example.com", "secret123"),
            ("ftp://u:Xq9vT2mLp4@example.com/x", "Xq9vT2mLp4"),
            ("ftp://u:Xq9vT2mLp4@files.EXAMPLE.org:21", "Xq9vT2mLp4"),
            ("smb://u:Xq9vT2mLp4@fs.example", "Xq9vT2mLp4"),
            ("sftp://u:password1@files.acme.net", "password1"),
        ] {
            assert!(at(line, pw).is_err(), "{line}");
        }
        for (line, pw) in [
            ("ftp://u:Xq9vT2mLp4@files.acme.net", "Xq9vT2mLp4"),
            ("ftp://u:Xq9vT2mLp4@notexample.com", "Xq9vT2mLp4"),
            ("ftp://u:Xq9vT2mLp4@example.com.acme.net", "Xq9vT2mLp4"),
            ("Password=Xq9vT2mLp4;", "Xq9vT2mLp4"),
        ] {
            assert!(at(line, pw).is_ok(), "{line}");
        }
    }

    #[test]
    fn alternating_fabrications() {
        for v in [
            "a1b2c3d4e5f6g7h8",
            "Z9y8X7w6V5u4",
            "AbCdEfGhIjKl",
            "key-q1r2s3t4-end",
            "zYxWvUtS",
        ] {
            assert!(alternating_fabrication(v.as_bytes()), "{v}");
        }
        let mut f = crate::testkit::fakes::Fakes::new(7);
        let base62 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        for v in [
            "Nftu435p2634",
            "ghp_q8Zr2LmX0vTe7WbN4kPs9d1FjH3cYuAa6Rk",
            "abcd",
            "a1b2c3",
        ] {
            assert!(!alternating_fabrication(v.as_bytes()), "{v}");
        }
        // Random values almost never look so: none of 200,000.
        let hits = (0..200_000)
            .filter(|_| alternating_fabrication(f.chars(base62, 40).as_bytes()))
            .count();
        assert_eq!(hits, 0);
    }

    #[test]
    fn jetbrains_passwords() {
        assert_eq!(jetbrains_encode("S"), "dff9");
        assert!(jetbrains_password(jetbrains_encode("Vq8-rT2m!xZ").as_bytes()).is_ok());
        for p in ["password", "changeme", "ab"] {
            assert!(
                jetbrains_password(jetbrains_encode(p).as_bytes()).is_err(),
                "{p}"
            );
        }
        // Hex of the right length that is not the encoding of typed text.
        assert!(jetbrains_password(b"0123456789abcdef").is_err());
        assert!(jetbrains_password(b"dff9dff").is_err());
        assert!(jetbrains_password(b"dfzzdff9").is_err());
    }

    #[test]
    fn connection_passwords() {
        assert!(connection_password(b"S3cr3t-Pw!").is_ok());
        for p in ["password", "${DB_PASSWORD}", "<password>", "ab"] {
            assert!(connection_password(p.as_bytes()).is_err(), "{p}");
        }
    }
}

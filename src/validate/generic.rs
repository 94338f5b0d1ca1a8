//! The generic rule's heuristics: whether a value assigned to a secret-like
//! name (`password = …`, `API_KEY: …`) looks like a secret rather than a
//! reference, identifier, digest or documentation value; and the shortcuts
//! that let the matcher skip the rule's regex on lines that cannot match
//! ([`may_assign`]) and work out its groups without the capture engine
//! ([`generic_groups`]), both held to the regex by property tests.
use super::facts::{Facts, Outcome};
use super::filters::alternating_fabrication;

/// A value assigned to a secret-like name: keep only what looks random.
/// `password_name`: the name says password (`DB_PASSWORD`, `smtp_pass`,
/// `pwd`), whose values people choose: shorter, letters only, or words
/// with a symbol (`Nftu435p2634`, `Prestigitariu$`) are still secrets.
pub fn generic_value(v: &[u8]) -> Outcome {
    value_under(v, false)
}

fn value_under(v: &[u8], password_name: bool) -> Outcome {
    if v.len() < 12 {
        return Err("too short");
    }
    // The rule's own floor is the lowest any value may have; names other
    // than passwords keep 3.5 bits, passwords one that a 12-character
    // value with two or three repeats still reaches.
    let floor = if password_name {
        ((v.len() as f64).log2() - 0.7).min(3.5)
    } else if v.iter().all(u8::is_ascii_hexdigit) {
        // 16 symbols: random 32-digit hex falls under 3.5 bits one time in
        // seven, under 3.0 almost never.
        3.0
    } else {
        3.5
    };
    if crate::validate::filters::entropy(v) < floor {
        return Err("too little entropy");
    }
    let has_digit = v.iter().any(u8::is_ascii_digit);
    let has_alpha = v.iter().any(u8::is_ascii_alphabetic);
    // Identifiers never hold these; chosen passwords often do, with upper
    // and lower case as password rules ask (`Prestigitariu$`, where
    // documentation writes `geheim$parole`).
    let has_symbol = v[1..].iter().any(|b| b"!#$%^*+=?~@&|".contains(b));
    let policy =
        has_symbol && v.iter().any(u8::is_ascii_uppercase) && v.iter().any(u8::is_ascii_lowercase);
    let chosen = password_name && has_alpha && (policy || v.len() >= 16);
    if !(has_digit && has_alpha || chosen) {
        return Err("needs letters and digits");
    }
    let lower = v.to_ascii_lowercase();
    for p in [
        "http://",
        "https://",
        "file://",
        "process.env",
        "os.environ",
        "os.getenv",
        "getenv",
        "secrets.",
        "vault:",
        "sha1-",
        "sha256-",
        "sha384-",
        "sha512-",
        "sha256:",
        "arn:",
    ] {
        if memchr::memmem::find(&lower, p.as_bytes()).is_some() {
            return Err("a reference, URL or digest, not a secret");
        }
    }
    if matches!(
        v[0],
        b'$' | b'%' | b'/' | b'.' | b'~' | b'@' | b'(' | b'[' | b':'
    ) {
        // `:` after the operator: a path (`jsonwebtoken::DIGEST`).
        return Err("a reference or path");
    }
    if v.iter().any(|&b| b == b'(' || b == b' ') {
        return Err("an expression, not a literal");
    }
    if is_uuid(v) {
        return Err("a UUID");
    }
    // A JWT's header alone (`{"alg":…,"typ":…}`): no claims, no signature.
    if (v.starts_with(b"eyJhbGci") || v.starts_with(b"eyJ0eXAi")) && !v.contains(&b'.') {
        return Err("a JWT header alone");
    }
    if !(password_name && policy) && looks_like_identifier(v) {
        return Err("an identifier or reference, not a secret");
    }
    Ok(Facts::default())
}

/// Words in a name (or the line) that say its hex value is a digest, not a
/// key: `PWDHASH`, `checksum`, `resolved_sha1`, `etag`.
const DIGEST_WORDS: &[&str] = &[
    "hash",
    "digest",
    "checksum",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "md5",
    "etag",
    "integrity",
    "fingerprint",
    "crc",
    // A git object name under a token-like name (`commit_token`).
    "commit",
    "revision",
];

fn says_digest(text: &[u8]) -> bool {
    let lower = text.to_ascii_lowercase();
    DIGEST_WORDS
        .iter()
        .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
}

/// Words in a name that make what it holds no secret, whatever its letters:
/// pagination and sync cursors (`NextToken`, `continuationToken`), change and
/// idempotency tokens, public verification tokens, ids, names, files, types.
const NOT_SECRET_NAME_WORDS: &[&str] = &[
    "next",
    "page",
    "paging",
    "pagination",
    "continuation",
    "cursor",
    "marker",
    "sync",
    "update",
    "copy",
    "idempotency",
    "verification",
    "attribute",
    "attributes",
    "type",
    "types",
    "id",
    "name",
    "file",
    "path",
    "length",
];

/// Words a random secret does not spell out, but names, types and
/// documentation values do (`MyTestSecret-a1b2c3`, `X25519PrivateKey`,
/// `PassWordMustBeAtLeast6Chars`).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "privatekey",
    "apikey",
    "accesskey",
];

/// The words of a name, lower-cased: split at separators and camel humps.
fn name_words(name: &[u8]) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &b) in name.iter().enumerate() {
        let hump = b.is_ascii_uppercase()
            && i > 0
            && (name[i - 1].is_ascii_lowercase()
                || (name[i - 1].is_ascii_uppercase()
                    && name.get(i + 1).is_some_and(u8::is_ascii_lowercase)));
        if (!b.is_ascii_alphanumeric() || hump) && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        if b.is_ascii_alphanumeric() {
            cur.push(b.to_ascii_lowercase() as char);
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Characters in a row that count up (`abcd`, `1234`, `DEFG`): five or
/// more, or two runs of four. Documentation writes values so (`abcd1234defg5678`);
/// a random value does so about once in 10^6 (one run of four alone: once
/// in 10^4, which the bench corpus hit).
fn counts_up(v: &[u8]) -> bool {
    let (mut run, mut fours) = (1, 0);
    for w in v.windows(2) {
        let next = w[0].is_ascii_alphanumeric() && w[1] == w[0].wrapping_add(1);
        run = if next { run + 1 } else { 1 };
        if run == 4 {
            fours += 1;
        }
        if run >= 5 || fours >= 2 {
            return true;
        }
    }
    false
}

/// Whether the generic rule's pattern may match in `text`: it needs an
/// assignment (`=`, `:`, `:=`, `=>`) followed, past spaces and one quote, by
/// twelve or more characters a value may hold. Most lines that name a
/// secret hold none (`token = get_token(req)`, `password: str`), and this
/// look at their operators is cheaper than the rule's regex. A test holds it
/// to the pattern: wherever the regex matches, this says it may.
pub fn may_assign(text: &[u8]) -> bool {
    memchr::memchr2_iter(b'=', b':', text).any(|p| {
        let op = if text[p] == b'=' && text.get(p + 1) == Some(&b'>') {
            2
        } else {
            1
        };
        let (v, v_end) = value_after(text, p + op);
        v_end - v >= 12
    })
}

/// `\s` of the generic pattern (ASCII).
fn regex_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r')
}

fn quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

/// Where the generic pattern's value after an operator ending at `at`
/// lies: past spaces and one quote, the run of value bytes.
fn value_after(text: &[u8], at: usize) -> (usize, usize) {
    let mut v = at;
    while v < text.len() && regex_space(text[v]) {
        v += 1;
    }
    if text.get(v).copied().is_some_and(quote) {
        v += 1;
    }
    let end = v + text[v..]
        .iter()
        .take_while(|&&b| generic_value_byte(b))
        .count();
    (v, end)
}

/// The generic rule's pattern, as `rules/generic.toml` writes it. The
/// matcher takes its groups from [`generic_groups`] only while the rule
/// reads exactly so; an edited pattern goes back to the regex's own
/// captures.
pub const GENERIC_PATTERN: &str = r#"(?:^|[^A-Za-z0-9_./:-])["'`]?(?P<binding>[A-Za-z0-9_.-]*?(?i:pass(?:word|wd|phrase)|pwd|secret|token|api[_-]?key|access[_-]?key|signing[_-]?key|private[_-]?key)(?:[_.-][A-Za-z0-9_.-]*|[A-Z0-9][A-Za-z0-9_.-]*)?)["'`]?\s*(?::=|=>|=|:)\s*["'`]?(?P<secret>[^\s"'`,;&()\[\]{}<>\\]{12,})(?:["'`\s,;&)\]}]|$)"#;

/// The binding and secret of a match `[start, end)` of [`GENERIC_PATTERN`]
/// in `text` (a window that begins at a line start), worked out the way
/// the regex's backtracking would, preferring what it prefers: the line
/// start over a boundary character, a quote taken over one left, `:=`
/// over `=>` over `=` over `:`. The regex found the match with its DFA
/// alone; its capture engine costs more than the rest of the rule. `None`
/// where this cannot reproduce the match (the caller asks the regex).
pub fn generic_groups(
    text: &[u8],
    start: usize,
    end: usize,
) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let name = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    let at_line_start = start == 0 || text[start - 1] == b'\n';
    let after_quote = |p: usize| {
        if text.get(p).copied().is_some_and(quote) {
            p + 1
        } else {
            p
        }
    };
    // Where the name may start, in the order the regex tries.
    let mut starts = [None, None];
    if at_line_start {
        starts[0] = Some(after_quote(start));
    }
    let c = *text.get(start)?;
    if !(name(c) || c == b'/' || c == b':') {
        starts[1] = Some(after_quote(start + 1));
    }
    for p in starts.into_iter().flatten() {
        let n_end = p + text.get(p..)?.iter().take_while(|&&b| name(b)).count();
        if n_end == p || !names_a_secret(&text[p..n_end]) {
            continue;
        }
        let mut o = after_quote(n_end);
        while o < text.len() && regex_space(text[o]) {
            o += 1;
        }
        for op in [&b":="[..], b"=>", b"=", b":"] {
            if !text[o..].starts_with(op) {
                continue;
            }
            let (v, v_end) = value_after(text, o + op.len());
            if v_end - v < 12 {
                continue;
            }
            // The closing character (a newline is one: `\s` comes before
            // `$`), or the end of the text.
            let close = match text.get(v_end) {
                None => v_end,
                Some(&b) if quote(b) || regex_space(b) || b",;&)]}".contains(&b) => v_end + 1,
                Some(_) => continue,
            };
            return (close == end).then_some((p..n_end, v..v_end));
        }
    }
    None
}

/// A byte the generic rule's value may hold (`[^\s"'`,;&()\[\]{}<>\\]`).
fn generic_value_byte(b: u8) -> bool {
    const VALUE: [bool; 256] = {
        let mut t = [true; 256];
        let not = b" \t\n\x0B\x0C\r\"'`,;&()[]{}<>\\";
        let mut i = 0;
        while i < not.len() {
            t[not[i] as usize] = false;
            i += 1;
        }
        t
    };
    VALUE[usize::from(b)]
}

/// Whether a run of name characters is a name the generic rule takes: a
/// secret word (`password`, `token`, `api_key`, … in any case) followed by
/// the run's end, a separator, or an upper-case letter or digit.
fn names_a_secret(run: &[u8]) -> bool {
    const WORDS: &[&[u8]] = &[
        b"password",
        b"passwd",
        b"passphrase",
        b"pwd",
        b"secret",
        b"token",
        b"apikey",
        b"api_key",
        b"api-key",
        b"accesskey",
        b"access_key",
        b"access-key",
        b"signingkey",
        b"signing_key",
        b"signing-key",
        b"privatekey",
        b"private_key",
        b"private-key",
    ];
    let lower = run.to_ascii_lowercase();
    WORDS.iter().any(|w| {
        memchr::memmem::find_iter(&lower, w).any(|i| match run.get(i + w.len()) {
            None => true,
            Some(&b) => {
                matches!(b, b'_' | b'.' | b'-') || b.is_ascii_uppercase() || b.is_ascii_digit()
            }
        })
    })
}

/// The generic rule's check of a value and the name it is assigned to, on
/// `line`.
pub fn generic_assignment(v: &[u8], name: Option<&[u8]>, line: &[u8]) -> Outcome {
    // The rule's pattern leaves the value's length open (a bound such as
    // `{12,512}` unrolls into hundreds of regex states, and the captures of
    // every match paid for them): the bound is kept here.
    if v.len() > 512 {
        return Err("longer than 512 bytes: not one assigned value");
    }
    let mut password_name = false;
    if let Some(name) = name {
        let words = name_words(name);
        if words
            .iter()
            .any(|w| NOT_SECRET_NAME_WORDS.contains(&w.as_str()))
        {
            return Err("the name says it holds no secret (a cursor, id, name or type)");
        }
        if says_digest(name) {
            return Err("the name says it holds a hash or digest");
        }
        password_name = words.iter().any(|w| {
            matches!(
                w.as_str(),
                "password" | "passwd" | "passphrase" | "pwd" | "pass" | "pw"
            ) || w.ends_with("password")
                || w.ends_with("passwd")
        });
        let lower = name.to_ascii_lowercase();
        // `ACCESS_KEY: AKIA…`-style ids (upper case and digits) under a
        // name that says access key but not secret: the public half.
        let upper_id = (16..=32).contains(&v.len())
            && v.iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if upper_id
            && memchr::memmem::find(&lower, b"access").is_some()
            && memchr::memmem::find(&lower, b"secret").is_none()
        {
            return Err("an access key id, the public half of a pair");
        }
        // An AWS secret access key is 40 characters of base64; a value of
        // another shape under that name is no AWS key.
        if memchr::memmem::find(&lower, b"aws").is_some()
            && memchr::memmem::find(&lower, b"secret").is_some()
            && !(v.len() == 40
                && v.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+'))
        {
            return Err("not the shape of an AWS secret access key");
        }
    }
    let lower = v.to_ascii_lowercase();
    if SECRET_WORDS
        .iter()
        .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
    {
        return Err("spells out a secret word: a name, type or documentation value");
    }
    if counts_up(v) {
        return Err("counts up like a documentation value");
    }
    // Hex of a digest's length: a key where the name says so (`CLIENT_SECRET`,
    // `API_KEY`), a digest where the line does.
    if v.iter().all(u8::is_ascii_hexdigit)
        && matches!(v.len(), 32 | 40 | 64 | 128)
        && says_digest(line)
    {
        return Err("looks like a hash digest");
    }
    value_under(v, password_name)?;
    if alternating_fabrication(v) {
        return Err("alternates sequences like a documentation value");
    }
    Ok(Facts::default())
}

/// Identifiers and references (`getSecretValue`, `config.auth.token1`,
/// `DB_PASSWORD_FILE`) are made of words: split at separators, digits and
/// camel-case humps, most of their letters fall in pronounceable tokens of
/// three or more. Random strings split into short or vowel-less tokens.
///
/// Measured on 200,000 random base62 values and 42,895 identifiers with a
/// digit from real source: 0.06% of the random values are taken for names,
/// 67% of the identifiers are (entropy catches more of the rest).
fn looks_like_identifier(v: &[u8]) -> bool {
    // CONSTANT_NAMES and dotted.lower.paths: three or more one-case segments.
    let segments: Vec<&[u8]> = v.split(|b| matches!(b, b'_' | b'.' | b'-')).collect();
    if segments.len() >= 3
        && segments.iter().all(|s| {
            !s.is_empty()
                && (!s.iter().any(u8::is_ascii_lowercase) || !s.iter().any(u8::is_ascii_uppercase))
        })
    {
        return true;
    }
    // Names carry at most a version or two (`v2`, `x64`); random strings
    // scatter digits.
    let digit_groups = v
        .iter()
        .enumerate()
        .filter(|&(i, b)| b.is_ascii_digit() && (i == 0 || !v[i - 1].is_ascii_digit()))
        .count();
    if digit_groups > 2 {
        return false;
    }
    let mut tokens: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    for i in 1..=v.len() {
        let split = i == v.len() || {
            let (a, b) = (v[i - 1], v[i]);
            let next_lower = v.get(i + 1).is_some_and(u8::is_ascii_lowercase);
            !b.is_ascii_alphanumeric()
                || !a.is_ascii_alphanumeric()
                || a.is_ascii_digit() != b.is_ascii_digit()
                || (a.is_ascii_lowercase() && b.is_ascii_uppercase())
                || (a.is_ascii_uppercase() && b.is_ascii_uppercase() && next_lower)
        };
        if split && i > start {
            if i > start && v[start..i].iter().all(u8::is_ascii_alphabetic) {
                tokens.push(&v[start..i]);
            }
            start = i;
            while start < v.len() && !v[start].is_ascii_alphanumeric() {
                start += 1;
            }
        }
    }
    let letters: usize = tokens.iter().map(|t| t.len()).sum();
    if letters == 0 || letters * 3 < v.len() * 2 {
        return false; // mostly digits and symbols: not a name
    }
    let wordy: usize = tokens
        .iter()
        .filter(|t| {
            let vowels = t.iter().filter(|c| b"aeiouAEIOU".contains(c)).count();
            t.len() >= 3 && vowels * 4 >= t.len() && vowels * 4 <= t.len() * 3
        })
        .map(|t| t.len())
        .sum();
    wordy * 10 >= letters * 8 && letters >= 3 * tokens.len()
}

fn is_uuid(v: &[u8]) -> bool {
    v.len() == 36
        && v.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::filters::connection_password;

    #[test]
    fn generic_values_over_512_bytes_are_not_one_value() {
        let mut f = crate::testkit::fakes::Fakes::new(512);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let long = f.chars(alphabet, 600);
        assert_eq!(
            generic_assignment(long.as_bytes(), Some(b"token"), b""),
            Err("longer than 512 bytes: not one assigned value")
        );
        let v = f.chars(alphabet, 40);
        assert!(
            generic_assignment(v.as_bytes(), Some(b"token"), b"").is_ok(),
            "{v}"
        );
    }

    #[test]
    fn generic_values() {
        for v in [
            "q8Zr2LmX0vTe7WbN",
            "kcdn9D4bneVnDFsWQfbtUptqSyGL",
            "caa7WUYFIYeoWcanesre3yEEXG39",
            "J4wqepJHNOcmIJHAryQMZYXuPMtt",
            "x^VCq!P!ylsy!z5%z2YN",
        ] {
            assert!(generic_value(v.as_bytes()).is_ok(), "{v}");
        }
        for v in [
            "process.env.API_KEY",
            "550e8400-e29b-41d4-a716-446655440000",
            "sha512-abc123def456ghi789",
            "short1",
            "onlyletterslong",
            "config.auth.token1",
            "getSecretValueFromVault2",
            "DB_PASSWORD_FILE_2024",
            "JSONWebTokenSigner2",
            "WHV_X64_RDTSC_CONTEXT",
            "settings.database.password1",
        ] {
            assert!(generic_value(v.as_bytes()).is_err(), "{v}");
        }
    }

    #[test]
    fn generic_assignments_real_trees_taught() {
        // Seen in real trees (AWS CLI examples, Python type stubs, URL test data).
        let no = |v: &str, name: &str| generic_assignment(v.as_bytes(), Some(name.as_bytes()), b"");
        assert!(no(
            "eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAx",
            "NextToken"
        )
        .is_err());
        assert!(no(
            "1w41l63U0xa8q7smH50vCxyTQqdxo69O3EmK28Bi5PcROI4wI",
            "NextContinuationToken"
        )
        .is_err());
        assert!(no("1:p+2RpKR4wPFx7mcrL1UOQQ==", "PolicyUpdateToken").is_err());
        assert!(no("MyTestDatabaseSecret-a1b2c3", "secret").is_err());
        assert!(no("x25519.X25519PrivateKey", "private_key").is_err());
        assert!(no("PassWordMustBeAtLeast6Chars.", "LocalConsolePassword").is_err());
        assert!(no("abcd1234defg5678", "token").is_err());
        assert!(no("a1b2c3d4567890ab", "token").is_err());
        // One run of four is what random values hold once in 10^4.
        assert!(no("fU6fFXBliHMoTVoyEtrxpqrs5lpZ", "SECRET_KEY").is_ok());
        assert!(no("copyproduct-abc5defgjkdji", "CopyProductToken").is_err());
        // Real-looking values under secret names stay findings.
        for (v, name) in [
            (
                "k1zPZM6uVxMQ3oxqgoYlNuJPyRTZ1vREs76zTQE3eJk=",
                "ServicePassword",
            ),
            ("x^VCq!P!ylsy!z5%z2YN", "DB_PASSWORD"),
            ("PdD9FclQOjfhN7uqrqp%JVfXZQwS", "api_key"),
            ("K6Qp5Er1V52GLVANr7gli2ebF=6m3t0v", "client_secret"),
        ] {
            assert!(no(v, name).is_ok(), "{name}={v}");
        }
        // coverage.md §5: chosen passwords under password names.
        for (v, name) in [
            ("Nftu435p2634", "EMAIL_HOST_PASSWORD"),
            ("Prestigitariu$", "smtp_password"),
            ("qwhzkbtrnvlpamsd", "GMAIL_APP_PASSWORD"),
        ] {
            assert!(no(v, name).is_ok(), "{name}={v}");
        }
        // ...but not under other names, nor words without a symbol.
        assert!(no("Nftu435p2634", "api_token").is_err());
        assert!(no("qwhzkbtrnvlpamsd", "api_token").is_err());
        assert!(no("correcthorsebattery", "password").is_err());
        // Seen in Python's urllib documentation.
        assert!(no("geheim$parole", "passwd").is_err());
        // Hex under a secret name is a key; under a digest name, a digest.
        let hex = "9f86d081884c7d659a2feaa0c55ad015";
        assert!(no(hex, "CLIENT_SECRET").is_ok());
        assert!(no(hex, "secret_sha256").is_err());
        assert!(
            generic_assignment(hex.as_bytes(), Some(b"api_key"), b"md5 api_key: 9f86").is_err()
        );
        // coverage.md §6: none of these is a credential.
        assert!(no("abJnggxhB/yWI7", "PWDHASH").is_err());
        assert!(no(":DIGEST_SHA256", "jsonwebtoken").is_err());
        assert!(no("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "token").is_err());
        assert!(no("a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8NRAL", "licenseKey").is_err());
        assert!(no(
            "5c2b1e0f9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a",
            "AWS_SECRET_ACCESS_KEY"
        )
        .is_err());
        assert!(no(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzQ9bhR3kLq",
            "AWS_SECRET_ACCESS_KEY"
        )
        .is_ok());
        assert_eq!(
            connection_password(b"bar"),
            Err("password is a placeholder word")
        );
        assert!(connection_password(b"Zq8#kd02xq").is_ok());
    }
}

#[cfg(test)]
mod may_assign_tests {
    use super::may_assign;

    /// `n` lines of up to 14 pieces of what the generic rule reads: names,
    /// operators, quotes, brackets, values of 12 characters and shorter.
    fn random_lines(seed: u64, n: usize) -> impl Iterator<Item = String> {
        const PIECES: &[&str] = &[
            "token",
            "Secret",
            "DB_PASSWORD",
            "api-key",
            "apiKey",
            "pwd",
            "Tokens",
            "x",
            "_",
            ".",
            "-",
            "/",
            "=",
            ":",
            ":=",
            "=>",
            "==",
            " ",
            "  ",
            "\t",
            "\"",
            "'",
            "`",
            "(",
            ")",
            "{",
            "}",
            "[",
            "]",
            "<",
            ">",
            ";",
            ",",
            "&",
            "\\",
            "$",
            "aB3dE6",
            "Zq9",
            "k1zPZM6uVxMQ",
            "0123456789",
            "+",
            "%",
            "\n",
        ];
        let mut f = crate::testkit::fakes::Fakes::new(seed);
        (0..n).map(move |_| {
            let k = 1 + f.below(14);
            (0..k).map(|_| PIECES[f.below(PIECES.len())]).collect()
        })
    }

    /// Wherever the generic rule's regex matches, `may_assign` says it may:
    /// on its examples and on many random lines of the pieces it is made of.
    #[test]
    fn may_assign_holds_wherever_the_pattern_matches() {
        let set = crate::rules::RuleSet::builtin().unwrap();
        let rule = set.get("generic-secret-assignment").unwrap();
        for ex in &rule.spec.examples {
            assert!(may_assign(ex.as_bytes()), "{ex}");
        }
        let (mut matched, mut skipped) = (0, 0);
        for line in random_lines(11, 200_000) {
            let hit = rule.regex().is_match(line.as_bytes());
            if hit {
                matched += 1;
                assert!(may_assign(line.as_bytes()), "{line:?}");
            } else if !may_assign(line.as_bytes()) {
                skipped += 1;
            }
        }
        // Enough of both kinds for the property to mean something.
        assert!(matched > 1000 && skipped > 10_000, "{matched} {skipped}");
    }

    /// The groups worked out by hand are the regex's own, on the rule's
    /// examples and on many random lines; and the rule still reads as the
    /// hand parser expects.
    #[test]
    fn generic_groups_are_the_regex_groups() {
        let set = crate::rules::RuleSet::builtin().unwrap();
        let rule = set.get("generic-secret-assignment").unwrap();
        assert_eq!(rule.spec.pattern, super::GENERIC_PATTERN);
        let re = rule.regex();
        let check = |line: &str| -> bool {
            let mut any = false;
            for caps in re.captures_iter(line.as_bytes()) {
                let m = caps.get(0).unwrap();
                let want = (
                    caps.name("binding").unwrap().range(),
                    caps.name("secret").unwrap().range(),
                );
                let got = super::generic_groups(line.as_bytes(), m.start(), m.end());
                assert_eq!(got, Some(want), "{line:?}");
                any = true;
            }
            any
        };
        for ex in &rule.spec.examples {
            assert!(check(ex), "{ex}");
        }
        let mut matched = 0;
        for line in random_lines(12, 500_000) {
            matched += usize::from(check(&line));
        }
        assert!(matched > 4000, "{matched}");
    }
}

//! The matcher's tests: windows, shortcuts and overlaps against the rules'
//! own regexes, decoding, lines and columns, and linear work on hostile input.
use super::*;

/// A matcher over the rules of a custom rule file's text, default options.
fn custom_matcher(toml: &str) -> Matcher {
    let specs = crate::rules::parse_rule_file("custom.toml", toml).unwrap();
    Matcher::new(RuleSet::from_specs(specs).unwrap(), MatchOptions::default()).unwrap()
}

#[test]
fn bindings() {
    let cases: &[(&str, Option<&str>)] = &[
        ("GITHUB_TOKEN=", Some("GITHUB_TOKEN")),
        ("export GITHUB_TOKEN=\"", Some("GITHUB_TOKEN")),
        ("ENV NPM_TOKEN ", Some("NPM_TOKEN")),
        ("ARG NPM_TOKEN=", Some("NPM_TOKEN")),
        ("  token: ", Some("token")),
        ("  \"api_key\": \"", Some("api_key")),
        ("api_key = \"", Some("api_key")),
        ("token := \"", Some("token")),
        ("client = Client(api_key=\"", Some("api_key")),
        (
            "os.environ[\"OPENAI_API_KEY\"] = \"",
            Some("OPENAI_API_KEY"),
        ),
        ("DATABASE_URL=postgres://app:", Some("DATABASE_URL")),
        ("curl --token=", Some("token")),
        ("config.slack.token = '", Some("token")),
        ("Authorization: Bearer ", None),
        ("", None),
    ];
    for (prefix, want) in cases {
        assert_eq!(
            binding_before(prefix.as_bytes()).as_deref(),
            *want,
            "{prefix:?}"
        );
    }
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn encoded_secrets_are_found_once_decoded_at_the_encoded_text() {
    let m = Matcher::new(RuleSet::builtin().unwrap(), MatchOptions::default()).unwrap();
    let mut scratch = Scratch::default();
    let mut f = crate::testkit::fakes::Fakes::new(9);
    let ghp = f.github("ghp");
    let enc = b64(&ghp);
    let hay = format!(
        "apiVersion: v1\nkind: Secret\ndata:\n  GITHUB_TOKEN: {enc}\n  DOUBLE: {}\n",
        b64(&format!("token: {enc}"))
    );
    let found = m.scan(hay.as_bytes(), &mut scratch);
    // One level only: the token encoded twice is not decoded to the end
    // (the generic rule may still take its encoded form for a secret).
    let tokens: Vec<_> = found
        .iter()
        .filter(|m| m.secret == ghp.as_bytes())
        .collect();
    assert_eq!(tokens.len(), 1, "{found:?}");
    assert!(found.iter().all(|m| m.line <= 5));
    let g = tokens[0];
    assert_eq!(g.secret, ghp.as_bytes());
    assert_eq!(g.encoding, Some(Encoding::Base64));
    assert_eq!((g.line, g.column), (4, 17));
    assert_eq!(g.offset, hay.find(&enc).unwrap());
    assert_eq!(g.binding.as_deref(), Some("GITHUB_TOKEN"));
    // The same header decodes; a plain token is as before.
    let npm = f.npm();
    let hay = format!(
        "GET / HTTP/1.1\nAuthorization: Basic {}\nX-Token: {npm}\n",
        b64(&format!("ci:{ghp}"))
    );
    let found = m.scan(hay.as_bytes(), &mut scratch);
    let got: Vec<_> = found.iter().map(|m| (m.line, m.encoding)).collect();
    assert_eq!(got, [(2, Some(Encoding::Base64)), (3, None)]);
}

#[test]
fn stand_ins_of_a_format_are_not_findings_but_valid_checksums_are() {
    let m = Matcher::new(RuleSet::builtin().unwrap(), MatchOptions::default()).unwrap();
    let mut scratch = Scratch::default();
    for v in [
        "shpat_a1b2a1b2a1b2a1b2a1b2a1b2a1b2a1b2",
        "shpat_0123456789abcdef0123456789abcdef",
        "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",
        "ASIAUVWXYZ234567ABCD",
    ] {
        assert!(m.scan(v.as_bytes(), &mut scratch).is_empty(), "{v}");
    }
    // A checksum that holds settles it, even over a dull body.
    let body = "a1b2a1b2a1b2a1b2a1b2a1b2a1b2a1";
    let ghp = format!(
        "ghp_{body}{}",
        crate::validate::checksums::base62(crc32fast::hash(body.as_bytes()) as u64, 6)
    );
    assert_eq!(m.scan(ghp.as_bytes(), &mut scratch).len(), 1);
}

/// A custom rule with the generic validator and a pattern of its own
/// (no `=` or `:`) is matched by its regex: the built-in generic rule's
/// shortcuts are not applied to it.
#[test]
fn generic_shortcuts_are_for_the_built_in_pattern_only() {
    let text = r#"[[rule]]
id = "vault-line"
name = "t"
provider = "t"
keywords = ["secret"]
pattern = '(?P<binding>secret)\s+(?P<secret>[A-Za-z0-9]{20,})'
validator = "generic"
identity = "service"
"#;
    let m = custom_matcher(text);
    let found = m.scan(
        b"secret Xk9Qw2Lm7Rt4Zp8Vb3Nc6Hy1\n",
        &mut Scratch::default(),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].secret, b"Xk9Qw2Lm7Rt4Zp8Vb3Nc6Hy1");
}

#[test]
fn lines_and_columns() {
    let hay = "a\nbé x\n\nyz".as_bytes();
    let mut found: Vec<Match> = [5usize, 10]
        .iter()
        .map(|&offset| Match {
            rule: 0,
            secret: vec![],
            key_id: None,
            binding: None,
            offset,
            line: 0,
            column: 0,
            lifetime: Lifetime::Unknown,
            facts: Facts::default(),
            encoding: None,
            suppressed: None,
        })
        .collect();
    set_lines(hay, &mut found);
    assert_eq!((found[0].line, found[0].column), (2, 3));
    assert_eq!((found[1].line, found[1].column), (4, 2));
}

/// Inputs shaped to make the matcher slow cost work linear in their
/// size: each of these was quadratic once (a Secret's document read
/// again for every `kind: Secret` in it, the line start sought again for
/// every `Basic ` and every match's column, every match compared with
/// every claimed span, encoded value and pairing partner).
#[test]
fn hostile_inputs_cost_linear_work() {
    use crate::base::work;
    let m = Matcher::new(RuleSet::builtin().unwrap(), MatchOptions::default()).unwrap();
    let mut f = crate::testkit::fakes::Fakes::new(19);
    let stripe = b64(&format!("sk_live_{}", f.alnum(24)));
    let anthropic: Vec<String> = (0..800).map(|_| f.anthropic("api03")).collect();
    let aws: Vec<(String, String)> = (0..800)
        .map(|_| (f.aws_key_id("AKIA"), f.aws_secret()))
        .collect();
    type Make<'a> = Box<dyn Fn(usize) -> String + 'a>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "kind: Secret repeated in one document",
            Box::new(|n| {
                format!(
                    "apiVersion: v1\n{}data:\n  token: {stripe}\n",
                    "kind: Secret\n".repeat(1000 * n)
                )
            }),
        ),
        (
            "a List of Secrets",
            Box::new(|n| {
                let item = format!(
                    "- apiVersion: v1\n  data:\n    key: {stripe}\n  kind: Secret\n  metadata:\n    name: s\n"
                );
                format!(
                    "apiVersion: v1\nitems:\n{}kind: List\n",
                    item.repeat(100 * n)
                )
            }),
        ),
        (
            "a line of Basic",
            Box::new(|n| format!("Authorization: {}\n", "Basic ".repeat(2000 * n))),
        ),
        (
            "a line of JWT headers",
            Box::new(|n| format!("token={}\n", "eyJhbGciOiJIUzI1NiJ9.".repeat(1000 * n))),
        ),
        (
            "many tokens on one line",
            Box::new(|n| anthropic[..100 * n].join(" ")),
        ),
        (
            "key ids and secrets, one line",
            Box::new(|n| {
                aws[..100 * n]
                    .iter()
                    .map(|(id, s)| format!("{id} aws_secret_access_key={s} "))
                    .collect()
            }),
        ),
        (
            "key ids and secrets, a line each",
            Box::new(|n| {
                aws[..100 * n]
                    .iter()
                    .map(|(id, s)| format!("{id}\naws_secret_access_key = {s}\n"))
                    .collect()
            }),
        ),
    ];
    for (what, make) in &cases {
        work::assert_linear(what, |n| {
            let hay = make(n);
            let (w, found) = work::measure(|| m.scan(hay.as_bytes(), &mut Scratch::default()));
            // The input is what it claims: not a scan that found nothing.
            if what.contains("Secret") || what.contains("tokens") || what.contains("key ids") {
                assert!(!found.is_empty(), "{what}: nothing found");
            }
            w
        });
    }
    // Every Secret of the List is decoded, not only the first.
    let item = format!("- apiVersion: v1\n  data:\n    key: {stripe}\n  kind: Secret\n");
    let list = format!("apiVersion: v1\nitems:\n{}kind: List\n", item.repeat(50));
    let found = m.scan(list.as_bytes(), &mut Scratch::default());
    let decoded = found
        .iter()
        .filter(|m| m.encoding == Some(Encoding::Base64))
        .count();
    assert_eq!(decoded, 50, "{found:?}");
}

/// Two provider formats that take one value (`sk_live_` + 40 hex, and
/// `sk_live_` + up to 247 base62): the narrower one reports it; a value
/// only the wider takes stays the wider's.
#[test]
fn one_value_two_formats_the_narrower_wins() {
    let text = r#"[[rule]]
id = "wide"
name = "t"
provider = "a"
keywords = ["sk_live_"]
pattern = '(?P<secret>sk_live_[A-Za-z0-9]{24,247})'
identity = "service"

[[rule]]
id = "narrow"
name = "t"
provider = "b"
keywords = ["sk_live_"]
pattern = '(?P<secret>sk_live_[0-9a-f]{40})'
identity = "service"
"#;
    let m = custom_matcher(text);
    let mut f = crate::testkit::fakes::Fakes::new(3);
    let hex = format!("k = sk_live_{}\n", f.hex(40));
    let found = m.scan(hex.as_bytes(), &mut Scratch::default());
    let ids: Vec<&str> = found
        .iter()
        .map(|x| m.rules().rules()[x.rule].id())
        .collect();
    assert_eq!(ids, ["narrow"]);
    let b62 = format!(
        "k = sk_live_{}\n",
        f.chars(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            99
        )
    );
    let found = m.scan(b62.as_bytes(), &mut Scratch::default());
    let ids: Vec<&str> = found
        .iter()
        .map(|x| m.rules().rules()[x.rule].id())
        .collect();
    assert_eq!(ids, ["wide"]);
}

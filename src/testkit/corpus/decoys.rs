//! The corpus's decoys: for each rule, its own context with values its
//! format (or good sense) says are no credential (placeholders, repeated and
//! sequential stand-ins, documentation examples, failing checksums); and
//! decoys of every kind of file (hashes, UUIDs, variable references,
//! lockfile integrities, inline images, encoded non-secrets).
use base64::Engine as _;

use super::formats::Host;
use super::generator::{uuid, Generator, NEUTRAL};
use super::model::{Body, Item, Sample, Wrapping};
use crate::rules::shape::Shape;
use crate::rules::Rule;
use crate::testkit::sample::{Fill, SampleShape};
use crate::validate::Validator;

impl Generator<'_> {
    /// Whether another rule's pattern takes a value inside `v` (checked
    /// where that rule's keywords occur, as the matcher would).
    fn holds_other_value(&self, rule: &Rule, v: &str) -> bool {
        let line = format!("x={v}\n");
        let lower = line.to_ascii_lowercase();
        self.rules.rules().iter().any(|r| {
            r.spec.id != rule.spec.id
                && r.spec
                    .keywords
                    .iter()
                    .any(|k| lower.contains(&k.to_ascii_lowercase()))
                && r.regex().captures_iter(line.as_bytes()).any(|c| {
                    c.name("secret").is_some_and(|m| {
                        let m = m.as_bytes();
                        !m.is_empty() && v.as_bytes().windows(m.len()).any(|w| w == m)
                    })
                })
        })
    }

    /// Decoys made from a rule's own credential: its context with a value
    /// that the format (or good sense) says is not a credential.
    pub(super) fn rule_decoys(&mut self, rule: &Rule, s: &Sample, body: &Body) -> Vec<Body> {
        let Some(shape) = Shape::of(&rule.spec.pattern) else {
            return Vec::new();
        };
        let mut values: Vec<String> = Vec::new();
        let runs = shape.has_runs() && rule.spec.validator != Some(Validator::PrivateKey);
        if runs {
            for fill in [
                Fill::Placeholder,
                Fill::Repeat,
                Fill::Sequential,
                Fill::OneClass,
            ] {
                let v = shape.sample(&mut self.f, fill);
                // A value random draws produce once in a million is no decoy.
                if fill != Fill::OneClass || shape.doubt(&v).is_some() {
                    values.push(String::from_utf8(v).expect("ascii"));
                }
            }
            values.push(doc_example(&shape, &s.secret));
        }
        match rule.spec.validator {
            Some(Validator::Crc32Base62 | Validator::GrafanaCrc32 | Validator::ZuploCrc32)
            | Some(Validator::ConfluentCrc32 | Validator::GitlabRoutable)
            | Some(Validator::AtlassianCrc32 | Validator::Bech32) => {
                values.push(flip_last(&s.secret));
            }
            Some(Validator::ConnectionString) => {
                for pw in ["${DB_PASSWORD}", "<password>", "changeme", "password"] {
                    values.push(pw.to_string());
                }
            }
            Some(Validator::JetbrainsPassword) => {
                for pw in ["changeme", "password", "admin123"] {
                    values.push(crate::validate::filters::jetbrains_encode(pw));
                }
            }
            Some(Validator::PrivateKey) => values.push(stub_key(&s.secret)),
            Some(Validator::Jwt) => {
                // The shape of a JWT, but the header is not JSON.
                let e = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t);
                let tail = self.f.chars(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
                    43,
                );
                let head = if s.secret.starts_with("ghs_") {
                    s.secret[..s.secret.find("_eyJ").map_or(0, |i| i + 1)].to_string()
                } else {
                    String::new()
                };
                values.push(format!(
                    "{head}{}.{}.{tail}",
                    e("{\"not json at all"),
                    e("{\"exp\":1767229200}")
                ))
            }
            _ => {}
        }
        // A decoy of one format must not hold a whole value of another (a
        // placeholder webhook URL still carrying a random API key).
        values.retain(|v| !self.holds_other_value(rule, v));
        let mut out: Vec<Body> = values
            .into_iter()
            .map(|v| substitute(body, s, &v))
            .collect();
        // A partner's key id beside a decoy would be a credential of its own:
        // the decoys carry the documentation's.
        for &p in &rule.key_id_from {
            let partner = &self.rules.rules()[p].regex();
            for d in &mut out {
                doc_partner(d, partner);
            }
        }
        if let Body::Assign { name, .. } = body {
            let reference = match self.f.below(4) {
                0 => format!("${{{name}}}"),
                1 => format!("{{{{ .Values.{} }}}}", name.to_ascii_lowercase()),
                2 => format!("${{{{ secrets.{name} }}}}"),
                _ => format!("$({name})"),
            };
            out.push(Body::Assign {
                name: name.clone(),
                value: reference,
                at: 0,
            });
        }
        // Near misses, under a name no rule looks for: a weak format's value
        // without its keyword; a prefix one character off; one character short.
        let neutral = NEUTRAL[self.f.below(NEUTRAL.len())].to_string();
        let has_binding = rule.regex().capture_names().any(|n| n == Some("binding"));
        if has_binding && shape.prefix().is_empty() {
            out.push(Body::Assign {
                name: neutral.clone(),
                value: s.secret.clone(),
                at: 0,
            });
        }
        let plen = shape.prefix().len();
        if plen >= 3 && runs {
            let mut v = s.secret.clone().into_bytes();
            let i = self.f.below(plen);
            v[i] = match v[i] {
                b'z' | b'Z' | b'9' => v[i] - 1,
                c if c.is_ascii_alphanumeric() => c + 1,
                _ => b'q',
            };
            let v = String::from_utf8(v).expect("ascii");
            let lower = v.to_ascii_lowercase();
            if !self.keywords.iter().any(|k| lower.contains(k.as_str())) {
                out.push(Body::Assign {
                    name: neutral.clone(),
                    value: v,
                    at: 0,
                });
            }
            // One character short of this format may be a whole value of
            // another (`sk_test_` + 39 hex: a Stripe key's shape): then it is
            // no near miss.
            let short = &s.secret[..s.secret.len() - 1];
            let line = format!("{neutral}={short}");
            if !self.holds_other_value(rule, short) && !rule.regex().is_match(line.as_bytes()) {
                out.push(Body::Assign {
                    name: neutral,
                    value: short.to_string(),
                    at: 0,
                });
            }
        }
        // Four kinds a rule, so every file type still sees them all.
        let mut keep = Vec::new();
        while keep.len() < 4 && !out.is_empty() {
            keep.push(out.swap_remove(self.f.below(out.len())));
        }
        keep
    }

    pub(super) fn general_decoys(&mut self) {
        let f = &mut self.f;
        let b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut lines: Vec<(Host, String)> = vec![
            (Host::Yaml, format!("checksum: sha256:{}", f.hex(64))),
            (Host::Yaml, format!("  commit: {}", f.hex(40))),
            (Host::Yaml, format!("  md5: {}", f.hex(32))),
            (Host::Json, format!("  \"integrity\": \"sha512-{}==\",", f.chars(b64, 86))),
            (Host::Json, format!("  \"resolved_sha1\": \"{}\",", f.hex(40))),
            (Host::Doc, format!("golang.org/x/net v0.{}.0 h1:{}=", f.below(40), f.chars(b64, 43))),
            (Host::Yaml, format!("    image: nginx@sha256:{}", f.hex(64))),
            (Host::Yaml, format!("  request_id: {}", uuid(f))),
            (Host::Json, format!("  \"client_id\": \"{}\",", uuid(f))),
            (Host::Yaml, format!("  secret: {}", uuid(f))),
            (Host::Doc, format!("<img alt=\"logo\" src=\"data:image/png;base64,{}\">", f.chars(b64, 600))),
            (Host::Ts, format!("const font = \"url(data:font/woff2;base64,{}=)\";", f.chars(b64, 300))),
            (Host::Yaml, "  password: ${DB_PASSWORD}".into()),
            (Host::Python, "token = os.environ[\"API_TOKEN\"]".into()),
            (Host::Python, "api_key = os.getenv(\"SERVICE_API_KEY\")".into()),
            (Host::Yaml, "  api_key: \"{{ .Values.apiKey }}\"".into()),
            (Host::Yaml, "  token: ${{ secrets.DEPLOY_TOKEN }}".into()),
            (Host::Shell, "export GITHUB_TOKEN=\"$GITHUB_TOKEN\"".into()),
            (Host::Shell, "export SECRET_KEY=$(cat /run/secrets/secret_key)".into()),
            (Host::Ts, "const apiKey = process.env.PAYMENTS_API_KEY;".into()),
            (Host::Yaml, "  password: \"\"".into()),
            (Host::Yaml, "  password: aaaaaaaaaaaaaaaa".into()),
            (Host::Python, "SECRET_KEY = \"abcabcabcabcabcabc\"".into()),
            (Host::Yaml, "  token: 0123456789abcdef0123".into()),
            (Host::Yaml, "  api_key: your_api_key_here".into()),
            (Host::Yaml, "  token: <TOKEN>".into()),
            (Host::Python, "PASSWORD = \"changeme\"".into()),
            (Host::Shell, "export API_SECRET=REPLACE_ME".into()),
            (Host::Doc, "aws_access_key_id = AKIAIOSFODNN7EXAMPLE".into()),
            (Host::Doc, "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            (Host::Yaml, "  token: eyJub3QganNvbiBhdCBhbGw.eyJleHAiOjE3NjcyMjkyMDB9.c2lnbmF0dXJlLW5vdC1hLXJlYWwtb25l".into()),
            (Host::Python, "password_field = \"user_password_confirmation2\"".into()),
            (Host::Yaml, "  tokenizer: bert-base-uncased-v2".into()),
            (Host::Yaml, "  token_url: https://auth.internal.example/oauth2/token".into()),
            (Host::Shell, "export DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app".into()),
            (Host::Doc, "DATABASE_URL=mysql://user:password@localhost:3306/app".into()),
            (Host::Yaml, "  password: \"********\"".into()),
            (Host::Shell, "export TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".into()),
            (Host::Doc, "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----".into()),
            (Host::Yaml, "  PASSWORD_MIN_LENGTH: 12".into()),
        ];
        lines.push((
            Host::Yaml,
            format!("  session_token: {}  # keytrace:allow", f.github("ghp")),
        ));
        lines.push((
            Host::Shell,
            format!("export GITHUB_TOKEN={}", f.github_bad_checksum("ghp")),
        ));
        for (host, text) in lines {
            self.items.push(Item {
                body: Body::Line { text, at: 0, host },
                rule: None,
            });
        }
    }

    /// Encoded values that are not credentials.
    pub(super) fn encoded_decoys(&mut self) {
        let decoys = [
            (Wrapping::K8sData, "DB_PASSWORD", "changeme".to_string()),
            (Wrapping::K8sData, "API_TOKEN", "${API_TOKEN}".to_string()),
            (
                Wrapping::K8sData,
                "CHECKSUM",
                format!("sha256:{}", self.f.hex(64)),
            ),
            (Wrapping::K8sData, "CLIENT_ID", uuid(&mut self.f)),
            (Wrapping::BasicAuth, "user", "password".to_string()),
            (Wrapping::DockerAuth, "ci", "${REGISTRY_TOKEN}".to_string()),
        ];
        for (enc, name, value) in decoys {
            self.encoded.push((
                enc,
                Item {
                    body: Body::Assign {
                        name: name.into(),
                        value,
                        at: 0,
                    },
                    rule: None,
                },
            ));
        }
    }
}

/// The key block with its body cut to `...` (a documentation stub).
fn stub_key(block: &str) -> String {
    let nl = if block.contains("\\n") { "\\n" } else { "\n" };
    let begin = block.split(nl).next().unwrap_or(block);
    let end = block.rsplit(nl).next().unwrap_or(block);
    format!("{begin}{nl}...{nl}{}", end.trim_start())
}

/// `EXAMPLE` written over the middle of the first random run (of a value
/// in several parts, the part every match holds), as documentation examples
/// do (`AKIAIOSFODNN7EXAMPLE`).
fn doc_example(shape: &Shape, secret: &str) -> String {
    let mut v = secret.to_string();
    let Some(run) = shape.runs_in(secret.as_bytes()).into_iter().next() else {
        return v;
    };
    let word = if secret[run.clone()].bytes().any(|b| b.is_ascii_uppercase()) {
        "EXAMPLE"
    } else {
        "example"
    };
    if run.len() > word.len() {
        let at = run.start + (run.len() - word.len()) / 2;
        v.replace_range(at..at + word.len(), word);
    }
    v
}

/// The last character changed to another of its kind (a checksum that
/// fails, in a value the pattern still takes).
fn flip_last(secret: &str) -> String {
    let (head, last) = secret.split_at(secret.len() - 1);
    // `a`/`b`, `A`/`B`, `0`/`1`: in every alphabet of its kind, hex included.
    let c = match last.as_bytes()[0] {
        b'a' => 'b',
        b'A' => 'B',
        b'0' => '1',
        c if c.is_ascii_lowercase() => 'a',
        c if c.is_ascii_uppercase() => 'A',
        c if c.is_ascii_digit() => '0',
        _ => 'A',
    };
    format!("{head}{c}")
}

/// Every match of `partner` in the body's text (outside an assignment's
/// value) replaced by the documentation's key id.
fn doc_partner(body: &mut Body, partner: &regex::bytes::Regex) {
    let text = match body {
        Body::Line { text, .. } | Body::File { text, .. } => text,
        Body::Assign { .. } => return,
    };
    let spans: Vec<_> = partner
        .captures_iter(text.as_bytes())
        .filter_map(|c| c.name("secret").map(|m| m.range()))
        .collect();
    for r in spans.into_iter().rev() {
        let doc = format!("{}IOSFODNN7EXAMPLE", &text[r.start..r.start + 4]);
        if doc.len() == r.len() {
            text.replace_range(r, &doc);
        }
    }
}

/// `body` with the sample's secret replaced by `value`.
fn substitute(body: &Body, s: &Sample, value: &str) -> Body {
    match body {
        Body::Assign { name, value: v, at } => {
            let mut nv = v.clone();
            nv.replace_range(*at..*at + s.secret.len(), value);
            Body::Assign {
                name: name.clone(),
                value: nv,
                at: *at,
            }
        }
        Body::Line { text, at, host } => {
            let mut t = text.clone();
            t.replace_range(*at..*at + s.secret.len(), value);
            Body::Line {
                text: t,
                at: *at,
                host: *host,
            }
        }
        Body::File { text, at } => {
            let mut t = text.clone();
            t.replace_range(*at..*at + s.secret.len(), value);
            Body::File { text: t, at: *at }
        }
    }
}

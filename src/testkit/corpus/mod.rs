//! A labelled accuracy corpus, made from a seed at run time: a tree of
//! realistic files (env, YAML, JSON, Python, TypeScript, Go, Java, Terraform,
//! Dockerfile, shell, Markdown, Kubernetes manifests) holding one fresh fake
//! credential of every rule, more of them base64-encoded where real files
//! encode them (Kubernetes `data:`, basic-auth headers, docker `auth`), and
//! more decoys than credentials: placeholders, documentation examples,
//! checksum failures, repeated and sequential stand-ins, variable references,
//! hashes, UUIDs, lockfile integrities, inline images and near misses.
//!
//! Each credential is made in the shape of its rule: a context from one of
//! the rule's `examples`, a value sampled from the rule's pattern
//! ([`Shape`]), then the checksum the format carries. The labels, (rule,
//! path, line) of every credential, stay in memory, so no committed file
//! holds a secret-shaped string. The generator never runs the matcher: it
//! reads formats from the rules (pattern, validator), and asks a format's
//! [`Shape`] only whether a one-class stand-in is one random values of the
//! format would almost never be (else it is no decoy).
#![doc(hidden)]

mod files;

use files::{host_of, Host};

use std::collections::HashSet;
use std::io;
use std::ops::Range;
use std::path::Path;

use base64::Engine as _;
use regex::Regex as TextRegex;

use super::fakes::Fakes;
use super::sample::{Fill, SampleShape};
use crate::base::kinds::Checksum;
use crate::rules::shape::Shape;
use crate::rules::{Rule, RuleSet};
use crate::validate::checksums::base62;
use crate::validate::Validator;

/// One credential the corpus holds: where a scanner should report it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label {
    pub rule: String,
    pub path: String,
    /// 1-based line of the secret's first byte (of the encoded text, when
    /// the credential is encoded).
    pub line: u32,
    /// The credential is there base64-encoded.
    pub encoded: bool,
}

pub struct Corpus {
    /// Relative path and content of every file.
    pub files: Vec<(String, String)>,
    pub labels: Vec<Label>,
    /// How many decoys the files hold.
    pub decoys: usize,
}

impl Corpus {
    /// The corpus for `seed`, with a credential of every rule of `rules`.
    pub fn generate(rules: &RuleSet, seed: u64) -> Corpus {
        Generator::new(rules, seed).run()
    }

    /// Writes every file under `dir`.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        for (rel, text) in &self.files {
            let p = dir.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, text)?;
        }
        Ok(())
    }
}

/// A credential (or decoy) in the context of its example.
#[derive(Debug, Clone)]
struct Sample {
    /// The example with the fresh value in it.
    text: String,
    /// Byte offset of the secret in `text`.
    at: usize,
    secret: String,
}

/// What goes into a file: an assignment the file's syntax can render, or a
/// line (or block) kept as written.
#[derive(Debug, Clone)]
enum Body {
    Assign {
        name: String,
        value: String,
        at: usize,
    },
    Line {
        text: String,
        at: usize,
        host: Host,
    },
    /// A multi-line example: a file of its own.
    File {
        text: String,
        at: usize,
    },
}

#[derive(Debug, Clone)]
struct Item {
    body: Body,
    /// The rule whose credential this is; `None` for a decoy.
    rule: Option<String>,
}

/// Names a credential is never assigned to: values under them are not
/// credentials of a weak format.
const NEUTRAL: &[&str] = &[
    "etag",
    "checksum",
    "commit_sha",
    "build_id",
    "request_id",
    "trace_id",
    "digest",
    "object_id",
    "revision",
    "cache_key",
    "image_tag",
    "session_id",
];

struct Generator<'r> {
    rules: &'r RuleSet,
    f: Fakes,
    seed: u64,
    keywords: Vec<String>,
    assign: TextRegex,
    items: Vec<Item>,
    /// Encoded credentials and decoys: (format of their file, item).
    encoded: Vec<(Wrapping, Item)>,
    files: Vec<(String, String)>,
    labels: Vec<Label>,
    decoys: usize,
    paths: HashSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrapping {
    K8sData,
    BasicAuth,
    DockerAuth,
    DockerConfigJson,
}

impl<'r> Generator<'r> {
    fn new(rules: &'r RuleSet, seed: u64) -> Generator<'r> {
        let keywords = rules
            .rules()
            .iter()
            .flat_map(|r| r.spec.keywords.iter().map(|k| k.to_ascii_lowercase()))
            .collect();
        Generator {
            rules,
            f: Fakes::new(seed ^ 0xACC0_12AC),
            seed,
            keywords,
            assign: TextRegex::new(
                r#"^\s*(?:export\s+)?(["']?)([A-Za-z_][A-Za-z0-9_.\-]*)(["']?)\s*(?::=|=|:)\s*(["'`]?)([^\s"'`(),;{}\\]+)(["'`]?),?\s*$"#,
            )
            .expect("assignment regex"),
            items: Vec::new(),
            encoded: Vec::new(),
            files: Vec::new(),
            labels: Vec::new(),
            decoys: 0,
            paths: HashSet::new(),
        }
    }

    fn run(mut self) -> Corpus {
        let rules = self.rules;
        for (i, rule) in rules.rules().iter().enumerate() {
            let pick = (self.seed as usize + i) % rule.spec.examples.len().max(1);
            let Some(sample) = self.positive(rule, pick) else {
                continue;
            };
            let body = self.body(&sample);
            for d in self.rule_decoys(rule, &sample, &body) {
                self.items.push(Item {
                    body: d,
                    rule: None,
                });
            }
            if let Body::Assign { name, value, at } = &body {
                self.maybe_encode(rule, name, value, *at, &sample.secret);
            }
            self.items.push(Item {
                body,
                rule: Some(rule.spec.id.clone()),
            });
        }
        self.general_decoys();
        self.encoded_decoys();
        self.shuffle_items();
        self.lay_out();
        self.lay_out_encoded();
        self.files.sort();
        self.labels.sort();
        Corpus {
            files: self.files,
            labels: self.labels,
            decoys: self.decoys,
        }
    }

    /// A fresh credential of `rule` in the context of example `pick`.
    fn positive(&mut self, rule: &Rule, pick: usize) -> Option<Sample> {
        let example = rule.spec.examples.get(pick)?;
        let shape = Shape::of(&rule.spec.pattern)?;
        let caps = rule.regex().captures(example.as_bytes())?;
        let old = caps.name("secret")?.range();
        for _ in 0..64 {
            let fresh = self.fresh(rule, &shape, &example[old.clone()]);
            let mut edits: Vec<(Range<usize>, String)> = vec![(old.clone(), fresh.clone())];
            // A key id outside the secret (Twilio's account SID) and the
            // partners that supply key ids (an AWS key id on the line above)
            // are fresh too.
            if let Some(k) = caps.name("key_id") {
                if k.end() <= old.start || k.start() >= old.end {
                    let ks = Shape::of_group(&rule.spec.pattern, "key_id")?;
                    let kv = String::from_utf8(ks.sample(&mut self.f, Fill::Random)).ok()?;
                    edits.push((k.range(), kv));
                }
            }
            for &p in &rule.key_id_from {
                let partner = &self.rules.rules()[p];
                for c in partner.regex().captures_iter(example.as_bytes()) {
                    let Some(m) = c.name("secret") else { continue };
                    if edits
                        .iter()
                        .any(|(r, _)| r.start < m.end() && m.start() < r.end)
                    {
                        continue;
                    }
                    let id = self.f.aws_key_id(&example[m.start()..m.start() + 4]);
                    edits.push((m.range(), id));
                }
            }
            edits.sort_by_key(|(r, _)| r.start);
            let (mut text, mut last, mut at) = (String::new(), 0, 0);
            for (r, new) in &edits {
                text.push_str(&example[last..r.start]);
                if *r == old {
                    at = text.len();
                }
                text.push_str(new);
                last = r.end;
            }
            text.push_str(&example[last..]);
            let found = rule.regex().captures_iter(text.as_bytes()).any(|c| {
                c.name("secret")
                    .is_some_and(|m| m.start() == at && m.as_bytes() == fresh.as_bytes())
            });
            if found && self.checksum_holds(rule, &fresh) {
                return Some(Sample {
                    text,
                    at,
                    secret: fresh,
                });
            }
        }
        panic!("corpus: no value of {} fits its pattern", rule.spec.id);
    }

    fn checksum_holds(&self, rule: &Rule, secret: &str) -> bool {
        match rule.spec.validator {
            Some(v) => crate::validate::run(
                v,
                secret.as_bytes(),
                &crate::validate::Around {
                    line: secret.as_bytes(),
                    ..Default::default()
                },
            )
            .map(|f| f.checksum != Some(Checksum::Invalid))
            .unwrap_or(false),
            None => true,
        }
    }

    /// A value of `rule`'s format, in the style of the example's `old` one.
    fn fresh(&mut self, rule: &Rule, shape: &Shape, old: &str) -> String {
        let f = &mut self.f;
        match rule.spec.validator {
            Some(Validator::Jwt) if old.starts_with("ghs_") => return f.github_installation(),
            Some(Validator::Jwt) => {
                let sub = f.alnum(8).to_ascii_lowercase();
                let iat = 1_767_225_600 + f.below(10_000_000) as u64;
                return f.jwt(&format!(r#"{{"sub":"svc-{sub}","iat":{iat}}}"#));
            }
            Some(Validator::PrivateKey) => return private_key(f, old),
            Some(Validator::ConnectionString) => return f.password(),
            Some(Validator::Generic) => return f.generic_value(),
            Some(Validator::GitlabRoutable) => {
                let instance = &old[..old.find("glpat-").unwrap_or(0)];
                let (org, user) = (1 + f.below(9_000) as u64, 1 + f.below(9_000_000) as u64);
                // The checksum covers an instance prefix too.
                let token = f.gitlab_routable(org, user);
                let body = format!("{instance}{}", &token[..token.len() - 7]);
                let crc =
                    crate::validate::checksums::base36(crc32fast::hash(body.as_bytes()) as u64, 7);
                return format!("{body}{crc}");
            }
            Some(Validator::AwsKeyId) => return f.aws_key_id(&old[..4]),
            Some(Validator::AzureIdentifiable) => {
                use base64::Engine as _;
                let trimmed = old.trim_end_matches('=');
                let sig = &trimmed[trimmed.len() - 10..trimmed.len() - 6];
                let (_, url_safe, kinds) = crate::validate::checksums::AZURE_KEY_KINDS
                    .iter()
                    .find(|(s, _, _)| *s == sig)
                    .expect("a known signature in the example");
                let bytes = if *url_safe {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed)
                } else {
                    base64::engine::general_purpose::STANDARD.decode(old)
                }
                .expect("the example is base64")
                .len();
                let kind = &kinds[f.below(kinds.len())];
                let key = f.azure_key(sig, bytes, *url_safe, kind.seed);
                // The URL-safe form keeps its padding when the example does.
                return if *url_safe && old.ends_with("==") && !key.ends_with('=') {
                    format!("{key}==")
                } else {
                    key
                };
            }
            Some(Validator::SentryOrgToken) => {
                use base64::Engine as _;
                let org = format!("team-{}", f.alnum(6).to_ascii_lowercase());
                let iat = 1_700_000_000 + f.below(60_000_000);
                let json = format!(
                    r#"{{"iat": {iat}.{:06}, "url": "https://sentry.io", "region_url": "https://us.sentry.io", "org": "{org}"}}"#,
                    f.below(1_000_000)
                );
                let payload = base64::engine::general_purpose::STANDARD.encode(json);
                let tail = f.chars(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                    43,
                );
                return format!("sntrys_{payload}_{tail}");
            }
            Some(Validator::OnepasswordServiceAccount) => {
                use base64::Engine as _;
                let hex = f.hex(64);
                let key = f.chars(b"ABCDEFGHJKLMNPQRSTVWXYZ0123456789", 26);
                let json = format!(
                    r#"{{"signInAddress":"{}.1password.com","email":"{}@1passwordserviceaccounts.com","srpX":"{hex}","secretKey":"A3-{}-{}-{}","deviceUuid":"{}"}}"#,
                    f.alnum(8).to_ascii_lowercase(),
                    f.alnum(12).to_ascii_lowercase(),
                    &key[..6],
                    &key[6..12],
                    &key[12..],
                    f.alnum(26).to_ascii_lowercase()
                );
                let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
                return format!("ops_{body}");
            }
            _ => {}
        }
        let mut v = String::from_utf8(shape.sample(f, Fill::Random)).expect("ascii sample");
        with_checksum(rule.spec.validator, &mut v);
        v
    }

    /// How the sample goes into a file.
    fn body(&self, s: &Sample) -> Body {
        if s.text.contains('\n') {
            return Body::File {
                text: s.text.clone(),
                at: s.at,
            };
        }
        if let Some(c) = self.assign.captures(&s.text) {
            let v = c.get(5).expect("value group");
            let quotes_match = c.get(1).map(|m| m.as_str()) == c.get(3).map(|m| m.as_str())
                && c.get(4).map(|m| m.as_str()) == c.get(6).map(|m| m.as_str());
            if quotes_match && v.start() <= s.at && s.at + s.secret.len() <= v.end() {
                return Body::Assign {
                    name: c[2].to_string(),
                    value: v.as_str().to_string(),
                    at: s.at - v.start(),
                };
            }
        }
        Body::Line {
            text: s.text.clone(),
            at: s.at,
            host: host_of(&s.text),
        }
    }

    /// Decoys made from a rule's own credential: its context with a value
    /// that the format (or good sense) says is not a credential.
    fn rule_decoys(&mut self, rule: &Rule, s: &Sample, body: &Body) -> Vec<Body> {
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
            let short = &s.secret[..s.secret.len() - 1];
            if !rule
                .regex()
                .is_match(format!("{neutral}={short}").as_bytes())
            {
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

    /// Encodes some credentials as real files do: a Kubernetes Secret's
    /// `data:`, a basic-auth header, a docker `auth` field.
    fn maybe_encode(&mut self, rule: &Rule, name: &str, value: &str, at: usize, secret: &str) {
        // A `user:password` pair carries no name and no context: only a
        // token that spells out its own keyword can be told apart in it.
        let lower = secret.to_ascii_lowercase();
        let self_contained = rule.regex().capture_names().all(|n| n != Some("binding"))
            && rule
                .spec
                .keywords
                .iter()
                .any(|k| lower.contains(&k.to_ascii_lowercase()));
        let item = |rule: &Rule| Item {
            body: Body::Assign {
                name: name.to_string(),
                value: value.to_string(),
                at,
            },
            rule: Some(rule.spec.id.clone()),
        };
        match self.f.below(12) {
            0 | 1 => self.encoded.push((Wrapping::K8sData, item(rule))),
            2 if self_contained && !secret.contains(':') => {
                self.encoded.push((Wrapping::BasicAuth, item(rule)))
            }
            3 if self_contained && !secret.contains(':') => {
                let enc = if self.f.below(2) == 0 {
                    Wrapping::DockerAuth
                } else {
                    Wrapping::DockerConfigJson
                };
                self.encoded.push((enc, item(rule)))
            }
            _ => {}
        }
    }

    fn general_decoys(&mut self) {
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
    fn encoded_decoys(&mut self) {
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

    fn shuffle_items(&mut self) {
        for i in (1..self.items.len()).rev() {
            let j = self.f.below(i + 1);
            self.items.swap(i, j);
        }
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn uuid(f: &mut Fakes) -> String {
    let h = f.hex(32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..]
    )
}

/// Sets the checksum a format carries in its last characters.
fn with_checksum(v: Option<Validator>, s: &mut String) {
    let hex = |b: [u8; 4]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    match v {
        Some(Validator::Crc32Base62) => {
            let start = s.find('_').map_or(0, |i| i + 1);
            let body = &s[start..s.len() - 6];
            let check = base62(crc32fast::hash(body.as_bytes()) as u64, 6);
            s.replace_range(s.len() - 6.., &check);
        }
        Some(Validator::GrafanaCrc32) => {
            let check = hex(crc32fast::hash(&s.as_bytes()[..37]).to_le_bytes());
            s.replace_range(38.., &check);
        }
        Some(Validator::ZuploCrc32) => {
            let check = hex(crc32fast::hash(&s.as_bytes()[5..37]).to_be_bytes());
            s.replace_range(38.., &check);
        }
        Some(Validator::ConfluentCrc32) => {
            let crc = crc32fast::hash(&s.as_bytes()[4..58]).to_le_bytes();
            let check = base64::engine::general_purpose::STANDARD.encode(crc);
            s.replace_range(58.., &check[..6]);
        }
        Some(Validator::AtlassianCrc32) => {
            let body = &s[..s.len() - 8];
            let plain = match body
                .strip_suffix("%3D")
                .or_else(|| body.strip_suffix("%3d"))
            {
                Some(stem) => format!("{stem}="),
                None => body.to_string(),
            };
            let check = format!("{:08X}", crc32fast::hash(plain.as_bytes()));
            s.replace_range(s.len() - 8.., &check);
        }
        Some(Validator::Bech32) => {
            let check = bech32_checksum(&s[..s.len() - 6]);
            s.replace_range(s.len() - 6.., &check);
        }
        _ => {}
    }
}

/// The six checksum characters BIP 173 appends to `text` (`hrp1data`),
/// in `text`'s case.
fn bech32_checksum(text: &str) -> String {
    use crate::validate::checksums::{bech32_polymod, BECH32_CHARSET};
    let lower = text.to_ascii_lowercase();
    let (hrp, data) = lower.rsplit_once('1').expect("a bech32 separator");
    let mut values: Vec<u8> = data
        .bytes()
        .map(|c| {
            BECH32_CHARSET
                .iter()
                .position(|&x| x == c)
                .expect("bech32 data") as u8
        })
        .collect();
    values.extend([0; 6]);
    let polymod = bech32_polymod(hrp.as_bytes(), &values) ^ 1;
    let out: String = (0..6)
        .map(|i| BECH32_CHARSET[((polymod >> (5 * (5 - i))) & 31) as usize] as char)
        .collect();
    if text.chars().any(|c| c.is_ascii_uppercase()) {
        out.to_ascii_uppercase()
    } else {
        out
    }
}

/// A private key block of the example's kind, written as the example
/// writes it (plain, `\n`-escaped in JSON, or indented in YAML).
fn private_key(f: &mut Fakes, old: &str) -> String {
    let label = old
        .strip_prefix("-----BEGIN ")
        .and_then(|r| r.split("-----").next())
        .unwrap_or("PRIVATE KEY");
    let block = match label {
        "OPENSSH PRIVATE KEY" => f.openssh(),
        "PGP PRIVATE KEY BLOCK" => f.pgp(),
        l => f.pem(l),
    };
    if old.contains("\\n") {
        return block.replace('\n', "\\n");
    }
    let indent: String = old
        .split_once('\n')
        .map(|(_, rest)| rest.chars().take_while(|&c| c == ' ').collect())
        .unwrap_or_default();
    block.replace('\n', &format!("\n{indent}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_label_and_decoys_outnumber_them() {
        let rules = RuleSet::builtin().unwrap();
        let c = Corpus::generate(&rules, 1);
        let labelled: HashSet<&str> = c.labels.iter().map(|l| l.rule.as_str()).collect();
        for r in rules.rules() {
            assert!(labelled.contains(r.spec.id.as_str()), "{}", r.spec.id);
        }
        assert!(
            c.decoys >= c.labels.len(),
            "{} decoys, {} labels",
            c.decoys,
            c.labels.len()
        );
        assert!(c.labels.iter().any(|l| l.encoded));
        // Same seed, same corpus.
        assert_eq!(Corpus::generate(&rules, 1).files, c.files);
        // Every label points at a line of its file.
        for l in &c.labels {
            let (_, text) = c.files.iter().find(|(p, _)| *p == l.path).unwrap();
            assert!(text.lines().count() >= l.line as usize, "{l:?}");
        }
    }
}

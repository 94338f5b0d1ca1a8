//! The corpus generator: one fresh credential of every rule, in the context
//! of one of the rule's examples, with the checksum its format carries;
//! some encoded as real files encode them. [`super::decoys`] adds the decoys
//! and [`super::files`] lays everything out in files.
use std::collections::HashSet;
use std::ops::Range;

use regex::Regex as TextRegex;

use base64::Engine as _;

use super::formats::host_of;
use super::model::{Body, Corpus, Item, Label, Sample, Wrapping};
use crate::base::kinds::Checksum;
use crate::rules::shape::Shape;
use crate::rules::{Rule, RuleSet};
use crate::testkit::fakes::Fakes;
use crate::testkit::sample::{Fill, SampleShape};
use crate::validate::checksums::base62;
use crate::validate::Validator;

/// Names a credential is never assigned to: values under them are not
/// credentials of a weak format.
pub(super) const NEUTRAL: &[&str] = &[
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

pub(super) struct Generator<'r> {
    pub(super) rules: &'r RuleSet,
    pub(super) f: Fakes,
    pub(super) seed: u64,
    pub(super) keywords: Vec<String>,
    pub(super) assign: TextRegex,
    pub(super) items: Vec<Item>,
    /// Encoded credentials and decoys: (format of their file, item).
    pub(super) encoded: Vec<(Wrapping, Item)>,
    pub(super) files: Vec<(String, String)>,
    pub(super) binaries: Vec<(String, Vec<u8>)>,
    pub(super) labels: Vec<Label>,
    pub(super) decoys: usize,
    pub(super) paths: HashSet<String>,
}

impl<'r> Generator<'r> {
    pub(super) fn new(rules: &'r RuleSet, seed: u64) -> Generator<'r> {
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
            binaries: Vec::new(),
            labels: Vec::new(),
            decoys: 0,
            paths: HashSet::new(),
        }
    }

    pub(super) fn run(mut self) -> Corpus {
        let rules = self.rules;
        for (i, rule) in rules.rules().iter().enumerate() {
            if let Some(format) = rule.spec.binary {
                self.key_store(rule, format);
                continue;
            }
            let pick = (self.seed as usize + i) % rule.spec.examples.len().max(1);
            let Some(sample) = self.positive(rule, pick) else {
                continue;
            };
            // A rule of `files` reads only files of its name: a file of its own.
            let body = match rule.spec.files.is_empty() {
                true => self.body(&sample),
                false => Body::File {
                    text: format!("{}\n", sample.text),
                    at: sample.at,
                },
            };
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
            binaries: self.binaries,
            labels: self.labels,
            decoys: self.decoys,
        }
    }

    /// A key store of a `binary` rule, under a name its tools give it or
    /// one that says nothing (found by structure, not name), and a decoy: a
    /// binary of the same size that is not one (a DER certificate, a Java
    /// class).
    fn key_store(&mut self, rule: &Rule, format: crate::matcher::keystore::BinaryFormat) {
        let n = self.binaries.len();
        let names = [
            "keystore.p12",
            "server.pfx",
            "release.jks",
            "app.keystore",
            "blob.bin",
        ];
        let name = match rule.spec.files.first() {
            Some(f) => f.as_str(),
            None => names[self.f.below(names.len())],
        };
        let path = format!("deploy/keys{n}/{name}");
        let bytes = self.f.key_store(format);
        // A certificate's AlgorithmIdentifier ends in NULL (05 00): binary.
        let mut decoy = vec![
            0x30, 0x82, 0x04, 0x10, 0x30, 0x82, 0x03, 0xF8, 0xA0, 0x03, 0x02, 0x01, 0x02, 0x05,
            0x00,
        ];
        if self.f.below(2) == 0 {
            decoy = vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 0x41];
        }
        decoy.extend(self.f.bytes(bytes.len()));
        self.labels.push(Label {
            rule: rule.spec.id.clone(),
            path: path.clone(),
            line: 1,
            encoded: false,
        });
        self.binaries.push((path, bytes));
        self.binaries
            .push((format!("deploy/keys{n}/cert.der"), decoy));
        self.decoys += 1;
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
            Some(Validator::JetbrainsPassword) => {
                return crate::validate::filters::jetbrains_encode(&f.password())
            }
            Some(Validator::Generic) => return f.generic_value(),
            Some(Validator::GitlabRoutable) => {
                // The example's token type (`glpat-`, `glwt-`, `glrt-`…), after
                // an instance prefix if it has one.
                let kind = regex::Regex::new(r"gl[a-z]+-")
                    .expect("literal regex")
                    .find_iter(old)
                    .last()
                    .map_or(0..0, |m| m.range());
                let (instance, prefix) = (&old[..kind.start], &old[kind.clone()]);
                let (org, user) = (1 + f.below(9_000) as u64, 1 + f.below(9_000_000) as u64);
                // The checksum covers an instance prefix too.
                let token = f.gitlab_routable(org, user);
                let rest = &token["glpat-".len()..token.len() - 7];
                let body = format!("{instance}{prefix}{rest}");
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

    fn shuffle_items(&mut self) {
        for i in (1..self.items.len()).rev() {
            let j = self.f.below(i + 1);
            self.items.swap(i, j);
        }
    }
}

pub(super) fn uuid(f: &mut Fakes) -> String {
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
pub(super) fn with_checksum(v: Option<Validator>, s: &mut String) {
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
pub(super) fn bech32_checksum(text: &str) -> String {
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
pub(super) fn private_key(f: &mut Fakes, old: &str) -> String {
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

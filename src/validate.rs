//! Offline checks on a candidate secret, cheapest first: entropy, placeholder
//! rejection, then the rule's validator (checksums, JWT claims, key-id
//! decoding). Receives the bytes a regex captured; hands back whether to keep
//! them and the facts the format revealed.
use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use crate::rules::{Lifetime, Validator};
use crate::time::rfc3339;

/// Whether an embedded checksum holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Checksum {
    Valid,
    Invalid,
}

/// What a validator learned from the secret itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub checksum: Option<Checksum>,
    /// Overrides the rule's lifetime when the token says more (JWT `exp`).
    pub lifetime: Option<Lifetime>,
    /// Overrides the rule's privilege (`admin`) when the token's own scope
    /// says it (a user-wide PyPI token).
    pub privilege: Option<String>,
    /// Overrides the rule's identity class (a PyPI token minted by Trusted
    /// Publishing belongs to a CI workflow, not to a person).
    pub identity: Option<crate::rules::IdentityClass>,
    pub decoded: BTreeMap<String, Value>,
}

/// A validator's answer: keep with facts, or reject with a reason.
pub type Outcome = Result<Facts, &'static str>;

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

/// Runs a rule's validator on the captured secret.
/// What surrounds a secret, for validators whose facts sit beside it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Around<'a> {
    /// The public id the rule captured (an AWS access key id).
    pub key_id: Option<&'a [u8]>,
    /// The name the secret is assigned to, as the rule captured it.
    pub binding: Option<&'a [u8]>,
    /// The line the secret sits on, with the secret at `at`.
    pub line: &'a [u8],
    pub at: usize,
}

/// Runs validator `v` on a secret.
pub fn validate(v: Validator, secret: &[u8], around: &Around) -> Outcome {
    let (key_id, line, at) = (around.key_id, around.line, around.at);
    match v {
        Validator::Crc32Base62 => crc32_base62(secret),
        Validator::Jwt => jwt_token(secret),
        Validator::AwsKeyId => aws_key_id(key_id.unwrap_or(secret)),
        Validator::PrivateKey => private_key(secret),
        Validator::ConnectionString => connection_password(secret),
        Validator::Generic => generic_assignment(secret, around.binding),
        Validator::GrafanaCrc32 => grafana_crc32(secret),
        Validator::ZuploCrc32 => zuplo_crc32(secret),
        Validator::ConfluentCrc32 => confluent_crc32(secret),
        Validator::GitlabRoutable => gitlab_routable(secret),
        Validator::PypiMacaroon => pypi_macaroon(secret),
        Validator::AtlassianCrc32 => atlassian_crc32(secret),
        Validator::Bech32 => bech32(secret),
        Validator::SentryOrgToken => sentry_org_token(secret),
        Validator::OnepasswordServiceAccount => onepassword_service_account(secret),
        Validator::AzureSas => azure_sas(line, at),
        Validator::AzureIdentifiable => azure_identifiable(secret),
    }
}

/// Marvin, the keyed hash .NET uses for strings and Microsoft's
/// identifiable keys use for their checksums: the 64-bit state after the data
/// (little-endian words, `0x80`-terminated) and two more rounds.
pub fn marvin(data: &[u8], seed: u64) -> u64 {
    let (mut p0, mut p1) = (seed as u32, (seed >> 32) as u32);
    let block = |p0: &mut u32, p1: &mut u32| {
        *p1 ^= *p0;
        *p0 = p0.rotate_left(20);
        *p0 = p0.wrapping_add(*p1);
        *p1 = p1.rotate_left(9);
        *p1 ^= *p0;
        *p0 = p0.rotate_left(27);
        *p0 = p0.wrapping_add(*p1);
        *p1 = p1.rotate_left(19);
    };
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        p0 = p0.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        block(&mut p0, &mut p1);
    }
    let rest = words.remainder();
    let mut last: u32 = 0x80 << (8 * rest.len());
    for (i, &b) in rest.iter().enumerate() {
        last |= u32::from(b) << (8 * i);
    }
    p0 = p0.wrapping_add(last);
    block(&mut p0, &mut p1);
    block(&mut p0, &mut p1);
    (u64::from(p1) << 32) | u64::from(p0)
}

/// The 32-bit Marvin checksum: the two halves of the hash, XORed.
pub fn marvin32(data: &[u8], seed: u64) -> u32 {
    let h = marvin(data, seed);
    (h >> 32) as u32 ^ h as u32
}

/// One kind of Azure identifiable key: the seed its checksum starts from,
/// what the seed says the key is, and whether that kind administers its
/// resource.
pub struct AzureKeyKind {
    pub seed: u64,
    pub kind: &'static str,
    pub admin: bool,
}

const fn kk(seed: u64, kind: &'static str, admin: bool) -> AzureKeyKind {
    AzureKeyKind { seed, kind, admin }
}

/// Azure identifiable keys by the 4-character signature before their
/// checksum: whether they use the URL-safe alphabet, and the kinds one
/// signature covers (seeds are 8 ASCII characters read big-endian, from
/// Microsoft's security-utilities).
pub const AZURE_KEY_KINDS: &[(&str, bool, &[AzureKeyKind])] = &[
    (
        "+ASt",
        false,
        &[kk(0x4465_6661_756c_7430, "storage-account-key", true)],
    ),
    (
        "ACDb",
        false,
        &[
            kk(0x4d61_7374_5257_3030, "cosmos-master-read-write", true),
            kk(0x4d61_7374_524f_3030, "cosmos-master-read-only", false),
            kk(0x5379_7341_6c6c_3030, "cosmos-system-all", true),
            kk(0x5379_7374_5257_3030, "cosmos-system-read-write", true),
            kk(0x5379_7374_524f_3030, "cosmos-system-read-only", false),
            kk(0x5265_736f_7572_3030, "cosmos-resource-key", false),
            kk(0x456e_6372_7970_3030, "cosmos-data-encryption-key", false),
        ],
    ),
    (
        "+ABa",
        false,
        &[kk(0x4162_4163_6374_3030, "batch-account-key", true)],
    ),
    (
        "AIoT",
        false,
        &[
            kk(0x496f_5448_7562_3030, "iot-hub-key", true),
            kk(0x4470_734b_6579_3030, "iot-device-provisioning-key", true),
            kk(0x4465_7669_6365_3030, "iot-device-key", false),
        ],
    ),
    (
        "AzCa",
        false,
        &[kk(
            0x4163_6365_7373_3030,
            "cache-for-redis-access-key",
            true,
        )],
    ),
    ("+ASb", false, MESSAGING),
    ("+AEh", false, MESSAGING),
    ("+ARm", false, MESSAGING),
    (
        "AzFu",
        true,
        &[
            kk(0x4675_6e63_7469_3030, "functions-function-key", false),
            kk(0x5379_7374_656d_3030, "functions-system-key", true),
            kk(0x4d61_7374_6572_3030, "functions-master-key", true),
        ],
    ),
    (
        "AzSe",
        false,
        &[
            kk(0x5175_6572_7930_3030, "search-query-key", false),
            kk(0x5041_646d_696e_3030, "search-admin-key", true),
        ],
    ),
    (
        "APIM",
        false,
        &[
            kk(0x5465_6e61_6e74_3030, "apim-direct-management-key", true),
            kk(0x496f_5448_7562_3030, "apim-subscription-key", false),
            kk(0x4761_7465_7779_3030, "apim-gateway-key", false),
            kk(0x4769_744b_6579_3030, "apim-repository-key", true),
        ],
    ),
    (
        "+ACR",
        false,
        &[kk(0x4143_5244_666c_7430, "container-registry-key", true)],
    ),
];

const MESSAGING: &[AzureKeyKind] = &[
    kk(0x5365_6e64_3030_3030, "send", false),
    kk(0x4c69_7374_656e_3030, "listen", false),
    kk(0x4d61_6e61_6765_3030, "manage", true),
    kk(0x5379_7374_656d_3030, "system", true),
];

/// Azure identifiable keys: base64 whose last 4 bytes are the Marvin32 of the
/// rest, seeded per key kind, with a 4-character service signature just before
/// the encoded checksum. The seed that validates tells the kind, and with it
/// the privilege (a Cosmos DB read-write master key, a Service Bus `Manage`
/// key).
pub fn azure_identifiable(secret: &[u8]) -> Outcome {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let trimmed = secret
        .strip_suffix(b"==")
        .or_else(|| secret.strip_suffix(b"="))
        .unwrap_or(secret);
    if trimmed.len() < 16 {
        return Err("too short");
    }
    let sig = &trimmed[trimmed.len() - 10..trimmed.len() - 6];
    let (_, url_safe, kinds) = AZURE_KEY_KINDS
        .iter()
        .find(|(s, _, _)| s.as_bytes() == sig)
        .ok_or("no Azure key signature before the checksum")?;
    let bytes = if *url_safe {
        URL_SAFE_NO_PAD.decode(trimmed)
    } else {
        STANDARD.decode(secret)
    }
    .map_err(|_| "not base64")?;
    if bytes.len() < 8 {
        return Err("too short");
    }
    let (body, check) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([check[0], check[1], check[2], check[3]]);
    let mut facts = Facts {
        checksum: Some(Checksum::Invalid),
        ..Facts::default()
    };
    if let Some(k) = kinds.iter().find(|k| marvin32(body, k.seed) == stored) {
        facts.checksum = Some(Checksum::Valid);
        facts.decoded.insert("azure_key_kind".into(), k.kind.into());
        if k.admin {
            facts.privilege = Some("admin".into());
        }
    }
    Ok(facts)
}

/// Atlassian API tokens, Bitbucket access tokens and app passwords end in
/// 8 upper-case hex digits: the CRC32 of everything before them, where a
/// `=` separator may appear URL-encoded (`%3D`) or escaped (`\=`).
pub fn atlassian_crc32(secret: &[u8]) -> Outcome {
    if secret.len() < 16 {
        return Err("too short");
    }
    let (body, check) = secret.split_at(secret.len() - 8);
    let check = std::str::from_utf8(check).map_err(|_| "bad checksum characters")?;
    let want = u32::from_str_radix(check, 16).map_err(|_| "checksum is not hex")?;
    let mut plain = body.to_vec();
    for encoded in [&b"%3D"[..], b"%3d", b"\\="] {
        if let Some(stem) = body.strip_suffix(encoded) {
            plain = [stem, b"="].concat();
        }
    }
    let ok = crc32fast::hash(&plain) == want || crc32fast::hash(body) == want;
    Ok(Facts {
        checksum: Some(if ok {
            Checksum::Valid
        } else {
            Checksum::Invalid
        }),
        ..Facts::default()
    })
}

/// The bech32 alphabet: a character's position is its 5-bit value.
pub const BECH32_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// BIP 173's checksum polynomial over a human-readable part (lower case)
/// and 5-bit data values: 1 for a valid string, checksum included.
pub fn bech32_polymod(hrp: &[u8], data: &[u8]) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    let expanded = hrp
        .iter()
        .map(|c| c >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.iter().map(|c| c & 31))
        .chain(data.iter().copied());
    for v in expanded {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// Bech32 (BIP 173) as age secret keys use it: the data part's last six
/// characters are a BCH checksum over the human-readable part and the data.
pub fn bech32(secret: &[u8]) -> Outcome {
    let lower = secret.to_ascii_lowercase();
    let sep = memchr::memrchr(b'1', &lower).ok_or("no separator")?;
    let (hrp, data) = (&lower[..sep], &lower[sep + 1..]);
    if hrp.is_empty() || data.len() < 6 {
        return Err("too short");
    }
    let values = data
        .iter()
        .map(|c| BECH32_CHARSET.iter().position(|x| x == c).map(|v| v as u8))
        .collect::<Option<Vec<u8>>>()
        .ok_or("not bech32")?;
    Ok(Facts {
        checksum: Some(if bech32_polymod(hrp, &values) == 1 {
            Checksum::Valid
        } else {
            Checksum::Invalid
        }),
        ..Facts::default()
    })
}

/// Sentry organization tokens: `sntrys_` + base64 JSON (`iat`, `url`,
/// `region_url`, `org`) + `_` + the secret. The JSON tells when the token was
/// made and for which organisation.
pub fn sentry_org_token(secret: &[u8]) -> Outcome {
    let body = secret.strip_prefix(b"sntrys_").ok_or("no sntrys_ prefix")?;
    let sep = memchr::memrchr(b'_', body).ok_or("no secret part")?;
    let claims = json_object(&body[..sep]).ok_or("payload is not base64 JSON")?;
    let mut facts = Facts::default();
    if let Some(iat) = claims.get("iat").and_then(Value::as_f64) {
        facts
            .decoded
            .insert("issued_at".into(), rfc3339(iat as i64).into());
    }
    for (from, to) in [
        ("org", "sentry_org"),
        ("url", "url"),
        ("region_url", "region_url"),
    ] {
        if let Some(v) = claims.get(from).and_then(Value::as_str) {
            facts.decoded.insert(to.into(), v.into());
        }
    }
    if !facts.decoded.contains_key("sentry_org") {
        return Err("payload names no organisation");
    }
    Ok(facts)
}

/// 1Password service-account tokens: `ops_` + base64 JSON holding the
/// account's sign-in address and the service account's own email.
pub fn onepassword_service_account(secret: &[u8]) -> Outcome {
    let body = secret.strip_prefix(b"ops_").ok_or("no ops_ prefix")?;
    let doc = json_object(body).ok_or("not base64 JSON")?;
    let email = doc
        .get("email")
        .and_then(Value::as_str)
        .ok_or("no service account email")?;
    let mut facts = Facts::default();
    facts
        .decoded
        .insert("service_account_email".into(), email.into());
    if let Some(a) = doc.get("signInAddress").and_then(Value::as_str) {
        facts.decoded.insert("sign_in_address".into(), a.into());
    }
    Ok(facts)
}

/// Days since 1970 of an RFC 3339 or `YYYY-MM-DD` date, and its seconds.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let date = crate::identity::inventory::Date::parse(s.get(..10)?)?;
    let mut secs = date.0 * 86_400;
    if let Some(t) = s.get(11..19) {
        let mut hms = t.split(':').map(|x| x.parse::<i64>().ok());
        if let (Some(Some(h)), Some(Some(m)), Some(Some(sec))) =
            (hms.next(), hms.next(), hms.next())
        {
            secs += h * 3600 + m * 60 + sec;
        }
    }
    Some(secs)
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An Azure shared access signature: the query string around the `sig`
/// says until when it is valid (`se`, from `st`), what it allows (`sp`) and,
/// in a URL, for which storage account.
pub fn azure_sas(line: &[u8], at: usize) -> Outcome {
    let stop = |c: &u8| c.is_ascii_whitespace() || b"\"'<>?`".contains(c);
    let start = line[..at.min(line.len())]
        .iter()
        .rposition(stop)
        .map_or(0, |i| i + 1);
    let end = line[at.min(line.len())..]
        .iter()
        .position(stop)
        .map_or(line.len(), |i| at + i);
    let query = String::from_utf8_lossy(&line[start..end]).into_owned();
    let mut params = std::collections::HashMap::new();
    for pair in query.split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            params.insert(k.to_string(), url_decode(v));
        }
    }
    let mut facts = Facts::default();
    let (st, se) = (
        params.get("st").and_then(|v| parse_time(v)),
        params.get("se").and_then(|v| parse_time(v)),
    );
    if let Some(e) = se {
        facts.decoded.insert("expires_at".into(), rfc3339(e).into());
    }
    if let Some(s) = st {
        facts.decoded.insert("issued_at".into(), rfc3339(s).into());
    }
    if let (Some(s), Some(e)) = (st, se) {
        facts.lifetime = Some(if e - s <= DAY {
            Lifetime::Short
        } else if e - s > 90 * DAY {
            Lifetime::Long
        } else {
            Lifetime::Unknown
        });
    }
    if let Some(sp) = params.get("sp") {
        facts
            .decoded
            .insert("sas_permissions".into(), sp.clone().into());
        // Write and delete together: it can replace or destroy the data.
        if sp.contains('w') && sp.contains('d') {
            facts.privilege = Some("admin".into());
        }
    }
    // `https://<account>.blob.core.windows.net/...?sv=...`
    let url = &line[..start.saturating_sub(1)];
    if let Some(host) = memchr::memmem::rfind(url, b"://").map(|i| &url[i + 3..]) {
        let host = String::from_utf8_lossy(host);
        if let Some((account, rest)) = host.split_once('.') {
            if rest.contains(".core.windows.net") {
                facts
                    .decoded
                    .insert("storage_account".into(), account.into());
            }
        }
    }
    Ok(facts)
}

/// `n` in lower-case base 36, left-padded with `0` to `width`.
pub fn base36(n: u64, width: usize) -> String {
    in_base(n, b"0123456789abcdefghijklmnopqrstuvwxyz", width)
}

/// GitLab routable tokens (`[instance-]glpat-<base64url>.01.<len><crc>`):
/// the last 7 characters are base36(crc32(everything before them)), and the
/// base64url part ends with a payload of `k:v` lines (values in base 36)
/// naming the organisation (`o`), user (`u`, for group and project tokens
/// the bot user) and cell (`c`).
pub fn gitlab_routable(secret: &[u8]) -> Outcome {
    let s = std::str::from_utf8(secret).map_err(|_| "not ASCII")?;
    if s.len() < 20 {
        return Err("too short for a routable token");
    }
    let (body, crc) = s.split_at(s.len() - 7);
    let mut facts = checksum(base36(crc32fast::hash(body.as_bytes()) as u64, 7) == crc)?;
    // body = <prefix><b64> . 01 . <len of b64 in base 36, 2 chars>
    let mut parts = body.rsplitn(3, '.');
    let (Some(len36), Some("01"), Some(head)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("not a version 01 routable token");
    };
    let n = usize::from_str_radix(len36, 36).map_err(|_| "bad length field")?;
    let payload = head
        .get(head.len().saturating_sub(n)..)
        .filter(|_| n <= head.len())
        .and_then(|b64| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(b64)
                .ok()
        })
        .filter(|raw| raw.len() > 17 && *raw.last().expect("non-empty") as usize == raw.len() - 17)
        .map(|raw| raw[16..raw.len() - 1].to_vec());
    if let Some(payload) = payload {
        for line in String::from_utf8_lossy(&payload).lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let key = match k {
                "o" => "gitlab_org_id",
                "u" => "gitlab_user_id",
                "c" => "gitlab_cell_id",
                _ => continue,
            };
            if let Ok(id) = u64::from_str_radix(v, 36) {
                facts
                    .decoded
                    .insert(key.into(), Value::String(id.to_string()));
            }
        }
    }
    Ok(facts)
}

fn checksum(valid: bool) -> Outcome {
    Ok(Facts {
        checksum: Some(if valid {
            Checksum::Valid
        } else {
            Checksum::Invalid
        }),
        ..Facts::default()
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Grafana service-account tokens: `glsa_` + 32 + `_` + the little-endian
/// hex of crc32(`glsa_` + the 32).
pub fn grafana_crc32(secret: &[u8]) -> Outcome {
    if secret.len() != 46 || !secret.starts_with(b"glsa_") || secret[37] != b'_' {
        return Err("not a glsa_ token");
    }
    let crc = crc32fast::hash(&secret[..37]);
    checksum(hex(&crc.to_le_bytes()).as_bytes() == &secret[38..])
}

/// Zuplo API keys: `zpka_` + 32 hex + `_` + the big-endian hex of crc32(the 32).
pub fn zuplo_crc32(secret: &[u8]) -> Outcome {
    if secret.len() != 46 || !secret.starts_with(b"zpka_") || secret[37] != b'_' {
        return Err("not a zpka_ key");
    }
    let crc = crc32fast::hash(&secret[5..37]);
    checksum(hex(&crc.to_be_bytes()).as_bytes() == &secret[38..])
}

/// Confluent API secrets: `cflt` + 54 + the first six characters of the
/// base64 of crc32(the 54), little-endian.
pub fn confluent_crc32(secret: &[u8]) -> Outcome {
    if secret.len() != 64 || !secret.starts_with(b"cflt") {
        return Err("not a cflt secret");
    }
    let crc = crc32fast::hash(&secret[4..58]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(crc.to_le_bytes());
    checksum(b64.as_bytes()[..6] == secret[58..])
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base 62 (digits, upper, lower), left-padded with `0` to `width`.
pub fn base62(n: u64, width: usize) -> String {
    in_base(n, BASE62, width)
}

/// `n` written with the digits of `alphabet` (its length is the base),
/// left-padded with the zero digit to `width`.
fn in_base(mut n: u64, alphabet: &[u8], width: usize) -> String {
    let base = alphabet.len() as u64;
    let mut out = Vec::new();
    while n > 0 {
        out.push(alphabet[(n % base) as usize]);
        n /= base;
    }
    while out.len() < width {
        out.push(alphabet[0]);
    }
    out.reverse();
    String::from_utf8(out).expect("ascii alphabet")
}

/// GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm tokens: the last six
/// characters are base62(crc32(body)), the body being what lies between the
/// prefix (up to the first `_`) and the checksum.
pub fn crc32_base62(secret: &[u8]) -> Outcome {
    let start = memchr::memchr(b'_', secret).map_or(0, |i| i + 1);
    if secret.len() < start + 7 {
        return Err("too short for a checksummed token");
    }
    let (body, check) = secret[start..].split_at(secret.len() - start - 6);
    let expected = base62(crc32fast::hash(body) as u64, 6);
    let checksum = if expected.as_bytes() == check {
        Checksum::Valid
    } else {
        Checksum::Invalid
    };
    Ok(Facts {
        checksum: Some(checksum),
        ..Facts::default()
    })
}

/// Base64 in either alphabet (JWTs use the URL-safe one, Sentry the
/// standard one), padded or not.
fn b64url(part: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = part
        .iter()
        .take_while(|&&b| b != b'=')
        .map(|&b| match b {
            b'+' => b'-',
            b'/' => b'_',
            b => b,
        })
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()
}

/// A base64 JSON object (a JWT part, a Sentry or 1Password payload).
fn json_object(part: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(&b64url(part)?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

const DAY: i64 = 86_400;

/// A JWT, optionally behind GitHub's `ghs_<app id>_` installation-token
/// prefix. Header and claims must decode; `iat`/`exp` give the lifetime.
pub fn jwt_token(secret: &[u8]) -> Outcome {
    let mut facts = Facts::default();
    let mut token = secret;
    if let Some(rest) = secret.strip_prefix(b"ghs_") {
        let sep = memchr::memchr(b'_', rest).ok_or("no app id in installation token")?;
        let app = std::str::from_utf8(&rest[..sep]).map_err(|_| "bad app id")?;
        let app: u64 = app.parse().map_err(|_| "bad app id")?;
        facts.decoded.insert("github_app_id".into(), app.into());
        token = &rest[sep + 1..];
    }
    let mut parts = token.split(|&b| b == b'.');
    let (Some(h), Some(c), Some(_sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("not three dot-separated parts");
    };
    let header = json_object(h).ok_or("JWT header is not base64url JSON")?;
    if !header.contains_key("alg") {
        return Err("JWT header has no alg");
    }
    let claims = json_object(c).ok_or("JWT claims are not base64url JSON")?;
    let num = |k: &str| claims.get(k).and_then(Value::as_i64);
    let (iat, exp) = (num("iat"), num("exp"));
    if let Some(t) = iat {
        facts.decoded.insert("issued_at".into(), rfc3339(t).into());
    }
    if let Some(t) = exp {
        facts.decoded.insert("expires_at".into(), rfc3339(t).into());
    }
    for key in ["iss", "sub", "aud", "role", "scope"] {
        if let Some(v) = claims.get(key) {
            facts.decoded.insert(key.into(), v.clone());
        }
    }
    // Within a day of issue: short. No expiry, or more than 90 days: long
    // (OWASP NHI7). In between, the format alone does not settle it.
    facts.lifetime = Some(match (iat, exp) {
        (_, None) => Lifetime::Long,
        (Some(i), Some(e)) if e - i <= DAY => Lifetime::Short,
        (Some(i), Some(e)) if e - i > 90 * DAY => Lifetime::Long,
        _ => Lifetime::Unknown,
    });
    Ok(facts)
}

/// What a version 2 binary macaroon holds, short of its signature.
struct Macaroon {
    location: Vec<u8>,
    caveats: Vec<Vec<u8>>,
}

/// Parses a version 2 binary macaroon; `None` when the bytes are not one.
fn macaroon_v2(bin: &[u8]) -> Option<Macaroon> {
    fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*i)?;
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    // One section: fields (type, length, data) up to an end-of-section 0.
    fn section(b: &[u8], i: &mut usize) -> Option<Vec<(u64, Vec<u8>)>> {
        let mut fields = Vec::new();
        loop {
            let t = varint(b, i)?;
            if t == 0 {
                return Some(fields);
            }
            let n = varint(b, i)? as usize;
            let data = b.get(*i..i.checked_add(n)?)?.to_vec();
            *i += n;
            fields.push((t, data));
        }
    }
    const LOCATION: u64 = 1;
    const IDENTIFIER: u64 = 2;
    const SIGNATURE: u64 = 6;
    if bin.first() != Some(&2) {
        return None;
    }
    let mut i = 1;
    let header = section(bin, &mut i)?;
    let field = |s: &[(u64, Vec<u8>)], t| s.iter().find(|f| f.0 == t).map(|f| f.1.clone());
    let location = field(&header, LOCATION).unwrap_or_default();
    field(&header, IDENTIFIER)?;
    let mut caveats = Vec::new();
    loop {
        let c = section(bin, &mut i)?;
        if c.is_empty() {
            break;
        }
        caveats.push(field(&c, IDENTIFIER)?);
    }
    let (t, sig) = (varint(bin, &mut i)?, varint(bin, &mut i)?);
    (t == SIGNATURE && sig == 32 && bin.len() >= i + 32).then_some(Macaroon { location, caveats })
}

/// PyPI tokens are `pypi-` + a base64url macaroon. Its caveats say what the
/// token may do: upload to named projects, everything its user may
/// (user-wide: admin-class), or for minutes after a Trusted Publishing
/// exchange. The HMAC chain needs PyPI's key, so nothing is verified; a
/// token that does not parse keeps the rule's metadata.
pub fn pypi_macaroon(secret: &[u8]) -> Outcome {
    let mut facts = Facts::default();
    let body = secret.strip_prefix(b"pypi-").unwrap_or(secret);
    let Ok(bin) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body) else {
        return Ok(facts);
    };
    let Some(Macaroon { location, caveats }) = macaroon_v2(&bin) else {
        return Ok(facts);
    };
    facts.decoded.insert(
        "location".into(),
        String::from_utf8_lossy(&location).into_owned().into(),
    );
    let (mut oidc, mut project) = (false, false);
    let mut projects: Vec<Value> = Vec::new();
    for c in &caveats {
        let Ok(v) = serde_json::from_slice::<Value>(c) else {
            continue;
        };
        match &v {
            // Current caveats: `[tag, ...]`.
            Value::Array(a) => match a.first().and_then(Value::as_i64) {
                Some(0) => {
                    let (exp, nbf) = (
                        a.get(1).and_then(Value::as_i64),
                        a.get(2).and_then(Value::as_i64),
                    );
                    if let Some(e) = exp {
                        facts.decoded.insert("expires_at".into(), rfc3339(e).into());
                        facts.lifetime = Some(match nbf {
                            Some(n) if e - n <= DAY => Lifetime::Short,
                            _ => Lifetime::Unknown,
                        });
                    }
                }
                Some(1) | Some(2) => {
                    project = true;
                    if let Some(Value::Array(p)) = a.get(1) {
                        projects.extend(p.iter().cloned());
                    }
                }
                Some(3) => {
                    if let Some(u) = a.get(1) {
                        facts.decoded.insert("pypi_user_id".into(), u.clone());
                    }
                }
                Some(4) => oidc = true,
                _ => {}
            },
            // Legacy caveats: `{"version": 1, "permissions": "user" | {"projects": [...]}}`.
            Value::Object(o) => {
                if let Some(Value::Object(p)) = o.get("permissions") {
                    project = true;
                    if let Some(Value::Array(list)) = p.get("projects") {
                        projects.extend(list.iter().cloned());
                    }
                }
            }
            _ => {}
        }
    }
    // Minted by a Trusted Publishing exchange (for a CI workflow, also
    // project-scoped); else scoped to projects; else, with no caveat that
    // narrows it (`[3, user]`, legacy `"permissions": "user"`), it can do
    // what its user can.
    let scope = if oidc {
        facts.identity = Some(crate::rules::IdentityClass::Service);
        "trusted-publishing"
    } else if project {
        "project"
    } else {
        facts.privilege = Some("admin".into());
        "user"
    };
    facts.decoded.insert("pypi_scope".into(), scope.into());
    if !projects.is_empty() {
        facts
            .decoded
            .insert("pypi_projects".into(), Value::Array(projects));
    }
    Ok(facts)
}

/// Decodes RFC 4648 base32 (upper case, no padding) as AWS key ids use it.
fn base32_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buf, mut bits) = (0u64, 0u32);
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buf = (buf << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// The AWS account id encoded in a new-generation access key id (`AKIA`,
/// `ASIA`, ...), if the id has one.
pub fn aws_account_id(key_id: &[u8]) -> Option<String> {
    if key_id.len() != 20 {
        return None;
    }
    let b = base32_decode(&key_id[4..])?;
    let z = b[..6].iter().fold(0u64, |acc, &x| (acc << 8) | x as u64);
    if (z >> 47) & 1 == 0 {
        return None; // old generation: no account id inside
    }
    Some(format!("{:012}", (z & 0x7fff_ffff_ff80) >> 7))
}

pub fn aws_key_id(key_id: &[u8]) -> Outcome {
    let mut facts = Facts::default();
    if let Some(account) = aws_account_id(key_id) {
        facts
            .decoded
            .insert("aws_account_id".into(), Value::String(account));
    }
    Ok(facts)
}

/// A private key block must carry a body, not `...`; OpenSSH keys say whether
/// they are encrypted.
pub fn private_key(block: &[u8]) -> Outcome {
    let header_end = memchr::memmem::find(block, b"KEY-----")
        .or_else(|| memchr::memmem::find(block, b"BLOCK-----"))
        .ok_or("no BEGIN line")?;
    let body_start = header_end + memchr::memchr(b'-', &block[header_end..]).unwrap_or(0) + 5;
    let body_end = memchr::memmem::rfind(block, b"-----END").ok_or("no END line")?;
    if body_end <= body_start {
        return Err("empty key body");
    }
    let mut b64 = Vec::new();
    let body = &block[body_start..body_end];
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'\\' && body.get(i + 1) == Some(&b'n') {
            i += 2;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=' {
            b64.push(c);
        } else if c == b':' {
            // A PEM header line such as `Proc-Type: 4,ENCRYPTED`: drop it.
            while b64.last().is_some_and(|&b| b != b'\n') && !b64.is_empty() {
                b64.pop();
            }
        }
        i += 1;
    }
    let letters = b64.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    if letters < 64 {
        return Err("key body too short to be a key");
    }
    let mut facts = Facts::default();
    let encrypted = memchr::memmem::find(block, b"ENCRYPTED").is_some()
        || openssh_cipher(&b64).is_some_and(|c| c != "none");
    facts.decoded.insert("encrypted".into(), encrypted.into());
    Ok(facts)
}

fn openssh_cipher(b64: &[u8]) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.strip_suffix(b"=").unwrap_or(b64))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64))
        .ok()?;
    let rest = raw.strip_prefix(b"openssh-key-v1\0")?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    Some(String::from_utf8_lossy(rest.get(4..4 + len)?).into_owned())
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

/// A value assigned to a secret-like name: keep only what looks random.
pub fn generic_value(v: &[u8]) -> Outcome {
    if v.len() < 12 {
        return Err("too short");
    }
    let has_digit = v.iter().any(u8::is_ascii_digit);
    let has_alpha = v.iter().any(u8::is_ascii_alphabetic);
    if !has_digit || !has_alpha {
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
    if matches!(v[0], b'$' | b'%' | b'/' | b'.' | b'~' | b'@' | b'(' | b'[') {
        return Err("a reference or path");
    }
    if v.iter().any(|&b| b == b'(' || b == b' ') {
        return Err("an expression, not a literal");
    }
    let is_hex = v.iter().all(u8::is_ascii_hexdigit);
    if is_hex && matches!(v.len(), 32 | 40 | 64 | 128) && !lower.iter().all(u8::is_ascii_digit) {
        // Digests are hex of a fixed length; secrets of that shape exist
        // too, but a generic rule cannot tell them apart.
        return Err("looks like a hash digest");
    }
    if is_uuid(v) {
        return Err("a UUID");
    }
    if looks_like_identifier(v) {
        return Err("an identifier or reference, not a secret");
    }
    Ok(Facts::default())
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
pub const GENERIC_PATTERN: &str = r#"(?:^|[^A-Za-z0-9_./-])["'`]?(?P<binding>[A-Za-z0-9_.-]*?(?i:pass(?:word|wd|phrase)|pwd|secret|token|api[_-]?key|access[_-]?key|signing[_-]?key|private[_-]?key)(?:[_.-][A-Za-z0-9_.-]*|[A-Z0-9][A-Za-z0-9_.-]*)?)["'`]?\s*(?::=|=>|=|:)\s*["'`]?(?P<secret>[^\s"'`,;&()\[\]{}<>\\]{12,})(?:["'`\s,;&)\]}]|$)"#;

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
    if !(name(c) || c == b'/') {
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

/// The generic rule's check of a value and the name it is assigned to.
pub fn generic_assignment(v: &[u8], name: Option<&[u8]>) -> Outcome {
    // The rule's pattern leaves the value's length open (a bound such as
    // `{12,512}` unrolls into hundreds of regex states, and the captures of
    // every match paid for them): the bound is kept here.
    if v.len() > 512 {
        return Err("longer than 512 bytes: not one assigned value");
    }
    if let Some(name) = name {
        let words = name_words(name);
        if words
            .iter()
            .any(|w| NOT_SECRET_NAME_WORDS.contains(&w.as_str()))
        {
            return Err("the name says it holds no secret (a cursor, id, name or type)");
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
    generic_value(v)
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
        let mut f = crate::fakes::Fakes::new(seed);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_known_answers() {
        assert_eq!(base62(crc32fast::hash(b"hello") as u64, 6), "0zNvy2");
        assert_eq!(
            base62(crc32fast::hash(b"abcdefghijklmnopqrstuvwxyz0123") as u64, 6),
            "2LolCm"
        );
    }

    #[test]
    fn github_checksum_valid_and_invalid() {
        let good = b"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";
        assert_eq!(crc32_base62(good).unwrap().checksum, Some(Checksum::Valid));
        let bad = b"ghp_abcdefghijklmnopqrstuvwxyz01232LolCn";
        assert_eq!(crc32_base62(bad).unwrap().checksum, Some(Checksum::Invalid));
    }

    #[test]
    fn grafana_zuplo_confluent_checksums() {
        // Grafana's known answer: a secret of 32 `A`s has checksum d8dc8af3.
        let glsa = format!("glsa_{}_d8dc8af3", "A".repeat(32));
        assert_eq!(
            grafana_crc32(glsa.as_bytes()).unwrap().checksum,
            Some(Checksum::Valid)
        );
        let bad = format!("glsa_{}_d8dc8af4", "A".repeat(32));
        assert_eq!(
            grafana_crc32(bad.as_bytes()).unwrap().checksum,
            Some(Checksum::Invalid)
        );
        let zpka = "zpka_f10363b50a69be4ff2af85fc95d5f13e_12b0fd89";
        assert_eq!(
            zuplo_crc32(zpka.as_bytes()).unwrap().checksum,
            Some(Checksum::Valid)
        );
        let body = "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3kLm6nOp9qRs";
        let crc = crc32fast::hash(body.as_bytes()).to_le_bytes();
        let check = &base64::engine::general_purpose::STANDARD.encode(crc)[..6];
        let cflt = format!("cflt{body}{check}");
        assert_eq!(
            confluent_crc32(cflt.as_bytes()).unwrap().checksum,
            Some(Checksum::Valid)
        );
        let wrong = format!("cflt{body}AAAAAA");
        assert_eq!(
            confluent_crc32(wrong.as_bytes()).unwrap().checksum,
            Some(Checksum::Invalid)
        );
    }

    #[test]
    fn gitlab_routable_known_answer() {
        // Research notes, 2.2-C: 16 zero bytes + "o:1\nu:2n9c" + its length.
        let token = "glpat-AAAAAAAAAAAAAAAAAAAAAG86MQp1OjJuOWMK.01.101g3faf6";
        let f = gitlab_routable(token.as_bytes()).unwrap();
        assert_eq!(f.checksum, Some(Checksum::Valid));
        assert_eq!(f.decoded["gitlab_org_id"], "1");
        assert_eq!(f.decoded["gitlab_user_id"], "123456");
        let bad = "glpat-AAAAAAAAAAAAAAAAAAAAAG86MQp1OjJuOWMK.01.101g3faf7";
        assert_eq!(
            gitlab_routable(bad.as_bytes()).unwrap().checksum,
            Some(Checksum::Invalid)
        );
    }

    #[test]
    fn aws_account_id_known_answer() {
        assert_eq!(
            aws_account_id(b"ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
        // Old-generation ids (the documentation example) carry no account.
        assert_eq!(aws_account_id(b"AKIAIOSFODNN7EXAMPLE"), None);
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn jwt_lifetime_from_claims() {
        let h = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
        let short = format!("{h}.{}.c2ln", b64(r#"{"iat":1700000000,"exp":1700003600}"#));
        let f = jwt_token(short.as_bytes()).unwrap();
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(f.decoded["expires_at"], "2023-11-14T23:13:20Z");
        let long = format!("{h}.{}.c2ln", b64(r#"{"sub":"svc"}"#));
        assert_eq!(
            jwt_token(long.as_bytes()).unwrap().lifetime,
            Some(Lifetime::Long)
        );
        let month = format!("{h}.{}.c2ln", b64(r#"{"iat":1700000000,"exp":1702592000}"#));
        assert_eq!(
            jwt_token(month.as_bytes()).unwrap().lifetime,
            Some(Lifetime::Unknown)
        );
        let year = format!("{h}.{}.c2ln", b64(r#"{"iat":1700000000,"exp":1731536000}"#));
        assert_eq!(
            jwt_token(year.as_bytes()).unwrap().lifetime,
            Some(Lifetime::Long)
        );
        assert!(jwt_token(b"eyJub3QganNvbg.eyJhIjoxfQ.c2ln").is_err());
        let ghs = format!("ghs_12345_{short}");
        assert_eq!(
            jwt_token(ghs.as_bytes()).unwrap().decoded["github_app_id"],
            12345
        );
    }

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
    fn generic_values_over_512_bytes_are_not_one_value() {
        let mut f = crate::fakes::Fakes::new(512);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let long = f.chars(alphabet, 600);
        assert_eq!(
            generic_assignment(long.as_bytes(), Some(b"token")),
            Err("longer than 512 bytes: not one assigned value")
        );
        let v = f.chars(alphabet, 40);
        assert!(
            generic_assignment(v.as_bytes(), Some(b"token")).is_ok(),
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
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
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
    fn connection_passwords() {
        assert!(connection_password(b"S3cr3t-Pw!").is_ok());
        for p in ["password", "${DB_PASSWORD}", "<password>", "ab"] {
            assert!(connection_password(p.as_bytes()).is_err(), "{p}");
        }
    }

    #[test]
    fn private_key_bodies() {
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n";
        let key = format!("-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----");
        assert_eq!(
            private_key(key.as_bytes()).unwrap().decoded["encrypted"],
            false
        );
        let stub = "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----";
        assert!(private_key(stub.as_bytes()).is_err());
    }
}

#[cfg(test)]
mod pypi_tests {
    use super::*;
    use crate::fakes::Fakes;

    #[test]
    fn pypi_caveats_tell_scope_and_lifetime() {
        let mut f = Fakes::new(12);
        let user = f.pypi_macaroon(&["[3,\"0a1b2c3d-0000-4000-8000-000000000001\"]"]);
        assert!(user.starts_with("pypi-AgEIcHlwaS5vcmc"), "{user}");
        let facts = pypi_macaroon(user.as_bytes()).unwrap();
        assert_eq!(facts.decoded["pypi_scope"], "user");
        assert_eq!(facts.privilege.as_deref(), Some("admin"));
        assert_eq!(
            facts.decoded["pypi_user_id"],
            "0a1b2c3d-0000-4000-8000-000000000001"
        );

        let project = f.pypi_macaroon(&["[1,[\"sampleproject\"]]", "[2,[\"7d3c\"]]"]);
        let facts = pypi_macaroon(project.as_bytes()).unwrap();
        assert_eq!(facts.decoded["pypi_scope"], "project");
        assert_eq!(facts.privilege, None);
        assert_eq!(
            facts.decoded["pypi_projects"],
            serde_json::json!(["sampleproject", "7d3c"])
        );

        let legacy = f.pypi_macaroon(&["{\"version\":1,\"permissions\":{\"projects\":[\"old\"]}}"]);
        assert_eq!(
            pypi_macaroon(legacy.as_bytes()).unwrap().decoded["pypi_scope"],
            "project"
        );
        let legacy_user = f.pypi_macaroon(&["{\"version\":1,\"permissions\":\"user\"}"]);
        assert_eq!(
            pypi_macaroon(legacy_user.as_bytes())
                .unwrap()
                .privilege
                .as_deref(),
            Some("admin")
        );

        // Trusted Publishing: minted for a CI workflow, valid for minutes.
        let tp = f.pypi_macaroon(&[
            "[4,\"9f2e\"]",
            "[1,[\"sampleproject\"]]",
            "[0,1767225900,1767225000]",
        ]);
        let facts = pypi_macaroon(tp.as_bytes()).unwrap();
        assert_eq!(facts.decoded["pypi_scope"], "trusted-publishing");
        assert_eq!(facts.lifetime, Some(Lifetime::Short));
        assert_eq!(facts.identity, Some(crate::rules::IdentityClass::Service));
        assert_eq!(facts.decoded["expires_at"], "2026-01-01T00:05:00Z");

        // Not a macaroon: kept, nothing decoded.
        let junk = f.pypi();
        let facts = pypi_macaroon(junk.as_bytes()).unwrap();
        assert!(facts.decoded.is_empty() && facts.privilege.is_none());
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn generic_assignments_real_trees_taught() {
        // Seen in real trees (AWS CLI examples, Python type stubs, URL test data).
        let no = |v: &str, name: &str| generic_assignment(v.as_bytes(), Some(name.as_bytes()));
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
        assert_eq!(
            connection_password(b"bar"),
            Err("password is a placeholder word")
        );
        assert!(connection_password(b"Zq8#kd02xq").is_ok());
    }

    #[test]
    fn atlassian_crc32_over_everything_before_the_hex() {
        let body = "ATBBabcdefghijklmnopqrstuvwx";
        let tok = format!("{body}{:08X}", crc32fast::hash(body.as_bytes()));
        assert_eq!(
            atlassian_crc32(tok.as_bytes()).unwrap().checksum,
            Some(Checksum::Valid)
        );
        let bad = format!("{body}{:08X}", crc32fast::hash(body.as_bytes()) ^ 1);
        assert_eq!(
            atlassian_crc32(bad.as_bytes()).unwrap().checksum,
            Some(Checksum::Invalid)
        );
        // The `=` before the checksum, URL-encoded, counts as `=`.
        let stem = "ATATT3xFfGF0abcdefghijklmnop";
        let crc = crc32fast::hash(format!("{stem}=").as_bytes());
        let encoded = format!("{stem}%3D{crc:08X}");
        assert_eq!(
            atlassian_crc32(encoded.as_bytes()).unwrap().checksum,
            Some(Checksum::Valid)
        );
    }

    #[test]
    fn bech32_known_answer() {
        // BIP 173's valid test vector.
        let ok = b"A12UEL5L";
        assert_eq!(bech32(ok).unwrap().checksum, Some(Checksum::Valid));
        assert_eq!(
            bech32(b"A12UEL5M").unwrap().checksum,
            Some(Checksum::Invalid)
        );
        assert!(
            bech32(b"A1BUEL5L").is_err(),
            "b is not in the bech32 alphabet"
        );
    }

    #[test]
    fn sentry_and_1password_payloads() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let payload = STANDARD.encode(
            r#"{"iat": 1700000000.25, "url": "https://sentry.io", "region_url": "https://us.sentry.io", "org": "acme"}"#,
        );
        let tok = format!("sntrys_{payload}_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ");
        let f = sentry_org_token(tok.as_bytes()).unwrap();
        assert_eq!(f.decoded["issued_at"], "2023-11-14T22:13:20Z");
        assert_eq!(f.decoded["sentry_org"], "acme");
        assert!(sentry_org_token(b"sntrys_eyJub3QganNvbg_abc").is_err());

        let doc = URL_SAFE_NO_PAD.encode(
            r#"{"signInAddress":"acme.1password.com","email":"bot123@1passwordserviceaccounts.com","secretKey":"A3-XXXX"}"#,
        );
        let f = onepassword_service_account(format!("ops_{doc}").as_bytes()).unwrap();
        assert_eq!(
            f.decoded["service_account_email"],
            "bot123@1passwordserviceaccounts.com"
        );
        assert_eq!(f.decoded["sign_in_address"], "acme.1password.com");
        assert!(
            onepassword_service_account(b"ops_eyJhIjoxfQ").is_err(),
            "no email"
        );
    }

    #[test]
    fn sas_expiry_permissions_and_account() {
        let line = b"url = \"https://acmelogs.blob.core.windows.net/c/f.csv?sv=2022-11-02&sp=racwdl&st=2025-01-01T00:00:00Z&se=2027-01-01T00:00:00Z&sig=abc%2Bdef%3D\"";
        let at = memchr::memmem::find(line, b"abc%2B").unwrap();
        let f = azure_sas(line, at).unwrap();
        assert_eq!(f.decoded["expires_at"], "2027-01-01T00:00:00Z");
        assert_eq!(f.decoded["sas_permissions"], "racwdl");
        assert_eq!(f.decoded["storage_account"], "acmelogs");
        assert_eq!(f.lifetime, Some(Lifetime::Long));
        assert_eq!(f.privilege.as_deref(), Some("admin"));
        let short = b"SAS=sp=r&st=2025-01-01T00%3A00%3A00Z&se=2025-01-01T01%3A00%3A00Z&sv=2022-11-02&sig=abc";
        let at = memchr::memmem::find(short, b"sig=abc").unwrap() + 4;
        let f = azure_sas(short, at).unwrap();
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(f.privilege, None);
        assert_eq!(f.decoded["expires_at"], "2025-01-01T01:00:00Z");
    }
}

#[cfg(test)]
mod azure_tests {
    use super::*;
    use crate::fakes::Fakes;

    #[test]
    fn marvin_known_answers() {
        // The published Marvin test vectors (.NET and security-utilities).
        assert_eq!(marvin(b"abc", 0xd53c_d9ce_cd08_93b7), 0x22c7_4339_4927_69bf);
        assert_eq!(
            marvin(b"abcdefghijklmnopqrstuvwxyz", 0x0ddd_deee_efff_f000),
            0xa128_eb7e_7260_aca2
        );
        assert_eq!(marvin(b"", 0x004f_b61a_001b_dbcc), 0x30ed_35c1_00cd_3c7d);
        assert_eq!(marvin32(b"abc", 0xd53c_d9ce_cd08_93b7), 0x6be0_2a86);
    }

    #[test]
    fn identifiable_keys_tell_their_kind() {
        let mut f = Fakes::new(3);
        let rw = f.azure_key("ACDb", 64, false, 0x4d61_7374_5257_3030);
        assert_eq!(rw.len(), 88, "{rw}");
        assert_eq!(&rw[76..80], "ACDb");
        let facts = azure_identifiable(rw.as_bytes()).unwrap();
        assert_eq!(facts.checksum, Some(Checksum::Valid));
        assert_eq!(facts.decoded["azure_key_kind"], "cosmos-master-read-write");
        assert_eq!(facts.privilege.as_deref(), Some("admin"));
        let ro = f.azure_key("ACDb", 64, false, 0x4d61_7374_524f_3030);
        let facts = azure_identifiable(ro.as_bytes()).unwrap();
        assert_eq!(facts.decoded["azure_key_kind"], "cosmos-master-read-only");
        assert_eq!(facts.privilege, None);

        let send = f.azure_key("+ASb", 32, false, 0x5365_6e64_3030_3030);
        assert_eq!(send.len(), 44, "{send}");
        assert_eq!(&send[33..37], "+ASb");
        assert_eq!(
            azure_identifiable(send.as_bytes()).unwrap().decoded["azure_key_kind"],
            "send"
        );
        let func = f.azure_key("AzFu", 40, true, 0x4d61_7374_6572_3030);
        let facts = azure_identifiable(func.as_bytes()).unwrap();
        assert_eq!(facts.decoded["azure_key_kind"], "functions-master-key");

        // One character off: the checksum fails; no signature: not one at all.
        let mut bad = rw.into_bytes();
        bad[10] = if bad[10] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            azure_identifiable(&bad).unwrap().checksum,
            Some(Checksum::Invalid)
        );
        assert!(azure_identifiable(b"QUUuqj3jxQQx/Lt8CzNkIk+ymKrd+wBRVLaKSeQgq0Dv3STrOT0PQFZ8G/tyYBplmGrgXJlLhp5E3f+WkNHIoA==").is_err());
    }
}

//! Tokens that carry readable facts about themselves: a JWT's claims (issue
//! and expiry times, subject, scope), a PyPI macaroon's caveats (user-wide,
//! project-scoped, Trusted Publishing), the JSON inside Sentry and 1Password
//! tokens, and the query string of an Azure shared access signature. The
//! facts say how long a token lives and, where the format tells, what it may
//! do; nothing is verified against the provider.
use base64::Engine as _;
use serde_json::Value;

use super::facts::{Facts, Outcome};
use crate::base::kinds::{IdentityClass, Lifetime};
use crate::base::time::rfc3339;

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
    let date = crate::base::time::Date::parse(s.get(..10)?)?;
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
        // Bytes, not a slice of the text: what follows a `%` may be the
        // middle of a character.
        let hex = |c: u8| char::from(c).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
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
        facts.identity = Some(IdentityClass::Service);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::fakes::Fakes;

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
        assert_eq!(
            facts.identity,
            Some(crate::base::kinds::IdentityClass::Service)
        );
        assert_eq!(facts.decoded["expires_at"], "2026-01-01T00:05:00Z");

        // Not a macaroon: kept, nothing decoded.
        let junk = f.pypi();
        let facts = pypi_macaroon(junk.as_bytes()).unwrap();
        assert!(facts.decoded.is_empty() && facts.privilege.is_none());
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

    /// Found by fuzzing: a `%` before a character of several bytes once
    /// sliced the text inside that character (a panic on a scanned line).
    #[test]
    fn sas_query_with_a_percent_before_a_wide_character() {
        let line = "sv=2022&se=2027-01-01&sig=abc%\u{b0}d&x=%\u{1F600}".as_bytes();
        let at = memchr::memmem::find(line, b"abc").unwrap();
        assert!(azure_sas(line, at).is_ok());
        assert!(azure_sas(b"=%\xb0", 0).is_ok());
        assert_eq!(url_decode("a%41%zz%\u{e9}"), "aA%zz%\u{e9}");
    }
}

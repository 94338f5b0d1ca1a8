//! Requests that a template cannot make: they are signed, or carry what was
//! found beside the secret. [`request`] renders a job's request by its
//! rule's [`VerifyKind`]; templated kinds go to
//! [`VerifySpec::request`](crate::rules::verify::VerifySpec::request).
//!
//! - AWS: `sts:GetCallerIdentity`, signed with Signature Version 4
//!   ([`sigv4`], checked against AWS's published test suite). No
//!   permission is needed for it, so it proves the pair and nothing more.
//! - Google: a JWT signed RS256 with a service-account key file's private
//!   key, exchanged at `oauth2.googleapis.com` (the literal host, never the
//!   file's `token_uri`).
//! - Entra ID: the client-credentials grant with a client secret and the
//!   tenant and application ids found beside it.
//!
//! Pure but for the clock's reading, which callers pass in. Nothing here
//! sends anything or writes a secret anywhere.
use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use crate::rules::verify::{percent_encode, Request, VerifyKind, VerifySpec};

/// What a job knows of its credential.
pub struct Input<'a> {
    pub secret: &'a [u8],
    pub key_id: Option<&'a str>,
    /// What the finding's validator found beside it (a key file's private key).
    pub companion: Option<&'a [u8]>,
    /// The finding's decoded facts (`client_email`, `tenant_id`, ...).
    pub facts: &'a BTreeMap<String, Value>,
}

/// The request for a job, or why it cannot be made.
pub fn request(spec: &VerifySpec, input: &Input, now: i64) -> Result<Request, &'static str> {
    match spec.kind {
        VerifyKind::Http => spec.request(input.secret, input.key_id),
        VerifyKind::AwsSts => aws_sts(spec, input, now),
        VerifyKind::GcpServiceAccount => gcp_token(spec, input, now),
        VerifyKind::EntraClientCredentials => entra_token(spec, input),
    }
}

/// Identity a code-built request names itself, kept when the check is live:
/// the provider's reply does not repeat it.
pub fn asked_identity(kind: VerifyKind, input: &Input) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let fact = |k: &str| {
        input
            .facts
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match kind {
        VerifyKind::Http | VerifyKind::AwsSts => {}
        VerifyKind::GcpServiceAccount => {
            for k in ["client_email", "project_id"] {
                if let Some(v) = fact(k) {
                    out.insert(k.to_string(), v);
                }
            }
        }
        VerifyKind::EntraClientCredentials => {
            if let Some((t, c)) = entra_ids(input) {
                out.insert("tenant_id".into(), t);
                out.insert("client_id".into(), c);
            }
        }
    }
    out
}

// ---------------------------------------------------------------- AWS

/// STS's query API version of `GetCallerIdentity`.
const STS_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const STS_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

fn aws_sts(spec: &VerifySpec, input: &Input, now: i64) -> Result<Request, &'static str> {
    let key_id = input
        .key_id
        .ok_or("no access key id found beside the secret key: the pair is incomplete")?;
    if key_id.starts_with("ASIA") {
        return Err("a temporary key (ASIA) needs its session token: not sent");
    }
    if !(key_id.len() == 20 && key_id.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err("the access key id is not one");
    }
    let secret = std::str::from_utf8(input.secret).map_err(|_| "the secret is not UTF-8")?;
    if secret.len() != 40
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
    {
        return Err("the secret key is not one");
    }
    let amz_date = amz_date(now);
    let host = spec.host.as_str();
    let headers = [
        ("content-type", STS_CONTENT_TYPE),
        ("host", host),
        ("x-amz-date", amz_date.as_str()),
    ];
    let signed = sigv4(&SigV4 {
        key_id,
        secret,
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: STS_BODY.as_bytes(),
        amz_date: &amz_date,
        region: "us-east-1",
        service: "sts",
    });
    Ok(Request {
        method: "POST".into(),
        url: format!("https://{host}/"),
        headers: vec![
            ("Content-Type".into(), STS_CONTENT_TYPE.into()),
            ("X-Amz-Date".into(), amz_date),
            ("Authorization".into(), signed.authorization),
        ],
        body: Some(STS_BODY.as_bytes().to_vec()),
    })
}

/// `20150830T123600Z` for a Unix time.
fn amz_date(now: i64) -> String {
    crate::base::time::rfc3339(now)
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect()
}

/// One request to sign with SigV4.
pub struct SigV4<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub method: &'a str,
    /// Already URI-encoded.
    pub path: &'a str,
    /// Already URI-encoded; canonicalised (sorted) here.
    pub query: &'a str,
    /// Every header signed, names in lower case; sorted here.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub amz_date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// The steps of a signature, for the test suite's intermediate values.
pub struct Signed {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub authorization: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

fn hmac(key: &[u8], data: &[u8]) -> ring::hmac::Tag {
    ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), data)
}

/// Signs a request with AWS Signature Version 4
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>).
pub fn sigv4(r: &SigV4) -> Signed {
    let mut query: Vec<(&str, &str)> = r
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    query.sort_unstable();
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|(k, v)| {
            let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (k.to_ascii_lowercase(), v)
        })
        .collect();
    headers.sort_unstable();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        r.method,
        r.path,
        query.join("&"),
        canonical_headers,
        signed_headers,
        sha256_hex(r.body)
    );
    let date = &r.amz_date[..8.min(r.amz_date.len())];
    let scope = format!("{date}/{}/{}/aws4_request", r.region, r.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        r.amz_date,
        sha256_hex(canonical_request.as_bytes())
    );
    let k_date = hmac(format!("AWS4{}", r.secret).as_bytes(), date.as_bytes());
    let k_region = hmac(k_date.as_ref(), r.region.as_bytes());
    let k_service = hmac(k_region.as_ref(), r.service.as_bytes());
    let k_signing = hmac(k_service.as_ref(), b"aws4_request");
    let signature = hex(hmac(k_signing.as_ref(), string_to_sign.as_bytes()).as_ref());
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        r.key_id
    );
    Signed {
        canonical_request,
        string_to_sign,
        authorization,
    }
}

// ---------------------------------------------------------------- Google

/// Asked for nothing but to mint a token: a read-only scope.
const GCP_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// The DER of a PEM block's body.
fn pem_der(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn gcp_token(spec: &VerifySpec, input: &Input, now: i64) -> Result<Request, &'static str> {
    let email = input
        .facts
        .get("client_email")
        .and_then(Value::as_str)
        .ok_or("no client_email beside the key id: the key file is incomplete")?;
    let pem = input
        .companion
        .ok_or("no private key beside the key id: the key file is incomplete")?;
    let der = pem_der(pem).ok_or("the private key is not PEM")?;
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|_| "the private key is not an RSA key of 2048 to 4096 bits in PKCS#8")?;
    let key_id = std::str::from_utf8(input.secret).map_err(|_| "the key id is not UTF-8")?;
    let audience = format!("https://{}/token", spec.host);
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": key_id});
    let claims = serde_json::json!({
        "iss": email,
        "scope": GCP_SCOPE,
        "aud": audience,
        "iat": now,
        "exp": now + 600,
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| "signing the JWT failed")?;
    let jwt = format!("{signing_input}.{}", b64url(&sig));
    Ok(Request {
        method: "POST".into(),
        url: format!("https://{}/token", spec.host),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: Some(
            format!(
                "grant_type={}&assertion={jwt}",
                percent_encode("urn:ietf:params:oauth:grant-type:jwt-bearer").replace(':', "%3A")
            )
            .into_bytes(),
        ),
    })
}

// ---------------------------------------------------------------- Entra ID

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The tenant and application ids: found beside the secret, or given as
/// `TENANT/CLIENT` for `keytrace verify --key-id`.
fn entra_ids(input: &Input) -> Option<(String, String)> {
    let fact = |k: &str| input.facts.get(k).and_then(Value::as_str);
    let (t, c) = match (fact("tenant_id"), fact("client_id")) {
        (Some(t), Some(c)) => (t, c),
        _ => input.key_id?.split_once('/')?,
    };
    (is_guid(t) && is_guid(c)).then(|| (t.to_ascii_lowercase(), c.to_ascii_lowercase()))
}

fn entra_token(spec: &VerifySpec, input: &Input) -> Result<Request, &'static str> {
    let (tenant, client) = entra_ids(input)
        .ok_or("no tenant id and application id beside the secret: the grant cannot be asked")?;
    let secret = std::str::from_utf8(input.secret).map_err(|_| "the secret is not UTF-8")?;
    let body = format!(
        "client_id={client}&scope={}&client_secret={}&grant_type=client_credentials",
        percent_encode("https://graph.microsoft.com/.default").replace(':', "%3A"),
        percent_encode(secret).replace(':', "%3A"),
    );
    Ok(Request {
        method: "POST".into(),
        url: format!("https://{}/{tenant}/oauth2/v2.0/token", spec.host),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: Some(body.into_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const DATE: &str = "20150830T123600Z";

    fn suite(method: &str, query: &str, headers: &[(&str, &str)], body: &str) -> Signed {
        sigv4(&SigV4 {
            key_id: "AKIDEXAMPLE",
            secret: SECRET,
            method,
            path: "/",
            query,
            headers,
            body: body.as_bytes(),
            amz_date: DATE,
            region: "us-east-1",
            service: "service",
        })
    }

    const HOST: (&str, &str) = ("host", "example.amazonaws.com");
    const XDATE: (&str, &str) = ("x-amz-date", DATE);

    /// AWS's Signature Version 4 test suite
    /// (<https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html>;
    /// the same cases in aws-sdk-js-v3 `packages/signature-v4/src/suite.fixture.ts`).
    #[test]
    fn aws_test_suite() {
        let s = suite("GET", "", &[HOST, XDATE], "");
        assert_eq!(
            s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(
            s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        // get-vanilla-query-order-key-case: parameters sorted by name.
        let s = suite("GET", "Param2=value2&Param1=value1", &[HOST, XDATE], "");
        assert!(s
            .canonical_request
            .contains("\n/\nParam1=value1&Param2=value2\n"));
        assert!(s.authorization.ends_with(
            "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        ));
        // post-vanilla.
        let s = suite("POST", "", &[HOST, XDATE], "");
        assert!(s.authorization.ends_with(
            "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        ));
        // post-x-www-form-urlencoded.
        let ct = ("content-type", "application/x-www-form-urlencoded");
        let s = suite("POST", "", &[XDATE, ct, HOST], "Param1=value1");
        assert_eq!(
            s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"
        );
        assert_eq!(
            s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
        // post-x-www-form-urlencoded-parameters: a charset in the type.
        let ct = (
            "content-type",
            "application/x-www-form-urlencoded; charset=utf8",
        );
        let s = suite("POST", "", &[ct, HOST, XDATE], "Param1=value1");
        assert!(s.authorization.ends_with(
            "Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"
        ));
    }

    fn spec(kind: VerifyKind) -> VerifySpec {
        let mut s: VerifySpec = toml::from_str(
            r#"
reference = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"
host = "sts.amazonaws.com"
method = "POST"
path = "/"
outcome = []
fixture = []
"#,
        )
        .unwrap();
        s.kind = kind;
        s.host = kind.host().unwrap().to_string();
        s
    }

    /// The request keytrace sends to STS, at the suite's time and with its
    /// secret: a value computed here (not published by AWS) that pins the
    /// headers signed, the region and the body.
    #[test]
    fn the_sts_request() {
        let facts = BTreeMap::new();
        let input = Input {
            secret: SECRET.as_bytes(),
            key_id: Some("AKIDEXAMPLEAKIDEXAMP"),
            companion: None,
            facts: &facts,
        };
        let now = 1_440_938_160; // 2015-08-30T12:36:00Z
        assert_eq!(amz_date(now), DATE);
        let r = request(&spec(VerifyKind::AwsSts), &input, now).unwrap();
        assert_eq!(r.url, "https://sts.amazonaws.com/");
        assert_eq!(r.body.as_deref(), Some(STS_BODY.as_bytes()));
        let auth = &r
            .headers
            .iter()
            .find(|(k, _)| k == "Authorization")
            .unwrap()
            .1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLEAKIDEXAMP/20150830/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=6fb20d31f734d876c5682fdd2678d194cf68b862755f83b7ba1373c0874be25c"
        );
        for (key_id, secret) in [
            (None, SECRET),
            (Some("ASIAEXAMPLEAKIDEXAMP"), SECRET),
            (Some("AKIDEXAMPLEAKIDEXAMP"), "short"),
            (Some("AKID\r\nX-Evil: 1AKIDE"), SECRET),
        ] {
            let input = Input {
                secret: secret.as_bytes(),
                key_id,
                companion: None,
                facts: &facts,
            };
            assert!(request(&spec(VerifyKind::AwsSts), &input, now).is_err());
        }
    }

    #[test]
    fn entra_needs_both_ids_and_encodes_the_secret() {
        let t = "11111111-2222-3333-4444-555555555555";
        let c = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
        let mut facts = BTreeMap::new();
        let s = spec(VerifyKind::EntraClientCredentials);
        let input = |facts: &BTreeMap<String, Value>, key_id| {
            request(
                &s,
                &Input {
                    secret: b"abc8Q~x+y&z",
                    key_id,
                    companion: None,
                    facts,
                },
                0,
            )
        };
        assert!(input(&facts, None).is_err());
        facts.insert("tenant_id".into(), Value::from(t));
        assert!(input(&facts, None).is_err());
        facts.insert("client_id".into(), Value::from(c));
        let r = input(&facts, None).unwrap();
        assert_eq!(
            r.url,
            format!("https://login.microsoftonline.com/{t}/oauth2/v2.0/token")
        );
        let body = String::from_utf8(r.body.unwrap()).unwrap();
        assert!(body.contains("client_secret=abc8Q~x%2By%26z&"), "{body}");
        assert!(body.contains(&format!("client_id={c}&")));
        let given = format!("{t}/{c}");
        let r = input(&BTreeMap::new(), Some(&given)).unwrap();
        assert!(r.url.contains(t));
        assert!(input(&BTreeMap::new(), Some("../x/y")).is_err());
    }
}

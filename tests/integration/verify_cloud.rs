//! The code-built live checks (AWS SigV4, a Google service account's JWT,
//! Entra ID client credentials) against local mocks of the three token
//! services. Each mock judges the request the way the provider does, by
//! its own code here: it recomputes the SigV4 signature from what it
//! received, verifies the JWT's RS256 signature with the public half of a
//! key made at test time, and compares the Entra form fields.
use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use keytrace::finding::Finding;
use keytrace::rules::verify::State;
use keytrace::testkit::fakes::Fakes;
use keytrace::verify;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::EncodePrivateKey;
use serde_json::Value;

use super::mock_https::{Answer, Hit, Mock};
use super::verify::{client, options, scan};

const STS: &str = "sts.amazonaws.com";
const GOOGLE: &str = "oauth2.googleapis.com";
const ENTRA: &str = "login.microsoftonline.com";

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&k, data.as_bytes()).as_ref().to_vec()
}

fn sha(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

/// STS's side: the key id named in the Authorization header, and whether
/// its signature holds for `secrets[key id]` over what was received.
fn sts_answer(hit: &Hit, secrets: &HashMap<String, String>) -> Answer {
    let xml_error = |code: &str| {
        Answer::new(
            403,
            &format!("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>mock</Message></Error><RequestId>1</RequestId></ErrorResponse>"),
        )
        .header("content-type", "text/xml")
    };
    let auth = hit.header("authorization").unwrap_or_default();
    let field = |name: &str| {
        auth.split([' ', ','])
            .find_map(|p| p.strip_prefix(name))
            .unwrap_or_default()
            .to_string()
    };
    let credential = field("Credential=");
    let mut scope = credential.splitn(2, '/');
    let key_id = scope.next().unwrap_or_default();
    let scope = scope.next().unwrap_or_default();
    let Some(secret) = secrets.get(key_id) else {
        return xml_error("InvalidClientTokenId");
    };
    let signed = field("SignedHeaders=");
    let names: Vec<&str> = signed.split(';').collect();
    assert!(names.contains(&"host") && names.contains(&"x-amz-date"));
    let canonical_headers: String = names
        .iter()
        .map(|n| format!("{n}:{}\n", hit.header(n).unwrap_or_default()))
        .collect();
    let (path, query) = hit.path.split_once('?').unwrap_or((hit.path.as_str(), ""));
    let creq = format!(
        "{}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{}",
        hit.method,
        sha(&hit.body)
    );
    let date = hit.header("x-amz-date").unwrap_or_default();
    let sts = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        sha(creq.as_bytes())
    );
    let mut parts = scope.split('/');
    let mut key = format!("AWS4{secret}").into_bytes();
    for p in [parts.next(), parts.next(), parts.next(), parts.next()] {
        key = hmac(&key, p.unwrap_or_default());
    }
    if hex(&hmac(&key, &sts)) != field("Signature=") {
        return xml_error("SignatureDoesNotMatch");
    }
    assert_eq!(
        std::str::from_utf8(&hit.body).unwrap(),
        "Action=GetCallerIdentity&Version=2011-06-15"
    );
    Answer::new(
        200,
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/deploy-bot</Arn><UserId>AIDAMOCK</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
    )
    .header("content-type", "text/xml")
}

fn form(body: &[u8]) -> HashMap<String, String> {
    fn unpercent(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(if b[i] == b'+' { b' ' } else { b[i] });
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), unpercent(v)))
        .collect()
}

/// Google's side: the assertion's RS256 signature under the public key of
/// the key id it names, and its claims.
fn google_answer(hit: &Hit, keys: &HashMap<String, Vec<u8>>) -> Answer {
    let f = form(&hit.body);
    assert_eq!(
        f["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let jwt = &f["assertion"];
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jwt.split('.').collect();
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 3600);
    let dead = Answer::new(
        400,
        r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
    );
    let Some(public) = header["kid"].as_str().and_then(|k| keys.get(k)) else {
        return dead;
    };
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public,
    );
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    if key
        .verify(signing_input.as_bytes(), &b64.decode(parts[2]).unwrap())
        .is_err()
    {
        return dead;
    }
    assert!(claims["iss"]
        .as_str()
        .unwrap()
        .ends_with(".iam.gserviceaccount.com"));
    Answer::new(
        200,
        r#"{"access_token":"ya29.mock","expires_in":3599,"token_type":"Bearer"}"#,
    )
}

/// Entra's side: the tenant in the path, the application and its secret
/// in the form.
fn entra_answer(hit: &Hit, apps: &HashMap<(String, String), String>) -> Answer {
    let f = form(&hit.body);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["scope"], "https://graph.microsoft.com/.default");
    let tenant = hit.path.split('/').nth(1).unwrap_or_default().to_string();
    assert_eq!(hit.path, format!("/{tenant}/oauth2/v2.0/token"));
    match apps.get(&(tenant, f["client_id"].clone())) {
        Some(s) if *s == f["client_secret"] => Answer::new(
            200,
            r#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ.mock"}"#,
        ),
        _ => Answer::new(
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#,
        ),
    }
}

/// A Google service-account key file with a fresh RSA key; returns the
/// file, its key id and the public key (PKCS#1 DER).
fn key_file(fakes: &mut Fakes, account: &str) -> (String, String, Vec<u8>) {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let pem = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    let public = key
        .to_public_key()
        .to_pkcs1_der()
        .unwrap()
        .as_bytes()
        .to_vec();
    let key_id = fakes.hex(40);
    // In the order Google writes the fields. The token_uri is never used:
    // the token is asked of Google's own host.
    let file = format!(
        r#"{{
  "type": "service_account",
  "project_id": "acme-ci-4821",
  "private_key_id": "{key_id}",
  "private_key": {},
  "client_email": "{account}@acme-ci-4821.iam.gserviceaccount.com",
  "client_id": "104857600000000000001",
  "auth_uri": "https://accounts.google.com/o/oauth2/auth",
  "token_uri": "https://tokens.attacker.invalid/token"
}}"#,
        serde_json::to_string(pem.as_str()).unwrap()
    );
    (file, key_id, public)
}

fn entra_secret(fakes: &mut Fakes) -> String {
    format!("{}8Q~{}", fakes.alnum(3), fakes.alnum(34))
}

fn guid(fakes: &mut Fakes) -> String {
    let h = fakes.hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn verification<'a>(findings: &'a [Finding], rule: &str, secret: &str) -> &'a verify::Verification {
    findings
        .iter()
        .find(|f| f.rule == rule && f.raw.expose() == secret.as_bytes())
        .unwrap_or_else(|| panic!("{rule} found"))
        .verification
        .as_deref()
        .expect("verified")
}

#[test]
fn aws_google_and_entra_checks_sign_and_read_their_replies() {
    let mut fakes = Fakes::new(0x5157_4e45_4421);
    let dir = tempfile::tempdir().unwrap();
    // AWS: a pair STS knows, a known id with a wrong secret, an unknown id.
    let (live_id, live_secret) = (fakes.aws_key_id("AKIA"), fakes.aws_secret());
    let (wrong_id, wrong_secret) = (fakes.aws_key_id("AKIA"), fakes.aws_secret());
    let (gone_id, gone_secret) = (fakes.aws_key_id("AKIA"), fakes.aws_secret());
    let mut secrets = HashMap::new();
    secrets.insert(live_id.clone(), live_secret.clone());
    secrets.insert(wrong_id.clone(), fakes.aws_secret());
    for (i, (id, secret)) in [
        (&live_id, &live_secret),
        (&wrong_id, &wrong_secret),
        (&gone_id, &gone_secret),
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(
            dir.path().join(format!("aws{i}.ini")),
            format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
        )
        .unwrap();
    }
    // Google: a key Google knows, and one it does not (deleted), the
    // second pasted into an environment variable as escaped JSON.
    let (live_file, live_kid, live_public) = key_file(&mut fakes, "deployer");
    let (gone_file, gone_kid, _) = key_file(&mut fakes, "old-deployer");
    let mut keys = HashMap::new();
    keys.insert(live_kid.clone(), live_public);
    std::fs::write(dir.path().join("sa.json"), &live_file).unwrap();
    std::fs::write(
        dir.path().join("ci.env"),
        format!(
            "GOOGLE_CREDENTIALS={}\n",
            serde_json::to_string(&gone_file).unwrap()
        ),
    )
    .unwrap();
    // Entra: an app with its own secret, one with another's, and a secret
    // with no ids beside it.
    let tenant = guid(&mut fakes);
    let (app, app_secret) = (guid(&mut fakes), entra_secret(&mut fakes));
    let (other_app, other_secret) = (guid(&mut fakes), entra_secret(&mut fakes));
    let lone_secret = entra_secret(&mut fakes);
    let mut apps = HashMap::new();
    apps.insert((tenant.clone(), app.clone()), app_secret.clone());
    apps.insert(
        (tenant.clone(), other_app.clone()),
        entra_secret(&mut fakes),
    );
    for (i, (a, s)) in [(&app, &app_secret), (&other_app, &other_secret)]
        .iter()
        .enumerate()
    {
        std::fs::write(
            dir.path().join(format!("entra{i}.env")),
            format!("AZURE_TENANT_ID={tenant}\nAZURE_CLIENT_ID={a}\nAZURE_CLIENT_SECRET={s}\n"),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("lone.txt"),
        format!("client_secret = \"{lone_secret}\"\n"),
    )
    .unwrap();

    // The inventory claims by what the checks and the files tell: the
    // AWS principal (live), the Google account and Entra app (offline).
    std::fs::write(
        dir.path().join("agents.yaml"),
        format!(
            "agents:\n  - agent: aws-bot\n    owner: infra\n    aws_arn: arn:aws:iam::123456789012:user/deploy-bot\n\
             \x20 - agent: gcp-deployer\n    owner: data\n    gcp_service_account: deployer@acme-ci-4821.iam.gserviceaccount.com\n\
             \x20 - agent: entra-app\n    owner: identity\n    azure_client_id: {}\n",
            app.to_uppercase()
        ),
    )
    .unwrap();
    let mock = {
        let (secrets, keys, apps) = (Arc::new(secrets), Arc::new(keys), Arc::new(apps));
        Mock::start(&[STS, GOOGLE, ENTRA], move |hit| {
            match hit.header("host").unwrap_or_default() {
                STS => sts_answer(hit, &secrets),
                GOOGLE => google_answer(hit, &keys),
                ENTRA => entra_answer(hit, &apps),
                other => panic!("a request to {other}"),
            }
        })
    };
    let (mut findings, config) = scan(dir.path());
    let opts = options(&mock, dir.path());
    let c = client(
        &opts,
        &[(STS, mock.addr), (GOOGLE, mock.addr), (ENTRA, mock.addr)],
    );
    let tally = verify::run(&mut findings, config.matcher.rules(), &opts, &c);

    let aws = "aws-secret-access-key";
    let v = verification(&findings, aws, &live_secret);
    assert_eq!(v.state, State::Live, "{}", v.reason);
    assert_eq!(
        v.identity["arn"],
        "arn:aws:iam::123456789012:user/deploy-bot"
    );
    assert_eq!(v.identity["account"], "123456789012");
    let v = verification(&findings, aws, &wrong_secret);
    assert_eq!(
        (v.state, v.reason.starts_with("SignatureDoesNotMatch")),
        (State::Dead, true)
    );
    let v = verification(&findings, aws, &gone_secret);
    assert_eq!(
        (v.state, v.reason.starts_with("InvalidClientTokenId")),
        (State::Dead, true)
    );

    let gcp = "gcp-service-account-key-file";
    let v = verification(&findings, gcp, &live_kid);
    assert_eq!(v.state, State::Live, "{}", v.reason);
    assert_eq!(
        v.identity["client_email"],
        "deployer@acme-ci-4821.iam.gserviceaccount.com"
    );
    assert_eq!(v.identity["project_id"], "acme-ci-4821");
    let v = verification(&findings, gcp, &gone_kid);
    assert_eq!(v.state, State::Dead, "{}", v.reason);

    let entra = "azure-entra-client-secret";
    let v = verification(&findings, entra, &app_secret);
    assert_eq!(v.state, State::Live, "{}", v.reason);
    assert_eq!(
        (
            v.identity["tenant_id"].as_str(),
            v.identity["client_id"].as_str()
        ),
        (tenant.as_str(), app.as_str())
    );
    assert_eq!(
        verification(&findings, entra, &other_secret).state,
        State::Dead
    );
    let v = verification(&findings, entra, &lone_secret);
    assert_eq!(v.state, State::Skipped);
    assert!(v.reason.contains("tenant"), "{}", v.reason);

    keytrace::identity::correlate_on(
        &mut findings,
        config.inventory.as_ref(),
        config.risk,
        1,
        |_| {},
    );
    let holder = |rule: &str, secret: &str| {
        let f = findings
            .iter()
            .find(|f| f.rule == rule && f.raw.expose() == secret.as_bytes())
            .unwrap();
        f.identity.as_ref().map(|v| v.to_string())
    };
    assert_eq!(holder(aws, &live_secret).as_deref(), Some("\"aws-bot\""));
    assert_eq!(holder(aws, &wrong_secret), None, "not live: no ARN");
    assert_eq!(holder(gcp, &live_kid).as_deref(), Some("\"gcp-deployer\""));
    assert_eq!(holder(gcp, &gone_kid), None, "another account");
    assert_eq!(holder(entra, &app_secret).as_deref(), Some("\"entra-app\""));
    assert_eq!(holder(entra, &other_secret), None);

    // Only the three literal hosts were asked (never the key file's
    // token_uri), once per credential.
    let hits = mock.hits();
    assert_eq!(hits.len(), 7, "3 AWS, 2 Google, 2 Entra");
    assert_eq!(tally.requests, 7);
    assert_eq!((tally.live, tally.dead, tally.skipped), (3, 4, 1));

    // No secret, key id of Google, or private key in the JSON report.
    let json = serde_json::to_string(&findings).unwrap();
    let pem_line = live_file
        .split("\\n")
        .find(|l| l.len() == 64)
        .expect("a line of the PEM body");
    for s in [live_secret.as_str(), &app_secret, &gone_secret, pem_line] {
        assert!(!json.contains(s), "a secret in the report");
    }
}

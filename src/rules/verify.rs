//! A rule's `[rule.verify]` block: how to ask the provider whether a
//! credential is live, as data. One HTTPS request to a literal host, with
//! headers, path and body filled from the finding's secret and key id, and
//! an ordered list of outcomes that read the reply (status, headers, JSON
//! fields) into `live`, `dead` or `indeterminate` with the identity fields
//! to keep. Each block carries fixtures, replies with the state they must
//! give, that `rules check` and the test suite run offline.
//!
//! Pure: this module sends nothing. It renders requests ([`VerifySpec::request`])
//! and reads replies ([`VerifySpec::evaluate`]); `crate::verify` sends them.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a live check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The provider accepted the credential.
    Live,
    /// The provider rejected it as unknown, revoked or expired.
    Dead,
    /// No answer that says either: rate limited, a server error, a timeout,
    /// an HTML page, a redirect, no route.
    Indeterminate,
    /// Not sent: outside the host policy, a pair without its other half,
    /// a value several providers' rules matched, the budget spent.
    Skipped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Live => "live",
            State::Dead => "dead",
            State::Indeterminate => "indeterminate",
            State::Skipped => "skipped",
        }
    }
}

/// How the request is made and signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyKind {
    /// A templated HTTPS request.
    #[default]
    Http,
    /// AWS: `sts:GetCallerIdentity`, signed with SigV4 by the key id and
    /// secret key (`crate::verify::signed`). The reply is XML, read as
    /// JSON of its elements.
    AwsSts,
    /// Google: a JWT signed with a service-account key file's private key,
    /// exchanged at Google's token endpoint (never the file's `token_uri`).
    GcpServiceAccount,
    /// Entra ID: the client-credentials grant with a client secret and the
    /// tenant and application ids found beside it.
    EntraClientCredentials,
}

impl VerifyKind {
    /// The host a code-built request goes to; none for templated ones.
    pub fn host(self) -> Option<&'static str> {
        match self {
            VerifyKind::Http => None,
            VerifyKind::AwsSts => Some("sts.amazonaws.com"),
            VerifyKind::GcpServiceAccount => Some("oauth2.googleapis.com"),
            VerifyKind::EntraClientCredentials => Some("login.microsoftonline.com"),
        }
    }
}

/// A rule's verification, as written in its TOML.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    #[serde(default)]
    pub kind: VerifyKind,
    /// The provider's documentation of the endpoint asked.
    pub reference: String,
    /// The only host contacted for this rule: a DNS name, never a template.
    pub host: String,
    #[serde(default = "get")]
    pub method: String,
    /// Path and query; `{{secret}}` and `{{key_id}}` are percent-encoded in it.
    pub path: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `[user, password]` templates for HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<[String; 2]>,
    /// A request body template: JSON-escaped under a JSON content type,
    /// percent-encoded under a form one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The request changes something at the provider (a documented probe
    /// that is refused before it takes effect); sent only with
    /// `--verify-allow-mutating`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mutating: bool,
    /// A reply header listing the credential's scopes (`x-oauth-scopes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_header: Option<String>,
    /// A reply header with the credential's expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_header: Option<String>,
    /// Checked in order; the first that holds decides. None: indeterminate.
    pub outcome: Vec<Outcome>,
    /// Replies and the verdict each must give, run offline by `rules check`.
    pub fixture: Vec<Fixture>,
}

fn get() -> String {
    "GET".into()
}

/// One reading of a reply: every condition given must hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Statuses any of which this outcome takes.
    pub status: Vec<u16>,
    /// JSON fields (dotted paths) that must hold these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub json: BTreeMap<String, Value>,
    /// JSON fields (dotted paths) that must be present and not null.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_has: Vec<String>,
    /// JSON string fields (dotted paths) that must contain these texts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub json_contains: BTreeMap<String, String>,
    /// Reply headers (lower-case names) that must hold these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, String>,
    pub result: State,
    /// Identity fields to keep: name → dotted JSON path of the reply.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identity: BTreeMap<String, String>,
    /// Dotted JSON path of the scopes: an array of strings, or one string
    /// of names split by spaces or commas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// Dotted JSON path of the expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// What this reply means, for the report (`bad credentials`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A reply and the verdict it must give.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
    pub expect: State,
    /// Identity fields the verdict must hold (others may be there too).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identity: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// A finding's live check, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub state: State,
    pub checked_at: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identity: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The host asked (none when nothing was sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A provider's reply, as much of it as verification reads.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// At most the client's cap.
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The conclusion read from a reply.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Verdict {
    pub state: Option<State>,
    pub reason: String,
    pub identity: BTreeMap<String, String>,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
}

/// A rendered request. Holds the secret: never printed (no `Debug`).
pub struct Request {
    pub method: String,
    /// `https://host/path`.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// The longest identity value kept, in characters.
const MAX_FIELD: usize = 200;
/// Most scopes kept.
const MAX_SCOPES: usize = 100;

impl VerifySpec {
    /// Whether any template reads the key id: then a finding without one
    /// (a pair missing its other half) is not sent.
    pub fn needs_key_id(&self) -> bool {
        self.templates().any(|t| t.contains("{{key_id}}"))
    }

    fn templates(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.path.as_str())
            .chain(self.headers.values().map(String::as_str))
            .chain(self.basic_auth.iter().flatten().map(String::as_str))
            .chain(self.body.as_deref())
    }

    /// The request for a secret (and key id), or why it cannot be made:
    /// a value with control characters cannot stand in a header.
    pub fn request(&self, secret: &[u8], key_id: Option<&str>) -> Result<Request, &'static str> {
        let secret = std::str::from_utf8(secret).map_err(|_| "the secret is not UTF-8")?;
        if secret.chars().any(char::is_control)
            || key_id.is_some_and(|k| k.chars().any(char::is_control))
        {
            return Err("the value holds control characters");
        }
        if self.needs_key_id() && key_id.is_none() {
            return Err("no key id found beside the secret: the pair is incomplete");
        }
        let key_id = key_id.unwrap_or_default();
        let fill = |t: &str, enc: fn(&str) -> String| {
            t.replace("{{secret}}", &enc(secret))
                .replace("{{key_id}}", &enc(key_id))
        };
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), fill(v, str::to_string)))
            .collect();
        if let Some([user, pass]) = &self.basic_auth {
            use base64::Engine as _;
            let pair = format!(
                "{}:{}",
                fill(user, str::to_string),
                fill(pass, str::to_string)
            );
            let b64 = base64::engine::general_purpose::STANDARD.encode(pair);
            headers.push(("Authorization".into(), format!("Basic {b64}")));
        }
        let ct = self.content_type.as_deref().unwrap_or_default();
        let body = self.body.as_deref().map(|b| {
            if ct.contains("json") {
                fill(b, json_escape)
            } else if ct.contains("x-www-form-urlencoded") {
                fill(b, percent_encode)
            } else {
                fill(b, str::to_string)
            }
        });
        if let Some(ct) = &self.content_type {
            headers.push(("Content-Type".into(), ct.clone()));
        }
        Ok(Request {
            method: self.method.clone(),
            url: format!("https://{}{}", self.host, fill(&self.path, percent_encode)),
            headers,
            body: body.map(String::into_bytes),
        })
    }

    /// Reads a reply. Whatever the outcomes say, a redirect, 429, a 5xx
    /// and an HTML page are indeterminate: none of them is the provider
    /// judging the credential.
    pub fn evaluate(&self, reply: &Reply) -> Verdict {
        let indeterminate = |reason: String| Verdict {
            state: Some(State::Indeterminate),
            reason,
            ..Verdict::default()
        };
        match reply.status {
            300..=399 => {
                return indeterminate(format!("HTTP {}: a redirect, not followed", reply.status))
            }
            429 => return indeterminate("HTTP 429: rate limited".into()),
            500..=599 => return indeterminate(format!("HTTP {}: server error", reply.status)),
            _ => {}
        }
        if looks_html(reply) {
            return indeterminate(format!(
                "HTTP {}: an HTML page (a proxy, firewall or portal answered)",
                reply.status
            ));
        }
        let json: Option<Value> = if self.kind == VerifyKind::AwsSts {
            xml_json(&reply.body)
        } else {
            serde_json::from_slice(&reply.body).ok()
        };
        let Some(o) = self.outcome.iter().find(|o| holds(o, reply, json.as_ref())) else {
            return indeterminate(format!(
                "HTTP {}: a reply no outcome of the rule reads",
                reply.status
            ));
        };
        let mut v = Verdict {
            state: Some(o.result),
            reason: o
                .reason
                .clone()
                .unwrap_or_else(|| format!("HTTP {}", reply.status)),
            ..Verdict::default()
        };
        if let Some(j) = &json {
            for (name, path) in &o.identity {
                if let Some(s) = lookup(j, path).and_then(scalar) {
                    v.identity.insert(name.clone(), s);
                }
            }
            if let Some(p) = &o.scopes {
                v.scopes = match lookup(j, p) {
                    Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
                    Some(Value::String(s)) => split_scopes(s),
                    _ => Vec::new(),
                };
            }
            v.expires_at = o
                .expires
                .as_deref()
                .and_then(|p| lookup(j, p))
                .and_then(scalar);
        }
        if o.result == State::Live {
            if let Some(h) = self.scopes_header.as_deref().and_then(|h| reply.header(h)) {
                v.scopes = split_scopes(h);
            }
            if let Some(h) = self.expires_header.as_deref().and_then(|h| reply.header(h)) {
                v.expires_at = Some(clip(h));
            }
        }
        v.scopes.truncate(MAX_SCOPES);
        v
    }

    /// What is wrong with the block, if anything; checked when rules load.
    pub fn check(&self, has_key_id: bool) -> Result<(), String> {
        let h = &self.host;
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !h.contains('.') || !h.split('.').all(label_ok) {
            return Err(format!(
                "verify.host {h:?} is not a lower-case DNS name (no port, no template)"
            ));
        }
        if !self.reference.starts_with("https://") {
            return Err(
                "verify.reference: the provider's documentation of the endpoint (https://)".into(),
            );
        }
        if !self.path.starts_with('/') {
            return Err("verify.path must start with `/`".into());
        }
        if !matches!(self.method.as_str(), "GET" | "HEAD" | "POST") {
            return Err("verify.method must be GET, HEAD or POST".into());
        }
        if let Some(fixed) = self.kind.host() {
            // The code builds and signs the request: the block only names
            // the endpoint (for --verify-plan and the host policy) and
            // reads the reply.
            if h != fixed {
                return Err(format!("verify.host of this kind is {fixed:?}"));
            }
            if !self.headers.is_empty() || self.basic_auth.is_some() || self.body.is_some() {
                return Err(
                    "verify: the request of this kind is built by code: no headers, basic_auth or body"
                        .into(),
                );
            }
            if self.kind == VerifyKind::AwsSts && !has_key_id {
                return Err("verify: aws-sts needs the rule's key id".into());
            }
            return self.check_outcomes();
        }
        for t in self.templates() {
            let rest = t.replace("{{secret}}", "").replace("{{key_id}}", "");
            if rest.contains("{{") || rest.contains("}}") {
                return Err(format!(
                    "verify: {t:?} has a template other than {{{{secret}}}} and {{{{key_id}}}}"
                ));
            }
        }
        if !self.templates().any(|t| t.contains("{{secret}}")) {
            return Err("verify: no template sends {{secret}}".into());
        }
        if self.needs_key_id() && !has_key_id {
            return Err("verify uses {{key_id}} but the rule finds no key id".into());
        }
        for (k, v) in &self.headers {
            let token = !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !token || v.chars().any(char::is_control) {
                return Err(format!("verify.headers: {k:?} is not a header"));
            }
        }
        self.check_outcomes()
    }

    /// The outcomes say live and dead only where the provider judged, and
    /// every fixture gives the verdict it expects.
    fn check_outcomes(&self) -> Result<(), String> {
        for o in &self.outcome {
            if o.status.is_empty() {
                return Err("verify.outcome: every outcome names its statuses".into());
            }
            if o.result == State::Skipped {
                return Err("verify.outcome: result is live, dead or indeterminate".into());
            }
            let judged = matches!(o.result, State::Live | State::Dead);
            if judged
                && o.status
                    .iter()
                    .any(|s| matches!(s, 300..=399 | 429 | 500..=599))
            {
                return Err(
                    "verify.outcome: a redirect, 429 or 5xx never says live or dead".into(),
                );
            }
            if o.header
                .keys()
                .any(|k| k.bytes().any(|b| b.is_ascii_uppercase()))
            {
                return Err("verify.outcome.header: names in lower case".into());
            }
        }
        for state in [State::Live, State::Dead] {
            if !self.outcome.iter().any(|o| o.result == state) {
                return Err(format!("verify: no outcome says {}", state.as_str()));
            }
            if !self.fixture.iter().any(|f| f.expect == state) {
                return Err(format!("verify: no fixture expects {}", state.as_str()));
            }
        }
        for (i, f) in self.fixture.iter().enumerate() {
            let reply = Reply {
                status: f.status,
                headers: f
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect(),
                body: f.body.clone().into_bytes(),
            };
            let got = self.evaluate(&reply);
            let bad = |what: String| Err(format!("verify.fixture {}: {what}", i + 1));
            if got.state != Some(f.expect) {
                return bad(format!(
                    "expected {}, the outcomes give {} ({})",
                    f.expect.as_str(),
                    got.state.map_or("nothing", State::as_str),
                    got.reason
                ));
            }
            for (k, want) in &f.identity {
                if got.identity.get(k) != Some(want) {
                    return bad(format!(
                        "identity {k}: expected {want:?}, got {:?}",
                        got.identity.get(k)
                    ));
                }
            }
            if let Some(s) = &f.scopes {
                if &got.scopes != s {
                    return bad(format!("scopes: expected {s:?}, got {:?}", got.scopes));
                }
            }
        }
        Ok(())
    }
}

/// A small XML reply (AWS's query APIs) as JSON: an element with children
/// is an object of them, a leaf is its text; attributes, namespaces and
/// declarations dropped. Malformed, or nested deeper than 16: none.
fn xml_json(body: &[u8]) -> Option<Value> {
    use serde_json::Map;
    let s = std::str::from_utf8(body).ok()?;
    let mut stack: Vec<(String, Map<String, Value>, String)> =
        vec![(String::new(), Map::new(), String::new())];
    let mut rest = s;
    while let Some(lt) = rest.find('<') {
        stack.last_mut()?.2.push_str(&rest[..lt]);
        let gt = lt + rest[lt..].find('>')?;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let (open, map, text) = stack.pop()?;
            if open != name.trim() || stack.is_empty() {
                return None;
            }
            let v = if map.is_empty() {
                Value::String(xml_unescape(text.trim()))
            } else {
                Value::Object(map)
            };
            stack.last_mut()?.1.insert(open, v);
        } else {
            let name = tag.trim_end_matches('/').split_whitespace().next()?;
            if tag.ends_with('/') {
                stack
                    .last_mut()?
                    .1
                    .insert(name.into(), Value::String(String::new()));
            } else if stack.len() > 16 {
                return None;
            } else {
                stack.push((name.into(), Map::new(), String::new()));
            }
        }
    }
    (stack.len() == 1).then(|| Value::Object(stack.pop().expect("one").1))
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn holds(o: &Outcome, reply: &Reply, json: Option<&Value>) -> bool {
    o.status.contains(&reply.status)
        && o.header
            .iter()
            .all(|(k, v)| reply.header(k).is_some_and(|h| h.trim() == v))
        && (o.json.is_empty() && o.json_has.is_empty() && o.json_contains.is_empty()
            || json.is_some_and(|j| {
                o.json.iter().all(|(p, want)| lookup(j, p) == Some(want))
                    && o.json_has
                        .iter()
                        .all(|p| lookup(j, p).is_some_and(|v| !v.is_null()))
                    && o.json_contains.iter().all(|(p, part)| {
                        lookup(j, p)
                            .and_then(Value::as_str)
                            .is_some_and(|s| s.contains(part.as_str()))
                    })
            }))
}

/// `a.b.0.c` in a JSON value.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(clip(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn clip(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FIELD)
        .collect()
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(clip)
        .take(MAX_SCOPES)
        .collect()
}

fn looks_html(r: &Reply) -> bool {
    if r.header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("text/html"))
    {
        return true;
    }
    let start = r
        .body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(r.body.len());
    let head = r.body[start..r.body.len().min(start + 15)].to_ascii_lowercase();
    head.starts_with(b"<!doctype") || head.starts_with(b"<html")
}

/// RFC 3986 unreserved characters stay; every other byte is `%XX`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        // `:` is a path character (RFC 3986 pchar): Telegram's `bot<id>:<key>`.
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn json_escape(s: &str) -> String {
    let quoted = Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> VerifySpec {
        toml::from_str(
            r#"
reference = "https://docs.example-provider.com/me"
host = "api.example-provider.com"
path = "/v1/me?k={{secret}}"
headers = { Authorization = "Bearer {{secret}}" }
scopes_header = "x-scopes"
[[outcome]]
status = [200]
json_has = ["login"]
result = "live"
identity = { login = "login", org = "orgs.0.name" }
[[outcome]]
status = [401, 403]
result = "dead"
reason = "bad credentials"
[[fixture]]
status = 200
headers = { x-scopes = "read, write" }
body = '{"login":"bot","orgs":[{"name":"acme"}]}'
expect = "live"
identity = { login = "bot", org = "acme" }
scopes = ["read", "write"]
[[fixture]]
status = 401
expect = "dead"
"#,
        )
        .unwrap()
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn fixtures_and_checks() {
        let s = spec();
        s.check(false).unwrap();
        let mut bad = s.clone();
        bad.host = "{{secret}}.evil.net".into();
        assert!(bad.check(false).is_err());
        let mut bad = s.clone();
        bad.outcome[1].status.push(503);
        assert!(bad.check(false).is_err());
        let mut bad = s.clone();
        bad.fixture[1].status = 418;
        assert!(bad.check(false).unwrap_err().contains("fixture 2"));
        let mut bad = s;
        bad.headers.insert("X-Key".into(), "{{key_id}}".into());
        assert!(bad.check(false).is_err());
    }

    #[test]
    fn never_judged_replies() {
        let s = spec();
        for (status, body) in [
            (302, ""),
            (429, ""),
            (500, ""),
            (503, ""),
            (401, "<!DOCTYPE html><html>login</html>"),
            (200, "  <html><body>captive portal</body></html>"),
            (200, r#"{"other":1}"#),
            (418, ""),
        ] {
            let v = s.evaluate(&reply(status, body));
            assert_eq!(v.state, Some(State::Indeterminate), "{status} {body}");
        }
        assert_eq!(s.evaluate(&reply(401, "")).state, Some(State::Dead));
    }

    #[test]
    fn xml_replies_read_as_json() {
        let ok = r#"<?xml version="1.0"?><GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/a&amp;b</Arn><UserId>AIDA1</UserId><Account>123456789012</Account></GetCallerIdentityResult>
  <ResponseMetadata><RequestId>r-1</RequestId><Empty/></ResponseMetadata></GetCallerIdentityResponse>"#;
        let j = xml_json(ok.as_bytes()).unwrap();
        let r = &j["GetCallerIdentityResponse"]["GetCallerIdentityResult"];
        assert_eq!(r["Arn"], "arn:aws:iam::123456789012:user/a&b");
        assert_eq!(r["Account"], "123456789012");
        assert_eq!(
            j["GetCallerIdentityResponse"]["ResponseMetadata"]["Empty"],
            ""
        );
        for bad in ["<a><b></a>", "<a>", "</a>", "<a><b>x</b>", "x<a"] {
            assert!(xml_json(bad.as_bytes()).is_none(), "{bad}");
        }
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert!(xml_json(deep.as_bytes()).is_none());
    }

    #[test]
    fn requests_encode_the_secret_where_it_goes() {
        let mut s = spec();
        s.body = Some(r#"{"token":"{{secret}}"}"#.into());
        s.content_type = Some("application/json".into());
        let r = s.request(b"a/b?c\"d", None).unwrap();
        assert_eq!(
            r.url,
            "https://api.example-provider.com/v1/me?k=a%2Fb%3Fc%22d"
        );
        assert_eq!(r.body.unwrap(), br#"{"token":"a/b?c\"d"}"#);
        assert!(r
            .headers
            .contains(&("Authorization".into(), "Bearer a/b?c\"d".into())));
        assert!(s.request(b"ab\r\nX-Evil: 1", None).is_err());
        s.basic_auth = Some(["{{key_id}}".into(), "{{secret}}".into()]);
        assert!(
            s.request(b"abc", None).is_err(),
            "a pair without its key id"
        );
        let r = s.request(b"pw", Some("AC1")).unwrap();
        assert!(r
            .headers
            .contains(&("Authorization".into(), "Basic QUMxOnB3".into())));
    }
}

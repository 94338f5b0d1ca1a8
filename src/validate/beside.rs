//! Validators that read what sits beside a secret, a few lines around it,
//! for the facts a live check needs and reports show: the account and
//! private key of a Google service-account key file whose key id a rule
//! matched, the tenant and application ids assigned next to an Entra ID
//! client secret. They never reject: the rule already matched; they only
//! add facts. Each reads a bounded region, so time stays linear.
use serde_json::Value;

use super::facts::{Around, Facts, Outcome};
use crate::base::secret::Secret;

/// Bytes read before and after the secret.
const BEFORE: usize = 2048;
const AFTER: usize = 8192;
/// Longest fact kept, in bytes.
const MAX_FACT: usize = 200;

/// The region around the secret, and the secret's offset in it.
fn region<'a>(around: &Around<'a>, before: usize, after: usize) -> (&'a [u8], usize) {
    let hay = around.hay;
    let at = around.hay_at.min(hay.len());
    let lo = at.saturating_sub(before);
    let hi = (at + after).min(hay.len());
    (&hay[lo..hi], at - lo)
}

/// `\\` → `\` and `\"` → `"`: one level of JSON string escaping taken off
/// (a key file pasted into a JSON string or an environment variable).
fn unescape_once(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\\' && matches!(text.get(i + 1), Some(b'\\' | b'"')) {
            out.push(text[i + 1]);
            i += 2;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// The string value of JSON key `"name"` nearest to `at`.
fn json_string(text: &[u8], at: usize, name: &str) -> Option<String> {
    let key = format!("\"{name}\"");
    let mut best: Option<(usize, String)> = None;
    for p in memchr::memmem::find_iter(text, key.as_bytes()) {
        let mut q = p + key.len();
        while text.get(q).is_some_and(u8::is_ascii_whitespace) {
            q += 1;
        }
        if text.get(q) != Some(&b':') {
            continue;
        }
        q += 1;
        while text.get(q).is_some_and(u8::is_ascii_whitespace) {
            q += 1;
        }
        let mut values = serde_json::Deserializer::from_slice(&text[q..]).into_iter::<Value>();
        let Some(Ok(Value::String(s))) = values.next() else {
            continue;
        };
        let d = p.abs_diff(at);
        if best.as_ref().is_none_or(|(bd, _)| d < *bd) {
            best = Some((d, s));
        }
    }
    best.map(|(_, s)| s)
}

/// A fact fit to show: short, printable, no controls.
fn fact(s: &str) -> Option<Value> {
    (!s.is_empty() && s.len() <= MAX_FACT && !s.chars().any(char::is_control))
        .then(|| Value::String(s.to_string()))
}

/// A Google service-account key file: `client_email` and `project_id` go
/// into the facts, the PEM `private_key` into the companion.
pub fn gcp_key_file(around: &Around) -> Outcome {
    let (text, at) = region(around, BEFORE, AFTER);
    // Written inside a JSON string: the key id's quote is `\"`.
    let escaped = at >= 2 && text[..at].ends_with(b"\\\"");
    let owned;
    let (text, at) = if escaped {
        owned = unescape_once(text);
        (&owned[..], unescape_once(&text[..at]).len())
    } else {
        (text, at)
    };
    let mut facts = Facts::default();
    for name in ["client_email", "project_id"] {
        if let Some(v) = json_string(text, at, name).as_deref().and_then(fact) {
            facts.decoded.insert(name.to_string(), v);
        }
    }
    if let Some(pem) = json_string(text, at, "private_key") {
        if pem.contains("-----BEGIN PRIVATE KEY-----") && pem.len() <= 16 * 1024 {
            facts.companion = Some(Secret::new(pem.into_bytes()));
        }
    }
    Ok(facts)
}

/// Where the 36-character GUID starting at `i` is one, with no hex or
/// word character either side.
fn guid_at(t: &[u8], i: usize) -> bool {
    let Some(g) = t.get(i..i + 36) else {
        return false;
    };
    let shape = g.iter().enumerate().all(|(k, &b)| match k {
        8 | 13 | 18 | 23 => b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    let word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    shape && !word(i.checked_sub(1).and_then(|j| t.get(j))) && !word(t.get(i + 36))
}

/// The name a value at `i` is assigned to on its line, lower-cased with
/// `_`, `-` and `.` dropped (`AZURE_TENANT_ID` → `azuretenantid`).
fn name_before(t: &[u8], i: usize) -> String {
    let line_start = t[..i]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let mut end = i;
    while end > line_start && matches!(t[end - 1], b' ' | b'\t' | b'"' | b'\'' | b':' | b'=') {
        end -= 1;
    }
    let mut start = end;
    while start > line_start
        && (t[start - 1].is_ascii_alphanumeric() || matches!(t[start - 1], b'_' | b'-' | b'.'))
    {
        start -= 1;
    }
    t[start..end]
        .iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(u8::to_ascii_lowercase)
        .map(char::from)
        .collect()
}

/// An Entra ID client secret: the GUIDs assigned to a tenant name
/// (`AZURE_TENANT_ID`, `tenant`, `TenantId`, a `login.microsoftonline.com/`
/// URL) and to an application name (`AZURE_CLIENT_ID`, `appId`,
/// `ApplicationId`) nearest the secret, as `tenant_id` and `client_id`.
pub fn entra_client_secret(around: &Around) -> Outcome {
    let (text, at) = region(around, 1536, 1536);
    let mut tenant: Option<(usize, &[u8])> = None;
    let mut client: Option<(usize, &[u8])> = None;
    for dash in memchr::memchr_iter(b'-', text) {
        let Some(i) = dash.checked_sub(8) else {
            continue;
        };
        if !guid_at(text, i) {
            continue;
        }
        let name = name_before(text, i);
        let url_tenant = text[..i].ends_with(b"login.microsoftonline.com/");
        let slot = if url_tenant || name.contains("tenant") {
            &mut tenant
        } else if name.ends_with("clientid")
            || name.ends_with("appid")
            || name.ends_with("applicationid")
        {
            &mut client
        } else {
            continue;
        };
        let d = i.abs_diff(at);
        if slot.is_none_or(|(bd, _)| d < bd) {
            *slot = Some((d, &text[i..i + 36]));
        }
    }
    let mut facts = Facts::default();
    for (name, v) in [("tenant_id", tenant), ("client_id", client)] {
        if let Some((_, g)) = v {
            let g = String::from_utf8_lossy(g).to_ascii_lowercase();
            facts.decoded.insert(name.to_string(), Value::String(g));
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn around(hay: &[u8], secret: &str) -> (Facts, usize) {
        let at = memchr::memmem::find(hay, secret.as_bytes()).unwrap();
        let a = Around {
            hay,
            hay_at: at,
            line: hay,
            at,
            ..Around::default()
        };
        (entra_client_secret(&a).unwrap(), at)
    }

    #[test]
    fn entra_ids_from_env_json_and_urls() {
        let t = "11111111-2222-3333-4444-555555555555";
        let c = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
        let other = "99999999-2222-3333-4444-555555555555";
        let env = format!(
            "SUBSCRIPTION_ID={other}\nAZURE_TENANT_ID={t}\nAZURE_CLIENT_ID={c}\nAZURE_CLIENT_SECRET=SECRET\n"
        );
        let (f, _) = around(env.as_bytes(), "SECRET");
        assert_eq!(f.decoded["tenant_id"], t);
        assert_eq!(f.decoded["client_id"], c);
        let cli = format!(
            "{{\n  \"appId\": \"{}\",\n  \"password\": \"SECRET\",\n  \"tenant\": \"{}\"\n}}",
            c.to_uppercase(),
            t
        );
        let (f, _) = around(cli.as_bytes(), "SECRET");
        assert_eq!(f.decoded["tenant_id"], t);
        assert_eq!(f.decoded["client_id"], c, "lower-cased");
        let url =
            format!("authority: https://login.microsoftonline.com/{t}/\nclient_secret: SECRET");
        let (f, _) = around(url.as_bytes(), "SECRET");
        assert_eq!(f.decoded["tenant_id"], t);
        assert!(!f.decoded.contains_key("client_id"));
        // A GUID inside a longer word, or under an unrelated name, is no id.
        let (f, _) = around(
            format!("x_tenant_id=a{t}\nsecret=SECRET").as_bytes(),
            "SECRET",
        );
        assert!(f.decoded.is_empty());
    }

    #[test]
    fn gcp_key_file_plain_and_escaped() {
        let file = "{\n \"type\": \"service_account\",\n \"project_id\": \"acme-1\",\n \"private_key_id\": \"KEYID\",\n \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\",\n \"client_email\": \"ci@acme-1.iam.gserviceaccount.com\"\n}";
        let escaped = format!(
            "CREDS=\"{}\"",
            file.replace('\\', "\\\\").replace('"', "\\\"")
        );
        for text in [file.to_string(), escaped] {
            let hay = text.as_bytes();
            let at = memchr::memmem::find(hay, b"KEYID").unwrap();
            let a = Around {
                hay,
                hay_at: at,
                ..Around::default()
            };
            let f = gcp_key_file(&a).unwrap();
            assert_eq!(
                f.decoded["client_email"],
                "ci@acme-1.iam.gserviceaccount.com"
            );
            assert_eq!(f.decoded["project_id"], "acme-1");
            let pem = f.companion.unwrap();
            assert_eq!(
                pem.expose(),
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            );
        }
    }
}

//! Encoded secrets: where files keep credentials base64-encoded (the `data:`
//! of a Kubernetes Secret, an `Authorization: Basic` header, the `auth` of a
//! docker `config.json`), the value is decoded one level so the matcher can
//! scan the text inside.
//!
//! Receives a haystack and the offset of a context keyword the matcher's
//! prefilter found; hands back the encoded values near it, each with its
//! offset and the text to scan: `key: value` for a Secret's entry (so rules
//! that need a name see one), `username: …` and `password: …` lines for a
//! `user:password` pair. It knows nothing about rules.
use base64::Engine as _;

/// A context keyword, as the prefilter finds it (ignoring case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    /// `kind: Secret`: the manifest's `data:` entries.
    K8sSecret,
    /// `Basic ` after `Authorization` on its line.
    BasicAuth,
    /// `"auth"` in a docker config: `"auth": "<user:password>"`.
    DockerAuth,
}

impl Context {
    /// The keywords the prefilter looks for, and the context each opens.
    pub const KEYWORDS: [(&'static str, Context); 3] = [
        ("kind: secret", Context::K8sSecret),
        ("basic ", Context::BasicAuth),
        ("\"auth\"", Context::DockerAuth),
    ];
}

/// One encoded value and the text it decodes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Byte offset and length of the encoded text in the haystack.
    pub offset: usize,
    pub len: usize,
    /// What the matcher scans.
    pub text: Vec<u8>,
}

/// Shorter encoded values hold nothing worth a rule.
const MIN_ENCODED: usize = 8;

/// The encoded values of the context whose keyword starts at `at`.
pub fn find(hay: &[u8], context: Context, at: usize, out: &mut Vec<Encoded>) {
    match context {
        Context::K8sSecret => k8s_data(hay, at, out),
        Context::BasicAuth => basic_auth(hay, at, out),
        Context::DockerAuth => docker_auth(hay, at, out),
    }
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// The base64 run starting at `from`, with its padding.
fn b64_run(hay: &[u8], from: usize) -> &[u8] {
    let mut end = from;
    while end < hay.len() && is_b64(hay[end]) {
        end += 1;
    }
    let mut pad = 0;
    while end < hay.len() && hay[end] == b'=' && pad < 2 {
        end += 1;
        pad += 1;
    }
    &hay[from..end]
}

/// Standard base64 (padded or not) that decodes to text: UTF-8 without
/// control characters other than tabs and line breaks.
fn decode_text(encoded: &[u8]) -> Option<Vec<u8>> {
    if encoded.len() < MIN_ENCODED {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded))
        .ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return None;
    }
    Some(raw)
}

fn line_bounds(hay: &[u8], pos: usize) -> (usize, usize) {
    let start = memchr::memrchr(b'\n', &hay[..pos]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &hay[pos..]).map_or(hay.len(), |i| pos + i);
    (start, end)
}

/// `username: <user>` and `password: <password>` lines for a decoded
/// `user:password` pair, so that a token in either place meets its rule and
/// a password meets the generic one.
fn credential_pair(raw: &[u8]) -> Option<Vec<u8>> {
    let colon = memchr::memchr(b':', raw)?;
    let (user, password) = (&raw[..colon], &raw[colon + 1..]);
    if memchr::memchr(b'\n', raw).is_some() {
        return None;
    }
    let mut text = b"username: ".to_vec();
    text.extend_from_slice(user);
    text.extend_from_slice(b"\npassword: ");
    text.extend_from_slice(password);
    Some(text)
}

fn basic_auth(hay: &[u8], at: usize, out: &mut Vec<Encoded>) {
    let (ls, _) = line_bounds(hay, at);
    let before = hay[ls..at].to_ascii_lowercase();
    if memchr::memmem::find(&before, b"authorization").is_none() {
        return;
    }
    let from = at + "basic ".len();
    let run = b64_run(hay, from);
    if let Some(text) = decode_text(run).and_then(|raw| credential_pair(&raw)) {
        out.push(Encoded {
            offset: from,
            len: run.len(),
            text,
        });
    }
}

fn docker_auth(hay: &[u8], at: usize, out: &mut Vec<Encoded>) {
    let mut i = at + "\"auth\"".len();
    let skip_ws = |i: &mut usize| {
        while *i < hay.len() && hay[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if hay.get(i) != Some(&b':') {
        return;
    }
    i += 1;
    skip_ws(&mut i);
    if hay.get(i) != Some(&b'"') {
        return;
    }
    let run = b64_run(hay, i + 1);
    if hay.get(i + 1 + run.len()) != Some(&b'"') {
        return;
    }
    if let Some(text) = decode_text(run).and_then(|raw| credential_pair(&raw)) {
        out.push(Encoded {
            offset: i + 1,
            len: run.len(),
            text,
        });
    }
}

/// The YAML document (between `---` lines) holding `pos`.
fn document(hay: &[u8], pos: usize) -> (usize, usize) {
    let start = memchr::memmem::rfind(&hay[..pos], b"\n---").map_or(0, |i| i + 1);
    let end = memchr::memmem::find(&hay[pos..], b"\n---").map_or(hay.len(), |i| pos + i + 1);
    (start, end)
}

fn indent(line: &[u8]) -> usize {
    line.iter().take_while(|&&b| b == b' ').count()
}

/// The entries of the `data:` map of the Secret whose `kind:` is at `at`
/// (before or after it: `kubectl get -o yaml` sorts `data` first).
fn k8s_data(hay: &[u8], at: usize, out: &mut Vec<Encoded>) {
    let value = &hay[at + "kind: secret".len()..];
    if value.first().is_some_and(|b| b.is_ascii_alphanumeric()) {
        return; // `kind: SecretStore` and the like
    }
    let (start, end) = document(hay, at);
    let doc = &hay[start..end];
    let mut lines = Vec::new();
    let mut pos = 0;
    for line in doc.split(|&b| b == b'\n') {
        lines.push((start + pos, line));
        pos += line.len() + 1;
    }
    let Some(d) = lines.iter().position(|(_, l)| l.trim_ascii() == b"data:") else {
        return;
    };
    let data_indent = indent(lines[d].1);
    for &(offset, line) in &lines[d + 1..] {
        if line.trim_ascii().is_empty() || line.trim_ascii_start().starts_with(b"#") {
            continue;
        }
        if indent(line) <= data_indent {
            break;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let key = line[..colon].trim_ascii();
        let mut v = colon + 1;
        while v < line.len() && line[v] == b' ' {
            v += 1;
        }
        let quoted = matches!(line.get(v), Some(b'"' | b'\''));
        if quoted {
            v += 1;
        }
        let run = b64_run(line, v);
        let rest = line[v + run.len()..].trim_ascii();
        if !(rest.is_empty() || quoted && rest.len() == 1) {
            continue;
        }
        if let Some(raw) = decode_text(run) {
            let mut text = key.to_vec();
            text.extend_from_slice(b": ");
            text.extend_from_slice(&raw);
            out.push(Encoded {
                offset: offset + v,
                len: run.len(),
                text,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn all(hay: &str) -> Vec<(usize, String)> {
        let lower = hay.to_ascii_lowercase();
        let mut out = Vec::new();
        for (kw, ctx) in Context::KEYWORDS {
            for (at, _) in lower.match_indices(kw) {
                find(hay.as_bytes(), ctx, at, &mut out);
            }
        }
        out.into_iter()
            .map(|e| (e.offset, String::from_utf8(e.text).unwrap()))
            .collect()
    }

    #[test]
    fn kubernetes_secret_data_before_or_after_kind() {
        let v = b64("s3cr3t-value-1");
        let after = format!("apiVersion: v1\nkind: Secret\ndata:\n  DB_PASSWORD: {v}\n  other: \"{v}\"\nmetadata:\n  name: x\n");
        let got = all(&after);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].1, "DB_PASSWORD: s3cr3t-value-1");
        assert_eq!(&after[got[0].0..got[0].0 + v.len()], v);
        assert_eq!(got[1].1, "other: s3cr3t-value-1");
        let before = format!("apiVersion: v1\ndata:\n  token: {v}\nkind: Secret\n---\nkind: ConfigMap\ndata:\n  plain: {v}\n");
        let at = before.find(&v).unwrap();
        assert_eq!(
            all(&before),
            vec![(at, "token: s3cr3t-value-1".to_string())]
        );
        // Not a Secret, or not base64 text: nothing to decode.
        let store = format!("kind: SecretStore\ndata:\n  x: {v}\n");
        assert!(all(&store).is_empty());
        let binary = format!(
            "kind: Secret\ndata:\n  ca.der: {}\n",
            base64::engine::general_purpose::STANDARD.encode([0u8, 1, 2, 3, 200, 201, 7, 8, 9])
        );
        assert!(all(&binary).is_empty());
    }

    #[test]
    fn basic_auth_and_docker_auth_decode_to_a_pair() {
        let pair = b64("deploy:hunter2-but-longer");
        let h = format!("curl -H \"Authorization: Basic {pair}\" https://x\n");
        assert_eq!(
            all(&h),
            vec![(
                h.find(&pair).unwrap(),
                "username: deploy\npassword: hunter2-but-longer".to_string()
            )]
        );
        assert!(all(&format!("the basic {pair} idea\n")).is_empty());
        let cfg = format!("{{\"auths\": {{\"r.io\": {{\"auth\": \"{pair}\"}}}}}}");
        let got = all(&cfg);
        assert_eq!(got.len(), 1);
        assert_eq!(&cfg[got[0].0..got[0].0 + pair.len()], pair);
        // No colon: not a credential pair.
        assert!(all(&format!("Authorization: Basic {}\n", b64("justoneword12"))).is_empty());
    }
}

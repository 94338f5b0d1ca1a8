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

/// The encoded values of every context whose keyword starts at the given
/// offsets (sorted). Each YAML document is searched for Secrets once,
/// however many `kind: Secret` lines it holds, so the time stays linear in
/// the input.
pub fn find_all(hay: &[u8], contexts: &[(usize, Context)], out: &mut Vec<Encoded>) {
    // The end of the last YAML document searched for Secrets.
    let mut searched_to = 0;
    for &(at, context) in contexts {
        match context {
            Context::K8sSecret => {
                if at < searched_to || !names_a_secret(hay, at) {
                    continue;
                }
                let (start, end) = document(hay, searched_to, at);
                k8s_secrets(hay, start, end, out);
                searched_to = end;
            }
            Context::BasicAuth => basic_auth(hay, at, out),
            Context::DockerAuth => docker_auth(hay, at, out),
        }
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

/// How far before `Basic ` its `Authorization` may stand, on the same line.
/// Bounded, so that a line of many `Basic ` costs no more than it is long.
const AUTHORIZATION_BEFORE: usize = 256;

fn basic_auth(hay: &[u8], at: usize, out: &mut Vec<Encoded>) {
    let from = at.saturating_sub(AUTHORIZATION_BEFORE);
    let ls = memchr::memrchr(b'\n', &hay[from..at]).map_or(from, |i| from + i + 1);
    crate::base::work::add(at - ls);
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

/// The YAML document (between `---` lines) holding `pos`, which starts at
/// or after `from` (the end of the document searched before).
fn document(hay: &[u8], from: usize, pos: usize) -> (usize, usize) {
    let start = memchr::memmem::rfind(&hay[from..pos], b"\n---").map_or(from, |i| from + i + 1);
    let end = memchr::memmem::find(&hay[pos..], b"\n---").map_or(hay.len(), |i| pos + i + 1);
    (start, end)
}

fn indent(line: &[u8]) -> usize {
    line.iter().take_while(|&&b| b == b' ').count()
}

/// Whether the `kind: secret` keyword at `at` names a Secret (not a
/// `SecretStore` or the like).
fn names_a_secret(hay: &[u8], at: usize) -> bool {
    let value = &hay[at + "kind: secret".len()..];
    !value.first().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// A mapping of the document still open while its lines are read: the
/// column of its keys, whether one of them is `kind: Secret`, and the lines
/// of its `data:` keys.
struct Mapping {
    column: usize,
    secret: bool,
    data: Vec<usize>,
}

/// The entries of the `data:` map of every Secret in the document
/// `hay[start..end]`: a Secret's `data:` is a key of the same mapping as
/// its `kind: Secret` (before or after it: `kubectl get -o yaml` sorts
/// `data` first), whether the Secret is the document or an item of a
/// `kind: List`. One pass over the lines; each `data:` block is read once.
fn k8s_secrets(hay: &[u8], start: usize, end: usize, out: &mut Vec<Encoded>) {
    let doc = &hay[start..end];
    crate::base::work::add(doc.len());
    let mut lines = Vec::new();
    let mut pos = 0;
    for line in doc.split(|&b| b == b'\n') {
        lines.push((start + pos, line));
        pos += line.len() + 1;
    }
    let mut open: Vec<Mapping> = Vec::new();
    for (k, &(_, line)) in lines.iter().enumerate() {
        let text = line.trim_ascii();
        if text.is_empty() || text.starts_with(b"#") {
            continue;
        }
        let (column, item) = key_column(line);
        // A line closes the mappings nested deeper than its key, and a list
        // item's first line the previous item's mapping.
        while let Some(top) = open.last() {
            if top.column > column || top.column == column && item {
                let done = open.pop().expect("not empty");
                data_entries(&lines, &done, out);
            } else {
                break;
            }
        }
        if open.last().is_none_or(|top| top.column < column) {
            open.push(Mapping {
                column,
                secret: false,
                data: Vec::new(),
            });
        }
        let top = open.last_mut().expect("pushed");
        let key = line[column..].trim_ascii_end();
        if key == b"data:" {
            top.data.push(k);
        } else if is_secret_kind(key) {
            top.secret = true;
        }
    }
    while let Some(done) = open.pop() {
        data_entries(&lines, &done, out);
    }
}

/// The column of a line's key, and whether the line starts a list item
/// (`- key: value`, whose key stands after the dash).
fn key_column(line: &[u8]) -> (usize, bool) {
    let indent = indent(line);
    let rest = &line[indent..];
    if rest.starts_with(b"- ") {
        let after = rest[1..].iter().take_while(|&&b| b == b' ').count();
        (indent + 1 + after, true)
    } else {
        (indent, false)
    }
}

/// `kind: Secret` (any case, as the prefilter found it), not `SecretStore`.
fn is_secret_kind(key: &[u8]) -> bool {
    let Some(value) = key
        .get(..5)
        .filter(|k| k.eq_ignore_ascii_case(b"kind:"))
        .map(|_| key[5..].trim_ascii())
    else {
        return false;
    };
    let value = value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(value);
    value.eq_ignore_ascii_case(b"secret")
}

/// The encoded entries under the `data:` keys of a Secret's mapping.
fn data_entries(lines: &[(usize, &[u8])], mapping: &Mapping, out: &mut Vec<Encoded>) {
    if !mapping.secret {
        return;
    }
    for &d in &mapping.data {
        for &(offset, line) in &lines[d + 1..] {
            crate::base::work::add(1);
            if line.trim_ascii().is_empty() || line.trim_ascii_start().starts_with(b"#") {
                continue;
            }
            if indent(line) <= mapping.column {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn all(hay: &str) -> Vec<(usize, String)> {
        let lower = hay.to_ascii_lowercase();
        let mut contexts = Vec::new();
        for (kw, ctx) in Context::KEYWORDS {
            for (at, _) in lower.match_indices(kw) {
                contexts.push((at, ctx));
            }
        }
        contexts.sort();
        let mut out = Vec::new();
        find_all(hay.as_bytes(), &contexts, &mut out);
        out.sort_by_key(|e| e.offset);
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

//! A secret's bytes and the two safe ways to show one: its fingerprint (the
//! SHA-256 of the exact bytes, what inventories, baselines and stores key
//! on) and its redacted form. Everything later in the pipeline reads these;
//! this module reads nothing but bytes.
use std::fmt;

use sha2::{Digest, Sha256};

/// Secret bytes. Its `Debug` is redacted, so a stray `{:?}` leaks nothing.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", redact(&self.0))
    }
}

/// `sha256:` and the hex SHA-256 of the exact secret bytes.
pub fn fingerprint(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in digest {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// At most the first 4 and the last 2 characters; fewer for short secrets,
/// so that at least two thirds of any secret stay hidden.
pub fn redact(secret: &[u8]) -> String {
    if secret.is_ascii() {
        // One byte a character: no decoding needed.
        let n = secret.len();
        let (head, tail) = shown(n);
        let mut out = String::with_capacity(head + tail + 3);
        out.extend(secret[..head].iter().map(|&b| char::from(b)));
        out.push('…');
        out.extend(secret[n - tail..].iter().map(|&b| char::from(b)));
        out.retain(|c| c != '\n' && c != '\r');
        return out;
    }
    let s = String::from_utf8_lossy(secret);
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let (head, tail) = shown(n);
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[n - tail..]);
    out.retain(|c| c != '\n' && c != '\r');
    out
}

/// How many leading and trailing characters of an `n`-character secret
/// [`redact`] shows.
fn shown(n: usize) -> (usize, usize) {
    match n {
        0..=5 => (0, 0),
        6..=11 => (1, 0),
        12..=17 => (2, 1),
        _ => (4, 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_most() {
        assert_eq!(
            redact(b"ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "ghp_…89"
        );
        assert_eq!(redact(b"short"), "…");
        assert_eq!(redact(b"password12"), "p…");
        for s in ["abcdefghijkl", "abcdefghijklmnopqrstu", "a", "abcdef"] {
            let r = redact(s.as_bytes());
            let shown = r.chars().filter(|&c| c != '…').count();
            assert!(shown * 3 <= s.len(), "{s} -> {r}");
        }
        assert!(
            !format!("{:?}", Secret::new(b"ghp_supersecretvalue123".to_vec()))
                .contains("supersecret")
        );
    }

    #[test]
    fn fingerprint_is_sha256_of_bytes() {
        assert_eq!(
            fingerprint(b"test"),
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }
}

//! Key stores found by their structure: binary files that hold private keys
//! (with the certificates that go with them), which the text rules cannot
//! read and the sources used to pass over as binary.
//!
//! - PKCS#12 / PFX (RFC 7292 §4): a DER (or BER) `SEQUENCE` of `version`
//!   3 and an `authSafe` `ContentInfo` whose type is PKCS#7 `data` or
//!   `signedData` (OID 1.2.840.113549.1.7.1 or .2).
//! - Java KeyStore: magic `FE ED FE ED` and version 1 or 2 (JKS), or magic
//!   `CE CE CE CE` and version 2 (JCEKS), each a big-endian u32.
//!
//! A rule names its format in `binary`; its examples are the hex of a file's
//! first bytes. The secret reported is `sha256:` and the digest of the
//! content (the whole file, or the first chunk of one above the size limit):
//! the same key store committed twice is one finding, and nothing of it is
//! printed.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Match, Matcher};
use crate::validate::Facts;

/// A binary format a rule can name in `binary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BinaryFormat {
    /// PKCS#12 / PFX (`.p12`, `.pfx`).
    Pkcs12,
    /// Java KeyStore (`.jks`, and `.keystore` before Java 9).
    Jks,
    /// Java's JCEKS key store.
    Jceks,
}

impl BinaryFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryFormat::Pkcs12 => "PKCS#12",
            BinaryFormat::Jks => "JKS",
            BinaryFormat::Jceks => "JCEKS",
        }
    }
}

/// The DER of OID 1.2.840.113549.1.7 (PKCS#7 content types), whose last
/// arc follows: 1 `data`, 2 `signedData`.
const PKCS7: [u8; 10] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07];

/// The format `data` begins with, if it is one of the key stores above.
/// Only the first bytes are read: a truncated file is still recognised.
pub fn sniff(data: &[u8]) -> Option<BinaryFormat> {
    match data.get(..8)? {
        [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 1 | 2] => return Some(BinaryFormat::Jks),
        [0xCE, 0xCE, 0xCE, 0xCE, 0, 0, 0, 2] => return Some(BinaryFormat::Jceks),
        _ => {}
    }
    let at = sequence(data, 0)?;
    if data.get(at..at + 3)? != [0x02, 0x01, 0x03] {
        return None;
    }
    let at = sequence(data, at + 3)?;
    match data.get(at..at + PKCS7.len() + 1)? {
        [oid @ .., 1 | 2] if oid == PKCS7 => Some(BinaryFormat::Pkcs12),
        _ => None,
    }
}

/// Where the content of the `SEQUENCE` at `at` starts: its tag, then a
/// length in short form, long form of 1 to 4 bytes, or BER's indefinite
/// form (which some key tools write).
fn sequence(data: &[u8], at: usize) -> Option<usize> {
    if *data.get(at)? != 0x30 {
        return None;
    }
    match *data.get(at + 1)? {
        0x80 => Some(at + 2),
        n if n < 0x80 => Some(at + 2),
        n if n <= 0x84 => Some(at + 2 + usize::from(n & 0x7F)),
        _ => None,
    }
}

impl Matcher {
    /// The key stores of the `binary` rules in `data`, the whole of an input
    /// or its first chunk: at most one match per rule, at line 1, column 1.
    pub fn scan_binary(&self, data: &[u8]) -> Vec<Match> {
        if self.binary_rules.is_empty() {
            return Vec::new();
        }
        let Some(format) = sniff(data) else {
            return Vec::new();
        };
        let digest = format!("sha256:{:x}", Sha256::digest(data));
        let mut found = Vec::new();
        for &(f, r) in &self.binary_rules {
            if f != format {
                continue;
            }
            let secret = digest.clone().into_bytes();
            let allowed = self
                .opts
                .allow_values
                .iter()
                .position(|re| re.is_match(&secret));
            if allowed.is_some() && !self.opts.keep_suppressed {
                continue;
            }
            let spec = &self.rules.rules()[r].spec;
            let mut facts = Facts::default();
            facts
                .decoded
                .insert("format".into(), format.as_str().into());
            facts.decoded.insert("bytes".into(), data.len().into());
            found.push(Match {
                rule: r,
                secret,
                key_id: None,
                binding: None,
                offset: 0,
                line: 1,
                column: 1,
                lifetime: spec.lifetime,
                facts,
                encoding: None,
                suppressed: allowed.map(super::Suppressed::AllowValue),
            });
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_their_first_bytes() {
        // DER with long-form lengths (OpenSSL), BER with indefinite ones.
        let der = [
            0x30, 0x82, 0x0A, 0x1B, 0x02, 0x01, 0x03, 0x30, 0x82, 0x09, 0xE1, 0x06, 0x09, 0x2A,
            0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01, 0xA0,
        ];
        assert_eq!(sniff(&der), Some(BinaryFormat::Pkcs12));
        let ber = [
            0x30, 0x80, 0x02, 0x01, 0x03, 0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7,
            0x0D, 0x01, 0x07, 0x02,
        ];
        assert_eq!(sniff(&ber), Some(BinaryFormat::Pkcs12));
        // Version 2, another content type, a certificate, truncated input.
        let mut v2 = der;
        v2[6] = 0x02;
        assert_eq!(sniff(&v2), None);
        let mut enveloped = der;
        enveloped[21] = 0x03;
        assert_eq!(sniff(&enveloped), None);
        let cert = [
            0x30, 0x82, 0x03, 0x1B, 0x30, 0x82, 0x02, 0x03, 0xA0, 0x03, 0x02, 0x01,
        ];
        assert_eq!(sniff(&cert), None);
        assert_eq!(sniff(&der[..15]), None);
        assert_eq!(sniff(b"0\x82\x02\x01\x03"), None);
        assert_eq!(
            sniff(&[0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 1]),
            Some(BinaryFormat::Jks)
        );
        assert_eq!(
            sniff(&[0xCE, 0xCE, 0xCE, 0xCE, 0, 0, 0, 2]),
            Some(BinaryFormat::Jceks)
        );
        assert_eq!(sniff(&[0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 3]), None);
        assert_eq!(sniff(b""), None);
    }
}

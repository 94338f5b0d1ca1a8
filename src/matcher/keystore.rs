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
//! - DBeaver's `credentials-config.json`: the saved users and passwords of
//!   its connections, as JSON encrypted with AES-128-CBC under a key built
//!   into DBeaver (the same in every install), the IV in the first block.
//!
//! A rule names its format in `binary` (and may name the files it reads in
//! `files`); its examples are the hex of a file's first bytes. For a key
//! store the secret reported is `sha256:` and the digest of the content
//! (the whole file, or the first chunk of one above the size limit): the
//! same key store committed twice is one finding, and nothing of it is
//! printed. For DBeaver, each saved password is a secret of its own.
use sha2::{Digest, Sha256};

pub use crate::base::kinds::BinaryFormat;

use super::{Match, Matcher};
use crate::validate::Facts;

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
    /// What the `binary` rules find in `data`, the whole of an input called
    /// `name` (its last path component) or its first chunk, at line 1,
    /// column 1: a key store once per rule, each saved DBeaver password.
    pub fn scan_binary(&self, data: &[u8], name: &str) -> Vec<Match> {
        let mut found = Vec::new();
        if self.binary_rules.is_empty() {
            return found;
        }
        let sniffed = sniff(data);
        for (f, r, files) in &self.binary_rules {
            if files.as_ref().is_some_and(|g| !g.is_match(name)) {
                continue;
            }
            let spec = &self.rules.rules()[*r].spec;
            let mut facts = Facts::default();
            facts.decoded.insert("format".into(), f.as_str().into());
            let secrets: Vec<(Vec<u8>, Option<String>)> = match f {
                BinaryFormat::DbeaverCredentials => dbeaver_passwords(data),
                _ if sniffed == Some(*f) => {
                    facts.decoded.insert("bytes".into(), data.len().into());
                    let digest = format!("sha256:{:x}", Sha256::digest(data));
                    vec![(digest.into_bytes(), None)]
                }
                _ => continue,
            };
            for (secret, user) in secrets {
                let allowed = self
                    .opts
                    .allow_values
                    .iter()
                    .position(|re| re.is_match(&secret));
                if allowed.is_some() && !self.opts.keep_suppressed {
                    continue;
                }
                found.push(Match {
                    rule: *r,
                    secret,
                    key_id: user,
                    binding: None,
                    offset: 0,
                    line: 1,
                    column: 1,
                    lifetime: spec.lifetime,
                    facts: facts.clone(),
                    encoding: None,
                    suppressed: allowed.map(super::Suppressed::AllowValue),
                });
            }
        }
        found
    }
}

/// DBeaver's built-in key for `credentials-config.json` (the
/// `LOCAL_KEY_CACHE` of its default secure storage, published with its
/// source). The file is the IV, then the JSON encrypted with PKCS#7 padding.
const DBEAVER_KEY: [u8; 16] = [
    0xBA, 0xBB, 0x4A, 0x9F, 0x77, 0x4A, 0xB8, 0x53, 0xC9, 0x6C, 0x2D, 0x65, 0x3D, 0xFE, 0x54, 0x4A,
];

/// Each non-empty password saved in a DBeaver `credentials-config.json`,
/// with the user it goes with; nothing if the file does not decrypt to
/// JSON (another file of that name, a damaged one, one encrypted with a
/// master password).
fn dbeaver_passwords(data: &[u8]) -> Vec<(Vec<u8>, Option<String>)> {
    use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        return Vec::new();
    }
    let (iv, body) = data.split_at(16);
    let mut buf = body.to_vec();
    let Ok(plain) = cbc::Decryptor::<aes::Aes128>::new(&DBEAVER_KEY.into(), iv.into())
        .decrypt_padded_mut::<Pkcs7>(&mut buf)
    else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Object(sources)) = serde_json::from_slice(plain) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in sources.values() {
        let conn = &entry["#connection"];
        if let Some(p) = conn["password"].as_str().filter(|p| !p.is_empty()) {
            let user = conn["user"].as_str().map(str::to_string);
            out.push((p.as_bytes().to_vec(), user));
        }
    }
    out
}

/// `plain` as DBeaver writes `credentials-config.json` (for tests and the
/// accuracy corpus): `iv`, then the AES-128-CBC encryption under its key.
#[cfg(any(test, feature = "testkit"))]
pub fn dbeaver_encrypt(plain: &[u8], iv: [u8; 16]) -> Vec<u8> {
    use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + 16 - plain.len() % 16, 0);
    let n = cbc::Encryptor::<aes::Aes128>::new(&DBEAVER_KEY.into(), &iv.into())
        .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
        .expect("room for the padding")
        .len();
    let mut out = iv.to_vec();
    out.extend_from_slice(&buf[..n]);
    out
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

    #[test]
    fn dbeaver_files_decrypt_to_their_passwords() {
        let plain = br##"{"a":{"#connection":{"user":"u","password":"p4ss-w0rd"}},"b":{"#connection":{"password":""}},"c":{}}"##;
        let file = dbeaver_encrypt(plain, [7; 16]);
        assert_eq!(
            dbeaver_passwords(&file),
            [(b"p4ss-w0rd".to_vec(), Some("u".to_string()))]
        );
        // Damaged, truncated, not a whole number of blocks, not JSON.
        let mut damaged = file.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert!(dbeaver_passwords(&damaged).is_empty());
        assert!(dbeaver_passwords(&file[..file.len() - 16]).is_empty());
        assert!(dbeaver_passwords(&file[..file.len() - 1]).is_empty());
        assert!(dbeaver_passwords(&dbeaver_encrypt(b"[1, 2]", [0; 16])).is_empty());
        assert!(dbeaver_passwords(&[]).is_empty());
    }
}

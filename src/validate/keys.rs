//! Keys and key ids: the AWS account an access key id encodes, and whether
//! a private key block carries a real body (and is encrypted).
use base64::Engine as _;
use serde_json::Value;

use super::facts::{Facts, Outcome};

/// Decodes RFC 4648 base32 (upper case, no padding) as AWS key ids use it.
fn base32_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buf, mut bits) = (0u64, 0u32);
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buf = (buf << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// The AWS account id encoded in a new-generation access key id (`AKIA`,
/// `ASIA`, ...), if the id has one.
pub fn aws_account_id(key_id: &[u8]) -> Option<String> {
    if key_id.len() != 20 {
        return None;
    }
    let b = base32_decode(&key_id[4..])?;
    let z = b[..6].iter().fold(0u64, |acc, &x| (acc << 8) | x as u64);
    if (z >> 47) & 1 == 0 {
        return None; // old generation: no account id inside
    }
    Some(format!("{:012}", (z & 0x7fff_ffff_ff80) >> 7))
}

pub fn aws_key_id(key_id: &[u8]) -> Outcome {
    let mut facts = Facts::default();
    if let Some(account) = aws_account_id(key_id) {
        facts
            .decoded
            .insert("aws_account_id".into(), Value::String(account));
    }
    Ok(facts)
}

/// A private key block must carry a body, not `...`; OpenSSH keys say whether
/// they are encrypted.
pub fn private_key(block: &[u8]) -> Outcome {
    let header_end = memchr::memmem::find(block, b"KEY-----")
        .or_else(|| memchr::memmem::find(block, b"BLOCK-----"))
        .ok_or("no BEGIN line")?;
    let body_start = header_end + memchr::memchr(b'-', &block[header_end..]).unwrap_or(0) + 5;
    let body_end = memchr::memmem::rfind(block, b"-----END").ok_or("no END line")?;
    if body_end <= body_start {
        return Err("empty key body");
    }
    let mut b64 = Vec::new();
    let body = &block[body_start..body_end];
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'\\' && body.get(i + 1) == Some(&b'n') {
            i += 2;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=' {
            b64.push(c);
        } else if c == b':' {
            // A PEM header line such as `Proc-Type: 4,ENCRYPTED`: drop it.
            while b64.last().is_some_and(|&b| b != b'\n') && !b64.is_empty() {
                b64.pop();
            }
        }
        i += 1;
    }
    // An Ed25519 or X25519 key in PKCS#8 is 48 bytes: 64 characters of
    // base64, `+` and `/` among them.
    let chars = b64.iter().filter(|&&b| b != b'=').count();
    if chars < 64 {
        return Err("key body too short to be a key");
    }
    let mut facts = Facts::default();
    let encrypted = memchr::memmem::find(block, b"ENCRYPTED").is_some()
        || openssh_cipher(&b64).is_some_and(|c| c != "none");
    facts.decoded.insert("encrypted".into(), encrypted.into());
    Ok(facts)
}

fn openssh_cipher(b64: &[u8]) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.strip_suffix(b"=").unwrap_or(b64))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64))
        .ok()?;
    let rest = raw.strip_prefix(b"openssh-key-v1\0")?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    Some(String::from_utf8_lossy(rest.get(4..4 + len)?).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_account_id_known_answer() {
        assert_eq!(
            aws_account_id(b"ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
        // Old-generation ids (the documentation example) carry no account.
        assert_eq!(aws_account_id(b"AKIAIOSFODNN7EXAMPLE"), None);
    }

    /// A PKCS#8 Ed25519 or X25519 key (RFC 8410): a fixed 16-byte header
    /// (the OID 1.3.101.112 or .110) and 32 random bytes, in PEM.
    fn curve25519_pem(f: &mut crate::testkit::fakes::Fakes, x25519: bool) -> String {
        use base64::Engine;
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        if x25519 {
            der[11] = 0x6e;
        }
        der.extend((0..32).map(|_| f.below(256) as u8));
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
    }

    #[test]
    fn curve25519_keys_are_keys_whatever_their_base64() {
        let mut f = crate::testkit::fakes::Fakes::new(25519);
        for i in 0..200 {
            let pem = curve25519_pem(&mut f, i % 2 == 1);
            assert!(private_key(pem.as_bytes()).is_ok(), "{pem}");
        }
    }

    #[test]
    fn private_key_bodies() {
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n";
        let key = format!("-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----");
        assert_eq!(
            private_key(key.as_bytes()).unwrap().decoded["encrypted"],
            false
        );
        let stub = "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----";
        assert!(private_key(stub.as_bytes()).is_err());
    }
}

//! Fake credentials in the exact shape providers issue them (prefix, length,
//! alphabet, checksum), made at run time from a seeded generator, for tests
//! and benches. Nothing here is a live secret, and because the values are
//! built when needed, no committed file carries token-shaped strings that
//! other scanners would flag.
use base64::Engine as _;

use crate::validate::checksums::base62;

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const URLSAFE: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";
const B64: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/";
const HEX: &[u8] = b"0123456789abcdef";
const UPPER_ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

/// A small deterministic generator (xorshift64*): same seed, same fakes.
#[derive(Debug, Clone)]
pub struct Fakes {
    state: u64,
}

/// ASCII `text` in lines of `width` characters, as armoured blocks hold it.
fn wrap(text: &str, width: usize) -> String {
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(width)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    lines.join("\n")
}

impl Fakes {
    pub fn new(seed: u64) -> Fakes {
        Fakes {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// A key store file of `format` as the tools write it: the structure's
    /// header (PKCS#12: DER lengths that hold the rest; JKS and JCEKS: the
    /// magic, version 2 and an entry count), then random bytes standing for
    /// the encrypted keys, certificates and integrity check. For DBeaver, a
    /// `credentials-config.json` holding one connection's user and password.
    pub fn key_store(&mut self, format: crate::matcher::keystore::BinaryFormat) -> Vec<u8> {
        use crate::matcher::keystore::BinaryFormat;
        let body = 1200 + self.below(2000);
        let mut out = match format {
            BinaryFormat::Pkcs12 => {
                let inner = body + 15;
                let mut v = vec![0x30, 0x82];
                v.extend_from_slice(&((inner + 7) as u16).to_be_bytes());
                v.extend_from_slice(&[0x02, 0x01, 0x03, 0x30, 0x82]);
                v.extend_from_slice(&(inner as u16).to_be_bytes());
                v.extend_from_slice(&[
                    0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
                ]);
                v
            }
            BinaryFormat::Jks => vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 1],
            BinaryFormat::Jceks => vec![0xCE, 0xCE, 0xCE, 0xCE, 0, 0, 0, 2, 0, 0, 0, 2],
            BinaryFormat::DbeaverCredentials => {
                let plain = format!(
                    r##"{{"postgres-jdbc-{}":{{"#connection":{{"user":"svc_{}","password":"{}"}}}}}}"##,
                    self.hex(12),
                    self.chars(b"abcdefghijklmnopqrstuvwxyz", 6),
                    self.alnum(18)
                );
                // An IV with a NUL, as 6% of random ones have: the file is
                // then binary (without one, it is read as text, with an
                // invalid UTF-8 warning the accuracy test does not expect).
                let mut iv: [u8; 16] = self.bytes(16).try_into().expect("16 bytes");
                iv[self.below(16)] = 0;
                return crate::matcher::keystore::dbeaver_encrypt(plain.as_bytes(), iv);
            }
        };
        out.extend(self.bytes(body));
        out
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `n` characters of `alphabet`, never a run of three identical ones (so
    /// no fake trips placeholder rejection by chance).
    pub fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let c = alphabet[self.below(alphabet.len())];
            let l = out.len();
            if l >= 2 && out[l - 1] == c && out[l - 2] == c {
                continue;
            }
            out.push(c);
            let s = String::from_utf8_lossy(&out).to_ascii_lowercase();
            if [
                "xxx", "example", "dummy", "fake", "test", "here", "mock", "demo", "sample",
                "fixture", "invalid", "notreal", "foobar",
            ]
            .iter()
            .any(|w| s.ends_with(w))
            {
                out.truncate(l);
            }
        }
        String::from_utf8(out).expect("ascii")
    }

    pub fn alnum(&mut self, n: usize) -> String {
        self.chars(ALNUM, n)
    }

    pub fn hex(&mut self, n: usize) -> String {
        self.chars(HEX, n)
    }

    /// GitHub `ghp_`/`gho_`/`ghu_`/`ghs_` (30-char body) or `ghr_` (70): body +
    /// base62(crc32(body)).
    pub fn github(&mut self, prefix: &str) -> String {
        let body = self.alnum(if prefix == "ghr" { 70 } else { 30 });
        let check = base62(crc32fast::hash(body.as_bytes()) as u64, 6);
        format!("{prefix}_{body}{check}")
    }

    /// A GitHub-shaped token whose checksum is wrong.
    pub fn github_bad_checksum(&mut self, prefix: &str) -> String {
        let good = self.github(prefix);
        let (head, last) = good.split_at(good.len() - 1);
        let flipped = if last == "A" { "B" } else { "A" };
        format!("{head}{flipped}")
    }

    pub fn github_fine_grained(&mut self) -> String {
        format!("github_pat_11{}_{}", self.alnum(20), self.alnum(59))
    }

    /// The installation-token form `ghs_<app id>_<JWT>` (one hour).
    pub fn github_installation(&mut self) -> String {
        let app = 100_000 + self.below(900_000);
        let installation = self.below(90_000_000);
        let jwt = self.jwt(&format!(
            r#"{{"iss":"{app}","iat":1767225600,"exp":1767229200,"installation_id":{installation}}}"#
        ));
        format!("ghs_{app}_{jwt}")
    }

    pub fn npm(&mut self) -> String {
        let body = self.alnum(30);
        format!(
            "npm_{body}{}",
            base62(crc32fast::hash(body.as_bytes()) as u64, 6)
        )
    }

    /// A routable GitLab PAT naming organisation `org` and user `user`, with
    /// a valid checksum (the layout of GitLab's routable token generator).
    pub fn gitlab_routable(&mut self, org: u64, user: u64) -> String {
        use crate::validate::checksums::base36;
        let payload = format!("o:{}\nu:{}", base36(org, 1), base36(user, 1));
        let mut raw: Vec<u8> = (0..16).map(|_| self.next_u64() as u8).collect();
        raw.extend(payload.as_bytes());
        raw.push(payload.len() as u8);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let body = format!("glpat-{b64}.01.{}", base36(b64.len() as u64, 2));
        let crc = base36(crc32fast::hash(body.as_bytes()) as u64, 7);
        format!("{body}{crc}")
    }

    pub fn gitlab_pat(&mut self) -> String {
        format!("glpat-{}", self.chars(URLSAFE, 20))
    }

    /// A new-generation AWS key id (`AKIA`/`ASIA`), whose account id decodes.
    pub fn aws_key_id(&mut self, prefix: &str) -> String {
        let first = BASE32[16 + self.below(16)] as char; // Q..Z, 2..7
        format!("{prefix}{first}{}", self.chars(BASE32, 15))
    }

    pub fn aws_secret(&mut self) -> String {
        self.chars(B64, 40)
    }

    /// OpenAI `sk-proj-`, `sk-svcacct-` (74 + marker + 74) or `sk-admin-` (58 + marker + 58).
    pub fn openai(&mut self, kind: &str) -> String {
        let n = if kind == "admin" { 58 } else { 74 };
        format!(
            "sk-{kind}-{}T3BlbkFJ{}",
            self.chars(URLSAFE, n),
            self.chars(URLSAFE, n)
        )
    }

    pub fn openai_legacy(&mut self) -> String {
        format!("sk-{}T3BlbkFJ{}", self.alnum(20), self.alnum(20))
    }

    /// Anthropic `sk-ant-api03-` or `sk-ant-admin01-`: 93 characters and `AA`.
    pub fn anthropic(&mut self, kind: &str) -> String {
        format!("sk-ant-{kind}-{}AA", self.chars(URLSAFE, 93))
    }

    pub fn huggingface(&mut self) -> String {
        format!("hf_{}", self.chars(LETTERS, 34))
    }

    pub fn google_api_key(&mut self) -> String {
        format!("AIza{}", self.chars(URLSAFE, 35))
    }

    pub fn slack_bot(&mut self) -> String {
        format!(
            "xoxb-{}-{}-{}",
            self.chars(DIGITS, 12),
            self.chars(DIGITS, 13),
            self.alnum(24)
        )
    }

    pub fn slack_user(&mut self) -> String {
        format!(
            "xoxp-{}-{}-{}-{}",
            self.chars(DIGITS, 12),
            self.chars(DIGITS, 12),
            self.chars(DIGITS, 13),
            self.hex(32)
        )
    }

    pub fn slack_app(&mut self) -> String {
        format!(
            "xapp-1-A{}-{}-{}",
            self.chars(UPPER_ALNUM, 10),
            self.chars(DIGITS, 13),
            self.hex(64)
        )
    }

    pub fn slack_webhook(&mut self) -> String {
        format!(
            "https://hooks.slack.com/services/T{}/B{}/{}",
            self.chars(UPPER_ALNUM, 10),
            self.chars(UPPER_ALNUM, 10),
            self.alnum(24)
        )
    }

    /// Stripe `sk_live_` / `rk_live_` with the current 99-character body.
    pub fn stripe(&mut self, prefix: &str) -> String {
        format!("{prefix}_live_{}", self.alnum(99))
    }

    pub fn stripe_webhook_secret(&mut self) -> String {
        format!("whsec_{}", self.alnum(32))
    }

    pub fn pypi(&mut self) -> String {
        format!("pypi-AgEIcHlwaS5vcmc{}", self.chars(URLSAFE, 160))
    }

    /// An Azure identifiable key of `bytes` bytes: random, then the service
    /// signature `sig` just before the checksum, then the Marvin32 checksum
    /// of the rest seeded with `seed`, in standard or URL-safe base64.
    pub fn azure_key(&mut self, sig: &str, bytes: usize, url_safe: bool, seed: u64) -> String {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine as _;
        let chars = (bytes * 8).div_ceil(6);
        let alphabet: &[u8] = if url_safe {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        } else {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        };
        let text = format!("{}{sig}AAAAAA", self.chars(alphabet, chars - 10));
        let engine = if url_safe {
            URL_SAFE_NO_PAD
        } else {
            base64::engine::general_purpose::STANDARD_NO_PAD
        };
        let mut raw = engine.decode(&text).expect("base64 of the right length");
        let n = raw.len();
        let check = crate::validate::checksums::marvin32(&raw[..n - 4], seed);
        raw[n - 4..].copy_from_slice(&check.to_le_bytes());
        if url_safe {
            URL_SAFE_NO_PAD.encode(raw)
        } else {
            STANDARD.encode(raw)
        }
    }

    /// A PyPI token that parses as PyPI issues it: a version 2 macaroon at
    /// `pypi.org` with these caveats (JSON texts) and a random signature.
    pub fn pypi_macaroon(&mut self, caveats: &[&str]) -> String {
        use base64::Engine as _;
        fn field(out: &mut Vec<u8>, kind: u8, data: &[u8]) {
            out.push(kind);
            assert!(data.len() < 128, "one-byte lengths only");
            out.push(data.len() as u8);
            out.extend_from_slice(data);
        }
        let mut bin = vec![2u8];
        field(&mut bin, 1, b"pypi.org");
        let id = format!(
            "{}-{}-4{}-a{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(3),
            self.hex(12)
        );
        field(&mut bin, 2, id.as_bytes());
        bin.push(0);
        for c in caveats {
            field(&mut bin, 2, c.as_bytes());
            bin.push(0);
        }
        bin.push(0);
        let sig: Vec<u8> = (0..32).map(|_| self.next_u64() as u8).collect();
        field(&mut bin, 6, &sig);
        format!(
            "pypi-{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bin)
        )
    }

    pub fn docker_pat(&mut self) -> String {
        format!("dckr_pat_{}", self.chars(URLSAFE, 27))
    }

    /// A PEM block of the given kind (`RSA PRIVATE KEY`, `PRIVATE KEY`, ...)
    /// with a random body: the right shape, not a usable key.
    pub fn pem(&mut self, label: &str) -> String {
        let mut body = String::from("MIIEow");
        body.push_str(&self.chars(B64, 64 * 20));
        let lines = wrap(&body, 64);
        format!("-----BEGIN {label}-----\n{}\n-----END {label}-----", lines)
    }

    /// An unencrypted OpenSSH private key block (cipher `none`).
    pub fn openssh(&mut self) -> String {
        let mut raw = b"openssh-key-v1\0".to_vec();
        for field in [&b"none"[..], b"none", b""] {
            raw.extend((field.len() as u32).to_be_bytes());
            raw.extend(field);
        }
        raw.extend(1u32.to_be_bytes());
        for _ in 0..300 {
            raw.push(self.next_u64() as u8);
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        let lines = wrap(&b64, 70);
        format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----",
            lines
        )
    }

    /// An armoured PGP private key block with a random body and checksum line.
    pub fn pgp(&mut self) -> String {
        let mut body = String::from("lQPGBF");
        body.push_str(&self.chars(B64, 64 * 12));
        let lines = wrap(&body, 64);
        format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{}\n={}\n-----END PGP PRIVATE KEY BLOCK-----",
            lines,
            self.chars(B64, 4)
        )
    }

    /// A JWT with the given claims and a random HS256-sized signature.
    pub fn jwt(&mut self, claims: &str) -> String {
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.{}",
            e(r#"{"alg":"HS256","typ":"JWT"}"#),
            e(claims),
            self.chars(URLSAFE, 43)
        )
    }

    /// A password that may stand in a URI as it is (RFC 3986 userinfo).
    pub fn password(&mut self) -> String {
        format!("{}{}", self.alnum(14), self.chars(b"!*-_.~", 1))
    }

    /// A generic secret value: letters and digits, high entropy.
    pub fn generic_value(&mut self) -> String {
        loop {
            let v = self.alnum(28);
            if v.bytes().any(|b| b.is_ascii_digit()) && v.bytes().any(|b| b.is_ascii_alphabetic()) {
                return v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::kinds::Checksum;
    use crate::validate::checksums::crc32_base62;
    use crate::validate::keys::aws_account_id;

    #[test]
    fn fakes_have_the_right_shape() {
        let mut f = Fakes::new(7);
        for p in ["ghp", "gho", "ghu", "ghs", "ghr"] {
            let t = f.github(p);
            assert_eq!(t.len(), if p == "ghr" { 80 } else { 40 });
            assert_eq!(
                crc32_base62(t.as_bytes()).unwrap().checksum,
                Some(Checksum::Valid)
            );
            let bad = f.github_bad_checksum(p);
            assert_eq!(
                crc32_base62(bad.as_bytes()).unwrap().checksum,
                Some(Checksum::Invalid)
            );
        }
        assert_eq!(
            crc32_base62(f.npm().as_bytes()).unwrap().checksum,
            Some(Checksum::Valid)
        );
        assert!(aws_account_id(f.aws_key_id("AKIA").as_bytes()).is_some());
        assert_eq!(f.anthropic("api03").len(), 108);
        assert_eq!(f.google_api_key().len(), 39);
        let gl = f.gitlab_routable(7, 123_456);
        let facts = crate::validate::checksums::gitlab_routable(gl.as_bytes()).unwrap();
        assert_eq!(facts.checksum, Some(Checksum::Valid));
        assert_eq!(facts.decoded["gitlab_user_id"], "123456");
        assert_eq!(Fakes::new(1).alnum(50), Fakes::new(1).alnum(50));
    }
}

//! Offline checks on a candidate secret, the matcher's last filters after a
//! rule's regex matched: [`filters`] (entropy, placeholders, stand-in
//! passwords), [`checksums`] (the CRC32, base36, Marvin32, bech32 and
//! Atlassian schemes providers embed), [`tokens`] (JWT, PyPI macaroons,
//! Sentry, 1Password, Azure SAS), [`keys`] (AWS key ids, private key blocks)
//! and [`generic`] (the generic assignment rule's heuristics).
//!
//! Receives the bytes a regex captured and what surrounds them; hands back
//! whether to keep them and the [`Facts`] the format revealed. Nothing here
//! knows about rules, files or findings: a rule names its check by
//! [`Validator`], and [`run`] runs it.
pub mod beside;
pub mod checksums;
pub mod facts;
pub mod filters;
pub mod generic;
pub mod keys;
pub mod tokens;

use serde::{Deserialize, Serialize};

pub use facts::{Around, Facts, Outcome};

/// Offline checks a rule may ask for after its regex matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validator {
    /// GitHub and npm: last 6 chars are base62(crc32(body)).
    Crc32Base62,
    /// A JWT (optionally behind a `ghs_<app id>_` prefix): header and claims decode.
    Jwt,
    /// AWS access key id: decodes the account id.
    AwsKeyId,
    /// A PEM/OpenSSH/PGP block with a real body.
    PrivateKey,
    /// The password of a connection URI is not a placeholder, nor one for a
    /// documentation host (`user:pw@example.com`).
    ConnectionString,
    /// A password in JetBrains' legacy encoding (XOR 0xdfaa per character,
    /// hex) that decodes to typed text and is no placeholder.
    JetbrainsPassword,
    /// A value assigned to a secret-like name looks like a secret.
    Generic,
    /// Grafana `glsa_<32>_<8 hex>`: hex of crc32("glsa_" + secret), little-endian.
    GrafanaCrc32,
    /// Zuplo `zpka_<32 hex>_<8 hex>`: hex of crc32(body), big-endian.
    ZuploCrc32,
    /// Confluent `cflt<54><6>`: base64 of crc32(body) little-endian, first 6.
    ConfluentCrc32,
    /// GitLab routable tokens: base36 crc32 of all before it; decodes the
    /// organisation and user ids.
    GitlabRoutable,
    /// PyPI tokens: the macaroon's caveats (user-wide, project-scoped,
    /// Trusted Publishing with its expiry).
    PypiMacaroon,
    /// Atlassian / Bitbucket: 8 upper-case hex digits of CRC32 of the rest.
    AtlassianCrc32,
    /// Bech32 (BIP 173) checksum, as age secret keys carry it.
    Bech32,
    /// Sentry `sntrys_`: the base64 JSON payload's creation time and org.
    SentryOrgToken,
    /// 1Password `ops_`: the base64 JSON's service account email.
    OnepasswordServiceAccount,
    /// Azure SAS: expiry, permissions and account from the query string.
    AzureSas,
    /// Azure identifiable keys: Marvin32 checksum seeded per key kind.
    AzureIdentifiable,
    /// A Google service-account key file: the account's e-mail, project
    /// and private key, read from the JSON around the key id.
    GcpKeyFile,
    /// An Entra ID client secret: the tenant and application ids assigned
    /// beside it.
    EntraClientSecret,
}

/// Runs validator `v` on a secret.
pub fn run(v: Validator, secret: &[u8], around: &Around) -> Outcome {
    let (key_id, line, at) = (around.key_id, around.line, around.at);
    use self::{checksums::*, generic::*, keys::*, tokens::*};
    match v {
        Validator::Crc32Base62 => crc32_base62(secret),
        Validator::Jwt => jwt_token(secret),
        Validator::AwsKeyId => aws_key_id(key_id.unwrap_or(secret)),
        Validator::PrivateKey => private_key(secret),
        Validator::ConnectionString => filters::uri_password(secret, line, at),
        Validator::JetbrainsPassword => filters::jetbrains_password(secret),
        Validator::Generic => generic_assignment(secret, around.binding, around.line),
        Validator::GrafanaCrc32 => grafana_crc32(secret),
        Validator::ZuploCrc32 => zuplo_crc32(secret),
        Validator::ConfluentCrc32 => confluent_crc32(secret),
        Validator::GitlabRoutable => gitlab_routable(secret),
        Validator::PypiMacaroon => pypi_macaroon(secret),
        Validator::AtlassianCrc32 => atlassian_crc32(secret),
        Validator::Bech32 => bech32(secret),
        Validator::SentryOrgToken => sentry_org_token(secret),
        Validator::OnepasswordServiceAccount => onepassword_service_account(secret),
        Validator::AzureSas => azure_sas(line, at),
        Validator::AzureIdentifiable => azure_identifiable(secret),
        Validator::GcpKeyFile => beside::gcp_key_file(around),
        Validator::EntraClientSecret => beside::entra_client_secret(around),
    }
}

//! The words every stage uses to say what a credential is: how long it
//! lives, what kind of principal it acts as, whether its embedded checksum
//! holds, and how the text it was found in was encoded. Rules declare them,
//! validators refine them, findings carry them, reports print them.
use serde::{Deserialize, Serialize};

/// How long a credential of this kind stays valid once issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lifetime {
    Long,
    Short,
    #[default]
    Unknown,
}

impl Lifetime {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifetime::Long => "long",
            Lifetime::Short => "short",
            Lifetime::Unknown => "unknown",
        }
    }
}

/// How sure keytrace is that a finding is a live credential. A rule
/// declares how distinctive its format is; a finding starts there and may
/// only drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Seen only in test, example or fixture paths, and the value fails a
    /// format check (its checksum, or it looks made up); or a rule that says
    /// its format is barely distinctive. Still reported: a checksum-valid
    /// credential is never `low` for its path alone.
    Low,
    /// A format without a prefix of its own (bare hex, a UUID, short
    /// alphanumerics), recognised by a provider word next to it.
    Medium,
    #[default]
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }
}

/// What kind of principal a credential of this kind acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityClass {
    User,
    Bot,
    Service,
    App,
}

/// Whether an embedded checksum holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Checksum {
    Valid,
    Invalid,
}

/// How the text a secret was found in had been encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Base64,
}

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
    /// DBeaver's saved connection credentials (`credentials-config.json`):
    /// AES-128-CBC under a key every DBeaver install shares, so the
    /// passwords inside are as good as clear text. Each one is reported.
    DbeaverCredentials,
}

impl BinaryFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryFormat::Pkcs12 => "PKCS#12",
            BinaryFormat::Jks => "JKS",
            BinaryFormat::Jceks => "JCEKS",
            BinaryFormat::DbeaverCredentials => "DBeaver credentials",
        }
    }
}

//! What the corpus is made of: the [`Label`]s of its credentials and the
//! [`Corpus`] itself, and the pieces the generator works with (a sample in
//! its example's context, the body it takes in a file, an item to lay out,
//! the encodings real files wrap credentials in).
use super::formats::Host;

/// One credential the corpus holds: where a scanner should report it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label {
    pub rule: String,
    pub path: String,
    /// 1-based line of the secret's first byte (of the encoded text, when
    /// the credential is encoded).
    pub line: u32,
    /// The credential is there base64-encoded.
    pub encoded: bool,
}

pub struct Corpus {
    /// Relative path and content of every file.
    pub files: Vec<(String, String)>,
    /// Relative path and content of every binary file (key stores, and
    /// binaries that are not).
    pub binaries: Vec<(String, Vec<u8>)>,
    pub labels: Vec<Label>,
    /// How many decoys the files hold.
    pub decoys: usize,
}

/// A credential (or decoy) in the context of its example.
#[derive(Debug, Clone)]
pub(super) struct Sample {
    /// The example with the fresh value in it.
    pub(super) text: String,
    /// Byte offset of the secret in `text`.
    pub(super) at: usize,
    pub(super) secret: String,
}

/// What goes into a file: an assignment the file's syntax can render, or a
/// line (or block) kept as written.
#[derive(Debug, Clone)]
pub(super) enum Body {
    Assign {
        name: String,
        value: String,
        at: usize,
    },
    Line {
        text: String,
        at: usize,
        host: Host,
    },
    /// A multi-line example: a file of its own.
    File {
        text: String,
        at: usize,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) body: Body,
    /// The rule whose credential this is; `None` for a decoy.
    pub(super) rule: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wrapping {
    K8sData,
    BasicAuth,
    DockerAuth,
    DockerConfigJson,
}

pub(super) fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

//! keytrace: finds leaked and long-lived credentials of non-human identities,
//! and tells for each one who is accountable for it.
//!
//! The pipeline, one module per stage, each using only the stages before it:
//!
//! 1. [`source`]: what to read. Files of a directory tree ([`source::fs`])
//!    and every distinct blob of a git history ([`source::git`]), handed to
//!    per-thread sinks in chunks, each with its origin.
//! 2. [`matcher`]: where the secrets are. A keyword prefilter, each rule's
//!    regex in windows around its keywords, then the offline checks of
//!    [`validate`]; the [`rules`] are data, loaded and compiled there.
//! 3. [`finding`]: matches grouped by (rule, secret), with every location.
//! 4. [`identity`]: which declared identity holds each finding, who owns it
//!    and which OWASP NHI risks it shows.
//! 5. [`report`]: human, JSON, JSONL, SARIF and HTML output.
//!
//! [`base`] holds what every stage shares (a secret's fingerprint and
//! redaction, the words for a credential's kind, dates). [`cli`] parses
//! arguments and [`config`] freezes them into a configuration; [`scan`]
//! runs the pipeline once. The users of the pipeline: [`ci`] (ranges of a
//! CI run), [`baseline`] (accepted findings) and [`sweep`] (many
//! repositories into a store, merged into one report).
//!
//! The `testkit` module (fake credentials, the accuracy corpus) is compiled
//! only for tests and under the `testkit` feature.
// zlib-rs provides the zlib symbols that libgit2 calls (see Cargo.toml).
extern crate libz_rs_sys as _;

pub mod base;
pub mod baseline;
pub mod ci;
pub mod cli;
pub mod config;
pub mod error;
pub mod finding;
pub mod identity;
pub mod matcher;
pub mod net;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod sweep;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod validate;
pub mod verify;

pub use error::{Error, Result};

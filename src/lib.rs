//! keytrace: finds leaked and long-lived credentials of non-human identities.
//!
//! The pipeline, one module per stage: [`source`] (files; git history later)
//! → [`matcher`] (keyword automaton, windowed regexes, [`validate`],
//! [`shape`], base64 contexts in [`decode`]) →
//! [`finding`] (grouped by rule and secret, with all locations) → [`identity`]
//! (inventory, claims, NHI risks) → [`report`]. [`config`] builds the frozen configuration from [`cli`]
//! arguments; [`scan`] runs the pipeline. [`sweep`] runs it over many
//! repositories into a store and merges stores into one report.
// zlib-rs provides the zlib symbols that libgit2 calls (see Cargo.toml).
extern crate libz_rs_sys as _;

pub mod baseline;
pub mod ci;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod decode;
pub mod error;
pub mod fakes;
pub mod finding;
pub mod hash;
pub mod identity;
pub mod keywords;
pub mod matcher;
pub mod parallel;
pub mod report;
pub mod rulecheck;
pub mod rules;
pub mod scan;
pub mod shape;
pub mod source;
pub mod sweep;
pub mod time;
pub mod validate;

pub use error::{Error, Result};

//! Test support, compiled only for the crate's own tests and under the
//! `testkit` feature (which the integration tests, benches and the corpus
//! example turn on through a dev-dependency on this crate): a user's build
//! of keytrace does not contain it.
//!
//! [`fakes`] makes fake credentials in the exact shape providers issue them
//! (prefix, length, alphabet, checksum) from a seed, at run time, so no
//! committed file holds a token-shaped string; [`sample`] draws values of
//! any rule's format from its shape; [`corpus`] writes a labelled tree of
//! realistic files with one fake of every rule and more decoys than
//! credentials, for the accuracy tests.
pub mod corpus;
pub mod fakes;
pub mod sample;

//! What every stage of the pipeline shares, and nothing that belongs to one
//! stage: a secret's bytes, fingerprint and redaction ([`secret`]); the
//! safe reading of the files keytrace reads for itself ([`files`]); the
//! words for what a credential is ([`kinds`]); dates and RFC 3339 times
//! ([`time`]); text made safe for a terminal ([`text`]); a cheap hasher
//! ([`hash`]) and a fork-join helper ([`parallel`]), and a work counter the
//! tests hold loops to linear time with ([`work`]). It depends on no other
//! module of the crate.
pub mod files;
pub mod hash;
pub mod kinds;
pub mod parallel;
pub mod secret;
pub mod text;
pub mod time;
pub mod work;

//! What a history scan is asked to do and hands back, and the sets of object
//! ids it keeps.
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use git2::Oid;
use globset::GlobMatcher;

/// Object ids are uniformly distributed already: their first eight bytes are
/// a good hash, and much cheaper than SipHash over twenty.
#[derive(Default)]
pub struct OidHasher(u64);

impl std::hash::Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 ^= (*b as u64) << (8 * i);
        }
    }
}

/// A set of object ids, hashed by their leading bytes.
pub type OidSet = HashSet<Oid, std::hash::BuildHasherDefault<OidHasher>>;
pub type OidMap<V> = HashMap<Oid, V, std::hash::BuildHasherDefault<OidHasher>>;

/// Which part of a repository's history to scan.
#[derive(Debug, Clone, Default)]
pub enum Range {
    /// Every blob reachable from every ref.
    #[default]
    All,
    /// Blobs added by the commits reachable from `until` (HEAD when `None`)
    /// and not from `since`.
    Since {
        since: String,
        until: Option<String>,
    },
    /// Blobs staged in the index that differ from HEAD.
    Staged,
}

#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    pub range: Range,
    /// Only refs whose full name matches (`refs/heads/*`).
    pub refs: Option<GlobMatcher>,
    pub threads: usize,
    /// Blobs above this size are scanned in overlapping chunks.
    pub max_blob_size: u64,
    /// Incremental runs (sweeps): blobs already scanned, not scanned again.
    pub known_blobs: Option<Arc<OidSet>>,
    /// Incremental runs: commits whose history was already scanned; they
    /// and their ancestors are not walked.
    pub hide: Vec<Oid>,
    /// Return every blob id reachable from the walked commits in
    /// [`HistoryStats::reachable`], known or not.
    pub want_reachable: bool,
    /// Stop planning at this time (a sweep's budget for one repository):
    /// what is planned is scanned, the rest is an error.
    pub deadline: Option<std::time::Instant>,
}

/// What a history scan counted, beyond what the sink saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryStats {
    pub commits: u64,
    pub blobs: u64,
    pub lfs_pointers: u64,
    pub submodules: u64,
    /// The ids of the blobs that were read and scanned in full.
    pub scanned: Vec<Oid>,
    /// With [`GitOptions::want_reachable`]: every blob the walk reached.
    pub reachable: Option<OidSet>,
}

/// A repository found under a scan root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoLocation {
    /// What `Repository::open` takes: a work tree, a `.git` directory or a
    /// bare repository.
    pub path: PathBuf,
    /// The directory that report paths are relative to: the work tree, or
    /// the bare repository itself.
    pub display_root: PathBuf,
}

//! Sources turn what the user named into bytes to scan: the files of a
//! directory tree ([`fs`]) and the distinct blobs of a git history ([`git`]).
//! A source hands each input, or each overlapping chunk of a huge one, to a
//! per-thread [`Sink`] together with its [`Origin`] (path, commit, whether it
//! is still at HEAD), and reports per-input problems as [`ScanError`]s; it
//! knows nothing of rules or findings.
pub mod archive;
pub mod fs;
pub mod git;
pub mod image;
pub mod magic;
pub mod stdin;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Where a piece of scanned content came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The path as the user sees it: the walked path without a leading `./`.
    pub path: String,
    /// The scan root the path was found under, for root-relative report URIs.
    pub root: PathBuf,
    /// For git history: the commit that introduced this content at `path`.
    pub commit: Option<Arc<CommitInfo>>,
    /// Whether this content is still present now: a file of the working tree,
    /// or a blob in the tree of HEAD.
    pub at_head: bool,
    /// When only some lines are new (a blob changed in a `--since` range or
    /// in the index): their numbers, sorted. Matches elsewhere were there
    /// before and are not reported again.
    pub lines: Option<Arc<[u32]>>,
    /// For git history: the blob this content was read from.
    pub blob: Option<git2::Oid>,
    /// Inside archives: the archives that hold it, outer to inner (the
    /// outermost as `path` starts, the others by their path in their parent).
    pub container: Option<Arc<[String]>>,
}

/// A commit, as a location in a report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommitInfo {
    pub id: String,
    /// `Name <email>`.
    pub author: String,
    /// RFC 3339, UTC.
    pub date: String,
    /// Unix seconds of `date`, for ordering.
    pub time: i64,
    /// Refs that reach the commit (at least one).
    pub refs: Vec<String>,
}

impl Origin {
    /// A file of a directory tree.
    pub fn file(path: String, root: PathBuf) -> Origin {
        Origin {
            path,
            root,
            commit: None,
            at_head: true,
            lines: None,
            blob: None,
            container: None,
        }
    }
    /// The path relative to its scan root, with `/` separators. (On POSIX a
    /// `\\` is part of a file name, not a separator, and stays.)
    pub fn relative(&self) -> String {
        let p = std::path::Path::new(&self.path);
        let rel = if self.root.as_os_str() == "." {
            p
        } else {
            p.strip_prefix(&self.root).unwrap_or(p)
        };
        let s = rel.to_string_lossy();
        let s = if cfg!(windows) {
            s.replace('\\', "/")
        } else {
            s.into_owned()
        };
        if s.is_empty() {
            // The root was a file: keep its name.
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            s
        }
    }
}

/// One piece of content to scan. Small inputs come whole; a huge file comes
/// as overlapping chunks so that no secret is cut in two.
pub struct Chunk<'a> {
    pub origin: &'a Origin,
    pub data: &'a [u8],
    /// The line number of `data`'s first byte, minus one.
    pub line_base: u32,
    /// The characters of its line before `data`'s first byte (a chunk of a
    /// huge file may start inside a line): added to the columns of matches
    /// on the chunk's first line.
    pub column_base: u32,
    /// Matches starting at or after this offset belong to the next chunk.
    pub keep_before: usize,
}

/// How bad a per-input problem is. None of them stops a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input, or part of it, could not be scanned.
    Error,
    /// It was scanned, but the user should know something about it.
    Warning,
}

/// A per-input problem, reported in the `errors` list of every report. Its
/// message never holds content of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanError {
    pub path: String,
    pub message: String,
    pub severity: Severity,
}

impl ScanError {
    pub fn error(path: impl Into<String>, message: impl Into<String>) -> ScanError {
        ScanError {
            path: path.into(),
            message: message.into(),
            severity: Severity::Error,
        }
    }

    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> ScanError {
        ScanError {
            path: path.into(),
            message: message.into(),
            severity: Severity::Warning,
        }
    }
}

/// An input that can be read from anywhere (a file, or bytes in memory):
/// what a zip needs, and what lets an image's layers be read in its order.
pub trait ReadSeek: std::io::Read + std::io::Seek {}
impl<T: std::io::Read + std::io::Seek + ?Sized> ReadSeek for T {}

/// What a source hands to the per-thread sink.
pub trait Sink {
    fn chunk(&mut self, chunk: Chunk<'_>);
    fn problem(&mut self, error: ScanError);
    /// A binary input (a NUL in its first bytes), passed over by the text
    /// rules: `data` is all of it, or its first chunk when it is larger than
    /// the size limit. Key stores are found in it ([`crate::matcher::Matcher::scan_binary`]).
    fn binary(&mut self, origin: &Origin, data: &[u8]);
    /// A whole input was read (counted once, however many chunks it had).
    fn input_done(&mut self, origin: &Origin, bytes: u64);
    /// History planning has walked this many more commits.
    fn commits_walked(&mut self, _n: u64) {}
    /// A file larger than the size limit whose first bytes are an
    /// archive's, to be opened as it lies (streamed, not read whole).
    /// False when the sink does not open archives: the source then reads
    /// it in chunks.
    fn seekable(&mut self, _origin: &Origin, _input: &mut dyn ReadSeek, _len: u64) -> bool {
        false
    }
    /// An OCI image layout directory at `dir` (see
    /// [`image::is_layout`]), to be opened as an image; the walker passes
    /// over its `blobs/` when [`fs::FsOptions::image_layouts`] is set.
    fn layout(&mut self, _origin: &Origin, _dir: &std::path::Path) {}
}

/// Where the next chunk, starting at `done[..]`'s end, stands on its line:
/// the `column_base` of the chunk that follows `done`, given that of the
/// chunk `done` began.
pub fn next_column_base(done: &[u8], column_base: u32) -> u32 {
    let chars = |b: &[u8]| b.iter().filter(|&&b| (b as i8) >= -0x40).count() as u32;
    match memchr::memrchr(b'\n', done) {
        Some(last) => chars(&done[last + 1..]),
        None => column_base + chars(done),
    }
}

/// Turns a walked path into the path users see.
pub fn display_path(p: &std::path::Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

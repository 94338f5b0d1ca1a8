//! The workers' side of a history scan: each blob job read (from the packs
//! by this crate's own reader, else through a private libgit2 object
//! database, else the repository), passed over when binary or a Git LFS
//! pointer, and handed to the sink whole or in overlapping chunks.
use std::path::Path;

use git2::{ObjectType, Repository};

use super::options::{GitOptions, RepoLocation};
use super::pack;
use super::plan::BlobJob;
use crate::source::fs::CHUNK_OVERLAP;
use crate::source::{Chunk, Origin, ScanError, Sink};

/// The first line of a Git LFS pointer file.
const LFS_POINTER: &[u8] = b"version https://git-lfs.github.com/spec/v1";

/// What became of one blob job.
pub(super) enum Outcome {
    /// Read and scanned (or passed over as binary).
    Scanned,
    /// A Git LFS pointer: noted, not fetched.
    Lfs,
    /// Missing or corrupt: reported, and to be tried again another time.
    Failed,
}

/// An object database of `repo`'s own objects that shares no pack with
/// another handle. libgit2 keeps one structure per pack file *path* for the
/// whole process, with a lock that every read of the pack takes and a delta
/// base cache behind another: workers reading one pack wait on each other
/// (futex wake-ups were a tenth of a 2-thread history scan). The objects
/// directory spelled with `n` extra `/.` is the same directory to the file
/// system and another pack to libgit2. None if it cannot be opened: the
/// worker then reads through `repo`.
pub(super) fn private_odb(repo: &Repository, n: usize) -> Option<git2::Odb<'static>> {
    let objects = repo.commondir().join("objects");
    let path = format!("{}{}", objects.to_str()?, "/.".repeat(n + 1));
    let odb = git2::Odb::new().ok()?;
    odb.add_disk_alternate(&path).ok()?;
    Some(odb)
}

/// Where a worker reads blobs: its own reader of the packs, else its
/// private object database, else the repository (which names the problem).
pub(super) struct Read<'a, 'r> {
    pub repo: &'a Repository,
    pub odb: Option<&'a git2::Odb<'r>>,
    pub packs: Option<&'a mut pack::Reader>,
    /// Where the packs' reader puts a blob; reused from blob to blob.
    pub buf: &'a mut Vec<u8>,
}

/// Scans one blob: read from the packs, else the private object database,
/// else the repository; binary blobs and LFS pointers are passed over, huge
/// ones go in overlapping chunks.
pub(super) fn scan_blob<S: Sink>(
    read: Read<'_, '_>,
    location: &RepoLocation,
    job: &BlobJob,
    opts: &GitOptions,
    sink: &mut S,
) -> Outcome {
    let origin = Origin {
        path: join_display(&location.display_root, &job.path),
        root: location.display_root.clone(),
        commit: job.commit.clone(),
        at_head: job.at_head,
        lines: job.lines.clone(),
        blob: Some(job.oid),
        container: None,
    };
    let (object, blob);
    let Read {
        repo,
        odb,
        packs,
        buf,
    } = read;
    let data: &[u8] = if packs
        .and_then(|p| p.read(job.oid, pack::OBJ_BLOB, buf))
        .is_some()
    {
        buf
    } else {
        match odb
            .and_then(|o| o.read(job.oid).ok())
            .filter(|o| o.kind() == ObjectType::Blob)
        {
            Some(o) => {
                object = o;
                object.data()
            }
            None => match repo.find_blob(job.oid) {
                Ok(b) => {
                    blob = b;
                    blob.content()
                }
                Err(e) => {
                    let at = origin
                        .commit
                        .as_ref()
                        .map(|c| format!(" (introduced in {})", &c.id[..12]))
                        .unwrap_or_default();
                    sink.problem(ScanError::error(
                        &origin.path,
                        format!(
                            "git object {} is missing or corrupt{at}: {}",
                            job.oid,
                            e.message()
                        ),
                    ));
                    return Outcome::Failed;
                }
            },
        }
    };
    if memchr::memchr(0, &data[..data.len().min(8192)]).is_some()
        || crate::source::magic::detect(data).is_some()
    {
        sink.binary(&origin, data);
        return Outcome::Scanned;
    }
    if data.starts_with(LFS_POINTER) {
        sink.input_done(&origin, data.len() as u64);
        return Outcome::Lfs;
    }
    let chunk = (opts.max_blob_size.max(2 * CHUNK_OVERLAP as u64)) as usize;
    if data.len() <= chunk {
        sink.chunk(Chunk {
            origin: &origin,
            data,
            line_base: 0,
            column_base: 0,
            keep_before: data.len(),
        });
    } else {
        // A huge blob is already in memory (libgit2 inflates it whole), but
        // it is scanned in the same overlapping chunks as a huge file.
        let (mut start, mut line_base, mut column_base) = (0usize, 0u32, 0u32);
        loop {
            let end = (start + chunk).min(data.len());
            let last = end == data.len();
            let keep_before = if last {
                end - start
            } else {
                end - start - CHUNK_OVERLAP
            };
            sink.chunk(Chunk {
                origin: &origin,
                data: &data[start..end],
                line_base,
                column_base,
                keep_before,
            });
            if last {
                break;
            }
            let done = &data[start..start + keep_before];
            line_base += memchr::memchr_iter(b'\n', done).count() as u32;
            column_base = crate::source::next_column_base(done, column_base);
            start += keep_before;
        }
    }
    sink.input_done(&origin, data.len() as u64);
    Outcome::Scanned
}

fn join_display(root: &Path, path: &str) -> String {
    let r = root.to_string_lossy();
    if r.is_empty() || r == "." {
        path.to_string()
    } else {
        format!("{}/{path}", r.trim_end_matches('/'))
    }
}

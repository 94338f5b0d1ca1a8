//! The git history source. Every ref (branches, tags, remote-tracking refs,
//! notes, the stash and its reflog) → every commit reachable from them, oldest
//! first → each distinct blob once, with the first commit and path that
//! introduced it → scanned by worker threads, each with its own
//! `Repository` (it is `Send`, not `Sync`). Commits are read once each and
//! ordered here (libgit2's walk, which reads them again, serves incremental
//! sweeps, whose hidden history it marks without reading all of it). Trees
//! already walked are skipped, so planning costs one visit per distinct
//! tree, and memory grows with the number of distinct objects, never with
//! their size: a blob's content is dropped as soon as it is scanned.
//!
//! `--since REV` narrows this to the blobs that the commits of a range add;
//! `--staged` to the blobs staged in the index that differ from HEAD.
//!
//! Receives a repository and [`GitOptions`]; hands each blob to a per-thread
//! [`Sink`] with its [`Origin`](super::Origin) (path, introducing commit,
//! whether it is at HEAD) and returns [`HistoryStats`]. The parts: [`commits`]
//! (refs and the commit walk), [`plan`] (which blobs, streamed to the
//! workers), [`blobs`] (the workers' reads), [`pack`] (this crate's own
//! reader of pack files), [`options`].
pub mod blobs;
pub mod commits;
pub mod options;
pub mod pack;
pub mod plan;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use git2::Repository;

use super::{display_path, ScanError, Sink};
use blobs::{private_odb, scan_blob, Outcome, Read};
use plan::{plan_all, plan_range, plan_staged, BlobJob, Plan};

pub use commits::{head_blobs, tips};
pub use options::{GitOptions, HistoryStats, OidSet, Range, RepoLocation};

/// Bounded, so that planning never runs far ahead of scanning: memory holds
/// a few thousand jobs, not the whole history.
const QUEUE: usize = 128;
/// Jobs travel in batches: one channel hand-off (and wake-up) per batch
/// instead of per blob.
const BATCH: usize = 32;

/// libgit2's process-wide settings, set once. `git cat-file --batch` does not
/// re-hash every object it reads and neither do we: a missing object or one
/// that does not inflate is still reported. The object cache is off and the
/// mapped pack windows are capped because every worker holds its own `Repository`, and each maps the
/// packs again.
pub fn tune_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        git2::opts::strict_hash_verification(false);
        // Planning reads each distinct tree once (seen trees are skipped), so
        // libgit2's object cache (256 MiB by default) would only hold memory.
        git2::opts::enable_caching(false);
        // Each worker maps the packs on its own (see `private_odb`), and
        // mapped pages count in the resident set: windows of 8 MiB (not
        // 1 GiB) and at most 48 MiB mapped at once keep a 2-thread scan of
        // the bench repository (a 60 MiB pack) at 150 MiB instead of 265,
        // at the same speed.
        // SAFETY: these setters only store process-wide limits; they are
        // called once, before any repository is opened by this module.
        unsafe {
            let _ = git2::opts::set_mwindow_mapped_limit(48 << 20);
            let _ = git2::opts::set_mwindow_size(8 << 20);
        }
    });
}

/// Initialises libgit2 for a scan, which never opens a network connection:
/// its TLS context is set up without the system's CA bundle, which OpenSSL
/// would otherwise parse whole at initialisation (about 25 ms of every
/// history scan's start-up, more than a pre-commit scan takes). Call it
/// before any other libgit2 call and before other threads start. Were the
/// process to open an HTTPS connection through libgit2 after all, no
/// certificate would verify: it fails closed.
pub fn init_offline() {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        const VAR: &str = "SSL_CERT_FILE";
        let saved = std::env::var_os(VAR);
        // An existing path, so that libgit2's certificate probe keeps it;
        // OpenSSL reads no certificate from it and carries on.
        std::env::set_var(VAR, "/dev/null");
        tune_libgit2();
        match saved {
            Some(v) => std::env::set_var(VAR, v),
            None => std::env::remove_var(VAR),
        }
    }
    tune_libgit2();
}

/// The repositories at or below `roots`: work trees (with a `.git` directory
/// or file), and bare repositories named as a root.
pub fn discover(roots: &[PathBuf]) -> Vec<RepoLocation> {
    let mut found = Vec::new();
    for root in roots {
        if !root.is_dir() {
            continue;
        }
        match Repository::open(root) {
            Ok(repo) => {
                if repo.is_bare() || repo.workdir().is_some_and(|w| same_dir(w, root)) {
                    found.push(RepoLocation {
                        path: root.clone(),
                        display_root: PathBuf::from(display_path(root)),
                    });
                }
                if repo.is_bare() {
                    continue;
                }
            }
            // A `.git` that does not open (a `gitdir:` pointing nowhere):
            // the scan must say so rather than skip the history.
            Err(_) if root.join(".git").symlink_metadata().is_ok() => found.push(RepoLocation {
                path: root.clone(),
                display_root: PathBuf::from(display_path(root)),
            }),
            Err(_) => {}
        }
        // Nested repositories (and submodules, whose own history is theirs).
        let walker = ignore::WalkBuilder::new(root)
            .standard_filters(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker.flatten() {
            let dir = entry.path();
            if entry.depth() == 0 || !entry.file_type().is_some_and(|t| t.is_dir()) {
                continue;
            }
            if dir.join(".git").exists() {
                found.push(RepoLocation {
                    path: dir.to_path_buf(),
                    display_root: PathBuf::from(display_path(dir)),
                });
            }
        }
    }
    found.dedup();
    found
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Scans the history of one repository. Problems with single objects are
/// handed to the sink; an error is returned only when the repository cannot
/// be opened at all.
pub fn scan<S, F>(
    location: &RepoLocation,
    opts: &GitOptions,
    make_sink: F,
) -> Result<HistoryStats, ScanError>
where
    S: Sink + Send,
    F: Fn() -> S + Sync,
{
    tune_libgit2();
    let root_name = location.display_root.display().to_string();
    let repo = Repository::open(&location.path).map_err(|e| {
        ScanError::error(
            &root_name,
            format!("not a readable git repository: {}", e.message()),
        )
    })?;
    if let Range::Since { until, .. } = &opts.range {
        // The range's end must exist: scanning nothing instead would pass.
        let end = match until {
            Some(u) => repo.revparse_single(u).and_then(|o| o.peel_to_commit()),
            None => repo.head().and_then(|h| h.peel_to_commit()),
        };
        if let Err(e) = end {
            return Err(ScanError::error(
                &root_name,
                format!(
                    "cannot resolve {}: {}",
                    until.as_deref().unwrap_or("HEAD"),
                    e.message()
                ),
            ));
        }
    }
    let packs = pack::Packs::open(repo.commondir());
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<BlobJob>>(QUEUE);
    let rx = std::sync::Mutex::new(rx);
    let lfs = AtomicUsize::new(0);
    let worker = AtomicUsize::new(0);
    let scanned = std::sync::Mutex::new(Vec::new());
    let mut stats = HistoryStats::default();
    std::thread::scope(|scope| {
        for _ in 0..opts.threads.max(1) {
            scope.spawn(|| {
                let mut sink = make_sink();
                let repo = match Repository::open(&location.path) {
                    Ok(r) => r,
                    Err(e) => {
                        return sink.problem(ScanError::error(&root_name, e.message().to_string()))
                    }
                };
                let odb = private_odb(&repo, worker.fetch_add(1, Ordering::Relaxed));
                let mut reader = packs.clone().map(pack::Reader::new);
                let mut buf = Vec::new();
                let mut done = Vec::new();
                loop {
                    let batch = rx.lock().expect("no panics while holding").recv();
                    let Ok(batch) = batch else { break };
                    for job in batch {
                        let read = Read {
                            repo: &repo,
                            odb: odb.as_ref(),
                            packs: reader.as_mut(),
                            buf: &mut buf,
                        };
                        match scan_blob(read, location, &job, opts, &mut sink) {
                            Outcome::Failed => continue,
                            Outcome::Lfs => {
                                lfs.fetch_add(1, Ordering::Relaxed);
                            }
                            Outcome::Scanned => {}
                        }
                        done.push(job.oid);
                        if buf.capacity() > 64 << 20 {
                            buf = Vec::new(); // a huge blob's room, not kept
                        }
                    }
                }
                scanned
                    .lock()
                    .expect("no panics while holding")
                    .append(&mut done);
            });
        }
        // Plan in this thread while the workers scan what is already found.
        let plan = {
            let mut batch = Vec::with_capacity(BATCH);
            let mut emit = |job: BlobJob| {
                batch.push(job);
                if batch.len() == BATCH {
                    let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
            };
            let mut progress_sink = make_sink();
            let mut progress = |n| progress_sink.commits_walked(n);
            let mut plan = Plan {
                emit: &mut emit,
                progress: &mut progress,
                problems: Vec::new(),
                commits_walked: 0,
                blobs: 0,
                submodules: 0,
                known: opts.known_blobs.clone(),
                reached: OidSet::default(),
                packs: packs.clone(),
                deadline: opts.deadline,
                timed_out: false,
            };
            match &opts.range {
                Range::All => plan_all(&repo, opts, &mut plan),
                Range::Since { since, until } => {
                    plan_range(&repo, since, until.as_deref(), &mut plan)
                }
                Range::Staged => plan_staged(&repo, &mut plan),
            }
            let done = (
                plan.problems,
                plan.commits_walked,
                plan.blobs,
                plan.submodules,
                plan.reached,
            );
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            // The sender is dropped here: the workers finish the queue and stop.
            drop(tx);
            done
        };
        let (mut problems, commits, blobs, submodules, reached) = plan;
        if repo.is_shallow() {
            problems.push(ScanError::warning(
                &root_name,
                "shallow clone: commits before the shallow boundary are not scanned \
                 (run `git fetch --unshallow` to scan the whole history)",
            ));
        }
        let mut sink = make_sink();
        for p in problems {
            sink.problem(p);
        }
        stats.commits = commits;
        stats.blobs = blobs;
        stats.submodules = submodules;
        stats.reachable = opts.want_reachable.then_some(reached);
    });
    stats.scanned = scanned.into_inner().expect("workers done");
    stats.lfs_pointers = lfs.into_inner() as u64;
    if stats.lfs_pointers > 0 {
        make_sink().problem(ScanError::warning(
            &root_name,
            format!(
                "{} Git LFS pointer files: their content lives on the LFS server and was not fetched or scanned",
                stats.lfs_pointers
            ),
        ));
    }
    Ok(stats)
}

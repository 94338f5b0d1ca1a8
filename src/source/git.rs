//! The git history source. Every ref (branches, tags, remote-tracking refs,
//! notes, the stash and its reflog) → every commit reachable from them, oldest
//! first → each distinct blob once, with the first commit and path that
//! introduced it → scanned by worker threads, each with its own
//! `Repository` (it is `Send`, not `Sync`). Commits are read once each and
//! ordered here (libgit2's walk, which reads them again, serves incremental
//! sweeps, whose hidden history it marks without reading all of it). Trees
//! already walked are skipped,
//! so planning costs one visit per distinct tree, and memory grows with the
//! number of distinct objects, never with their size: a blob's content is
//! dropped as soon as it is scanned.
//!
//! `--since REV` narrows this to the blobs that the commits of a range add;
//! `--staged` to the blobs staged in the index that differ from HEAD.
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use git2::{Delta, ObjectType, Oid, Repository, Sort, TreeWalkMode, TreeWalkResult};
use globset::GlobMatcher;

use super::{display_path, pack, Chunk, CommitInfo, Origin, ScanError, Sink};
use crate::base::time::rfc3339;
use crate::source::fs::CHUNK_OVERLAP;

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
type OidMap<V> = HashMap<Oid, V, std::hash::BuildHasherDefault<OidHasher>>;

/// The first line of a Git LFS pointer file.
const LFS_POINTER: &[u8] = b"version https://git-lfs.github.com/spec/v1";

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

/// One blob to scan and where it first appeared.
struct BlobJob {
    oid: Oid,
    path: String,
    commit: Option<Arc<CommitInfo>>,
    at_head: bool,
    /// Only these lines are new (see [`Origin::lines`]).
    lines: Option<Arc<[u32]>>,
}

/// Bounded, so that planning never runs far ahead of scanning: memory holds
/// a few thousand jobs, not the whole history.
const QUEUE: usize = 128;
/// Jobs travel in batches: one channel hand-off (and wake-up) per batch
/// instead of per blob.
const BATCH: usize = 32;

/// What planning found, besides the jobs it streamed to the workers.
struct Plan<'a> {
    emit: &'a mut dyn FnMut(BlobJob),
    /// Told every so many commits, for progress.
    progress: &'a mut dyn FnMut(u64),
    problems: Vec<ScanError>,
    commits_walked: u64,
    blobs: u64,
    submodules: u64,
    known: Option<Arc<OidSet>>,
    /// Every blob the walk reached (`plan_all` only).
    reached: OidSet,
    /// The repository's packs, where this crate can read them itself.
    packs: Option<Arc<pack::Packs>>,
}

impl Plan<'_> {
    fn job(&mut self, job: BlobJob) {
        if self.known.as_ref().is_some_and(|k| k.contains(&job.oid)) {
            return;
        }
        self.blobs += 1;
        (self.emit)(job);
    }

    fn commit_done(&mut self) {
        self.commits_walked += 1;
        if self.commits_walked.is_multiple_of(256) {
            (self.progress)(256);
        }
    }
}

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

/// The repositories at or below `roots`: work trees (with a `.git` directory
/// or file), and bare repositories named as a root.
pub fn discover(roots: &[PathBuf]) -> Vec<RepoLocation> {
    let mut found = Vec::new();
    for root in roots {
        if !root.is_dir() {
            continue;
        }
        if let Ok(repo) = Repository::open(root) {
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

/// What became of one blob job.
enum Outcome {
    /// Read and scanned (or passed over as binary).
    Scanned,
    /// A Git LFS pointer: noted, not fetched.
    Lfs,
    /// Missing or corrupt: reported, and to be tried again another time.
    Failed,
}

/// Scans one blob.
/// An object database of `repo`'s own objects that shares no pack with
/// another handle. libgit2 keeps one structure per pack file *path* for the
/// whole process, with a lock that every read of the pack takes and a delta
/// base cache behind another: workers reading one pack wait on each other
/// (futex wake-ups were a tenth of a 2-thread history scan). The objects
/// directory spelled with `n` extra `/.` is the same directory to the file
/// system and another pack to libgit2. None if it cannot be opened: the
/// worker then reads through `repo`.
fn private_odb(repo: &Repository, n: usize) -> Option<git2::Odb<'static>> {
    let objects = repo.commondir().join("objects");
    let path = format!("{}{}", objects.to_str()?, "/.".repeat(n + 1));
    let odb = git2::Odb::new().ok()?;
    odb.add_disk_alternate(&path).ok()?;
    Some(odb)
}

/// Where a worker reads blobs: its own reader of the packs, else its
/// private object database, else the repository (which names the problem).
struct Read<'a, 'r> {
    repo: &'a Repository,
    odb: Option<&'a git2::Odb<'r>>,
    packs: Option<&'a mut pack::Reader>,
    /// Where the packs' reader puts a blob; reused from blob to blob.
    buf: &'a mut Vec<u8>,
}

fn scan_blob<S: Sink>(
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
    if memchr::memchr(0, &data[..data.len().min(8192)]).is_some() {
        sink.skipped(&origin);
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
            keep_before: data.len(),
        });
    } else {
        // A huge blob is already in memory (libgit2 inflates it whole), but
        // it is scanned in the same overlapping chunks as a huge file.
        let (mut start, mut line_base) = (0usize, 0u32);
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
                keep_before,
            });
            if last {
                break;
            }
            line_base +=
                memchr::memchr_iter(b'\n', &data[start..start + keep_before]).count() as u32;
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

/// A commit as a location shows it.
fn commit_info(oid: Oid, author: String, time: i64, refs: Vec<String>) -> CommitInfo {
    CommitInfo {
        id: oid.to_string(),
        author,
        date: rfc3339(time),
        time,
        refs,
    }
}

/// What the history walks read of a commit.
struct ReadCommit {
    /// `Name <email>` of the author.
    who: String,
    tree: Oid,
    parents: Vec<Oid>,
    /// The author's time (a location's `date`).
    time: i64,
    /// The committer's time.
    committed: i64,
}

/// A reader of commits from the packs, unless grafts rewrite parents: libgit2
/// applies them when it reads a commit, so then it reads every commit.
fn commit_reader(repo: &Repository, packs: Option<Arc<pack::Packs>>) -> Option<pack::Reader> {
    let grafts = repo.commondir().join("info/grafts").exists();
    packs.filter(|_| !grafts).map(pack::Reader::new)
}

/// Commit `oid`, from the packs where `reader` is sure of it (`raw` its
/// buffer), else through libgit2, which names what is wrong.
fn read_commit(
    repo: &Repository,
    reader: Option<&mut pack::Reader>,
    raw: &mut Vec<u8>,
    oid: Oid,
) -> Result<ReadCommit, git2::Error> {
    let who = |name: &[u8], email: &[u8]| {
        format!(
            "{} <{}>",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(email)
        )
    };
    let fast = reader
        .and_then(|r| r.read(oid, pack::OBJ_COMMIT, raw))
        .and_then(|()| pack::parse_commit(raw));
    if let Some(c) = fast {
        return Ok(ReadCommit {
            who: who(c.name, c.email),
            tree: c.tree,
            parents: c.parents,
            time: c.author_time,
            committed: c.commit_time,
        });
    }
    let c = repo.find_commit(oid)?;
    let a = c.author();
    Ok(ReadCommit {
        who: who(a.name_bytes(), a.email_bytes()),
        tree: c.tree_id(),
        parents: c.parent_ids().collect(),
        time: a.when().seconds(),
        committed: c.time().seconds(),
    })
}

/// Every ref as (full name, commit it peels to), the default branch first,
/// then branches, tags, remote-tracking refs, notes, the stash and the older
/// stash entries of its reflog.
pub fn tips(
    repo: &Repository,
    filter: Option<&GlobMatcher>,
    problems: &mut Vec<ScanError>,
    root: &str,
) -> Vec<(String, Oid)> {
    let mut tips: Vec<(String, Oid)> = Vec::new();
    let head_name = repo.head().ok().and_then(|h| h.name().map(str::to_string));
    let refs = match repo.references() {
        Ok(r) => r,
        Err(e) => {
            problems.push(ScanError::error(
                root,
                format!("cannot list refs: {}", e.message()),
            ));
            return tips;
        }
    };
    for r in refs {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                problems.push(ScanError::error(
                    root,
                    format!("unreadable ref: {}", e.message()),
                ));
                continue;
            }
        };
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        if filter.is_some_and(|g| !g.is_match(&name)) {
            continue;
        }
        match r.peel_to_commit() {
            Ok(c) => tips.push((name, c.id())),
            // A tag of a tree or blob: nothing to walk.
            Err(e)
                if e.code() == git2::ErrorCode::InvalidSpec
                    || e.class() == git2::ErrorClass::Object => {}
            Err(e) => problems.push(ScanError::error(
                root,
                format!("ref {name}: {}", e.message()),
            )),
        }
    }
    if filter.is_none_or(|g| g.is_match("refs/stash")) {
        if let Ok(log) = repo.reflog("refs/stash") {
            for (i, entry) in log.iter().enumerate().skip(1) {
                tips.push((format!("stash@{{{i}}}"), entry.id_new()));
            }
        }
    }
    let rank = |n: &str| -> u8 {
        if Some(n) == head_name.as_deref() {
            0
        } else if n.starts_with("refs/heads/") {
            1
        } else if n.starts_with("refs/tags/") {
            2
        } else if n.starts_with("refs/remotes/") {
            3
        } else if n.starts_with("refs/notes/") {
            4
        } else {
            5
        }
    };
    tips.sort_by(|a, b| (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0)));
    tips
}

/// The blob ids of HEAD's tree (the default branch of a bare repository).
pub fn head_blobs(repo: &Repository) -> OidSet {
    let mut set = OidSet::default();
    if let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) {
        let _ = tree.walk(TreeWalkMode::PreOrder, |_, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                set.insert(entry.id());
            }
            TreeWalkResult::Ok
        });
    }
    set
}

fn plan_all(repo: &Repository, opts: &GitOptions, plan: &mut Plan) {
    let root = repo_name(repo);
    let tips = tips(repo, opts.refs.as_ref(), &mut plan.problems, &root);
    if tips.is_empty() {
        return; // no commits yet, or no ref matched
    }
    let at_head = head_blobs(repo);
    let mut seen = Seen {
        trees: OidSet::default(),
        blobs: std::mem::take(&mut plan.reached),
        last: HashMap::new(),
        packs: plan.packs.clone().map(pack::Reader::new),
    };
    let mut visit = |info: CommitInfo, tree: Oid, plan: &mut Plan| {
        plan.commit_done();
        let info = Arc::new(info);
        let mut prefix = Vec::new();
        walk_tree(repo, tree, &mut prefix, &mut seen, &info, &at_head, plan);
    };
    if opts.hide.is_empty() {
        // The whole history: each commit read once, ordered here.
        let packs = plan.packs.clone();
        for c in commits_oldest_first(repo, packs, &tips, &mut plan.problems, &root) {
            let refs = vec![tips[(c.label as usize).min(tips.len() - 1)].0.clone()];
            visit(
                commit_info(c.oid, c.author.to_string(), c.time, refs),
                c.tree,
                plan,
            );
        }
        plan.reached = seen.blobs;
        return;
    }
    // Incremental (a sweep): libgit2's walk knows how far to mark the
    // hidden history without reading all of it.
    // Each commit is labelled with the first ref (in the order above) that
    // reaches it: walk each tip, hiding the tips before it.
    let mut ref_of: OidMap<u32> = OidMap::default();
    // With one ref, it reaches every commit: no labelling walks needed.
    let labelled = if tips.len() > 1 { &tips[..] } else { &[] };
    for (i, (name, tip)) in labelled.iter().enumerate() {
        let mut hide: Vec<Oid> = tips[..i].iter().map(|t| t.1).collect();
        hide.extend_from_slice(&opts.hide);
        match oldest_first(repo, std::iter::once(*tip), &hide) {
            Ok(commits) => {
                for c in commits {
                    ref_of.entry(c).or_insert(i as u32);
                }
            }
            Err(e) => plan.problems.push(ScanError::error(
                &root,
                format!("cannot walk {name}: {}", e.message()),
            )),
        }
    }
    let order = match oldest_first(repo, tips.iter().map(|t| t.1), &opts.hide) {
        Ok(o) => o,
        Err(e) => {
            plan.problems.push(ScanError::error(
                &root,
                format!("cannot walk history: {}", e.message()),
            ));
            return;
        }
    };
    let mut reader = commit_reader(repo, plan.packs.clone());
    let mut raw = Vec::new();
    for oid in order {
        let refs = vec![tips[ref_of.get(&oid).copied().unwrap_or(0) as usize]
            .0
            .clone()];
        match read_commit(repo, reader.as_mut(), &mut raw, oid) {
            Ok(c) => visit(commit_info(oid, c.who, c.time, refs), c.tree, plan),
            Err(e) => plan.problems.push(ScanError::error(
                &root,
                format!("commit {oid} is missing or corrupt: {}", e.message()),
            )),
        }
    }
    plan.reached = seen.blobs;
}

/// A commit of the history, as [`commits_oldest_first`] read it.
struct Walked {
    oid: Oid,
    tree: Oid,
    /// The author's time (a location's `date`).
    time: i64,
    /// The committer's time, which orders the walk.
    committed: i64,
    /// `Name <email>`, shared by the commits of one author.
    author: Arc<str>,
    /// The first of the tips (in their order) that reaches it.
    label: u32,
}

/// Every commit reachable from `tips`, each read once, oldest first: by
/// commit time, parents always before their children, and on equal times
/// in the order they were found. An unreadable commit
/// is a problem and is left out, its ancestors still walked where another
/// path reaches them; the parents a shallow clone cut off are not sought.
fn commits_oldest_first(
    repo: &Repository,
    packs: Option<Arc<pack::Packs>>,
    tips: &[(String, Oid)],
    problems: &mut Vec<ScanError>,
    root: &str,
) -> Vec<Walked> {
    let mut reader = commit_reader(repo, packs);
    let mut raw = Vec::new();
    let shallow: OidSet = std::fs::read_to_string(repo.commondir().join("shallow"))
        .map(|t| {
            t.lines()
                .filter_map(|l| Oid::from_str(l.trim()).ok())
                .collect()
        })
        .unwrap_or_default();
    let mut index: OidMap<u32> = OidMap::default();
    let mut nodes: Vec<Walked> = Vec::new();
    // Parent indices per node, after a pass that resolves them.
    let mut parent_ids: Vec<Vec<Oid>> = Vec::new();
    let mut authors: HashMap<String, Arc<str>> = HashMap::new();
    let mut stack: Vec<Oid> = tips.iter().rev().map(|t| t.1).collect();
    let mut unreadable = OidSet::default();
    while let Some(oid) = stack.pop() {
        if index.contains_key(&oid) || unreadable.contains(&oid) {
            continue;
        }
        let read = match read_commit(repo, reader.as_mut(), &mut raw, oid) {
            Ok(c) => c,
            Err(e) => {
                problems.push(ScanError::error(
                    root,
                    format!("commit {oid} is missing or corrupt: {}", e.message()),
                ));
                unreadable.insert(oid);
                continue;
            }
        };
        let author = match authors.get(&read.who) {
            Some(x) => x.clone(),
            None => {
                let x: Arc<str> = Arc::from(read.who.as_str());
                authors.insert(read.who, x.clone());
                x
            }
        };
        let parents: Vec<Oid> = if shallow.contains(&oid) {
            Vec::new()
        } else {
            read.parents
        };
        stack.extend(parents.iter().rev());
        index.insert(oid, nodes.len() as u32);
        nodes.push(Walked {
            oid,
            tree: read.tree,
            time: read.time,
            committed: read.committed,
            author,
            label: u32::MAX,
        });
        parent_ids.push(parents);
    }
    let n = nodes.len();
    let parents: Vec<Vec<u32>> = parent_ids
        .iter()
        .map(|ps| ps.iter().filter_map(|p| index.get(p).copied()).collect())
        .collect();
    drop(parent_ids);
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut waiting: Vec<u32> = vec![0; n];
    for (i, ps) in parents.iter().enumerate() {
        waiting[i] = ps.len() as u32;
        for &p in ps {
            children[p as usize].push(i as u32);
        }
    }
    // Oldest available first; a commit is available once its parents are out.
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<(i64, u32)>> = (0..n)
        .filter(|&i| waiting[i] == 0)
        .map(|i| std::cmp::Reverse((nodes[i].committed, i as u32)))
        .collect();
    let mut order: Vec<u32> = Vec::with_capacity(n);
    while let Some(std::cmp::Reverse((_, i))) = ready.pop() {
        order.push(i);
        for &c in &children[i as usize] {
            waiting[c as usize] -= 1;
            if waiting[c as usize] == 0 {
                ready.push(std::cmp::Reverse((nodes[c as usize].committed, c)));
            }
        }
    }
    drop(children);
    if order.len() < n {
        // Only grafts can make parents go round in a circle.
        problems.push(ScanError::error(
            root,
            format!(
                "{} commits form a cycle of parents (grafts?) and were not walked",
                n - order.len()
            ),
        ));
    }
    // Labels: a tip labels itself; a parent takes the least label of its
    // children, which come after it in `order`.
    for (k, (_, tip)) in tips.iter().enumerate() {
        if let Some(&i) = index.get(tip) {
            let l = &mut nodes[i as usize].label;
            *l = (*l).min(k as u32);
        }
    }
    for &i in order.iter().rev() {
        let l = nodes[i as usize].label;
        for &p in &parents[i as usize] {
            let pl = &mut nodes[p as usize].label;
            *pl = (*pl).min(l);
        }
    }
    let mut slots: Vec<Option<Walked>> = nodes.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots[i as usize].take())
        .collect()
}

/// What the walk has been through.
struct Seen {
    trees: OidSet,
    blobs: OidSet,
    /// Directory path → the entries of the tree last walked there. A new
    /// version of a directory mostly repeats them, at the same places: an
    /// entry equal to its predecessor's was handled with it, and costs one
    /// comparison instead of a set lookup.
    last: HashMap<Vec<u8>, Vec<(Oid, pack::Kind)>>,
    /// Trees from the pack files, where it can read them.
    packs: Option<pack::Reader>,
}

/// Commits reachable from `tips` and not from `hide`, oldest first (by
/// commit time, parents before children on ties).
fn oldest_first(
    repo: &Repository,
    tips: impl Iterator<Item = Oid>,
    hide: &[Oid],
) -> Result<Vec<Oid>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME | Sort::REVERSE)?;
    for t in tips {
        walk.push(t)?;
    }
    for h in hide {
        walk.hide(*h)?;
    }
    walk.collect()
}

fn walk_tree(
    repo: &Repository,
    tree_id: Oid,
    prefix: &mut Vec<u8>,
    seen: &mut Seen,
    commit: &Arc<CommitInfo>,
    at_head: &OidSet,
    plan: &mut Plan,
) {
    if !seen.trees.insert(tree_id) {
        return;
    }
    // From the packs directly where the reader is sure of the tree, else
    // through libgit2, which says what is wrong with it if anything is.
    let fast = seen.packs.as_mut().and_then(|p| p.tree(tree_id));
    let parsed = fast
        .as_deref()
        .and_then(|raw| pack::entries(raw).collect::<Option<Vec<_>>>());
    let fallback;
    let list = match parsed {
        Some(list) => list,
        None => match repo.find_tree(tree_id) {
            Ok(t) => {
                fallback = raw_tree(&t);
                pack::entries(&fallback).flatten().collect()
            }
            Err(e) => {
                let path = String::from_utf8_lossy(prefix).into_owned();
                plan.problems.push(ScanError::error(
                    if path.is_empty() {
                        repo_name(repo)
                    } else {
                        path
                    },
                    format!("git tree {tree_id} is missing or corrupt: {}", e.message()),
                ));
                return;
            }
        },
    };
    let before = seen.last.remove(prefix.as_slice()).unwrap_or_default();
    let mut now = Vec::with_capacity(list.len());
    for (i, (name, id, kind)) in list.into_iter().enumerate() {
        now.push((id, kind));
        if before.get(i) == Some(&(id, kind)) {
            continue; // seen, with the directory's previous version
        }
        let len = prefix.len();
        if len > 0 {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(name);
        match kind {
            pack::Kind::Tree => walk_tree(repo, id, prefix, seen, commit, at_head, plan),
            pack::Kind::Blob if seen.blobs.insert(id) => {
                plan.job(BlobJob {
                    oid: id,
                    path: String::from_utf8_lossy(prefix).into_owned(),
                    commit: Some(commit.clone()),
                    at_head: at_head.contains(&id),
                    lines: None,
                });
            }
            // A submodule's gitlink: its history is its own repository's.
            pack::Kind::Gitlink => plan.submodules += 1,
            pack::Kind::Blob => {}
        }
        prefix.truncate(len);
    }
    seen.last.insert(prefix.clone(), now);
}

/// A tree libgit2 read, in git's raw form (mode, name, id), its modes
/// reduced to the three kinds the walk tells apart.
fn raw_tree(tree: &git2::Tree) -> Vec<u8> {
    let mut raw = Vec::new();
    for e in tree.iter() {
        let mode: &[u8] = match e.kind() {
            Some(ObjectType::Tree) => b"40000",
            Some(ObjectType::Commit) => b"160000",
            _ => b"100644",
        };
        raw.extend_from_slice(mode);
        raw.push(b' ');
        raw.extend_from_slice(e.name_bytes());
        raw.push(0);
        raw.extend_from_slice(e.id().as_bytes());
    }
    raw
}

fn repo_name(repo: &Repository) -> String {
    display_path(repo.workdir().unwrap_or(repo.path()))
}

fn is_zero_rev(rev: &str) -> bool {
    !rev.is_empty() && rev.bytes().all(|b| b == b'0')
}

/// `--since`: blobs added by the commits of `since..until`.
fn plan_range(repo: &Repository, since: &str, until: Option<&str>, plan: &mut Plan) {
    let root = repo_name(repo);
    let tip = match until {
        Some(u) => repo.revparse_single(u).and_then(|o| o.peel_to_commit()),
        None => repo.head().and_then(|h| h.peel_to_commit()),
    };
    let tip = match tip {
        Ok(c) => c.id(),
        Err(e) => {
            plan.problems.push(ScanError::error(
                &root,
                format!(
                    "cannot resolve {}: {}",
                    until.unwrap_or("HEAD"),
                    e.message()
                ),
            ));
            return;
        }
    };
    let hide: Vec<Oid> = match repo.revparse_single(since).and_then(|o| o.peel_to_commit()) {
        Ok(c) if !is_zero_rev(since) => vec![c.id()],
        _ => {
            // A new branch (the all-zero "before" of a push) or a revision
            // this clone does not have: scan what no other branch has.
            let others = other_branch_tips(repo, tip);
            let shallow = if repo.is_shallow() && !is_zero_rev(since) {
                " (this clone is shallow: fetch the whole history, e.g. `fetch-depth: 0` \
                 with actions/checkout or `GIT_DEPTH: 0` in GitLab CI, so that it is found)"
            } else {
                ""
            };
            plan.problems.push(ScanError::warning(
                &root,
                format!(
                    "--since {since}: {}{shallow}; scanning the commits of {} that no other branch or remote-tracking ref reaches ({} refs excluded)",
                    if is_zero_rev(since) { "the zero revision (a new branch)" } else { "not found in this repository" },
                    until.unwrap_or("HEAD"),
                    others.len()
                ),
            ));
            others
        }
    };
    let order = match oldest_first(repo, std::iter::once(tip), &hide) {
        Ok(o) => o,
        Err(e) => {
            plan.problems.push(ScanError::error(
                &root,
                format!("cannot walk {since}..: {}", e.message()),
            ));
            return;
        }
    };
    let at_head = head_blobs(repo);
    let mut seen = OidSet::default();
    let reach = until.map_or_else(|| head_ref_name(repo), str::to_string);
    let mut reader = commit_reader(repo, plan.packs.clone());
    let mut raw = Vec::new();
    for oid in order {
        plan.commit_done();
        let info = match read_commit(repo, reader.as_mut(), &mut raw, oid) {
            Ok(c) => commit_info(oid, c.who, c.time, vec![reach.clone()]),
            Err(e) => {
                plan.problems.push(ScanError::error(
                    &root,
                    format!("commit {oid}: {}", e.message()),
                ));
                continue;
            }
        };
        let info = Arc::new(info);
        match added_blobs(repo, oid) {
            Ok(blobs) => {
                for (blob, path, lines) in blobs {
                    if seen.insert(blob) {
                        plan.job(BlobJob {
                            oid: blob,
                            path,
                            commit: Some(info.clone()),
                            at_head: at_head.contains(&blob),
                            lines,
                        });
                    }
                }
            }
            Err(e) => plan.problems.push(ScanError::error(
                &root,
                format!("commit {oid}: {}", e.message()),
            )),
        }
    }
}

fn head_ref_name(repo: &Repository) -> String {
    repo.head()
        .ok()
        .and_then(|h| h.name().map(str::to_string))
        .unwrap_or_else(|| "HEAD".into())
}

/// Tips of every local branch and remote-tracking ref that does not point
/// at `tip` itself (nor is the current branch).
fn other_branch_tips(repo: &Repository, tip: Oid) -> Vec<Oid> {
    let head = head_ref_name(repo);
    let mut out = Vec::new();
    if let Ok(refs) = repo.references() {
        for r in refs.flatten() {
            let Some(name) = r.name() else { continue };
            if name == head
                || !(name.starts_with("refs/heads/") || name.starts_with("refs/remotes/"))
            {
                continue;
            }
            if let Ok(c) = r.peel_to_commit() {
                if c.id() != tip && !out.contains(&c.id()) {
                    out.push(c.id());
                }
            }
        }
    }
    out
}

/// A blob that a diff adds or changes, with its path and, when it changes an
/// older blob, the numbers of the lines it adds.
type Added = (Oid, String, Option<Arc<[u32]>>);

/// The new-side blobs of a diff's additions and changes. For a changed file
/// only its added lines count: a deletion is never a finding, and an old
/// secret on an unchanged line was there before the range.
fn additions(diff: &git2::Diff) -> Vec<Added> {
    let mut out = Vec::new();
    for (i, d) in diff.deltas().enumerate() {
        if !matches!(
            d.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        ) {
            continue;
        }
        let f = d.new_file();
        if f.mode() == git2::FileMode::Commit {
            continue; // a submodule's gitlink
        }
        let path = f
            .path_bytes()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let whole = d.status() == Delta::Added || d.old_file().id().is_zero();
        let lines = if whole { None } else { added_lines(diff, i) };
        out.push((f.id(), path, lines));
    }
    out
}

/// Added line numbers of delta `i`; `None` (scan it all) when the patch
/// cannot be made, e.g. for a binary file.
fn added_lines(diff: &git2::Diff, i: usize) -> Option<Arc<[u32]>> {
    let patch = git2::Patch::from_diff(diff, i).ok()??;
    let mut lines = Vec::new();
    for h in 0..patch.num_hunks() {
        for l in 0..patch.num_lines_in_hunk(h).ok()? {
            let line = patch.line_in_hunk(h, l).ok()?;
            if line.origin() == '+' {
                lines.extend(line.new_lineno());
            }
        }
    }
    lines.sort_unstable();
    Some(lines.into())
}

/// Blobs a commit adds or changes relative to its parents: all of a root
/// commit's, a normal commit's diff against its parent, and for a merge only
/// what is new against every parent (its conflict resolutions).
fn added_blobs(repo: &Repository, oid: Oid) -> Result<Vec<Added>, git2::Error> {
    let commit = repo.find_commit(oid)?;
    let tree = commit.tree()?;
    let parents: Vec<_> = commit.parents().collect();
    let against = |parent: Option<&git2::Tree>| -> Result<Vec<Added>, git2::Error> {
        Ok(additions(&repo.diff_tree_to_tree(
            parent,
            Some(&tree),
            None,
        )?))
    };
    if parents.is_empty() {
        return against(None);
    }
    let mut result = against(Some(&parents[0].tree()?))?;
    for p in &parents[1..] {
        let other: OidSet = against(Some(&p.tree()?))?
            .into_iter()
            .map(|x| x.0)
            .collect();
        result.retain(|(o, _, _)| other.contains(o));
    }
    Ok(result)
}

/// `--staged`: blobs in the index that differ from HEAD's tree.
fn plan_staged(repo: &Repository, plan: &mut Plan) {
    let root = repo_name(repo);
    let index = match repo.index() {
        Ok(i) => i,
        Err(e) => {
            plan.problems.push(ScanError::error(
                &root,
                format!("cannot read the index: {}", e.message()),
            ));
            return;
        }
    };
    let head = repo.head().and_then(|h| h.peel_to_tree()).ok();
    let diff = match repo.diff_tree_to_index(head.as_ref(), Some(&index), None) {
        Ok(d) => d,
        Err(e) => {
            plan.problems.push(ScanError::error(
                &root,
                format!("cannot diff the index: {}", e.message()),
            ));
            return;
        }
    };
    for (oid, path, lines) in additions(&diff) {
        plan.job(BlobJob {
            oid,
            path,
            commit: None,
            at_head: false,
            lines,
        });
    }
}

//! The directory source: `ignore`'s parallel walker. Honours .gitignore (unless
//! told not to), never enters `.git/`, does not follow symlinks unless asked,
//! passes over binary files, and reads files larger than the size limit in
//! overlapping chunks rather than whole. A problem with one file is reported
//! to the sink and the walk goes on.
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use globset::GlobSet;
use ignore::{WalkBuilder, WalkState};

use super::{display_path, Chunk, Origin, ScanError, Sink};

/// Bytes sniffed for a NUL to call a file binary (as git and ripgrep do).
const SNIFF: usize = 8192;
/// Overlap between chunks of a huge file: longer than any secret we match.
pub const CHUNK_OVERLAP: usize = 64 * 1024;
/// Chunks are never larger than this, whatever the size limit.
pub(crate) const MAX_CHUNK: u64 = 16 << 20;

#[derive(Debug, Clone)]
pub struct FsOptions {
    pub no_ignore: bool,
    pub follow_links: bool,
    /// Files above this size are scanned in chunks.
    pub max_file_size: u64,
    pub threads: usize,
    /// Paths (relative to their root) not to scan, per root.
    pub skip: Vec<(PathBuf, GlobSet)>,
    /// Files not to scan, canonicalised (the agent inventory's own files).
    pub exclude: Vec<PathBuf>,
    /// An OCI image layout directory is handed to the sink as an image
    /// ([`Sink::layout`]), its `blobs/` not walked as files.
    pub image_layouts: bool,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            no_ignore: false,
            follow_links: false,
            max_file_size: 64 << 20,
            threads: 1,
            skip: Vec::new(),
            exclude: Vec::new(),
            image_layouts: false,
        }
    }
}

/// Ignore files (`.gitignore`, `.ignore`) the walker reads are capped at
/// this size; a larger one is not read.
const IGNORE_FILE_CAP: u64 = 4 << 20;
/// A `.git` file (`gitdir: …`) holds one line.
const GIT_FILE_CAP: u64 = 64 << 10;

/// Why the walker must not read the ignore files of `dir`, if it must not:
/// one is a device, FIFO or socket (or a link to one), which reading would
/// hang on or never finish, or is too large. The walker reads them itself,
/// when it enters the directory, so this is asked before.
fn unreadable_ignore_file(dir: &Path) -> Option<(PathBuf, &'static str)> {
    for (name, cap) in [
        (".gitignore", IGNORE_FILE_CAP),
        (".ignore", IGNORE_FILE_CAP),
        (".git", GIT_FILE_CAP),
    ] {
        let path = dir.join(name);
        // After links, as the walker opens it; a dangling link is not read.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            continue;
        }
        if !meta.is_file() {
            return Some((path, "is a device, FIFO or socket (or a link to one)"));
        }
        if meta.len() > cap {
            return Some((path, "is too large"));
        }
    }
    None
}

/// Directories left out of a walk: each with the ignore file that could not
/// be read, and why.
type Skipped = std::sync::Mutex<Vec<(PathBuf, (PathBuf, &'static str))>>;

/// Walks `roots` in parallel; every walker thread gets its own sink from
/// `make_sink` and scans the files it finds itself.
///
/// A directory whose ignore files cannot be read safely (see
/// [`unreadable_ignore_file`]) is left out of the walk and walked on its own
/// afterwards without any ignore rules (it and everything below it is
/// scanned, which is the safe side), with a warning.
pub fn walk<S, F>(roots: &[PathBuf], opts: &FsOptions, make_sink: F)
where
    S: Sink + Send,
    F: Fn() -> S + Sync,
{
    let use_ignore = !opts.no_ignore;
    if !use_ignore {
        return walk_with(roots, opts, false, &make_sink, None);
    }
    // Roots whose own ignore files, or those of a directory above them
    // (which the walker also reads), cannot be read safely.
    let (mut plain, mut ignoring) = (Vec::new(), Vec::new());
    for root in roots {
        let above = root.canonicalize().ok().into_iter().flat_map(|c| {
            c.ancestors()
                .skip(1)
                .map(Path::to_path_buf)
                .collect::<Vec<_>>()
        });
        match std::iter::once(root.clone())
            .chain(above)
            .find_map(|d| unreadable_ignore_file(&d))
        {
            Some(bad) => plain.push((root.clone(), bad)),
            None => ignoring.push(root.clone()),
        }
    }
    let skipped = std::sync::Mutex::new(Vec::new());
    walk_with(&ignoring, opts, true, &make_sink, Some(&skipped));
    plain.extend(skipped.into_inner().expect("walk done"));
    for (dir, (file, why)) in plain {
        make_sink().problem(ScanError::warning(
            display_path(&file),
            format!(
                "{why}: not read as an ignore file; {} is scanned without ignore rules",
                display_path(&dir)
            ),
        ));
        let root = root_for(roots, &dir);
        walk_dir_plain(&dir, &root, opts, &make_sink);
    }
}

/// Walks a directory left out of the main walk, without ignore rules, with
/// its paths shown under `root` (the scan root it was found under).
fn walk_dir_plain<S, F>(dir: &Path, root: &Path, opts: &FsOptions, make_sink: &F)
where
    S: Sink + Send,
    F: Fn() -> S + Sync,
{
    let roots = [dir.to_path_buf()];
    let root = root.to_path_buf();
    walk_entries(&roots, opts, false, make_sink, None, &move |_| root.clone());
}

/// One parallel walk of `roots`. With `ignore`, ignore files are honoured,
/// and directories whose ignore files cannot be read safely are added to
/// `skipped` instead of being entered.
fn walk_with<S, F>(
    roots: &[PathBuf],
    opts: &FsOptions,
    ignore: bool,
    make_sink: &F,
    skipped: Option<&Skipped>,
) where
    S: Sink + Send,
    F: Fn() -> S + Sync,
{
    walk_entries(roots, opts, ignore, make_sink, skipped, &|p| {
        root_for(roots, p)
    });
}

fn walk_entries<S, F>(
    roots: &[PathBuf],
    opts: &FsOptions,
    ignore: bool,
    make_sink: &F,
    skipped: Option<&Skipped>,
    root_of: &(dyn Fn(&Path) -> PathBuf + Sync),
) where
    S: Sink + Send,
    F: Fn() -> S + Sync,
{
    let Some((first, rest)) = roots.split_first() else {
        return;
    };
    let mut builder = WalkBuilder::new(first);
    for r in rest {
        builder.add(r);
    }
    builder
        .hidden(false)
        .parents(ignore)
        .ignore(ignore)
        .git_ignore(ignore)
        .git_global(ignore)
        .git_exclude(ignore)
        .require_git(false)
        .follow_links(opts.follow_links)
        .threads(opts.threads.max(1));
    std::thread::scope(|scope| {
        // The filter must be 'static: the directories it leaves out come
        // back through a channel.
        let (tx, rx) = std::sync::mpsc::channel();
        let check = ignore && skipped.is_some();
        let layouts = opts.image_layouts;
        builder.filter_entry(move |e| {
            if e.file_name() == ".git" {
                return false;
            }
            // An image layout's blobs are read as its image, from `oci-layout`.
            if layouts
                && e.file_name() == "blobs"
                && e.path().parent().is_some_and(super::image::is_layout)
            {
                return false;
            }
            if check && e.file_type().is_some_and(|t| t.is_dir()) {
                if let Some(bad) = unreadable_ignore_file(e.path()) {
                    let _ = tx.send((e.path().to_path_buf(), bad));
                    return false;
                }
            }
            true
        });
        if let Some(skipped) = skipped {
            scope.spawn(move || {
                for x in rx {
                    skipped.lock().expect("no panics while holding").push(x);
                }
            });
        }
        builder.build_parallel().run(|| {
            let mut sink = make_sink();
            let mut buf = Vec::new();
            Box::new(move |entry| {
                match entry {
                    Ok(entry) => {
                        let is_file = entry.file_type().is_some_and(|t| t.is_file());
                        if is_file {
                            let root = root_of(entry.path());
                            let origin = Origin::file(display_path(entry.path()), root);
                            // Names first: canonicalising every file costs syscalls.
                            let excluded = opts
                                .exclude
                                .iter()
                                .any(|x| x.file_name() == Some(entry.file_name()))
                                && entry
                                    .path()
                                    .canonicalize()
                                    .is_ok_and(|c| opts.exclude.contains(&c));
                            if !excluded && !skipped_by_config(opts, &origin) {
                                read_file(entry.path(), &origin, opts, &mut buf, &mut sink);
                                // An image layout is opened from its `oci-layout` file.
                                let dir = entry.path().parent().unwrap_or(Path::new("."));
                                if opts.image_layouts
                                    && entry.file_name() == "oci-layout"
                                    && super::image::is_layout(dir)
                                {
                                    let origin = Origin::file(display_path(dir), root_of(dir));
                                    sink.layout(&origin, dir);
                                }
                            }
                        }
                    }
                    Err(err) => sink.problem(walk_error(&err)),
                }
                WalkState::Continue
            })
        });
        // The builder, and with it the filter's sender, is dropped here:
        // the collecting thread ends.
        drop(builder);
    });
}

/// The root a walked path came from, as users see it (no leading `./`).
fn root_for(roots: &[PathBuf], path: &Path) -> PathBuf {
    roots
        .iter()
        .filter(|r| path.starts_with(r))
        .max_by_key(|r| r.as_os_str().len())
        .map(|r| PathBuf::from(display_path(r)))
        .unwrap_or_default()
}

fn skipped_by_config(opts: &FsOptions, origin: &Origin) -> bool {
    opts.skip.iter().any(|(root, globs)| {
        Path::new(&display_path(root)) == origin.root
            && !globs.is_empty()
            && globs.is_match(origin.relative())
    })
}

/// A walker error as a report entry, with the path it concerns.
fn walk_error(err: &ignore::Error) -> ScanError {
    fn path_of(err: &ignore::Error) -> Option<String> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(display_path(path)),
            ignore::Error::Loop { child, .. } => Some(display_path(child)),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                path_of(err)
            }
            ignore::Error::Partial(errs) => errs.first().and_then(path_of),
            _ => None,
        }
    }
    let message = match innermost(err) {
        ignore::Error::Loop { ancestor, .. } => format!(
            "symbolic link loop back to {}; not followed",
            display_path(ancestor)
        ),
        inner => inner.to_string(),
    };
    ScanError::error(path_of(err).unwrap_or_default(), message)
}

/// ignore wraps errors in path and depth context; the report has the path
/// separately, so the message is the innermost error's.
fn innermost(err: &ignore::Error) -> &ignore::Error {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => innermost(err),
        _ => err,
    }
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::PermissionDenied => "permission denied; not scanned".into(),
        ErrorKind::NotFound => "vanished before it could be read".into(),
        _ => format!("could not be read: {e}"),
    }
}

/// Reads one file and hands it to the sink whole or, above the size limit,
/// in overlapping chunks.
pub fn read_file<S: Sink>(
    path: &Path,
    origin: &Origin,
    opts: &FsOptions,
    buf: &mut Vec<u8>,
    sink: &mut S,
) {
    let mut file = match open_nonblocking(path) {
        Ok(f) => f,
        Err(e) => return sink.problem(ScanError::error(&origin.path, io_message(&e))),
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return sink.problem(ScanError::error(&origin.path, io_message(&e))),
    };
    if !meta.is_file() {
        // The walker saw a file; something else stands there now.
        return sink.problem(ScanError::error(
            &origin.path,
            "not a regular file (a directory, device, FIFO or socket); not read",
        ));
    }
    let len = meta.len();
    buf.clear();
    if len <= opts.max_file_size {
        if let Err(e) = file.read_to_end(buf) {
            return sink.problem(ScanError::error(&origin.path, io_message(&e)));
        }
        whole(origin, buf, sink);
    } else {
        // A large archive is opened as it lies on disk.
        let mut head = Vec::with_capacity(512);
        let _ = Read::take(&mut file, 512).read_to_end(&mut head);
        use std::io::Seek;
        if super::magic::detect(&head).is_some()
            && file.rewind().is_ok()
            && sink.seekable(origin, &mut file, len)
        {
            return;
        }
        if let Err(e) = file.rewind() {
            return sink.problem(ScanError::error(&origin.path, io_message(&e)));
        }
        read_chunks(
            &mut file,
            origin,
            opts.max_file_size.min(MAX_CHUNK),
            buf,
            sink,
        );
    }
    if buf.capacity() > MAX_CHUNK as usize {
        *buf = Vec::new(); // do not keep a huge buffer for small files
    }
}

/// An input read whole (a file up to the size limit, standard input):
/// binary ones (a NUL in the first bytes, or an archive's magic) go to the
/// sink's binary path, text is one chunk.
pub(crate) fn whole<S: Sink>(origin: &Origin, data: &[u8], sink: &mut S) {
    if is_binary(data) || super::magic::detect(data).is_some() {
        return sink.binary(origin, data);
    }
    // The ASCII check is the faster one, and most text passes it.
    if !data.is_ascii() {
        if let Err(e) = std::str::from_utf8(data) {
            sink.problem(ScanError::warning(
                &origin.path,
                format!(
                    "invalid UTF-8 at byte {}; scanned as raw bytes",
                    e.valid_up_to()
                ),
            ));
        }
    }
    sink.chunk(Chunk {
        origin,
        data,
        line_base: 0,
        column_base: 0,
        keep_before: data.len(),
    });
    sink.input_done(origin, data.len() as u64);
}

/// Opens `path` for reading without waiting: a FIFO swapped in for a file
/// opens at once (and is then refused as not a regular file).
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    opts.open(path)
}

fn is_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(SNIFF)]).is_some()
}

/// Hands what `file` holds to the sink in overlapping chunks (the members
/// of archives too), or its first chunk as binary.
pub(crate) fn read_chunks<R: Read + ?Sized, S: Sink>(
    file: &mut R,
    origin: &Origin,
    chunk_size: u64,
    buf: &mut Vec<u8>,
    sink: &mut S,
) {
    let chunk_size = (chunk_size as usize).max(2 * CHUNK_OVERLAP);
    let (mut line_base, mut total, mut first) = (0u32, 0u64, true);
    let mut column_base = 0u32;
    loop {
        let have = buf.len();
        let got = match Read::take(&mut *file, (chunk_size - have) as u64).read_to_end(buf) {
            Ok(n) => n,
            Err(e) => {
                sink.problem(ScanError::error(
                    &origin.path,
                    format!("{} (after {total} bytes)", io_message(&e)),
                ));
                break;
            }
        };
        if first {
            if is_binary(buf) {
                return sink.binary(origin, buf);
            }
            first = false;
        }
        total += got as u64;
        let eof = buf.len() < chunk_size;
        let keep_before = if eof {
            buf.len()
        } else {
            buf.len() - CHUNK_OVERLAP
        };
        sink.chunk(Chunk {
            origin,
            data: buf,
            line_base,
            column_base,
            keep_before,
        });
        if eof {
            break;
        }
        line_base += memchr::memchr_iter(b'\n', &buf[..keep_before]).count() as u32;
        column_base = super::next_column_base(&buf[..keep_before], column_base);
        buf.drain(..keep_before);
    }
    sink.input_done(origin, total);
}

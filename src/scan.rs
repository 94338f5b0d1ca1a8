//! The pipeline of one scan: sources → matcher → findings → identities →
//! report. Receives the frozen [`Config`]; hands back the [`ScanReport`].
//! Walker threads scan what they read with per-thread scratch space and
//! group their matches into findings of their own; the groups are merged at
//! the end, a baseline suppresses what it accepted, and identity
//! correlation sets owners and risks. [`Pipeline`] is the scanning half,
//! shared with each repository of a sweep.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Config, RangeTrust};
use crate::error::{Error, Result};
use crate::finding::collect::{self, Cap, Collector};
use crate::matcher::{Matcher, Scratch, Suppressed};
use crate::report::{ScanReport, Stats};
use crate::source::archive::{self, ArchiveOptions};
use crate::source::git::{self, Range};
use crate::source::{self, Chunk, Origin, ScanError, Severity, Sink};

#[derive(Default)]
struct Counters {
    files: AtomicU64,
    blobs: AtomicU64,
    bytes: AtomicU64,
    binary: AtomicU64,
    matches: AtomicU64,
    commits: AtomicU64,
}

#[derive(Default)]
struct Shared {
    collectors: Mutex<Vec<Collector>>,
    errors: Mutex<Vec<ScanError>>,
}

/// One walker thread's sink: scans chunks as they come, groups its matches
/// into findings of its own and hands them over once, when the thread ends.
struct Worker<'a> {
    matcher: &'a Matcher,
    /// In a range scan, which suppressions are trusted.
    trust: Option<&'a RangeTrust>,
    scratch: Scratch,
    findings: Collector,
    errors: Vec<ScanError>,
    counters: &'a Counters,
    shared: &'a Shared,
    progress: Option<&'a ProgressBar>,
    /// Inputs are git blobs, not files.
    history: bool,
    archives: &'a ArchiveOptions,
}

impl Sink for Worker<'_> {
    fn chunk(&mut self, c: Chunk<'_>) {
        let name = c.origin.path.rsplit(['/', '\\']).next().unwrap_or_default();
        let found = self.matcher.scan_named(c.data, name, &mut self.scratch);
        if self.scratch.truncated() {
            self.errors.push(ScanError::warning(
                &c.origin.path,
                format!(
                    "more than {} matches: the rest of this input was not examined",
                    crate::matcher::MAX_MATCHES
                ),
            ));
        }
        for mut m in found {
            if m.offset >= c.keep_before {
                continue; // the next chunk reports it
            }
            if m.line == 1 {
                m.column += c.column_base;
            }
            m.line += c.line_base;
            if let Some(lines) = &c.origin.lines {
                if lines.binary_search(&m.line).is_err() {
                    continue; // not on an added line
                }
            }
            self.record(c.origin, m);
        }
        // A key store with no NUL in its first bytes is read as text: its
        // first chunk is also looked at as a binary.
        if c.line_base == 0 && c.column_base == 0 {
            for m in self.matcher.scan_binary(c.data, name) {
                self.record(c.origin, m);
            }
        }
    }

    fn problem(&mut self, error: ScanError) {
        self.errors.push(error);
    }

    fn binary(&mut self, origin: &Origin, data: &[u8]) {
        // An archive's members are inputs of their own; archives inside it
        // are opened by the expansion itself.
        let opts = self.archives;
        if opts.enabled && origin.container.is_none() {
            if let Some(kind) = archive::detect(data) {
                let mut input = std::io::Cursor::new(data);
                archive::expand(origin, kind, &mut input, data.len() as u64, opts, self);
                return;
            }
        }
        self.counters.binary.fetch_add(1, Ordering::Relaxed);
        let name = origin.path.rsplit(['/', '\\']).next().unwrap_or_default();
        for m in self.matcher.scan_binary(data, name) {
            self.record(origin, m);
        }
    }

    fn input_done(&mut self, _origin: &Origin, bytes: u64) {
        let counter = if self.history {
            &self.counters.blobs
        } else {
            &self.counters.files
        };
        let files = counter.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.counters.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(pb) = self.progress {
            if files % 64 == 0 {
                self.show(pb, total);
            }
        }
    }

    fn seekable(&mut self, origin: &Origin, input: &mut dyn source::ReadSeek, len: u64) -> bool {
        use std::io::Read;
        let opts = self.archives;
        if !opts.enabled || origin.container.is_some() {
            return false;
        }
        let mut head = Vec::with_capacity(512);
        let kind = match Read::take(&mut *input, 512).read_to_end(&mut head) {
            Ok(_) => archive::detect(&head),
            Err(_) => None,
        };
        match kind {
            Some(kind) if input.rewind().is_ok() => {
                archive::expand(origin, kind, input, len, opts, self);
                true
            }
            _ => false,
        }
    }

    fn layout(&mut self, origin: &Origin, dir: &std::path::Path) {
        let opts = self.archives;
        if opts.enabled {
            archive::expand_layout(origin, dir, opts, self);
        }
    }

    fn commits_walked(&mut self, n: u64) {
        self.counters.commits.fetch_add(n, Ordering::Relaxed);
        if let Some(pb) = self.progress {
            self.show(pb, self.counters.bytes.load(Ordering::Relaxed));
        }
    }
}

impl Worker<'_> {
    /// Adds a match to the findings, with what a range scan's trust says of
    /// its suppression (a suppression already trusted drops it).
    fn record(&mut self, origin: &Origin, m: crate::matcher::Match) {
        let suppression = match &self.trust {
            Some(t) => {
                let added = match m.suppressed {
                    Some(Suppressed::AllowComment) => Some("allow comment"),
                    Some(Suppressed::AllowValue(i)) if t.values_at_base[i] => return,
                    Some(Suppressed::AllowValue(_)) => Some("allow.values"),
                    None => None,
                };
                added.or(t.newly_disabled[m.rule].then_some("allow.rules"))
            }
            None => None,
        };
        self.counters.matches.fetch_add(1, Ordering::Relaxed);
        self.findings
            .add(self.matcher.rules(), origin, m, suppression);
    }

    fn show(&self, pb: &ProgressBar, bytes: u64) {
        let c = self.counters;
        let (files, blobs, commits) = (
            c.files.load(Ordering::Relaxed),
            c.blobs.load(Ordering::Relaxed),
            c.commits.load(Ordering::Relaxed),
        );
        let mut msg = format!("{files} files");
        if blobs + commits > 0 {
            msg.push_str(&format!(", {commits} commits walked, {blobs} blobs"));
        }
        msg.push_str(&format!(
            ", {} MiB, {} candidate secrets",
            bytes >> 20,
            c.matches.load(Ordering::Relaxed)
        ));
        pb.set_message(msg);
    }
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let findings = std::mem::take(&mut self.findings);
        if !findings.is_empty() {
            self.shared
                .collectors
                .lock()
                .expect("no panics while holding")
                .push(findings);
        }
        self.shared
            .errors
            .lock()
            .expect("no panics while holding")
            .append(&mut self.errors);
    }
}

fn progress_bar() -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg}  {elapsed}").expect("valid template"),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// The scanning half of a pipeline, shared by a scan and by each repository
/// of a sweep: per-thread workers feeding one pile of matches and errors.
pub struct Pipeline<'a> {
    matcher: &'a Matcher,
    /// Shared by every worker's collector.
    cap: Arc<Cap>,
    trust: Option<&'a RangeTrust>,
    counters: Counters,
    shared: Shared,
    progress: Option<ProgressBar>,
    archives: ArchiveOptions,
}

/// What a pipeline's workers produced.
pub struct Harvest {
    /// Each worker's findings, to be merged by [`collect::finish`].
    pub findings: Vec<Collector>,
    pub errors: Vec<ScanError>,
    pub files: u64,
    pub blobs: u64,
    pub bytes: u64,
    pub skipped_binary: u64,
}

impl<'a> Pipeline<'a> {
    /// `progress`: draw a spinner on stderr (the caller checks for a terminal).
    pub fn new(matcher: &'a Matcher, progress: bool) -> Pipeline<'a> {
        Pipeline {
            matcher,
            cap: Arc::new(Cap {
                max: usize::MAX,
                ..Cap::default()
            }),
            trust: None,
            counters: Counters::default(),
            shared: Shared::default(),
            progress: progress.then(progress_bar),
            archives: ArchiveOptions::default(),
        }
    }

    /// How far archives are opened (default: [`ArchiveOptions::default`]).
    pub fn archives(&mut self, opts: ArchiveOptions) {
        self.archives = opts;
    }

    fn worker(&self, history: bool) -> Worker<'_> {
        Worker {
            matcher: self.matcher,
            trust: self.trust,
            scratch: Scratch::default(),
            findings: Collector::capped(self.cap.clone()),
            errors: Vec::new(),
            counters: &self.counters,
            shared: &self.shared,
            progress: self.progress.as_ref(),
            history,
            archives: &self.archives,
        }
    }

    /// Scans standard input, to its end, as one input named
    /// [`source::stdin::NAME`] (`max_file_size`: read in chunks past it).
    pub fn stdin(&self, max_file_size: u64) {
        let mut sink = self.worker(false);
        let origin = source::stdin::origin();
        let spool = self.archives.enabled;
        let mut input = std::io::stdin().lock();
        source::stdin::read(&mut input, &origin, max_file_size, spool, &mut sink);
    }

    /// Scans the files under `roots`.
    pub fn files(&self, roots: &[std::path::PathBuf], opts: &source::fs::FsOptions) {
        source::fs::walk(roots, opts, || self.worker(false));
    }

    /// Scans the history of one repository; an error only when it cannot be
    /// opened at all.
    pub fn history(
        &self,
        repo: &git::RepoLocation,
        opts: &git::GitOptions,
    ) -> std::result::Result<git::HistoryStats, ScanError> {
        git::scan(repo, opts, || self.worker(true))
    }

    /// Records a problem found outside the workers.
    pub fn problem(&self, e: ScanError) {
        self.shared
            .errors
            .lock()
            .expect("no panics while holding")
            .push(e);
    }

    /// Keeps at most `max` distinct secrets (see [`Cap`]).
    pub fn cap_findings(&mut self, max: usize) {
        self.cap = Arc::new(Cap {
            max,
            ..Cap::default()
        });
    }

    pub fn finish(self) -> Harvest {
        if let Some(pb) = &self.progress {
            pb.finish_and_clear();
        }
        let dropped = self.cap.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            self.problem(ScanError::error(
                "",
                format!(
                    "more than {} distinct secrets: {dropped} matches of further secrets were not kept (raise --max-findings)",
                    self.cap.max
                ),
            ));
        }
        Harvest {
            findings: self.shared.collectors.into_inner().expect("workers done"),
            errors: self.shared.errors.into_inner().expect("workers done"),
            files: self.counters.files.into_inner(),
            blobs: self.counters.blobs.into_inner(),
            bytes: self.counters.bytes.into_inner(),
            skipped_binary: self.counters.binary.into_inner(),
        }
    }
}

/// Runs the scan that `config` describes and returns its report. Fails only
/// when the scan cannot run at all (`--since`/`--staged` without a repository).
pub fn run(config: &Config) -> Result<ScanReport> {
    let started = Instant::now();
    let mut pipeline = Pipeline::new(&config.matcher, config.progress);
    pipeline.archives(config.archives.clone());
    pipeline.trust = config.trust.as_ref();
    pipeline.cap_findings(config.max_findings);
    if config.stdin {
        pipeline.stdin(config.fs.max_file_size);
    }
    if config.worktree {
        pipeline.files(&config.roots, &config.fs);
    }
    let mut commits = 0;
    // What makes the whole scan fail though it reported what it could.
    let mut fatal = None;
    if config.history {
        let repos = git::discover(&config.roots);
        if repos.is_empty() && !matches!(config.git.range, Range::All) {
            return Err(Error::Usage(
                "--since and --staged need a git repository at a scanned path".into(),
            ));
        }
        for repo in &repos {
            match pipeline.history(repo, &config.git) {
                Ok(stats) => commits += stats.commits,
                Err(e) => {
                    // History was asked for and cannot be read: not a clean
                    // scan, whatever the files said.
                    fatal.get_or_insert_with(|| {
                        format!(
                            "{}: {} (--no-history scans the files only)",
                            e.path, e.message
                        )
                    });
                    pipeline.problem(e);
                }
            }
        }
    }
    let harvest = pipeline.finish();
    let rules = config.matcher.rules();
    let mut findings = collect::finish(
        rules,
        harvest.findings,
        config.show_secrets,
        config.fs.threads,
    );
    let suppressed = match (&config.baseline, &config.trust) {
        // A range scan honours the entries its base had; a finding only a
        // newer entry accepts stands for that suppression.
        (Some(b), Some(t)) => {
            let at_base = t.baseline_at_base.clone().unwrap_or_default();
            let n = crate::baseline::suppress(&mut findings, &at_base) as u64;
            for f in findings.iter_mut().filter(|f| b.contains(f)) {
                for l in &mut f.locations {
                    l.suppression.get_or_insert_with(|| "baseline entry".into());
                }
            }
            n
        }
        (Some(b), None) => crate::baseline::suppress(&mut findings, b) as u64,
        (None, _) => 0,
    };
    if config.trust.is_some() {
        for f in &mut findings {
            if f.locations.iter().all(|l| l.suppression.is_some()) {
                f.into_suppression();
            }
        }
    }
    let intended = drop_intended(&mut findings, &config.intended);
    // Live checks, before correlation: the risks read their results.
    let mut verified = None;
    if let (Some(v), false) = (&config.verify, config.verify_plan) {
        let client = crate::net::Client::new(&v.net).map_err(Error::Usage)?;
        verified = Some(crate::verify::run(&mut findings, rules, v, &client));
    }
    // Each thread reads the owner files it needs on its own.
    let identities = crate::identity::correlate_on(
        &mut findings,
        config.inventory.as_ref(),
        config.risk,
        config.fs.threads,
        |part| {
            if config.code_owners {
                crate::identity::owners::Owners::default().assign(part);
            }
        },
    );
    let mut errors = harvest.errors;
    errors.extend(config.warnings.iter().cloned());
    errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    if harvest.files + harvest.blobs + harvest.skipped_binary == 0 {
        // Nothing was read: if that is because of errors (every root
        // denied), the scan did not run.
        if let Some(e) = errors.iter().find(|e| e.severity == Severity::Error) {
            fatal
                .get_or_insert_with(|| format!("nothing could be read: {}: {}", e.path, e.message));
        }
    }
    Ok(ScanReport {
        version: 1,
        findings,
        identities,
        stats: Stats {
            files: harvest.files,
            blobs: harvest.blobs,
            commits,
            bytes: harvest.bytes,
            seconds: started.elapsed().as_secs_f64(),
            skipped_binary: harvest.skipped_binary,
            suppressed,
            rules: rules.len(),
            intended,
        },
        errors,
        fatal,
        verified,
    })
}

/// Drops the findings whose every location an `[[intended]]` entry of a
/// scanned tree's `.keytrace.toml` covers, and counts them by reason (the
/// reason of the entry that covers the first location).
fn drop_intended(
    findings: &mut Vec<crate::finding::Finding>,
    sets: &[crate::config::IntendedSet],
) -> Vec<crate::report::IntendedCount> {
    if sets.is_empty() {
        return Vec::new();
    }
    let mut counts: Vec<u64> = vec![0; sets.len()];
    findings.retain(|f| {
        let mut first = None;
        for l in &f.locations {
            match sets.iter().position(|s| s.covers(l)) {
                Some(i) => {
                    first.get_or_insert(i);
                }
                None => return true,
            }
        }
        match first {
            Some(i) => {
                counts[i] += 1;
                false
            }
            None => true,
        }
    });
    let mut out: Vec<crate::report::IntendedCount> = Vec::new();
    for (set, n) in sets.iter().zip(counts) {
        match out.iter_mut().find(|c| c.reason == set.reason) {
            Some(c) => c.findings += n,
            None if n > 0 => out.push(crate::report::IntendedCount {
                reason: set.reason.clone(),
                findings: n,
            }),
            None => {}
        }
    }
    out
}

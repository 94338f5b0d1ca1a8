//! Org-wide sweeps: many repositories, one store per worker, incremental.
//! Receives the list of repositories (taking only this worker's shard), the
//! matcher and the store; per repository it clones or fetches, walks only
//! the commits the store has not seen, scans only blobs it has not scanned,
//! and records the outcome in one transaction. Hands on a log line per
//! repository; `merge` turns any number of stores into one report.
pub mod listing;
pub mod live;
pub mod merge;
pub mod repos;
pub mod store;
pub mod trust;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::cli::{parse_age, parse_size, SweepArgs};
use crate::config::{matcher, refs_glob, threads};
use crate::error::Error;
use crate::matcher::Matcher;
use crate::rules::RuleSet;
use crate::scan::Pipeline;
use crate::source::git::{self, GitOptions, RepoLocation};
use crate::source::{ScanError, Severity};
use repos::{RepoSpec, Shard};
use store::{RepoOutcome, Store, StoreError};

/// The frozen configuration of a sweep.
pub struct SweepConfig {
    /// Every repository listed; the shard picks this worker's share.
    pub repos: Vec<RepoSpec>,
    pub store: PathBuf,
    pub cache: Option<PathBuf>,
    pub shard: Option<Shard>,
    pub matcher: Matcher,
    /// Threads, blob size limit and ref filter; the incremental fields are
    /// set per repository.
    pub git: GitOptions,
    pub show_secrets: bool,
    /// Network timeouts and the time budget of one repository.
    pub limits: repos::Limits,
    /// Honour what each repository says of its own secrets (allow
    /// comments, its `.keytrace.toml` allow table, its baseline).
    pub trust_repo_config: bool,
    /// `--verify`: live checks, stored with their time.
    pub live: Option<live::SweepVerify>,
    pub archives: crate::source::archive::ArchiveOptions,
    /// The org listings to add to `repos` ([`SweepConfig::list`]).
    pub listing: Option<listing::Listing>,
}

impl SweepConfig {
    /// Adds the repositories the org listings give to `repos` (the
    /// network: only when a listing flag was given). `tell` hears of rate
    /// limits waited out and repositories left out.
    pub fn list(&mut self, tell: &mut dyn FnMut(&str)) -> crate::error::Result<()> {
        if let Some(l) = &self.listing {
            let listed = l.list(tell)?;
            self.repos.extend(listed);
        }
        Ok(())
    }

    /// The frozen configuration of a sweep, from its raw arguments.
    pub fn from_args(args: &SweepArgs) -> crate::error::Result<SweepConfig> {
        let network = std::time::Duration::from_secs(args.network_timeout.max(1));
        let listing = listing::Listing::from_args(&args.listing, network)?;
        if args.repos.is_empty() && args.repos_dir.is_empty() && listing.is_none() {
            return Err(Error::Usage(
                "keytrace sweep needs --repos FILE, --repos-dir DIR or an org listing \
                 (--github-org ORG, --gitlab-group GROUP, ...)"
                    .into(),
            ));
        }
        let mut list = Vec::new();
        for f in &args.repos {
            list.extend(repos::read_list(f)?);
        }
        for d in &args.repos_dir {
            list.extend(repos::below(d)?);
        }
        let threads = threads(args.threads)?;
        let rules = RuleSet::load(!args.no_builtin_rules, &args.rules)?;
        let matcher = matcher(
            rules,
            crate::matcher::MatchOptions {
                include_invalid: args.include_invalid,
                // What a swept repository says of its own secrets is not
                // taken unless the sweep says so.
                ignore_allow_comments: !args.trust_repo_config,
                ..Default::default()
            },
        )?;
        let refs = refs_glob(args.refs.as_deref())?;
        if args.verify.verify_plan {
            return Err(Error::Usage(
                "--verify-plan is for scans; a sweep takes --verify".into(),
            ));
        }
        let reverify_after = parse_age(&args.reverify_after).map_err(Error::Usage)?;
        let live = match args.verify.options().filter(|_| args.verify.verify) {
            Some(options) => Some(live::SweepVerify {
                client: crate::net::Client::new(&options.net).map_err(Error::Usage)?,
                deadline: Instant::now() + options.budget,
                options,
                reverify_after,
            }),
            None => None,
        };
        Ok(SweepConfig {
            repos: list,
            store: args.store.clone(),
            // Listed repositories are remote: without --cache their clones
            // go beside the store (`sweep.db` → `sweep.db.clones/`).
            cache: args.cache.clone().or_else(|| {
                listing.as_ref().map(|_| {
                    let mut p = args.store.clone().into_os_string();
                    p.push(".clones");
                    PathBuf::from(p)
                })
            }),
            shard: args.shard.as_deref().map(repos::Shard::parse).transpose()?,
            matcher,
            git: GitOptions {
                refs,
                threads,
                max_blob_size: parse_size(&args.max_file_size).map_err(Error::Usage)?,
                ..GitOptions::default()
            },
            show_secrets: args.show_secrets,
            limits: repos::Limits {
                network: std::time::Duration::from_secs(args.network_timeout.max(1)),
                repository: std::time::Duration::from_secs(args.repo_timeout.max(1)),
            },
            trust_repo_config: args.trust_repo_config,
            live,
            archives: args.archives.options().map_err(Error::Usage)?,
            listing,
        })
    }
}

/// One repository's line in the sweep log.
#[derive(Debug, Clone, Serialize)]
pub struct RepoLog {
    pub repo: String,
    pub commits: u64,
    /// Blobs read and scanned: only new ones on an incremental sweep.
    pub blobs: u64,
    pub bytes: u64,
    /// Findings this sweep made in it, and how many of them the store did not have.
    pub findings: usize,
    pub new: usize,
    pub seconds: f64,
    pub error: Option<String>,
}

/// What a whole sweep did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepSummary {
    pub sweep: i64,
    pub repositories: usize,
    pub failed: usize,
    pub commits: u64,
    pub blobs: u64,
    pub bytes: u64,
    pub findings: usize,
    pub new: usize,
    pub seconds: f64,
    /// With `--verify`: the checks made (not those reused from the store).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<crate::verify::Tally>,
}

/// The repositories this worker takes, in a stable order, each once.
pub fn selected(config: &SweepConfig) -> Vec<&RepoSpec> {
    let mut seen = std::collections::HashSet::new();
    config
        .repos
        .iter()
        .filter(|r| config.shard.is_none_or(|s| s.takes(&r.name)))
        .filter(|r| seen.insert(r.name.clone()))
        .collect()
}

/// Sweeps this worker's repositories into the store. `on_repo` hears about
/// each repository as it starts (index, name) and as it ends. Fails only
/// when the store cannot be opened or written.
pub fn run(
    config: &SweepConfig,
    mut on_start: impl FnMut(usize, &str),
    mut on_repo: impl FnMut(&RepoLog),
) -> Result<SweepSummary, StoreError> {
    let started = Instant::now();
    git::tune_libgit2();
    repos::set_network_timeouts(config.limits.network);
    let mut store = Store::open(&config.store)?;
    let now = crate::base::time::now();
    let sweep = store.begin_sweep(&now, config.shard.map(|s| s.to_string()))?;
    if config.listing.is_some() {
        let names: Vec<&str> = selected(config)
            .into_iter()
            .filter(|r| r.listed)
            .map(|r| r.name.as_str())
            .collect();
        store.record_listing(sweep, &names)?;
    }
    let mut summary = SweepSummary {
        sweep,
        ..SweepSummary::default()
    };
    let rules = config.matcher.rules().digest();
    if config.live.is_some() {
        summary.verified = Some(crate::verify::Tally::default());
    }
    for (i, spec) in selected(config).into_iter().enumerate() {
        on_start(i, &spec.name);
        let (log, tally) = sweep_one(config, &mut store, sweep, &now, spec, &rules)?;
        if let (Some(sum), Some(t)) = (&mut summary.verified, tally) {
            sum.live += t.live;
            sum.dead += t.dead;
            sum.indeterminate += t.indeterminate;
            sum.skipped += t.skipped;
            sum.requests += t.requests;
        }
        summary.repositories += 1;
        summary.failed += usize::from(log.error.is_some());
        summary.commits += log.commits;
        summary.blobs += log.blobs;
        summary.bytes += log.bytes;
        summary.findings += log.findings;
        summary.new += log.new;
        on_repo(&log);
    }
    store.finish_sweep(sweep, &crate::base::time::now())?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn sweep_one(
    config: &SweepConfig,
    store: &mut Store,
    sweep: i64,
    now: &str,
    spec: &RepoSpec,
    rules: &str,
) -> Result<(RepoLog, Option<crate::verify::Tally>), StoreError> {
    let started = Instant::now();
    let source = spec.display_source();
    let mut log = RepoLog {
        repo: spec.name.clone(),
        commits: 0,
        blobs: 0,
        bytes: 0,
        findings: 0,
        new: 0,
        seconds: 0.0,
        error: None,
    };
    let fail = |store: &mut Store, mut log: RepoLog, message: String| {
        log.seconds = started.elapsed().as_secs_f64();
        store.record_failure(sweep, now, &spec.name, &source, &message, log.seconds)?;
        log.error = Some(message);
        Ok((log, None))
    };
    let deadline = started + config.limits.repository;
    let path = match repos::acquire(spec, config.cache.as_deref(), &config.limits, deadline) {
        Ok(p) => p,
        Err(message) if spec.listed && repos::is_not_found(&message) => {
            let message = format!(
                "vanished since it was listed (deleted, renamed or made private): {message}"
            );
            return fail(store, log, message);
        }
        Err(message) => return fail(store, log, message),
    };
    let repo = match git2::Repository::open(&path) {
        Ok(r) => r,
        Err(e) => {
            return fail(
                store,
                log,
                format!("not a readable git repository: {}", e.message()),
            )
        }
    };
    // What the repository allows, when the sweep trusts it. Its files take
    // part in the digest the blobs were scanned with, so that a changed
    // allow table or baseline has every blob read again.
    let trusted = config
        .trust_repo_config
        .then(|| trust::RepoConfig::read(&repo));
    let rules = match &trusted {
        Some(t) if !t.digest.is_empty() => format!("{rules}+{}", t.digest),
        _ => rules.to_string(),
    };
    let rules = rules.as_str();
    let mut state = store.repo_state(&spec.name)?;
    if state.rules.as_deref().is_some_and(|r| r != rules) {
        // New or changed rules: every blob is read again with them; the
        // findings already recorded stay, new ones are added.
        state.known.clear();
        state.tips.clear();
    }
    // The walk lists the same refs again and reports their problems.
    let current = git::tips(&repo, config.git.refs.as_ref(), &mut Vec::new(), &spec.name);
    // Refs that only moved forward leave everything scanned before reachable:
    // walk just the new commits. Otherwise (a force push, a deleted branch)
    // walk everything again, scanning only unknown blobs, and learn which
    // old findings are still reachable.
    let now_tips: std::collections::HashSet<git2::Oid> = current.iter().map(|t| t.1).collect();
    let by_name: std::collections::HashMap<&str, git2::Oid> =
        current.iter().map(|(n, o)| (n.as_str(), *o)).collect();
    let ahead =
        |new: git2::Oid, old: git2::Oid| repo.graph_descendant_of(new, old).unwrap_or(false);
    // The same ref first (the usual case: a branch moved on), then any ref.
    let moved_forward = |name: &str, old: git2::Oid| {
        now_tips.contains(&old)
            || by_name.get(name).is_some_and(|new| ahead(*new, old))
            || current.iter().any(|(_, new)| ahead(*new, old))
    };
    let rewritten = state
        .tips
        .iter()
        .any(|(name, old)| !moved_forward(name, *old));
    let hide = if rewritten {
        Vec::new()
    } else {
        state.tips.iter().map(|t| t.1).collect()
    };
    let opts = GitOptions {
        known_blobs: Some(Arc::new(state.known)),
        hide,
        want_reachable: rewritten,
        deadline: Some(deadline),
        ..config.git.clone()
    };
    let location = RepoLocation {
        path: path.clone(),
        display_root: PathBuf::new(),
    };
    let mut pipeline = Pipeline::new(&config.matcher, false);
    pipeline.archives(config.archives.clone());
    let stats = match pipeline.history(&location, &opts) {
        Ok(s) => s,
        Err(e) => return fail(store, log, e.message),
    };
    let harvest = pipeline.finish();
    let mut findings = crate::finding::collect::finish(
        config.matcher.rules(),
        harvest.findings,
        config.show_secrets,
        config.git.threads,
    );
    let mut problems = harvest.errors;
    if let Some(t) = &trusted {
        t.apply(&mut findings);
        problems.extend(t.problems.iter().cloned());
    }
    problems.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    problems.dedup();
    let (checks, tally) = match &config.live {
        Some(l) => {
            let (c, t) = live::verify_repo(
                &config.matcher,
                config.git.max_blob_size,
                l,
                store,
                &repo,
                &spec.name,
                &mut findings,
            )?;
            (c, Some(t))
        }
        None => (Vec::new(), None),
    };
    let head = git::head_blobs(&repo);
    log.commits = stats.commits;
    log.blobs = stats.scanned.len() as u64;
    log.bytes = harvest.bytes;
    log.findings = findings.len();
    log.error = problems
        .iter()
        .find(|p| p.severity == Severity::Error)
        .map(error_line);
    // After an incomplete walk the same commits must be walked again.
    let complete = log.error.is_none();
    log.seconds = started.elapsed().as_secs_f64();
    log.new = store.record(
        sweep,
        now,
        RepoOutcome {
            name: &spec.name,
            rules,
            source: &source,
            tips: complete.then_some(current),
            scanned: &stats.scanned,
            findings,
            head: &head,
            reachable: stats.reachable.as_ref(),
            commits: stats.commits,
            bytes: harvest.bytes,
            seconds: log.seconds,
            error: log.error.as_deref(),
            problems: &problems,
        },
    )?;
    if !checks.is_empty() {
        store.set_checks(&spec.name, &checks)?;
    }
    Ok((log, tally))
}

fn error_line(p: &ScanError) -> String {
    format!("{}: {}", p.path, p.message)
}

//! The frozen configuration of a scan, built once from the raw arguments and
//! the `.keytrace.toml` project files: it owns the rules, the matcher and the
//! source options, so nothing later reads arguments or settings again.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSetBuilder};
use regex::bytes::Regex;
use serde::Deserialize;

use crate::base::time::Date;
use crate::cli::{parse_size, FormatArg, ScanArgs};
use crate::error::{Error, Result};
use crate::identity::{Inventory, RiskOptions};
use crate::matcher::{MatchOptions, Matcher};
use crate::report::Format;
use crate::rules::RuleSet;
use crate::source::fs::FsOptions;
use crate::source::git::{GitOptions, Range};

/// The name of the per-root settings file.
pub const PROJECT_FILE: &str = ".keytrace.toml";

/// `.keytrace.toml`: what a repository says about its own scanning.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    #[serde(default)]
    pub allow: Allow,
    /// Extra rule files, relative to the settings file.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// Inventory files or directories, relative to the settings file.
    #[serde(default)]
    pub agents: Vec<PathBuf>,
    /// Credentials the repository holds on purpose (`[[intended]]`).
    #[serde(default)]
    pub intended: Vec<Intended>,
}

/// `[[intended]]`: credentials a repository holds on purpose (a scanner's
/// rule examples, a library's published test vectors), by path. They are
/// found, counted by reason in `stats.intended`, and not reported.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intended {
    /// Path globs, relative to the scan root.
    pub paths: Vec<String>,
    /// Why, as the report says it.
    pub reason: String,
}

/// An `[[intended]]` entry compiled for one scan root.
#[derive(Debug, Clone)]
pub struct IntendedSet {
    /// The scan root, as locations show it.
    pub root: String,
    pub globs: globset::GlobSet,
    pub reason: String,
}

impl IntendedSet {
    /// Whether `l` lies under the root and matches a glob.
    pub fn covers(&self, l: &crate::finding::Location) -> bool {
        let under =
            self.root.is_empty() || self.root == "." || Path::new(&l.path).starts_with(&self.root);
        under && self.globs.is_match(&l.relative)
    }
}

/// What not to report.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    /// Path globs, relative to the scan root (`testdata/**`, `**/*.lock`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes: a secret matching any of them is not reported.
    #[serde(default)]
    pub values: Vec<String>,
    /// Rule ids to switch off.
    #[serde(default)]
    pub rules: Vec<String>,
}

impl ProjectFile {
    pub fn read(path: &Path) -> Result<ProjectFile> {
        let text = crate::base::files::read_capped_text(path, crate::base::files::cap::SETTINGS)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: crate::base::text::toml_error(&text, &e),
        })
    }
}

/// The inventory a repository declares for itself: `.keytrace/agents/` and
/// `agents.yaml`/`agents.yml` at a scan root. Such a file may belong to
/// another tool, so one that does not parse is a warning, not an error.
fn discover_inventory(
    roots: &[PathBuf],
    today: Date,
    found: &mut Vec<PathBuf>,
    warnings: &mut Vec<crate::source::ScanError>,
) -> Option<Inventory> {
    for root in roots.iter().filter(|r| r.is_dir()) {
        let candidates = [
            root.join(".keytrace/agents"),
            root.join("agents.yaml"),
            root.join("agents.yml"),
        ];
        for c in candidates.into_iter().filter(|c| c.exists()) {
            match Inventory::load(std::slice::from_ref(&c), today) {
                Ok(_) => found.push(c),
                Err(e) => warnings.push(crate::source::ScanError::warning(
                    c.display().to_string(),
                    format!("not used as the agent inventory: {e}"),
                )),
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    Inventory::load(found, today).ok()
}

/// What makes a scan fail (exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailOn {
    Any,
    Unowned,
    /// Only findings whose embedded checksum validates.
    Valid,
    /// Only credentials `--verify` found live.
    Live,
    /// Only findings showing one of these NHI risks.
    Risks(Vec<String>),
}

impl FailOn {
    pub fn parse(s: &str) -> Result<FailOn> {
        Ok(match s.trim() {
            "any" => FailOn::Any,
            "unowned" => FailOn::Unowned,
            "valid" => FailOn::Valid,
            "live" => FailOn::Live,
            list => {
                let ids: Vec<String> = list
                    .split(',')
                    .map(|x| x.trim().to_ascii_uppercase())
                    .collect();
                let known = |id: &String| crate::identity::risks::TITLES.iter().any(|t| t.0 == id);
                if ids.is_empty() || !ids.iter().all(known) {
                    return Err(Error::Usage(format!(
                        "--fail-on takes any, unowned, valid, live, or NHI risk ids like NHI1,NHI7; not {s:?}"
                    )));
                }
                FailOn::Risks(ids)
            }
        })
    }

    pub fn fails(&self, f: &crate::finding::Finding) -> bool {
        match self {
            FailOn::Any => true,
            FailOn::Unowned => f.identity.is_none(),
            FailOn::Valid => f.checksum == Some(crate::base::kinds::Checksum::Valid),
            FailOn::Live => f
                .verification
                .as_ref()
                .is_some_and(|v| v.state == crate::rules::verify::State::Live),
            FailOn::Risks(ids) => f.risks.iter().any(|r| ids.iter().any(|i| i == r.id)),
        }
    }
}

/// Threads per CPU `--threads` may ask for: more only cost memory and
/// start-up (`-j 100000` once spawned a hundred thousand walkers).
const THREADS_PER_CPU: usize = 4;

/// `--threads`: at least one, at most [`THREADS_PER_CPU`] per CPU; all
/// CPUs when not given.
pub(crate) fn threads(arg: Option<usize>) -> Result<usize> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    match arg {
        Some(0) => Err(Error::Usage("--threads must be at least 1".into())),
        Some(n) => Ok(n.min(cpus * THREADS_PER_CPU)),
        None => Ok(cpus),
    }
}

/// `--refs GLOB`.
pub(crate) fn refs_glob(arg: Option<&str>) -> Result<Option<globset::GlobMatcher>> {
    arg.map(|g| {
        Glob::new(g)
            .map(|g| g.compile_matcher())
            .map_err(|e| Error::Usage(format!("--refs: {e}")))
    })
    .transpose()
}

pub(crate) fn matcher(rules: RuleSet, opts: MatchOptions) -> Result<Matcher> {
    if rules.is_empty() {
        return Err(Error::Usage("no rules to scan with".into()));
    }
    Matcher::new(rules, opts)
}

/// What a range scan (`--since`, `keytrace ci`) trusts of the
/// suppressions it finds: only those its base revision already had. A
/// change that adds one (an allow comment on an added line, an allow value
/// or rule in `.keytrace.toml`, a baseline entry) is reported as a finding
/// of its own kind, so hiding a secret needs the same review as leaking one.
#[derive(Debug, Clone, Default)]
pub struct RangeTrust {
    /// Per allow value, in the matcher's order: the base had it.
    pub values_at_base: Vec<bool>,
    /// Per rule index: switched off by a settings file only since the base
    /// (the rule still runs, and its matches are suppression findings).
    pub newly_disabled: Vec<bool>,
    /// The baseline as the base had it (`None`: no baseline at the base).
    pub baseline_at_base: Option<crate::baseline::Baseline>,
}

/// The revision a range scan's suppressions are trusted at: `--since` (or,
/// when the clone does not have it, as for a new branch, the default
/// branch), HEAD for `--staged`.
fn base_revision(repo: &git2::Repository, range: &Range) -> Option<git2::Oid> {
    let resolve = |rev: &str| {
        repo.revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .ok()
            .map(|c| c.id())
    };
    match range {
        Range::All => None,
        Range::Staged => resolve("HEAD"),
        Range::Since { since, .. } => {
            let zero = !since.is_empty() && since.bytes().all(|b| b == b'0');
            (!zero).then(|| resolve(since)).flatten().or_else(|| {
                [
                    "origin/HEAD",
                    "origin/main",
                    "origin/master",
                    "main",
                    "master",
                ]
                .into_iter()
                .find_map(resolve)
            })
        }
    }
}

/// The text of `file` at the range's base revision: `Some(None)` when the
/// base had no such file, `None` when `file` is in no repository (or the
/// base cannot be found).
fn text_at_base(file: &Path, range: &Range) -> Option<Option<String>> {
    let abs = file.canonicalize().ok()?;
    let repo = git2::Repository::discover(abs.parent()?).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let rel = abs.strip_prefix(&workdir).ok()?;
    let base = base_revision(&repo, range)?;
    let tree = repo.find_commit(base).ok()?.tree().ok()?;
    let Ok(entry) = tree.get_path(rel) else {
        return Some(None);
    };
    let blob = repo.find_blob(entry.id()).ok()?;
    if blob.size() as u64 > crate::base::files::cap::BASELINE {
        return Some(None);
    }
    Some(Some(String::from_utf8_lossy(blob.content()).into_owned()))
}

/// The paths of the command line as roots to scan, and whether `-`
/// (standard input, read once however often named) is among them. A path
/// that does not exist is a usage error; a FIFO, device or socket (or a
/// link to one) is never opened, as reading it could block or never end:
/// it is reported as not read.
fn roots(
    paths: &[PathBuf],
    errors: &mut Vec<crate::source::ScanError>,
) -> Result<(Vec<PathBuf>, bool)> {
    let (mut roots, mut stdin) = (Vec::new(), false);
    for p in paths {
        if p.as_os_str() == "-" {
            stdin = true;
            continue;
        }
        if std::fs::symlink_metadata(p).is_err() {
            return Err(Error::Usage(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
        // A dangling link is left to the walker, which reports it.
        if let Some(kind) = std::fs::metadata(p).ok().and_then(|m| special_kind(&m)) {
            errors.push(crate::source::ScanError::error(
                crate::source::display_path(p),
                format!("{kind}, not a file or directory: not read (to scan what it holds, pipe it to `keytrace scan -`)"),
            ));
            continue;
        }
        roots.push(p.clone());
    }
    Ok((roots, stdin))
}

/// The globs of `what` (`allow.paths`) in the settings file `file`.
fn glob_set(file: &Path, what: &str, globs: &[String]) -> Result<globset::GlobSet> {
    let bad = |message: String| Error::Config {
        path: file.to_path_buf(),
        message,
    };
    let mut set = GlobSetBuilder::new();
    for g in globs {
        set.add(Glob::new(g).map_err(|e| bad(format!("{what}: {e}")))?);
    }
    set.build().map_err(|e| bad(e.to_string()))
}

/// What a path that is neither a file nor a directory is.
fn special_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    if meta.is_file() || meta.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_char_device() || t.is_block_device() {
            return Some("a device");
        }
    }
    Some("neither a regular file nor a directory")
}

pub struct Config {
    /// The files and directories to scan (without `-`, and without the
    /// FIFOs, devices and sockets named, which are reported, not read).
    pub roots: Vec<PathBuf>,
    /// `-` was given: scan standard input too, as one input named
    /// [`crate::source::stdin::NAME`].
    pub stdin: bool,
    /// Scan the files under the roots.
    pub worktree: bool,
    /// Scan the history of the repositories at or below the roots.
    pub history: bool,
    pub git: GitOptions,
    pub fs: FsOptions,
    /// How archives and compressed files are opened.
    pub archives: crate::source::archive::ArchiveOptions,
    pub matcher: Matcher,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub show_secrets: bool,
    /// Human output lists every location (`--all-locations`).
    pub all_locations: bool,
    /// What the scanned trees hold on purpose (`[[intended]]`).
    pub intended: Vec<IntendedSet>,
    pub progress: bool,
    pub color: bool,
    pub baseline: Option<crate::baseline::Baseline>,
    /// In a range scan: which suppressions are trusted (see [`RangeTrust`]).
    pub trust: Option<RangeTrust>,
    pub fail_on: FailOn,
    /// The agent inventory, when one was given or found.
    pub inventory: Option<Inventory>,
    /// Problems to report that were found while building the configuration
    /// (a discovered inventory that did not parse, a FIFO named as a path).
    pub warnings: Vec<crate::source::ScanError>,
    pub risk: RiskOptions,
    /// Look up CODEOWNERS and Backstage owners of findings' locations.
    pub code_owners: bool,
    /// Distinct secrets a scan keeps.
    pub max_findings: usize,
    /// `--verify`: check credentials live. None: no connection is opened.
    pub verify: Option<crate::verify::VerifyOptions>,
    /// `--verify-plan`: say what `--verify` would send instead of a report.
    pub verify_plan: bool,
}

impl Config {
    pub fn from_scan_args(args: &ScanArgs) -> Result<Config> {
        let max_file_size = parse_size(&args.max_file_size).map_err(Error::Usage)?;
        let threads = threads(args.threads)?;
        let mut warnings = Vec::new();
        let (roots, stdin) = roots(&args.paths, &mut warnings)?;
        if stdin && (args.history_only || args.since.is_some() || args.staged) {
            return Err(Error::Usage(
                "`-` (standard input) has no git history: not with --history-only, --since or --staged".into(),
            ));
        }
        let range = if args.staged {
            Range::Staged
        } else if let Some(since) = &args.since {
            Range::Since {
                since: since.clone(),
                until: args.until.clone(),
            }
        } else {
            Range::All
        };
        // CI and hook modes look at what is new, not at the whole checkout.
        let incremental = !matches!(range, Range::All);
        // What a pushed range adds is reviewed as it is: its suppressions
        // are not trusted (see `RangeTrust`). A pre-commit hook (`--staged`)
        // is the committer's own tool and honours them.
        let reviewed = matches!(range, Range::Since { .. });
        let mut rule_files = args.rules.clone();
        let mut repo_rule_files: Vec<String> = Vec::new();
        let mut agent_paths = args.agents.clone();
        let mut skip = Vec::new();
        let mut intended = Vec::new();
        let mut allow_values = Vec::new();
        let mut disabled = Vec::new();
        let mut trust = RangeTrust::default();
        let mut disabled_at_base: Vec<String> = Vec::new();
        let project_files: Vec<(PathBuf, PathBuf)> = match &args.config {
            // Standard input alone has no root, and reads the file all the same.
            Some(file) if roots.is_empty() => vec![(PathBuf::from("-"), file.clone())],
            Some(file) => roots.iter().map(|r| (r.clone(), file.clone())).collect(),
            None => roots
                .iter()
                .map(|r| (r.clone(), r.join(PROJECT_FILE)))
                .filter(|(r, f)| r.is_dir() && f.is_file())
                .collect(),
        };
        for (root, file) in &project_files {
            let pf = ProjectFile::read(file)?;
            // A range scan trusts the suppressions of the file as the base
            // revision had it; a file outside any repository is the user's.
            let at_base: Option<ProjectFile> = if reviewed {
                match text_at_base(file, &range) {
                    Some(Some(text)) => Some(toml::from_str(&text).unwrap_or_default()),
                    Some(None) => Some(ProjectFile::default()),
                    None => None,
                }
            } else {
                None
            };
            let base = file.parent().unwrap_or(Path::new("."));
            rule_files.extend(pf.rules.iter().map(|r| base.join(r)));
            if args.config.is_none() {
                // The scanned tree's own rule files: found, not given.
                repo_rule_files.extend(pf.rules.iter().map(|r| base.join(r).display().to_string()));
            }
            agent_paths.extend(pf.agents.iter().map(|a| base.join(a)));
            skip.push((
                root.clone(),
                glob_set(file, "allow.paths", &pf.allow.paths)?,
            ));
            for entry in &pf.intended {
                // A range scan trusts only what the base already declared.
                if at_base
                    .as_ref()
                    .is_some_and(|b| !b.intended.contains(entry))
                {
                    continue;
                }
                if entry.reason.trim().is_empty() || entry.paths.is_empty() {
                    return Err(Error::Config {
                        path: file.clone(),
                        message: "[[intended]]: each entry needs `paths` and a `reason`".into(),
                    });
                }
                intended.push(IntendedSet {
                    root: crate::source::display_path(root),
                    globs: glob_set(file, "intended.paths", &entry.paths)?,
                    reason: entry.reason.trim().to_string(),
                });
            }
            for v in &pf.allow.values {
                allow_values.push(Regex::new(v).map_err(|e| Error::Config {
                    path: file.clone(),
                    message: format!("allow.values: {e}"),
                })?);
                trust
                    .values_at_base
                    .push(at_base.as_ref().is_none_or(|b| b.allow.values.contains(v)));
            }
            disabled.extend(pf.allow.rules.iter().cloned());
            match &at_base {
                Some(b) => disabled_at_base.extend(
                    pf.allow
                        .rules
                        .iter()
                        .filter(|r| b.allow.rules.contains(r))
                        .cloned(),
                ),
                None => disabled_at_base.extend(pf.allow.rules.iter().cloned()),
            }
        }
        rule_files.dedup();
        agent_paths.dedup();
        if args.max_age < 0 {
            return Err(Error::Usage("--max-age takes a number of days".into()));
        }
        let today = Date::today();
        let inventory = if !agent_paths.is_empty() {
            Some(Inventory::load(&agent_paths, today)?)
        } else if args.no_agent_discovery {
            None
        } else {
            discover_inventory(&roots, today, &mut agent_paths, &mut warnings)
        };
        // A range scan runs the rules switched off only since its base, to
        // report their matches as suppressions.
        let off = if reviewed {
            &disabled_at_base
        } else {
            &disabled
        };
        let mut rules = RuleSet::load(!args.no_builtin_rules, &rule_files)?.without(off)?;
        // A live check sends secrets to its host: a scanned repository's own
        // rule files may find secrets, never send them anywhere.
        for (origin, id) in rules.drop_live_checks_from(&repo_rule_files) {
            warnings.push(crate::source::ScanError::warning(
                origin,
                format!(
                    "rule {id:?}: its live check is ignored: only built-in rules and --rules files may send credentials"
                ),
            ));
        }
        trust.newly_disabled = rules
            .rules()
            .iter()
            .map(|r| !off.contains(&r.spec.id) && disabled.contains(&r.spec.id))
            .collect();
        let baseline = match &args.baseline {
            Some(b) => Some(crate::baseline::Baseline::read(b)?),
            None => None,
        };
        if let (true, Some(path)) = (reviewed, &args.baseline) {
            trust.baseline_at_base = match text_at_base(path, &range) {
                Some(Some(text)) => serde_json::from_str(&text).ok(),
                Some(None) => None,
                // Not in a repository: the user's own, trusted whole.
                None => baseline.clone(),
            };
        }
        let matcher = matcher(
            rules,
            MatchOptions {
                include_invalid: args.include_invalid,
                allow_values,
                ignore_allow_comments: false,
                keep_suppressed: reviewed,
            },
        )?;
        let format = match args.format {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Sarif => Format::Sarif,
        };
        let refs = refs_glob(args.refs.as_deref())?;
        let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
        let color = match args.color.as_str() {
            "always" => true,
            "never" => false,
            "auto" => to_terminal && std::env::var_os("NO_COLOR").is_none(),
            other => {
                return Err(Error::Usage(format!(
                    "--color takes auto, always or never, not {other:?}"
                )))
            }
        };
        if args.fail_on.trim() == "live" && !args.verify.verify {
            return Err(Error::Usage(
                "--fail-on live needs --verify: without it nothing is known to be live".into(),
            ));
        }
        let archives = args.archives.options().map_err(Error::Usage)?;
        Ok(Config {
            roots,
            stdin,
            worktree: !args.history_only && !incremental,
            history: !args.no_history,
            git: GitOptions {
                range,
                refs,
                threads,
                max_blob_size: max_file_size,
                ..GitOptions::default()
            },
            fs: FsOptions {
                no_ignore: args.no_ignore,
                follow_links: args.follow,
                max_file_size,
                threads,
                skip,
                // An inventory declares key ids and fingerprints on purpose.
                exclude: crate::identity::inventory::files(&agent_paths)
                    .iter()
                    .filter_map(|f| f.canonicalize().ok())
                    .collect(),
                image_layouts: archives.enabled,
            },
            archives,
            matcher,
            format,
            output: args.output.clone(),
            show_secrets: args.show_secrets,
            all_locations: args.all_locations,
            intended,
            progress: !args.no_progress && std::io::stderr().is_terminal(),
            color,
            baseline,
            trust: reviewed.then_some(trust),
            fail_on: FailOn::parse(&args.fail_on)?,
            inventory,
            warnings,
            risk: RiskOptions {
                today,
                max_age_days: args.max_age,
            },
            code_owners: !args.no_code_owners,
            max_findings: args.max_findings.max(1),
            verify: args.verify.options(),
            verify_plan: args.verify.verify_plan,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn threads_are_capped_per_cpu() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(super::threads(None).unwrap(), cpus);
        assert_eq!(super::threads(Some(1)).unwrap(), 1);
        assert_eq!(super::threads(Some(100_000)).unwrap(), 4 * cpus);
        assert!(super::threads(Some(0)).is_err());
    }
}

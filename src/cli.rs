//! Command-line arguments as raw values, and the shell completion scripts
//! and man pages generated from their definition. Nothing here touches the
//! file system: [`crate::config::Config`] turns them into a frozen
//! configuration.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "keytrace",
    version,
    about = "Finds leaked and long-lived credentials of non-human identities, and who is accountable for each"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and git history for credentials.
    Scan(ScanArgs),
    /// The built-in rules, and a lint for custom rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Read one secret on stdin and print its fingerprint.
    Fingerprint,
    /// The agent inventory.
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Scan what a CI run brings: the push or pull/merge request range read
    /// from GitHub Actions, GitLab CI or $KEYTRACE_SINCE (else everything).
    Ci(ScanArgs),
    /// Record today's findings as accepted: `keytrace baseline [PATH]... -o FILE`.
    Baseline(BaselineArgs),
    /// Sweep many repositories into a store: incremental, shardable.
    Sweep(SweepArgs),
    /// Merge sweep stores (or their JSONL exports) into one report.
    Report(ReportArgs),
    /// Check one secret, read on stdin, live by a rule's check:
    /// `keytrace verify --rule github-pat < token`.
    Verify(VerifyOneArgs),
    /// Print the shell completion script for SHELL.
    ///
    /// Generated from these commands and flags, e.g.
    /// `keytrace completions bash > ~/.local/share/bash-completion/completions/keytrace`
    /// or `keytrace completions zsh > "${fpath[1]}/_keytrace"`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page of keytrace, or of one subcommand (roff).
    ///
    /// `keytrace man | man -l -` reads it; `keytrace man scan > keytrace-scan.1`.
    Man {
        /// The subcommand whose page to print (`scan`, `rules list`);
        /// without it, the top page, which lists them all.
        #[arg(value_name = "SUBCOMMAND")]
        subcommand: Vec<String>,
    },
}

/// The completion script of `shell` for the whole command line.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "keytrace", &mut out);
    out
}

/// The roff man page of `keytrace` (no `path`), or of the subcommand that
/// `path` names (`["rules", "list"]`: the page `keytrace-rules-list(1)`).
/// An error names the subcommands there are.
pub fn man_page(path: &[String]) -> Result<Vec<u8>, String> {
    use clap::CommandFactory;
    // Built, subcommands know their full names (`keytrace-scan`) and usage
    // lines (`keytrace scan [OPTIONS]`); `help` is no page of its own.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut page = &cmd;
    for name in path {
        page = page.find_subcommand(name).ok_or_else(|| {
            let here = page.get_display_name().unwrap_or(page.get_name());
            let known: Vec<&str> = page
                .get_subcommands()
                .filter(|c| !c.is_hide_set())
                .map(|c| c.get_name())
                .collect();
            if known.is_empty() {
                format!("{here} has no subcommands (no page for {name:?})")
            } else {
                format!(
                    "{here} has no subcommand {name:?}: one of {}",
                    known.join(", ")
                )
            }
        })?;
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(page.clone())
        .source(concat!("keytrace ", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[derive(Debug, Args)]
pub struct VerifyOneArgs {
    /// The rule whose live check to run (`keytrace rules list` marks them).
    #[arg(long, value_name = "ID")]
    pub rule: String,
    /// The other half of a pair (an AWS key id, a Twilio account SID).
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Add the rules of a custom rule file (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
    Jsonl,
    Sarif,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input (one input,
    /// named `<stdin>` in the report).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Skip git history even where PATH holds a repository.
    #[arg(long, conflicts_with_all = ["history_only", "since", "staged"])]
    pub no_history: bool,
    /// Scan git history only, not the files of the working tree.
    #[arg(long)]
    pub history_only: bool,
    /// History: only the blobs added by commits reachable from HEAD (or
    /// --until) and not from REV. A zero or unknown REV scans the commits
    /// that no other branch has.
    #[arg(long, value_name = "REV", conflicts_with = "staged")]
    pub since: Option<String>,
    /// With --since: the end of the range instead of HEAD.
    #[arg(long, value_name = "REV", requires = "since")]
    pub until: Option<String>,
    /// Only what is staged in the index and differs from HEAD (pre-commit).
    #[arg(long)]
    pub staged: bool,
    /// History: only refs whose full name matches GLOB (e.g. 'refs/heads/*').
    #[arg(long, value_name = "GLOB")]
    pub refs: Option<String>,
    /// Suppress the findings recorded in a baseline (`keytrace baseline`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// What fails the run (exit 1): any, unowned, valid (checksum-valid
    /// only), or a list of risk ids such as NHI1,NHI7.
    #[arg(long, value_name = "POLICY", default_value = "any")]
    pub fail_on: String,
    /// The agent inventory: a YAML file, or a directory of them (repeatable).
    #[arg(long, value_name = "FILE|DIR")]
    pub agents: Vec<PathBuf>,
    /// Do not read an inventory from the repository itself
    /// (`.keytrace/agents/`, `agents.yaml`) when no --agents is given.
    #[arg(long)]
    pub no_agent_discovery: bool,
    /// Do not read code owners (CODEOWNERS, Backstage catalog-info.yaml)
    /// for the places secrets sit.
    #[arg(long)]
    pub no_code_owners: bool,
    /// A secret first committed more than DAYS ago is long-lived (NHI7).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub max_age: i64,
    /// Keep at most N distinct secrets (memory grows with them, about
    /// 3 KB each); past it new secrets are counted, not kept, and the
    /// report says so.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_findings: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write full secrets in reports. Without it no full secret is written anywhere.
    #[arg(long)]
    pub show_secrets: bool,
    /// Human output: list every location, not only where each secret was
    /// introduced, where it is now and a count of the versions between
    /// (JSON, JSONL and SARIF always list them all).
    #[arg(long)]
    pub all_locations: bool,
    /// Worker threads (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Add the rules of a custom rule file (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Use only the rules given with --rules, not the built-in ones.
    #[arg(long)]
    pub no_builtin_rules: bool,
    /// Do not honour .gitignore, .ignore and git excludes.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links (loops are detected and reported).
    #[arg(long, short = 'L')]
    pub follow: bool,
    /// Files larger than this are scanned in overlapping chunks (e.g. 64M, 1G, 4096).
    #[arg(long, value_name = "SIZE", default_value = "64M")]
    pub max_file_size: String,
    /// Also report tokens whose embedded checksum fails (marked `checksum: invalid`).
    #[arg(long)]
    pub include_invalid: bool,
    #[command(flatten)]
    pub archives: ArchiveArgs,
    /// Read settings from FILE instead of each root's .keytrace.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Never draw a progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Colour in the human format: auto (only on a terminal), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: String,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// Repositories a sweep lists from a forge's API. Tokens come from the
/// environment only: GITHUB_TOKEN (or GH_TOKEN), GITLAB_TOKEN,
/// BITBUCKET_TOKEN (or BITBUCKET_USERNAME with BITBUCKET_APP_PASSWORD),
/// AZURE_DEVOPS_TOKEN.
#[derive(Debug, Clone, Default, Args)]
pub struct ListingArgs {
    /// Sweep every repository of a GitHub organisation (repeatable).
    #[arg(
        long,
        value_name = "ORG",
        help_heading = "Repositories listed from an API"
    )]
    pub github_org: Vec<String>,
    /// Sweep every repository a GitHub user owns (repeatable).
    #[arg(
        long,
        value_name = "USER",
        help_heading = "Repositories listed from an API"
    )]
    pub github_user: Vec<String>,
    /// Sweep every project of a GitLab group and its subgroups (repeatable).
    #[arg(
        long,
        value_name = "GROUP",
        help_heading = "Repositories listed from an API"
    )]
    pub gitlab_group: Vec<String>,
    /// Sweep every repository of a Bitbucket Cloud workspace (repeatable).
    #[arg(
        long,
        value_name = "WS",
        help_heading = "Repositories listed from an API"
    )]
    pub bitbucket_workspace: Vec<String>,
    /// Sweep every Git repository of an Azure DevOps organisation, all
    /// its projects (repeatable).
    #[arg(
        long,
        value_name = "ORG",
        help_heading = "Repositories listed from an API"
    )]
    pub azure_devops_org: Vec<String>,
    /// GitHub's API (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://api.github.com",
        help_heading = "Repositories listed from an API"
    )]
    pub github_api_url: String,
    /// GitLab's address (self-managed: https://HOST).
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://gitlab.com",
        help_heading = "Repositories listed from an API"
    )]
    pub gitlab_url: String,
    /// Bitbucket's API.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://api.bitbucket.org/2.0",
        help_heading = "Repositories listed from an API"
    )]
    pub bitbucket_api_url: String,
    /// Azure DevOps' address (Azure DevOps Server: https://HOST/tfs).
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://dev.azure.com",
        help_heading = "Repositories listed from an API"
    )]
    pub azure_devops_url: String,
    /// Also sweep forks (left out by default: mostly others' code).
    #[arg(long, help_heading = "Repositories listed from an API")]
    pub include_forks: bool,
    /// Leave out archived repositories (swept by default: what they
    /// leaked is still readable).
    #[arg(long, help_heading = "Repositories listed from an API")]
    pub exclude_archived: bool,
    /// Only listed repositories whose full name (`org/repo`,
    /// `group/sub/project`) matches GLOB (repeatable: any of them).
    #[arg(
        long,
        value_name = "GLOB",
        help_heading = "Repositories listed from an API"
    )]
    pub repo_include: Vec<String>,
    /// Leave out listed repositories whose full name matches GLOB (repeatable).
    #[arg(
        long,
        value_name = "GLOB",
        help_heading = "Repositories listed from an API"
    )]
    pub repo_exclude: Vec<String>,
    /// Only listed repositories with this topic (repeatable: any of them;
    /// GitHub and GitLab, which have topics).
    #[arg(
        long,
        value_name = "TOPIC",
        help_heading = "Repositories listed from an API"
    )]
    pub topic: Vec<String>,
}

/// How archives and compressed files are opened.
#[derive(Debug, Clone, Args)]
pub struct ArchiveArgs {
    /// Do not open archives, compressed files or container images.
    #[arg(long)]
    pub no_archives: bool,
    /// Open archives inside archives at most N deep (the outermost is 1).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_archive_depth: usize,
    /// Stop expanding one archive (all its members, nested ones included)
    /// past SIZE, with a warning.
    #[arg(long, value_name = "SIZE", default_value = "1G")]
    pub max_archive_size: String,
}

impl ArchiveArgs {
    pub fn options(&self) -> Result<crate::source::archive::ArchiveOptions, String> {
        Ok(crate::source::archive::ArchiveOptions {
            enabled: !self.no_archives && self.max_archive_depth > 0,
            max_depth: self.max_archive_depth,
            max_expanded: parse_size(&self.max_archive_size)?,
            ..Default::default()
        })
    }
}

/// Live verification: off unless asked; without `--verify` nothing is sent.
#[derive(Debug, Args, Default, Clone)]
pub struct VerifyArgs {
    /// Ask each provider whether the credentials found are live, and whose
    /// they are (the rules with a live check; see `keytrace rules list`).
    #[arg(long, help_heading = "Live verification")]
    pub verify: bool,
    /// Print what --verify would send (hosts, methods, paths, counts) and
    /// send nothing.
    #[arg(long, conflicts_with = "verify", help_heading = "Live verification")]
    pub verify_plan: bool,
    /// Ask only this host (repeatable).
    #[arg(long, value_name = "HOST", help_heading = "Live verification")]
    pub verify_allow_host: Vec<String>,
    /// Never ask this host (repeatable).
    #[arg(long, value_name = "HOST", help_heading = "Live verification")]
    pub verify_deny_host: Vec<String>,
    /// Seconds a request may take, from lookup to the reply's last byte.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 8,
        help_heading = "Live verification"
    )]
    pub verify_timeout: u64,
    /// Seconds all verification may take; what is left is skipped.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 300,
        help_heading = "Live verification"
    )]
    pub verify_budget: u64,
    /// Requests in flight to one host.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        help_heading = "Live verification"
    )]
    pub verify_per_host: usize,
    /// Requests started per second to one host, at most (a reply of 429
    /// with `Retry-After` also holds the host back that long, up to 60 s).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10.0,
        help_heading = "Live verification"
    )]
    pub verify_rate: f64,
    /// Requests sent at most.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000,
        help_heading = "Live verification"
    )]
    pub verify_max_requests: usize,
    /// Send the probes a rule documents as changing something (refused
    /// before they take effect, such as PyPI's broken upload).
    #[arg(long, help_heading = "Live verification")]
    pub verify_allow_mutating: bool,
    /// Trust only the CAs in this PEM file (a TLS-inspecting proxy's; it
    /// sees the credentials).
    #[arg(long, value_name = "FILE", help_heading = "Live verification")]
    pub verify_ca_file: Option<PathBuf>,
}

impl VerifyArgs {
    /// The options of a run, or None without `--verify` / `--verify-plan`.
    pub fn options(&self) -> Option<crate::verify::VerifyOptions> {
        if !self.verify && !self.verify_plan {
            return None;
        }
        let secs = |s: u64| std::time::Duration::from_secs(s.max(1));
        Some(crate::verify::VerifyOptions {
            net: crate::net::NetOptions {
                connect_timeout: secs(self.verify_timeout.min(3)),
                request_timeout: secs(self.verify_timeout),
                ca_file: self.verify_ca_file.clone(),
                ..Default::default()
            },
            budget: secs(self.verify_budget),
            per_host: self.verify_per_host.max(1),
            rate: self.verify_rate,
            max_requests: self.verify_max_requests,
            allow_hosts: self.verify_allow_host.clone(),
            deny_hosts: self.verify_deny_host.clone(),
            allow_mutating: self.verify_allow_mutating,
            ..Default::default()
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules (built-in, plus any given with --rules).
    List {
        #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
        format: RulesFormat,
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
    },
    /// Lint custom rule files: ids unique, patterns compile, every example
    /// matches and no negative example does.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The scan to record; `--output`/`-o` names the baseline file.
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Drop entries of an existing baseline that are no longer found.
    #[arg(long)]
    pub prune: bool,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// A file listing repositories, one a line: a local path or a clone
    /// URL; `#` starts a comment (repeatable).
    #[arg(long, value_name = "FILE")]
    pub repos: Vec<PathBuf>,
    /// Sweep every repository below DIR (work trees and bare; repeatable).
    #[arg(long, value_name = "DIR")]
    pub repos_dir: Vec<PathBuf>,
    #[command(flatten)]
    pub listing: ListingArgs,
    /// The SQLite store this worker writes (created if missing).
    #[arg(long, value_name = "PATH")]
    pub store: PathBuf,
    /// Where bare clones of remote repositories are kept between sweeps
    /// (with an org listing, default: STORE.clones beside the store).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Take only shard K of N (0-based), by a stable hash of each
    /// repository's name: e.g. `--shard "$JOB_COMPLETION_INDEX/8"`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Worker threads per repository (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// History: only refs whose full name matches GLOB (e.g. 'refs/heads/*').
    #[arg(long, value_name = "GLOB")]
    pub refs: Option<String>,
    /// Add the rules of a custom rule file (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Use only the rules given with --rules, not the built-in ones.
    #[arg(long)]
    pub no_builtin_rules: bool,
    /// Blobs larger than this are scanned in overlapping chunks.
    #[arg(long, value_name = "SIZE", default_value = "64M")]
    pub max_file_size: String,
    /// Also record tokens whose embedded checksum fails.
    #[arg(long)]
    pub include_invalid: bool,
    #[command(flatten)]
    pub archives: ArchiveArgs,
    /// Keep full secrets in the store. Without it no secret is stored.
    #[arg(long)]
    pub show_secrets: bool,
    /// Never draw a progress bar; one JSON log line per repository instead.
    #[arg(long)]
    pub no_progress: bool,
    /// Honour what the swept repositories say of their own secrets: their
    /// `keytrace:allow` comments, the `allow` table of the `.keytrace.toml`
    /// and the `.keytrace-baseline.json` at the root of their default
    /// branch. By default a sweep does not: a repository cannot hide its own
    /// secrets from an organisation-wide sweep.
    #[arg(long)]
    pub trust_repo_config: bool,
    /// Seconds to wait for a git server to accept a connection, and for
    /// each answer once connected.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub network_timeout: u64,
    /// Seconds one repository may take, fetch and scan together; past it
    /// the repository is recorded as failed (to be swept again in full) and
    /// the sweep goes on.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub repo_timeout: u64,
    #[command(flatten)]
    pub verify: VerifyArgs,
    /// With --verify: a credential checked less than AGE ago is not checked
    /// again (`30m`, `12h`, `7d`; `0`: every sweep).
    #[arg(long, value_name = "AGE", default_value = "7d")]
    pub reverify_after: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
    /// Records that `report --input` merges again (an export of the stores).
    Jsonl,
    /// One self-contained page with charts.
    Html,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A sweep store to read (repeatable: shards merge into one report).
    #[arg(long, value_name = "PATH")]
    pub store: Vec<PathBuf>,
    /// A JSONL export of stores (`report --format jsonl`) to merge (repeatable).
    #[arg(long, value_name = "FILE")]
    pub input: Vec<PathBuf>,
    /// The agent inventory: a YAML file, or a directory of them (repeatable).
    #[arg(long, value_name = "FILE|DIR")]
    pub agents: Vec<PathBuf>,
    /// A secret first committed more than DAYS ago is long-lived (NHI7).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub max_age: i64,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write full secrets, where the stores hold them (swept with --show-secrets).
    #[arg(long)]
    pub show_secrets: bool,
    /// Exit 1 when a finding matches POLICY (any, unowned, valid, or NHI
    /// ids); without it the report exits 0 whatever it holds.
    #[arg(long, value_name = "POLICY")]
    pub fail_on: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Lint an inventory without scanning: owners, reviews, offboarding,
    /// privileges, static auth on workload identities, shared credentials.
    Check {
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Draft an inventory from a scan: one identity per group of
    /// credentials that belong together, claimed by fingerprint (never the
    /// secret), owners from CODEOWNERS or Backstage where known, identity
    /// types guessed and marked so. With an inventory (--agents, or one the
    /// scan discovers), only what no identity claims yet.
    Init {
        /// Files and directories to scan (default: .).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Write the draft to FILE (default: standard output).
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// The inventory that exists already (repeatable).
        #[arg(long, value_name = "FILE|DIR")]
        agents: Vec<PathBuf>,
        /// Skip git history.
        #[arg(long)]
        no_history: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Human,
    Json,
    /// The table of supported credential kinds, as the README shows it.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}

/// `90s`, `30m`, `12h`, `7d`, `0`: an age.
pub fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid age {s:?} (try 12h or 7d)"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("invalid age {s:?} (units: s, m, h, d)")),
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(secs)))
}

/// `64M`, `1G`, `512k`, `4096`: a size in bytes (binary multiples).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?} (try 64M or 1G)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("invalid size unit in {s:?} (use K, M or G)")),
    };
    n.checked_mul(mult)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("invalid size {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("M").is_err());
    }

    #[test]
    fn man_pages_and_completions() {
        let top = String::from_utf8(man_page(&[]).unwrap()).unwrap();
        assert!(top.contains(".TH keytrace 1"), "{top}");
        assert!(top.contains("keytrace\\-scan(1)"), "{top}");
        let scan = String::from_utf8(man_page(&["scan".into()]).unwrap()).unwrap();
        assert!(scan.contains(".TH keytrace-scan 1"), "{scan}");
        let list = man_page(&["rules".into(), "list".into()]).unwrap();
        assert!(String::from_utf8(list)
            .unwrap()
            .contains("keytrace-rules-list"));
        let err = man_page(&["nope".into()]).unwrap_err();
        assert!(err.contains("scan") && err.contains("nope"), "{err}");
        assert!(man_page(&["fingerprint".into(), "x".into()]).is_err());
        let bash = String::from_utf8(completions(clap_complete::Shell::Bash)).unwrap();
        assert!(bash.contains("--max-file-size") && bash.contains("completions"));
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

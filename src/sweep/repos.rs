//! Which repositories a sweep covers and how each is reached: the lines of
//! `--repos FILE`, the repositories below `--repos-dir DIR`, the shard a
//! worker takes, and the bare clone kept in `--cache DIR` for a remote one.
//!
//! Credentials never come from the command line: a token in the environment
//! (`KEYTRACE_GIT_TOKEN`, with `KEYTRACE_GIT_USERNAME`), git's credential
//! helpers, or the defaults of the transport. A URL that carries a user or
//! password is still accepted, but that part never reaches a log, a store or
//! a report.
//!
//! HTTPS, HTTP and file URLs are fetched by libgit2; SSH ones (`ssh://…`,
//! `git@host:path`) by the `git` command, which brings the user's SSH
//! agent, keys and `~/.ssh/config`. Either way a server that accepts the
//! connection and never answers costs [`Limits::network`], and a
//! repository never more than [`Limits::repository`].
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::{AutotagOption, Cred, CredentialType, FetchOptions, FetchPrune, RemoteCallbacks};

use crate::error::{Error, Result};

/// Where a repository is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Local(PathBuf),
    Remote(String),
}

/// One repository of a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    /// Stable across machines and runs: what shards hash and stores key by.
    pub name: String,
    pub source: Source,
    /// Given by an org listing (not a list or a directory).
    pub listed: bool,
    /// The listing's token, to clone with (when `KEYTRACE_GIT_TOKEN` is
    /// not set): named, never held.
    pub credential: Option<Credential>,
}

/// A user name and the environment variable that holds the password (a
/// token) to clone a listed repository with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub env: &'static str,
}

impl RepoSpec {
    /// A line of a repos file: a clone URL (`https://…`, `ssh://…`,
    /// `file://…`, `git@host:org/repo.git`) or a local path.
    pub fn parse(line: &str) -> RepoSpec {
        let line = line.trim();
        if is_url(line) {
            RepoSpec {
                name: url_name(line),
                source: Source::Remote(line.to_string()),
                listed: false,
                credential: None,
            }
        } else {
            let trimmed = line.trim_end_matches('/');
            RepoSpec {
                name: trimmed.to_string(),
                source: Source::Local(PathBuf::from(trimmed)),
                listed: false,
                credential: None,
            }
        }
    }

    /// Where it came from, as a report may show it: a path, or the URL
    /// without credentials.
    pub fn display_source(&self) -> String {
        match &self.source {
            Source::Local(p) => p.display().to_string(),
            Source::Remote(u) => strip_userinfo(u),
        }
    }
}

fn is_url(s: &str) -> bool {
    if s.contains("://") {
        return true;
    }
    // scp-like `user@host:path` (but not a Windows drive like `C:\`).
    match (s.find('@'), s.find(':')) {
        (Some(at), Some(colon)) => at < colon && !s[..at].contains('/'),
        _ => false,
    }
}

/// `https://user:tok@github.com/org/repo.git?token=t` →
/// `https://github.com/org/repo.git`: no user-info, query or fragment (a
/// token rides in either), as logs, stores and reports show a URL.
pub fn strip_userinfo(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let host_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..host_end].rfind('@') {
            return format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]);
        }
        return url.to_string();
    }
    url.to_string()
}

/// Forges whose repository paths are case-insensitive: their names are
/// lowercased whole, so `Org/Repo` and `org/repo` are one repository.
const CASELESS_HOSTS: [&str; 4] = ["github.com", "gitlab.com", "bitbucket.org", "dev.azure.com"];

/// `https://github.com/org/repo.git`, `git@github.com:org/repo`,
/// `ssh://git@github.com/org/repo/` and `https://github.com/Org/Repo` all
/// name `github.com/org/repo`: the host lowercased (and the path too on a
/// forge that ignores its case), without credentials, query, `.git` or a
/// trailing slash.
pub fn url_name(url: &str) -> String {
    let url = strip_userinfo(url.trim());
    let rest = match url.find("://") {
        Some(i) => url[i + 3..].to_string(),
        None => {
            // scp-like
            let after_at = url.split_once('@').map_or(url.as_str(), |x| x.1);
            after_at.replacen(':', "/", 1)
        }
    };
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let rest = rest.trim_start_matches('/');
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    // `ssh://git@github.com:22/...`, `https://github.com:443/...`.
    let bare = host
        .strip_suffix(":22")
        .or_else(|| host.strip_suffix(":443"))
        .unwrap_or(&host);
    let path = if CASELESS_HOSTS.contains(&bare) {
        path.to_ascii_lowercase()
    } else {
        path.to_string()
    };
    if path.is_empty() {
        bare.to_string()
    } else {
        format!("{bare}/{path}")
    }
}

/// The repositories a repos file lists: one a line, `#` starts a comment.
pub fn read_list(path: &Path) -> Result<Vec<RepoSpec>> {
    let text = crate::base::files::read_capped_text(path, crate::base::files::cap::REPO_LIST)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(text
        .lines()
        .map(|l| l.split_once('#').map_or(l, |x| x.0).trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut spec = RepoSpec::parse(l);
            // Relative paths are relative to the list, wherever the sweep runs.
            if let Source::Local(p) = &spec.source {
                if p.is_relative() && !base.as_os_str().is_empty() {
                    spec.source = Source::Local(base.join(p));
                }
            }
            spec
        })
        .collect())
}

/// Every repository below `dir`: work trees (a `.git` directory or file) and
/// bare repositories, not descending into either. Named by their path.
pub fn below(dir: &Path) -> Result<Vec<RepoSpec>> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "--repos-dir {}: not a directory",
            dir.display()
        )));
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let is_repo = d.join(".git").exists()
            || (d.join("HEAD").is_file() && d.join("objects").is_dir() && d.join("refs").is_dir());
        if is_repo {
            out.push(RepoSpec {
                name: crate::source::display_path(&d),
                source: Source::Local(d),
                listed: false,
                credential: None,
            });
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            // Not following symlinks: no loops, no repository counted twice.
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// `K/N`: this worker takes shard K (0-based) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || {
            Error::Usage(format!(
                "--shard takes K/N with 0 <= K < N (e.g. 0/4), not {s:?}"
            ))
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether repository `name` falls in this shard: FNV-1a of the name, so
    /// the split is the same on every machine and in every version.
    pub fn takes(&self, name: &str) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How long a sweep waits on the network and on one repository.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To connect, and for each answer once connected.
    pub network: Duration,
    /// For one repository, fetch and scan together.
    pub repository: Duration,
}

/// Sets libgit2's process-wide connect and read timeouts.
pub fn set_network_timeouts(timeout: Duration) {
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: these setters only store process-wide integers; a sweep calls
    // them before any fetch starts.
    unsafe {
        let _ = git2::opts::set_server_connect_timeout_in_milliseconds(ms);
        let _ = git2::opts::set_server_timeout_in_milliseconds(ms);
    }
}

/// Whether `url` is fetched over SSH: `ssh://`, `git+ssh://`, or scp-like
/// `user@host:path`.
fn is_ssh(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("ssh://")
        || lower.starts_with("git+ssh://")
        || lower.starts_with("ssh+git://")
        || !url.contains("://") && is_url(url)
}

/// The directory a remote repository's bare clone lives in below the cache.
fn cache_dir(cache: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cache.join(format!("{safe}.git"))
}

/// A path `git2` can open for `spec`: the local repository itself, or the
/// bare clone of a remote one, cloned (all branches and tags) or fetched
/// into `cache` first. The error is a message fit for a log: no credentials.
pub fn acquire(
    spec: &RepoSpec,
    cache: Option<&Path>,
    limits: &Limits,
    deadline: Instant,
) -> std::result::Result<PathBuf, String> {
    match &spec.source {
        Source::Local(p) => {
            if !p.exists() {
                return Err(format!("{}: no such repository (removed?)", p.display()));
            }
            Ok(p.clone())
        }
        Source::Remote(url) => {
            let cache = cache
                .ok_or_else(|| "a remote repository needs --cache DIR to clone into".to_string())?;
            let dir = cache_dir(cache, &spec.name);
            if is_ssh(url) {
                fetch_with_git(url, &dir, limits, deadline).map_err(|e| scrub(&e, url))?;
            } else {
                fetch(url, &dir, deadline, spec.credential.as_ref())
                    .map_err(|e| scrub(e.message(), url))?;
            }
            Ok(dir)
        }
    }
}

/// Whether a fetch's error says the repository is not there (an HTTP 404,
/// a path or repository that does not exist).
pub fn is_not_found(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("404")
        || m.contains("not found")
        || m.contains("does not exist")
        || m.contains("could not find repository")
        || m.contains("failed to resolve path")
}

/// Takes credentials out of a transport's message: the URL as given, and
/// the user-info part of any other URL the message quotes.
fn scrub(message: &str, url: &str) -> String {
    let clean = strip_userinfo(url);
    let mut m = message.replace(url, &clean);
    // A query or fragment of the URL (a `?token=`), wherever it is quoted.
    if let Some(i) = url.find(['?', '#']) {
        m = m.replace(&url[i..], "");
    }
    let mut from = 0;
    while let Some(i) = m[from..].find("://") {
        let start = from + i + 3;
        let end = m[start..]
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .map_or(m.len(), |e| start + e);
        if let Some(at) = m[start..end].rfind('@') {
            m.replace_range(start..start + at + 1, "");
        }
        from = start;
    }
    format!("cannot clone or fetch {clean}: {m}")
}

/// The bare clone in `dir`, made anew if it is missing or half made.
fn bare(dir: &Path) -> std::result::Result<git2::Repository, git2::Error> {
    match git2::Repository::open_bare(dir) {
        Ok(r) => Ok(r),
        Err(_) => {
            if dir.exists() {
                // A half-made clone from a crash: start again.
                let _ = std::fs::remove_dir_all(dir);
            }
            git2::Repository::init_bare(dir)
        }
    }
}

/// Clones `url` bare into `dir`, or fetches into the clone already there.
/// An anonymous remote: the URL is not written into the clone's config.
/// Past `deadline` the transfer is cancelled.
fn fetch(
    url: &str,
    dir: &Path,
    deadline: Instant,
    credential: Option<&Credential>,
) -> std::result::Result<(), git2::Error> {
    let repo = bare(dir)?;
    let mut remote = repo.remote_anonymous(url)?;
    let mut options = FetchOptions::new();
    let mut cb = callbacks(credential.cloned());
    cb.transfer_progress(move |_| Instant::now() < deadline);
    cb.sideband_progress(move |_| Instant::now() < deadline);
    options.remote_callbacks(cb);
    options.prune(FetchPrune::On);
    options.download_tags(AutotagOption::All);
    remote.fetch(
        &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
        Some(&mut options),
        None,
    )?;
    if let Ok(head) = remote.default_branch() {
        if let Some(name) = head.as_str() {
            repo.set_head(name)?;
        }
    }
    Ok(())
}

/// Fetches an SSH `url` into the bare clone in `dir` with the `git`
/// command: the user's SSH setup applies, no prompt is ever shown (batch
/// mode), and the command is ended at `deadline`. Its messages, which may
/// quote the URL, are scrubbed by the caller.
fn fetch_with_git(
    url: &str,
    dir: &Path,
    limits: &Limits,
    deadline: Instant,
) -> std::result::Result<(), String> {
    bare(dir).map_err(|e| e.message().to_string())?;
    run_git(
        dir,
        limits,
        deadline,
        &[
            "fetch",
            "--quiet",
            "--prune",
            "--no-write-fetch-head",
            "--",
            url,
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ],
    )?;
    // HEAD follows the remote's default branch.
    let heads = run_git(
        dir,
        limits,
        deadline,
        &["ls-remote", "--symref", "--", url, "HEAD"],
    )?;
    let head = heads
        .lines()
        .find_map(|l| l.strip_prefix("ref: "))
        .and_then(|l| l.split_whitespace().next());
    if let (Some(head), Ok(repo)) = (head, git2::Repository::open_bare(dir)) {
        let _ = repo.set_head(head);
    }
    Ok(())
}

/// Runs `git -C dir ARGS` without a prompt, with SSH in batch mode and its
/// timeouts (unless the user set `GIT_SSH_COMMAND` or `GIT_SSH`), ended at
/// `deadline`. Its standard output, or the first line it printed on error.
fn run_git(
    dir: &Path,
    limits: &Limits,
    deadline: Instant,
    args: &[&str],
) -> std::result::Result<String, String> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(["-c", "core.askPass="])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none() {
        let secs = limits.network.as_secs().max(1);
        cmd.env(
            "GIT_SSH_COMMAND",
            format!(
                "ssh -o BatchMode=yes -o ConnectTimeout={secs} -o ServerAliveInterval={secs} -o ServerAliveCountMax=2"
            ),
        );
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run git for an SSH URL: {e}"))?;
    let capture = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(r) = r {
                let _ = r.take(1 << 20).read_to_end(&mut s);
            }
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = capture(
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>),
    );
    let err = capture(
        child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn Read + Send>),
    );
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("time budget exceeded while fetching".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("git: {e}")),
        }
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    if !status.success() {
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        return Err(first.trim().to_string());
    }
    Ok(out)
}

/// Credentials from the environment or git's credential helpers, tried a
/// bounded number of times so that a wrong token fails instead of looping.
fn callbacks(listed: Option<Credential>) -> RemoteCallbacks<'static> {
    let mut cb = RemoteCallbacks::new();
    let mut attempts = 0;
    cb.credentials(move |url, username, allowed| {
        attempts += 1;
        if attempts > 3 {
            return Err(git2::Error::from_str("authentication failed"));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if let Ok(token) = std::env::var("KEYTRACE_GIT_TOKEN") {
                let user = std::env::var("KEYTRACE_GIT_USERNAME")
                    .unwrap_or_else(|_| "x-access-token".to_string());
                return Cred::userpass_plaintext(&user, &token);
            }
            // The token the repository was listed with.
            if let Some(c) = &listed {
                if let Ok(token) = std::env::var(c.env) {
                    return Cred::userpass_plaintext(&c.username, &token);
                }
            }
            if let Ok(config) = git2::Config::open_default() {
                if let Ok(c) = Cred::credential_helper(&config, url, username) {
                    return Ok(c);
                }
            }
        }
        if allowed.contains(CredentialType::DEFAULT) {
            return Cred::default();
        }
        Err(git2::Error::from_str(
            "no credentials: set KEYTRACE_GIT_TOKEN or configure a git credential helper",
        ))
    });
    cb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable() {
        for u in [
            "https://github.com/org/repo.git",
            "https://x-access-token:abc@github.com/org/repo",
            "ssh://git@github.com/org/repo/",
            "git@github.com:org/repo.git",
            "https://GitHub.com/Org/Repo.git",
            "https://github.com/org/repo?token=abc",
            "ssh://git@github.com:22/org/repo.git",
        ] {
            assert_eq!(url_name(u), "github.com/org/repo", "{u}");
        }
        // A server whose paths may be case-sensitive keeps their case.
        assert_eq!(
            url_name("https://Git.Example/Org/Repo"),
            "git.example/Org/Repo"
        );
        let spec = RepoSpec::parse("https://git.example/o/r.git?private_token=tok3n#x");
        assert!(!spec.name.contains("tok3n") && !spec.display_source().contains("tok3n"));
        let m = scrub(
            "GET https://git.example/o/r.git?private_token=tok3n#x: 401",
            "https://git.example/o/r.git?private_token=tok3n#x",
        );
        assert!(!m.contains("tok3n"), "{m}");
        assert_eq!(
            strip_userinfo("https://u:p@h.example/a@b"),
            "https://h.example/a@b"
        );
        assert_eq!(RepoSpec::parse("repos/a/").name, "repos/a");
        assert!(matches!(
            RepoSpec::parse("file:///tmp/x").source,
            Source::Remote(_)
        ));
        assert!(matches!(RepoSpec::parse("./a:b").source, Source::Local(_)));
    }

    #[test]
    fn shards_partition() {
        let names: Vec<String> = (0..200).map(|i| format!("github.com/org/r{i}")).collect();
        let shards: Vec<Shard> = (0..4)
            .map(|k| Shard::parse(&format!("{k}/4")).unwrap())
            .collect();
        let mut sizes = [0; 4];
        for n in &names {
            let taken: Vec<usize> = (0..4).filter(|&k| shards[k].takes(n)).collect();
            assert_eq!(taken.len(), 1, "{n} in exactly one shard");
            sizes[taken[0]] += 1;
        }
        assert!(sizes.iter().all(|&s| s > 25), "{sizes:?}");
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("1").is_err());
        assert!(Shard::parse("0/0").is_err());
    }

    #[test]
    fn scrubbed_messages_hold_no_credentials() {
        let url = "https://bot:s3cr3tvalue@git.example/org/r.git";
        let m = scrub(&format!("failed to reach {url}"), url);
        assert!(!m.contains("s3cr3tvalue"), "{m}");
        let other = scrub(
            "redirect to 'https://bot:tok3n@mirror.example/r.git' refused",
            url,
        );
        assert!(!other.contains("tok3n"), "{other}");
        assert!(other.contains("https://mirror.example/r.git"), "{other}");
        assert!(m.contains("git.example/org/r.git"));
    }
}

//! Which repositories a sweep covers and how each is reached: the lines of
//! `--repos FILE`, the repositories below `--repos-dir DIR`, the shard a
//! worker takes, and the bare clone kept in `--cache DIR` for a remote one.
//!
//! Credentials never come from the command line: a token in the environment
//! (`KEYTRACE_GIT_TOKEN`, with `KEYTRACE_GIT_USERNAME`), git's credential
//! helpers, or the defaults of the transport. A URL that carries a user or
//! password is still accepted, but that part never reaches a log, a store or
//! a report.
use std::path::{Path, PathBuf};

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
            }
        } else {
            let trimmed = line.trim_end_matches('/');
            RepoSpec {
                name: trimmed.to_string(),
                source: Source::Local(PathBuf::from(trimmed)),
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

/// `https://user:tok@github.com/org/repo.git` → `https://github.com/org/repo.git`.
pub fn strip_userinfo(url: &str) -> String {
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

/// `https://github.com/org/repo.git`, `git@github.com:org/repo` and
/// `ssh://git@github.com/org/repo/` all name `github.com/org/repo`.
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
    rest.trim_start_matches('/').to_string()
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
pub fn acquire(spec: &RepoSpec, cache: Option<&Path>) -> std::result::Result<PathBuf, String> {
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
            fetch(url, &dir).map_err(|e| scrub(e.message(), url))?;
            Ok(dir)
        }
    }
}

/// Takes credentials out of a transport's message: the URL as given, and
/// the user-info part of any other URL the message quotes.
fn scrub(message: &str, url: &str) -> String {
    let clean = strip_userinfo(url);
    let mut m = message.replace(url, &clean);
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

/// Clones `url` bare into `dir`, or fetches into the clone already there.
/// An anonymous remote: the URL is not written into the clone's config.
fn fetch(url: &str, dir: &Path) -> std::result::Result<(), git2::Error> {
    let repo = match git2::Repository::open_bare(dir) {
        Ok(r) => r,
        Err(_) => {
            if dir.exists() {
                // A half-made clone from a crash: start again.
                let _ = std::fs::remove_dir_all(dir);
            }
            git2::Repository::init_bare(dir)?
        }
    };
    let mut remote = repo.remote_anonymous(url)?;
    let mut options = FetchOptions::new();
    options.remote_callbacks(callbacks());
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

/// Credentials from the environment or git's credential helpers, tried a
/// bounded number of times so that a wrong token fails instead of looping.
fn callbacks() -> RemoteCallbacks<'static> {
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
        ] {
            assert_eq!(url_name(u), "github.com/org/repo", "{u}");
        }
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

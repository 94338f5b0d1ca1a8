//! Repositories a sweep lists itself: every repository of a GitHub
//! organisation or user, a GitLab group (with its subgroups), a Bitbucket
//! Cloud workspace or an Azure DevOps organisation, from the forge's API,
//! page by page to the end, through the program's one HTTP client
//! ([`crate::net::Client`]).
//!
//! Tokens come from the environment and go in a header, never in a URL, a
//! log line or an error. A page's link to the next one is followed only on
//! the API's own scheme, host and port, so a server cannot send the token
//! elsewhere. A rate-limit answer is waited out (its `retry-after`, or the
//! reset time GitHub's `x-ratelimit-*` and GitLab's `ratelimit-*` headers
//! give), and the wait is told to the user. Repositories are named by
//! their clone URL as a repos file would name them, so sharding stays by
//! name and a new repository lands in one shard.
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde_json::Value;

use super::repos::{url_name, Credential, RepoSpec, Source};
use crate::cli::ListingArgs;
use crate::error::{Error, Result};
use crate::net::{Client, NetOptions};
use crate::rules::verify::Reply;

/// What is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    GitHubOrg,
    GitHubUser,
    GitLabGroup,
    BitbucketWorkspace,
    AzureDevOpsOrg,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::GitHubOrg => "GitHub organisation",
            Kind::GitHubUser => "GitHub user",
            Kind::GitLabGroup => "GitLab group",
            Kind::BitbucketWorkspace => "Bitbucket workspace",
            Kind::AzureDevOpsOrg => "Azure DevOps organisation",
        }
    }

    fn has_topics(self) -> bool {
        matches!(self, Kind::GitHubOrg | Kind::GitHubUser | Kind::GitLabGroup)
    }
}

/// The org listings of a sweep, and what keeps a listed repository out.
pub struct Listing {
    targets: Vec<(Kind, String)>,
    github: String,
    gitlab: String,
    bitbucket: String,
    azure: String,
    include_forks: bool,
    exclude_archived: bool,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    topics: Vec<String>,
    net: NetOptions,
}

/// One repository as a listing gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    /// `org/repo`, `group/sub/project`, `org/project/repo`.
    full_name: String,
    clone_url: String,
    fork: bool,
    archived: bool,
    topics: Vec<String>,
}

/// A page's repositories and the URL of the next page.
type Page = (Vec<Listed>, Option<String>);

/// The longest a rate limit is waited out at a time.
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Pages listed of one target at most (a server that never ends).
const MAX_PAGES: usize = 10_000;
/// A page of 100 repositories is a few hundred KB of JSON.
const BODY_CAP: usize = 32 << 20;

fn globs(list: &[String], flag: &str) -> Result<Option<GlobSet>> {
    if list.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for g in list {
        b.add(Glob::new(g).map_err(|e| Error::Usage(format!("{flag} {g:?}: {e}")))?);
    }
    b.build()
        .map(Some)
        .map_err(|e| Error::Usage(format!("{flag}: {e}")))
}

impl Listing {
    /// The listings the arguments ask for; None when they ask for none.
    pub fn from_args(a: &ListingArgs, network_timeout: Duration) -> Result<Option<Listing>> {
        let mut targets = Vec::new();
        for (kind, names) in [
            (Kind::GitHubOrg, &a.github_org),
            (Kind::GitHubUser, &a.github_user),
            (Kind::GitLabGroup, &a.gitlab_group),
            (Kind::BitbucketWorkspace, &a.bitbucket_workspace),
            (Kind::AzureDevOpsOrg, &a.azure_devops_org),
        ] {
            for n in names {
                let n = n.trim().trim_matches('/');
                if n.is_empty() || n.contains(['?', '#', '\\']) || n.split('/').any(|p| p == "..") {
                    return Err(Error::Usage(format!(
                        "{}: {n:?} is not a name",
                        kind.label()
                    )));
                }
                targets.push((kind, n.to_string()));
            }
        }
        if targets.is_empty() {
            return Ok(None);
        }
        if !a.topic.is_empty() {
            if let Some((k, _)) = targets.iter().find(|(k, _)| !k.has_topics()) {
                return Err(Error::Usage(format!(
                    "--topic: a {} has no topics (GitHub and GitLab have)",
                    k.label()
                )));
            }
        }
        let base = |u: &str| u.trim_end_matches('/').to_string();
        Ok(Some(Listing {
            targets,
            github: base(&a.github_api_url),
            gitlab: base(&a.gitlab_url),
            bitbucket: base(&a.bitbucket_api_url),
            azure: base(&a.azure_devops_url),
            include_forks: a.include_forks,
            exclude_archived: a.exclude_archived,
            include: globs(&a.repo_include, "--repo-include")?,
            exclude: globs(&a.repo_exclude, "--repo-exclude")?,
            topics: a.topic.iter().map(|t| t.to_ascii_lowercase()).collect(),
            net: NetOptions {
                connect_timeout: network_timeout,
                request_timeout: network_timeout.max(Duration::from_secs(60)),
                body_cap: BODY_CAP,
                ca_file: None,
            },
        }))
    }

    /// The API base URL of a kind.
    fn base(&self, kind: Kind) -> &str {
        match kind {
            Kind::GitHubOrg | Kind::GitHubUser => &self.github,
            Kind::GitLabGroup => &self.gitlab,
            Kind::BitbucketWorkspace => &self.bitbucket,
            Kind::AzureDevOpsOrg => &self.azure,
        }
    }

    /// Lists every target, to the last page; `tell` hears of waits and of
    /// repositories left out. Fails when a target cannot be listed whole:
    /// a sweep of part of an organisation must not pass for all of it.
    pub fn list(&self, tell: &mut dyn FnMut(&str)) -> Result<Vec<RepoSpec>> {
        let bases: Vec<&str> = self.targets.iter().map(|(k, _)| self.base(*k)).collect();
        let client = Client::for_hosts(&self.net, &bases).map_err(Error::Usage)?;
        let mut out = Vec::new();
        for (kind, name) in &self.targets {
            let api = Api {
                client: &client,
                base: self.base(*kind),
                headers: headers(*kind),
                what: format!("{} {name}", kind.label()),
            };
            let listed = match kind {
                Kind::AzureDevOpsOrg => azure(&api, name, tell)?,
                _ => api.pages(&first_url(*kind, api.base, name), *kind, tell)?,
            };
            let credential = credential(*kind);
            for l in listed {
                if let Some(spec) = self.keep(&api, l, &credential, tell) {
                    out.push(spec);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        Ok(out)
    }

    /// A listed repository as a sweep takes it, or None when a filter
    /// leaves it out or its clone URL may not be used.
    fn keep(
        &self,
        api: &Api,
        l: Listed,
        credential: &Option<Credential>,
        tell: &mut dyn FnMut(&str),
    ) -> Option<RepoSpec> {
        let name = l.full_name.as_str();
        if (l.fork && !self.include_forks)
            || (l.archived && self.exclude_archived)
            || self.include.as_ref().is_some_and(|g| !g.is_match(name))
            || self.exclude.as_ref().is_some_and(|g| g.is_match(name))
            || (!self.topics.is_empty()
                && !l
                    .topics
                    .iter()
                    .any(|t| self.topics.contains(&t.to_ascii_lowercase())))
        {
            return None;
        }
        let url = l.clone_url.trim();
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let allowed = match scheme.as_deref() {
            Some("https" | "ssh" | "git+ssh") => true,
            // A local mirror's (or a test's) repositories, only from a
            // loopback API.
            Some("http" | "file") => api.base.starts_with("http://"),
            None => url.contains('@') && url.contains(':'),
            _ => false,
        };
        if !allowed {
            tell(&format!(
                "{}: {name}: its clone URL is neither https:// nor SSH; left out",
                api.what
            ));
            return None;
        }
        // The token goes only to the forge it came from.
        let credential = credential.clone().filter(|_| same_forge(api.base, url));
        Some(RepoSpec {
            name: url_name(url),
            source: Source::Remote(url.to_string()),
            listed: true,
            credential,
        })
    }
}

/// The host of a URL (no user, no port), lowercased.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |x| x.1);
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    Some(host.to_ascii_lowercase())
}

/// Whether a clone URL is on the forge whose API is at `base`: the same
/// host, or the API's host without its `api.` label (`api.github.com`
/// serves `github.com`).
fn same_forge(base: &str, clone: &str) -> bool {
    match (host_of(base), host_of(clone)) {
        (Some(a), Some(c)) => a == c || a.strip_prefix("api.") == Some(c.as_str()),
        _ => false,
    }
}

/// The token of a kind from the environment, as request headers.
fn headers(kind: Kind) -> Vec<(String, String)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut h = Vec::new();
    match kind {
        Kind::GitHubOrg | Kind::GitHubUser => {
            h.push(("accept".into(), "application/vnd.github+json".into()));
            h.push(("x-github-api-version".into(), "2022-11-28".into()));
            if let Some(t) = env("GITHUB_TOKEN").or_else(|| env("GH_TOKEN")) {
                h.push(("authorization".into(), format!("Bearer {t}")));
            }
        }
        Kind::GitLabGroup => {
            if let Some(t) = env("GITLAB_TOKEN") {
                h.push(("private-token".into(), t));
            }
        }
        Kind::BitbucketWorkspace => {
            if let Some(t) = env("BITBUCKET_TOKEN") {
                h.push(("authorization".into(), format!("Bearer {t}")));
            } else if let (Some(u), Some(p)) =
                (env("BITBUCKET_USERNAME"), env("BITBUCKET_APP_PASSWORD"))
            {
                h.push(("authorization".into(), basic(&u, &p)));
            }
        }
        Kind::AzureDevOpsOrg => {
            if let Some(t) = env("AZURE_DEVOPS_TOKEN") {
                h.push(("authorization".into(), basic("", &t)));
            }
        }
    }
    h.push(("accept-encoding".into(), "identity".into()));
    h
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// How a repository listed with a kind's token is cloned with it.
fn credential(kind: Kind) -> Option<Credential> {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    let c = |username: &str, env: &'static str| {
        set(env).then(|| Credential {
            username: username.to_string(),
            env,
        })
    };
    match kind {
        Kind::GitHubOrg | Kind::GitHubUser => {
            c("x-access-token", "GITHUB_TOKEN").or_else(|| c("x-access-token", "GH_TOKEN"))
        }
        Kind::GitLabGroup => c("oauth2", "GITLAB_TOKEN"),
        Kind::BitbucketWorkspace => c("x-token-auth", "BITBUCKET_TOKEN").or_else(|| {
            let user = std::env::var("BITBUCKET_USERNAME").ok()?;
            c(&user, "BITBUCKET_APP_PASSWORD")
        }),
        Kind::AzureDevOpsOrg => c("pat", "AZURE_DEVOPS_TOKEN"),
    }
}

/// `name` for a URL path: every byte but unreserved ones percent-encoded
/// (a GitLab group path's `/` too).
fn enc(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The first page of a kind (not Azure DevOps, listed by project).
fn first_url(kind: Kind, base: &str, name: &str) -> String {
    let n = enc(name);
    match kind {
        Kind::GitHubOrg => format!("{base}/orgs/{n}/repos?per_page=100&type=all"),
        Kind::GitHubUser => format!("{base}/users/{n}/repos?per_page=100&type=owner"),
        Kind::GitLabGroup => format!(
            "{base}/api/v4/groups/{n}/projects?include_subgroups=true&per_page=100&order_by=id&sort=asc"
        ),
        Kind::BitbucketWorkspace => format!("{base}/repositories/{n}?pagelen=100"),
        Kind::AzureDevOpsOrg => format!("{base}/{n}/_apis/projects?api-version=7.1&$top=100"),
    }
}

/// The API of one target.
struct Api<'a> {
    client: &'a Client,
    base: &'a str,
    headers: Vec<(String, String)>,
    /// "GitHub organisation acme", for messages.
    what: String,
}

impl Api<'_> {
    /// Every page from `first` on.
    fn pages(&self, first: &str, kind: Kind, tell: &mut dyn FnMut(&str)) -> Result<Vec<Listed>> {
        let mut out = Vec::new();
        let mut url = first.to_string();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            if !seen.insert(url.clone()) {
                return Err(self.fail("the next page is one already listed"));
            }
            let reply = self.get(&url, tell)?;
            let (repos, next) = page(kind, &reply)
                .ok_or_else(|| self.fail("an answer that is not the API's JSON"))?;
            out.extend(repos);
            match next {
                Some(n) => url = self.follow(&n, first)?,
                None => return Ok(out),
            }
        }
        Err(self.fail("more pages than a listing may have"))
    }

    /// A next-page link, if it stays on the API's scheme, host and port.
    fn follow(&self, next: &str, first: &str) -> Result<String> {
        let origin = |u: &str| -> Option<String> {
            let (scheme, rest) = u.split_once("://")?;
            let authority = rest.split(['/', '?', '#']).next()?;
            Some(format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                authority.to_ascii_lowercase()
            ))
        };
        let next = if next.starts_with('/') {
            format!("{}{next}", origin(first).unwrap_or_default())
        } else if let Some(query) = next.strip_prefix('?') {
            format!("{first}&{query}")
        } else {
            next.to_string()
        };
        if origin(&next).is_some() && origin(&next) == origin(self.base) && !next.contains('@') {
            Ok(next)
        } else {
            Err(self.fail("the next page's link leaves the API's host; not followed"))
        }
    }

    fn fail(&self, why: &str) -> Error {
        Error::Usage(format!("listing the {}: {why}", self.what))
    }

    /// One GET, with rate limits waited out.
    fn get(&self, url: &str, tell: &mut dyn FnMut(&str)) -> Result<Reply> {
        for _ in 0..20 {
            let reply = self
                .client
                .send("GET", url, &self.headers, None)
                .map_err(|e| self.fail(&e.to_string()))?;
            let header = |k: &str| {
                reply
                    .headers
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.trim().to_string())
            };
            let remaining =
                header("x-ratelimit-remaining").or_else(|| header("ratelimit-remaining"));
            let limited = reply.status == 429
                || (reply.status == 403
                    && (remaining.as_deref() == Some("0") || header("retry-after").is_some()));
            if limited {
                let wait = rate_wait(&header);
                if wait > MAX_WAIT {
                    return Err(self.fail(&format!(
                        "rate limited for {} s more; try again later",
                        wait.as_secs()
                    )));
                }
                tell(&format!(
                    "{}: rate limited; waiting {} s as the server asks",
                    self.what,
                    wait.as_secs()
                ));
                std::thread::sleep(wait);
                continue;
            }
            return match reply.status {
                200..=299 => {
                    // The last request of the window: wait before the next.
                    if remaining.as_deref() == Some("0") {
                        let wait = rate_wait(&header).min(MAX_WAIT);
                        tell(&format!(
                            "{}: rate limit used up; waiting {} s for it to reset",
                            self.what,
                            wait.as_secs()
                        ));
                        std::thread::sleep(wait);
                    }
                    Ok(reply)
                }
                401 => {
                    Err(self
                        .fail("the token was refused (401): set a valid one in the environment"))
                }
                403 => Err(self.fail("not allowed (403): the token lacks the scope to list it")),
                404 => Err(self.fail("not found (404), or not visible without a token")),
                s => Err(self.fail(&format!("the server answered HTTP {s}"))),
            };
        }
        Err(self.fail("still rate limited after 20 waits"))
    }
}

/// How long a rate-limit answer asks to wait: `retry-after` seconds, else
/// until the reset time (epoch seconds; GitLab's may be seconds from now),
/// else a minute.
fn rate_wait(header: &dyn Fn(&str) -> Option<String>) -> Duration {
    if let Some(s) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Duration::from_secs(s);
    }
    let reset = header("x-ratelimit-reset")
        .or_else(|| header("ratelimit-reset"))
        .and_then(|v| v.parse::<u64>().ok());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match reset {
        Some(r) if r > 1_000_000_000 => Duration::from_secs(r.saturating_sub(now) + 1),
        Some(r) => Duration::from_secs(r),
        None => Duration::from_secs(60),
    }
}

/// `<url>; rel="next"` from a `Link` header.
fn link_next(reply: &Reply) -> Option<String> {
    let link = reply.headers.iter().find(|(k, _)| k == "link")?.1.as_str();
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

/// One page of a kind: its repositories and the next page's URL, or None
/// when the answer is not what the API sends.
fn page(kind: Kind, reply: &Reply) -> Option<Page> {
    let body: Value = serde_json::from_slice(&reply.body).ok()?;
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let flag = |v: &Value, k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    match kind {
        Kind::GitHubOrg | Kind::GitHubUser => {
            let repos = body
                .as_array()?
                .iter()
                .filter_map(|r| {
                    Some(Listed {
                        full_name: text(r, "full_name")?,
                        clone_url: text(r, "clone_url")?,
                        fork: flag(r, "fork"),
                        archived: flag(r, "archived"),
                        topics: strings(r.get("topics")),
                    })
                })
                .collect();
            Some((repos, link_next(reply)))
        }
        Kind::GitLabGroup => {
            let repos = body
                .as_array()?
                .iter()
                .filter_map(|r| {
                    let mut topics = strings(r.get("topics"));
                    topics.extend(strings(r.get("tag_list")));
                    Some(Listed {
                        full_name: text(r, "path_with_namespace")?,
                        clone_url: text(r, "http_url_to_repo")?,
                        fork: r.get("forked_from_project").is_some_and(|f| !f.is_null()),
                        archived: flag(r, "archived"),
                        topics,
                    })
                })
                .collect();
            // `Link` where the server sends it; else `x-next-page`.
            let next = link_next(reply).or_else(|| {
                let n = reply
                    .headers
                    .iter()
                    .find(|(k, _)| k == "x-next-page")?
                    .1
                    .trim();
                (!n.is_empty())
                    .then(|| n.to_string())
                    .map(|n| format!("?page={n}"))
            });
            Some((repos, next))
        }
        Kind::BitbucketWorkspace => {
            let repos = body
                .get("values")?
                .as_array()?
                .iter()
                .filter_map(|r| {
                    let href = r
                        .get("links")?
                        .get("clone")?
                        .as_array()?
                        .iter()
                        .find(|c| c.get("name").and_then(Value::as_str) == Some("https"))?;
                    Some(Listed {
                        full_name: text(r, "full_name")?,
                        clone_url: text(href, "href")?,
                        fork: r.get("parent").is_some_and(|p| !p.is_null()),
                        archived: false,
                        topics: Vec::new(),
                    })
                })
                .collect();
            Some((repos, text(&body, "next")))
        }
        // Listed by project: see [`azure`].
        Kind::AzureDevOpsOrg => None,
    }
}

/// An Azure DevOps organisation: its projects (paged by continuation
/// token), then each project's Git repositories.
fn azure(api: &Api, org: &str, tell: &mut dyn FnMut(&str)) -> Result<Vec<Listed>> {
    let first = first_url(Kind::AzureDevOpsOrg, api.base, org);
    let mut projects = Vec::new();
    let mut url = first.clone();
    for _ in 0..MAX_PAGES {
        let reply = api.get(&url, tell)?;
        let body: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| api.fail("an answer that is not the API's JSON"))?;
        let page = body.get("value").and_then(Value::as_array);
        projects.extend(page.into_iter().flatten().filter_map(|p| text(p, "name")));
        // More projects: the continuation token in a header.
        let token = reply
            .headers
            .iter()
            .find(|(k, _)| k == "x-ms-continuationtoken")
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty());
        match token {
            Some(t) => url = format!("{first}&continuationToken={}", enc(t)),
            None => break,
        }
    }
    let mut out = Vec::new();
    for project in projects {
        let url = format!(
            "{}/{}/{}/_apis/git/repositories?api-version=7.1",
            api.base,
            enc(org),
            enc(&project)
        );
        let reply = api.get(&url, tell)?;
        let body: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| api.fail("an answer that is not the API's JSON"))?;
        for r in body
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(name), Some(url)) = (text(r, "name"), text(r, "remoteUrl")) else {
                continue;
            };
            out.push(Listed {
                full_name: format!("{org}/{project}/{name}"),
                clone_url: url,
                fork: r.get("isFork").and_then(Value::as_bool).unwrap_or(false),
                archived: r
                    .get("isDisabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                topics: Vec::new(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(headers: &[(&str, &str)], body: &str) -> Reply {
        Reply {
            status: 200,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn next_links_and_forges() {
        let r = reply(
            &[(
                "link",
                r#"<https://api.github.com/x?page=3>; rel="last", <https://api.github.com/x?page=2>; rel="next""#,
            )],
            "[]",
        );
        assert_eq!(
            link_next(&r).as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        assert!(same_forge(
            "https://api.github.com",
            "https://github.com/a/b.git"
        ));
        assert!(same_forge(
            "https://gitlab.corp:8443",
            "https://gitlab.corp/a/b.git"
        ));
        assert!(!same_forge(
            "https://api.github.com",
            "https://evil.example/a.git"
        ));
        assert!(!same_forge(
            "https://api.github.com",
            "https://github.com.evil.example/a.git"
        ));
        assert_eq!(enc("grp/sub group"), "grp%2Fsub%20group");
        let h = |k: &str| (k == "retry-after").then(|| "7".to_string());
        assert_eq!(rate_wait(&h), Duration::from_secs(7));
    }
}

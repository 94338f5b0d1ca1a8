//! Sweeps that list the organisation's repositories themselves: a local
//! HTTP mock of each forge's API (GitHub, GitLab, Bitbucket Cloud, Azure
//! DevOps) on 127.0.0.1 serves several pages of repositories whose clone
//! URLs are local repositories made here. The sweep finds the planted
//! secrets in all of them, waits out a rate-limit answer, records a
//! repository whose clone answers 404, shows repositories added and
//! removed since the previous listing, and never writes a token anywhere.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use keytrace::testkit::fakes::Fakes;
use serde_json::{json, Value};

use crate::history::{commit, git};
use crate::mock_https::{Answer, Hit, Mock};
use crate::{keytrace, write};

const DATE: &str = "2025-05-01T10:00:00Z";

/// A repository made here: its clone URL and the secret in it.
struct Made {
    url: String,
    secret: String,
}

fn make(root: &Path, name: &str, f: &mut Fakes) -> Made {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"], DATE);
    let secret = f.github("ghp");
    write(&dir, "deploy/.env", format!("GITHUB_TOKEN={secret}\n"));
    write(&dir, "src/main.py", "print('hello')\n");
    commit(&dir, "init", DATE);
    Made {
        url: format!("file://{}", dir.display()),
        secret,
    }
}

/// The forges' tokens, made up here.
fn tokens(f: &mut Fakes) -> BTreeMap<&'static str, String> {
    [
        "GITHUB_TOKEN",
        "GITLAB_TOKEN",
        "BITBUCKET_TOKEN",
        "AZURE_DEVOPS_TOKEN",
    ]
    .into_iter()
    .map(|k| (k, format!("tok-{}", f.alnum(32))))
    .collect()
}

/// What the mock serves, and what it changes on the second sweep.
struct Forges {
    gh: Vec<Value>,
    gl: Vec<Value>,
    bb: Vec<Value>,
    /// Azure DevOps: project → repositories.
    az: Vec<(String, Vec<Value>)>,
    /// The second listing: GitHub's last repository gone, one added.
    later: Value,
}

fn handler(
    forges: Arc<Forges>,
    tokens: BTreeMap<&'static str, String>,
    second: Arc<AtomicBool>,
    limited: Arc<AtomicUsize>,
    base: Arc<std::sync::OnceLock<String>>,
) -> impl Fn(&Hit) -> Answer + Send + Sync + 'static {
    move |hit: &Hit| {
        let base = base.get().unwrap();
        let json_answer = |v: &Value| Answer::new(200, &v.to_string());
        let path = hit.path.as_str();
        if path.starts_with("/git/") {
            // The clone of a repository deleted since it was listed.
            return Answer::new(404, "Not Found");
        }
        if path.starts_with("/gh/") {
            if hit.header("authorization") != Some(&format!("Bearer {}", tokens["GITHUB_TOKEN"])) {
                return Answer::new(401, r#"{"message":"Bad credentials"}"#);
            }
            let mut repos = forges.gh.clone();
            if second.load(Ordering::SeqCst) {
                repos.pop();
                repos.push(forges.later.clone());
            }
            let first = "/gh/api/orgs/acme/repos?per_page=100&type=all";
            if path == first {
                let next = format!("<{base}{first}&page=2>; rel=\"next\"");
                return json_answer(&Value::Array(repos[..3].to_vec())).header("link", &next);
            }
            if path == format!("{first}&page=2") {
                // The first ask for page 2 is rate limited once.
                if limited.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Answer::new(429, r#"{"message":"secondary rate limit"}"#)
                        .header("retry-after", "1");
                }
                return json_answer(&Value::Array(repos[3..].to_vec()));
            }
        }
        if path.starts_with("/gl/") {
            if hit.header("private-token") != Some(tokens["GITLAB_TOKEN"].as_str()) {
                return Answer::new(401, r#"{"message":"401 Unauthorized"}"#);
            }
            let first = "/gl/api/v4/groups/acme%2Fplatform/projects?include_subgroups=true&per_page=100&order_by=id&sort=asc";
            if path == first {
                // No Link header: the page number alone says there is more.
                return json_answer(&Value::Array(forges.gl[..2].to_vec()))
                    .header("x-next-page", "2");
            }
            if path == format!("{first}&page=2") {
                return json_answer(&Value::Array(forges.gl[2..].to_vec()))
                    .header("x-next-page", "");
            }
        }
        if path.starts_with("/bb/") {
            if hit.header("authorization") != Some(&format!("Bearer {}", tokens["BITBUCKET_TOKEN"]))
            {
                return Answer::new(401, "");
            }
            let first = "/bb/2.0/repositories/acme?pagelen=100";
            if path == first {
                return json_answer(&json!({
                    "values": forges.bb[..1],
                    "next": format!("{base}{first}&page=2"),
                }));
            }
            if path == format!("{first}&page=2") {
                return json_answer(&json!({ "values": forges.bb[1..] }));
            }
        }
        if path.starts_with("/az/") {
            use base64::Engine;
            let want = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!(":{}", tokens["AZURE_DEVOPS_TOKEN"]))
            );
            if hit.header("authorization") != Some(want.as_str()) {
                return Answer::new(401, "");
            }
            let first = "/az/acme/_apis/projects?api-version=7.1&$top=100";
            let project = |i: usize| json!({ "name": forges.az[i].0 });
            if path == first {
                return json_answer(&json!({ "count": 1, "value": [project(0)] }))
                    .header("x-ms-continuationtoken", "page2");
            }
            if path == format!("{first}&continuationToken=page2") {
                return json_answer(&json!({ "count": 1, "value": [project(1)] }));
            }
            for (name, repos) in &forges.az {
                if path == format!("/az/acme/{name}/_apis/git/repositories?api-version=7.1") {
                    return json_answer(&json!({ "count": repos.len(), "value": repos }));
                }
            }
        }
        Answer::new(404, "{}")
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `keytrace ARGS` with the tokens in its environment.
fn run_with(args: &[&str], tokens: &BTreeMap<&'static str, String>) -> crate::Run {
    let mut c = keytrace();
    c.args(args);
    for k in [
        "KEYTRACE_GIT_TOKEN",
        "GH_TOKEN",
        "BITBUCKET_USERNAME",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ] {
        c.env_remove(k);
    }
    c.envs(tokens.iter().map(|(k, v)| (*k, v.as_str())));
    let out = c.output().unwrap();
    crate::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn org_listings_of_four_forges_are_swept() {
    let root = tempfile::tempdir().unwrap();
    let repos = root.path().join("repos");
    let mut f = Fakes::new(0x11571);
    let tokens = tokens(&mut f);
    let mut made: BTreeMap<String, Made> = BTreeMap::new();
    let mut mk = |name: &str, f: &mut Fakes| {
        let m = make(&repos, name, f);
        let url = m.url.clone();
        made.insert(name.to_string(), m);
        url
    };
    let gh_repo = |name: &str, url: &str, fork: bool, archived: bool, topics: &[&str]| {
        json!({"full_name": format!("acme/{name}"), "clone_url": url, "fork": fork,
               "archived": archived, "topics": topics, "private": true})
    };
    let gh: Vec<Value> = vec![
        gh_repo("api", &mk("gh-api", &mut f), false, false, &["payments"]),
        gh_repo("web", &mk("gh-web", &mut f), false, false, &[]),
        gh_repo("old", &mk("gh-old", &mut f), false, true, &[]),
        gh_repo("fork-of-lib", &mk("gh-fork", &mut f), true, false, &[]),
        gh_repo(
            "tools",
            &mk("gh-tools", &mut f),
            false,
            false,
            &["payments"],
        ),
    ];
    let later = gh_repo("new-service", &mk("gh-new", &mut f), false, false, &[]);
    let gl_repo = |path: &str, url: &str| {
        json!({"path_with_namespace": format!("acme/platform/{path}"), "http_url_to_repo": url,
               "archived": false, "topics": [], "forked_from_project": null})
    };
    let gl = vec![
        gl_repo("infra", &mk("gl-infra", &mut f)),
        gl_repo("sub/ci", &mk("gl-ci", &mut f)),
        gl_repo("sub/deep/bot", &mk("gl-bot", &mut f)),
    ];
    let bb_repo = |name: &str, url: &str| {
        json!({"full_name": format!("acme/{name}"), "parent": null,
               "links": {"clone": [{"name": "ssh", "href": "git@bitbucket.org:acme/x.git"},
                                   {"name": "https", "href": url}]}})
    };
    let bb = vec![
        bb_repo("billing", &mk("bb-billing", &mut f)),
        bb_repo("reports", &mk("bb-reports", &mut f)),
    ];
    let az_repo = |name: &str, url: &str| json!({"name": name, "remoteUrl": url, "isFork": false, "isDisabled": false});
    let mock_base = Arc::new(std::sync::OnceLock::new());
    let second = Arc::new(AtomicBool::new(false));
    let limited = Arc::new(AtomicUsize::new(0));
    // The mock's address is known once it listens: the repository whose
    // clone answers 404 is on it.
    let gone_url = Arc::new(std::sync::OnceLock::<String>::new());
    let az = vec![
        (
            "Core".to_string(),
            vec![az_repo("ledger", &mk("az-ledger", &mut f))],
        ),
        (
            "Ops".to_string(),
            vec![az_repo("runbooks", &mk("az-runbooks", &mut f))],
        ),
    ];
    let forges = Arc::new(std::sync::Mutex::new(None::<Arc<Forges>>));
    let mock = {
        let (forges, tokens, second, limited, base) = (
            forges.clone(),
            tokens.clone(),
            second.clone(),
            limited.clone(),
            mock_base.clone(),
        );
        Mock::start_plain(move |hit| {
            let current = forges.lock().unwrap().clone().unwrap();
            handler(
                current,
                tokens.clone(),
                second.clone(),
                limited.clone(),
                base.clone(),
            )(hit)
        })
    };
    let base = format!("http://{}", mock.addr);
    mock_base.set(base.clone()).unwrap();
    gone_url
        .set(format!("{base}/git/acme/deleted.git"))
        .unwrap();
    let mut gh = gh;
    // GitHub's last repository on the first listing is one deleted since.
    gh.push(gh_repo(
        "deleted",
        gone_url.get().unwrap(),
        false,
        false,
        &[],
    ));
    *forges.lock().unwrap() = Some(Arc::new(Forges {
        gh,
        gl,
        bb,
        az,
        later,
    }));

    let store = root.path().join("sweep.db");
    let cache = root.path().join("cache");
    let urls = [
        format!("{base}/gh/api"),
        format!("{base}/gl"),
        format!("{base}/bb/2.0"),
        format!("{base}/az"),
    ];
    let args = [
        "sweep",
        "--no-progress",
        "-j",
        "1",
        "--store",
        s(&store),
        "--cache",
        s(&cache),
        "--github-org",
        "acme",
        "--github-api-url",
        &urls[0],
        "--gitlab-group",
        "acme/platform",
        "--gitlab-url",
        &urls[1],
        "--bitbucket-workspace",
        "acme",
        "--bitbucket-api-url",
        &urls[2],
        "--azure-devops-org",
        "acme",
        "--azure-devops-url",
        &urls[3],
    ];
    let r = run_with(&args, &tokens);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.stdout);
    let summary: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    // 5 GitHub repositories listed but the fork, 3 GitLab, 2 Bitbucket, 2 Azure.
    assert_eq!(summary["repositories"], 12, "{}", r.stderr);
    assert_eq!(summary["failed"], 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("GitHub organisation acme: rate limited; waiting 1 s"),
        "{}",
        r.stderr
    );
    let hits = mock.hits();
    let page2: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.path.ends_with("&type=all&page=2"))
        .collect();
    assert_eq!(page2.len(), 2, "asked again after the wait");
    assert!(page2[1].at.duration_since(page2[0].at) >= std::time::Duration::from_millis(900));
    assert!(hits.iter().any(|h| h
        .path
        .ends_with("projects?api-version=7.1&$top=100&continuationToken=page2")));
    // The 404 clone: recorded as vanished, and the sweep went on.
    let logs: BTreeMap<String, Value> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["repo"].as_str().unwrap().to_string(), v)
        })
        .collect();
    let gone = logs
        .iter()
        .find(|(k, _)| k.ends_with("/git/acme/deleted"))
        .unwrap_or_else(|| panic!("{logs:?}"))
        .1;
    assert!(
        gone["error"]
            .as_str()
            .unwrap()
            .contains("vanished since it was listed"),
        "{gone}"
    );

    // Every planted secret of a listed repository is found; the fork's is not.
    let report = |extra: &[&str]| -> crate::Run {
        let mut a = vec!["report", "--store", s(&store)];
        a.extend_from_slice(extra);
        run_with(&a, &tokens)
    };
    let rep = report(&["--format", "json"]);
    assert_eq!(rep.code, 0, "{}", rep.stderr);
    let json: Value = serde_json::from_str(&rep.stdout).unwrap();
    let found: BTreeSet<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    for (name, m) in &made {
        let fp = keytrace::base::secret::fingerprint(m.secret.as_bytes());
        let want = name != "gh-fork" && name != "gh-new";
        assert_eq!(found.contains(&fp), want, "{name}");
    }

    // The second sweep: the listing lost a repository and gained one.
    second.store(true, Ordering::SeqCst);
    let r2 = run_with(&args, &tokens);
    assert_eq!(r2.code, 0, "{}", r2.stderr);
    let rep = report(&["--format", "json"]);
    let json: Value = serde_json::from_str(&rep.stdout).unwrap();
    let flagged = |flag: &str| -> Vec<String> {
        json["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r[flag] == true)
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let added = flagged("added");
    let removed = flagged("removed");
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].ends_with("repos/gh-new"), "{added:?}");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(removed[0].ends_with("/git/acme/deleted"), "{removed:?}");
    assert_eq!(json["totals"]["added"], 1);
    assert_eq!(json["totals"]["removed"], 1);
    let fp_new = keytrace::base::secret::fingerprint(made["gh-new"].secret.as_bytes());
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["fingerprint"] == fp_new.as_str()));
    let human = report(&[]);
    assert!(
        human.stdout.contains("added since the previous listing"),
        "{}",
        human.stdout
    );

    // No token in any output, log, report or the store.
    let html = report(&["--format", "html"]);
    let store_bytes = std::fs::read(&store).unwrap();
    let mut everything = String::from_utf8_lossy(&store_bytes).into_owned();
    for out in [&r, &r2, &rep, &human, &html] {
        everything.push_str(&out.stdout);
        everything.push_str(&out.stderr);
    }
    for wal in ["sweep.db-wal", "sweep.db-shm"] {
        if let Ok(b) = std::fs::read(root.path().join(wal)) {
            everything.push_str(&String::from_utf8_lossy(&b));
        }
    }
    for (k, t) in &tokens {
        assert!(!everything.contains(t.as_str()), "{k} leaked");
    }
}

/// Filters (forks, archived, name globs, topics) and shards over a
/// listing; a plain-http API that is not loopback is refused.
#[test]
fn listing_filters_and_shards() {
    let root = tempfile::tempdir().unwrap();
    let repos = root.path().join("repos");
    let mut f = Fakes::new(0x11572);
    let tokens = tokens(&mut f);
    let names = [
        "api",
        "web",
        "legacy-billing",
        "legacy-auth",
        "fork-x",
        "attic",
    ];
    let list: Vec<Value> = names
        .iter()
        .map(|n| {
            let m = make(&repos, n, &mut f);
            json!({"full_name": format!("acme/{n}"), "clone_url": m.url,
                   "fork": n.starts_with("fork"), "archived": *n == "attic",
                   "topics": if n.starts_with("legacy") || *n == "api" { vec!["payments"] } else { vec![] }})
        })
        .collect();
    let token = tokens["GITHUB_TOKEN"].clone();
    let mock = Mock::start_plain(move |hit| {
        if hit.header("authorization") != Some(&format!("Bearer {token}")) {
            return Answer::new(401, "{}");
        }
        if hit.path == "/api/orgs/acme/repos?per_page=100&type=all" {
            return Answer::new(200, &Value::Array(list.clone()).to_string());
        }
        Answer::new(404, "{}")
    });
    let api = format!("http://{}/api", mock.addr);
    let swept = |extra: &[&str]| -> BTreeSet<String> {
        let store = root.path().join(format!("s{}.db", extra.len()));
        let _ = std::fs::remove_file(&store);
        // No --cache: the clones go beside the store.
        let mut a = vec![
            "sweep",
            "--no-progress",
            "--store",
            s(&store),
            "--github-org",
            "acme",
            "--github-api-url",
            &api,
        ];
        a.extend_from_slice(extra);
        let r = run_with(&a, &tokens);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(root
            .path()
            .join(format!("s{}.db.clones", extra.len()))
            .is_dir());
        assert!(!r.stderr.contains("\"error\":\""), "{}", r.stderr);
        r.stderr
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let n = v["repo"].as_str().unwrap();
                n.rsplit('/').next().unwrap().to_string()
            })
            .collect()
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        swept(&[]),
        set(&["api", "web", "legacy-billing", "legacy-auth", "attic"])
    );
    assert_eq!(
        swept(&["--include-forks", "--exclude-archived"]),
        set(&["api", "web", "legacy-billing", "legacy-auth", "fork-x"])
    );
    assert_eq!(
        swept(&["--topic", "payments", "--repo-exclude", "acme/legacy-a*"]),
        set(&["api", "legacy-billing"])
    );
    assert_eq!(
        swept(&["--repo-include", "acme/legacy-*"]),
        set(&["legacy-billing", "legacy-auth"])
    );
    // Two shards take every listed repository once.
    let a = swept(&["--shard", "0/2"]);
    let b = swept(&["--shard", "1/2", "-j", "1"]);
    assert!(a.is_disjoint(&b));
    assert_eq!(
        &a | &b,
        set(&["api", "web", "legacy-billing", "legacy-auth", "attic"])
    );

    // Plain http to an address that is not loopback, and a topic filter
    // on a forge without topics: refused before any request.
    let r = run_with(
        &[
            "sweep",
            "--store",
            s(&root.path().join("x.db")),
            "--github-org",
            "acme",
            "--github-api-url",
            "http://10.0.0.1/api",
        ],
        &tokens,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("loopback"), "{}", r.stderr);
    let r = run_with(
        &[
            "sweep",
            "--store",
            s(&root.path().join("x.db")),
            "--bitbucket-workspace",
            "acme",
            "--topic",
            "x",
        ],
        &tokens,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no topics"), "{}", r.stderr);
}

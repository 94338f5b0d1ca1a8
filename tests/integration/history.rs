//! Git history: a repository built at test time with the git CLI, where
//! secrets are introduced on main, renamed, deleted, committed only on an
//! unmerged branch, only in a tag, only in a stash, added and removed inside
//! a `--since` range, and staged.
use std::path::Path;
use std::process::Command;

use keytrace::testkit::fakes::Fakes;
use serde_json::Value;

use crate::{scan_json, write};

pub fn git(dir: &Path, args: &[&str], date: &str) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Ann Dev",
            "-c",
            "user.email=ann@example.org",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(["-c", "protocol.file.allow=always"])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn commit(dir: &Path, msg: &str, date: &str) -> String {
    git(dir, &["add", "-A"], date);
    git(dir, &["commit", "-q", "-m", msg], date);
    git(dir, &["rev-parse", "HEAD"], date)
}

struct Repo {
    dir: tempfile::TempDir,
    /// name → (secret, commit that introduced it)
    secrets: Vec<(&'static str, String, String)>,
    /// main's tip before the --since range.
    range_base: String,
}

impl Repo {
    fn secret(&self, name: &str) -> &str {
        &self.secrets.iter().find(|s| s.0 == name).unwrap().1
    }
    fn commit(&self, name: &str) -> &str {
        &self.secrets.iter().find(|s| s.0 == name).unwrap().2
    }
}

fn build() -> Repo {
    let mut f = Fakes::new(70);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut secrets = Vec::new();
    git(d, &["init", "-q"], "2024-01-01T00:00:00Z");

    let a = f.github("ghp");
    write(d, "config/app.env", format!("GITHUB_TOKEN={a}\n"));
    write(d, "README.md", "# app\n");
    let c1 = commit(d, "config", "2024-01-01T10:00:00Z");
    secrets.push(("renamed", a, c1));

    let b = f.npm();
    write(
        d,
        "src/settings.py",
        format!("import os\nNPM_TOKEN = \"{b}\"\n"),
    );
    let c2 = commit(d, "settings", "2024-02-01T10:00:00Z");
    secrets.push(("kept", b, c2));

    std::fs::create_dir(d.join("deploy")).unwrap();
    git(
        d,
        &["mv", "config/app.env", "deploy/app.env"],
        "2024-03-01T10:00:00Z",
    );
    commit(d, "move", "2024-03-01T10:00:00Z");

    let c = f.slack_bot();
    write(d, "old.env", format!("SLACK_BOT_TOKEN={c}\n"));
    let c4 = commit(d, "old", "2024-04-01T10:00:00Z");
    secrets.push(("deleted", c, c4));
    std::fs::remove_file(d.join("old.env")).unwrap();
    let c5 = commit(d, "cleanup", "2024-05-01T10:00:00Z");

    git(
        d,
        &["checkout", "-q", "-b", "feature"],
        "2024-05-02T10:00:00Z",
    );
    let dd = f.huggingface();
    write(d, "feature.env", format!("HF_TOKEN={dd}\n"));
    let c6 = commit(d, "feature", "2024-05-03T10:00:00Z");
    secrets.push(("branch", dd, c6));
    git(d, &["checkout", "-q", "main"], "2024-05-04T10:00:00Z");

    git(
        d,
        &["checkout", "-q", "--orphan", "tagonly"],
        "2024-05-05T10:00:00Z",
    );
    git(d, &["rm", "-rq", "--cached", "."], "2024-05-05T10:00:00Z");
    for p in ["deploy", "src", "README.md"] {
        let path = d.join(p);
        if path.is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }
    let e = f.google_api_key();
    write(d, "tag.env", format!("GOOGLE_API_KEY={e}\n"));
    let c7 = commit(d, "tag only", "2024-05-06T10:00:00Z");
    secrets.push(("tag", e, c7));
    git(d, &["tag", "v-secret"], "2024-05-06T10:00:00Z");
    git(d, &["checkout", "-q", "-f", "main"], "2024-05-07T10:00:00Z");
    git(
        d,
        &["branch", "-q", "-D", "tagonly"],
        "2024-05-07T10:00:00Z",
    );
    std::fs::remove_file(d.join("tag.env")).ok();

    let stashed = f.docker_pat();
    write(
        d,
        "src/settings.py",
        format!(
            "import os\nNPM_TOKEN = \"{}\"\nDOCKER_TOKEN = \"{stashed}\"\n",
            secrets[1].1
        ),
    );
    git(d, &["stash", "-q"], "2024-05-08T10:00:00Z");
    let stash = git(d, &["rev-parse", "stash@{0}"], "2024-05-08T10:00:00Z");
    secrets.push(("stash", stashed, stash));

    let g = f.stripe("sk");
    write(d, "temp.env", format!("STRIPE_KEY={g}\n"));
    let c8 = commit(d, "temp", "2024-06-01T10:00:00Z");
    secrets.push(("range", g, c8));
    std::fs::remove_file(d.join("temp.env")).unwrap();
    commit(d, "temp gone", "2024-06-02T10:00:00Z");
    Repo {
        dir,
        secrets,
        range_base: c5,
    }
}

fn finding<'a>(v: &'a Value, secret: &str) -> &'a Value {
    let fp = keytrace::base::secret::fingerprint(secret.as_bytes());
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fingerprint"] == fp.as_str())
        .unwrap_or_else(|| panic!("no finding for {fp}"))
}

fn history_location(f: &Value) -> &Value {
    f["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| !l["commit"].is_null())
        .unwrap_or_else(|| panic!("no history location: {f}"))
}

#[test]
fn every_secret_in_history_with_provenance() {
    let repo = build();
    let (code, v) = scan_json(repo.dir.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        v["errors"].as_array().unwrap().is_empty(),
        "{}",
        v["errors"]
    );
    assert_eq!(v["findings"].as_array().unwrap().len(), repo.secrets.len());
    let cases = [
        ("renamed", "config/app.env", true, "refs/heads/main"),
        ("kept", "src/settings.py", true, "refs/heads/main"),
        ("deleted", "old.env", false, "refs/heads/main"),
        ("branch", "feature.env", false, "refs/heads/feature"),
        ("tag", "tag.env", false, "refs/tags/v-secret"),
        ("stash", "src/settings.py", false, "refs/stash"),
        ("range", "temp.env", false, "refs/heads/main"),
    ];
    for (name, path, at_head, reference) in cases {
        let f = finding(&v, repo.secret(name));
        let l = history_location(f);
        assert_eq!(l["commit"], repo.commit(name), "{name}");
        assert!(
            l["path"].as_str().unwrap().ends_with(path),
            "{name}: {}",
            l["path"]
        );
        assert_eq!(l["author"], "Ann Dev <ann@example.org>", "{name}");
        assert_eq!(l["refs"][0], reference, "{name}");
        assert_eq!(f["at_head"], at_head, "{name}");
        assert_eq!(f["first_seen"], l["date"], "{name}");
        let nhi1 = f["risks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "NHI1");
        assert_eq!(nhi1, !at_head, "{name}: NHI1 iff removed from HEAD");
    }
    assert_eq!(
        history_location(finding(&v, repo.secret("renamed")))["date"],
        "2024-01-01T10:00:00Z"
    );
    // Working tree and history together: one finding, both kinds of location.
    let kept = finding(&v, repo.secret("kept"));
    let kinds: Vec<bool> = kept["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["commit"].is_null())
        .collect();
    // The working-tree file, the blob of the commit that introduced it, and
    // the stash's version of the file (a distinct blob holding it too).
    assert_eq!(kinds.iter().filter(|k| **k).count(), 1, "{kept:#}");
    assert_eq!(kinds.iter().filter(|k| !**k).count(), 2, "{kept:#}");
    // Each distinct blob once: 9 blobs were ever committed (and stashed).
    assert!(v["stats"]["commits"].as_u64().unwrap() >= 9);

    // --no-history: only the working tree; --history-only: no working tree.
    let (_, v) = scan_json(repo.dir.path(), &["--no-history"]);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["locations"][0]["commit"].is_null()));
    let paths: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["locations"][0]["path"])
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    let (_, v) = scan_json(repo.dir.path(), &["--history-only"]);
    assert_eq!(v["stats"]["files"], 0);
    assert_eq!(v["findings"].as_array().unwrap().len(), repo.secrets.len());
    // --refs narrows the refs walked.
    let (_, v) = scan_json(
        repo.dir.path(),
        &["--history-only", "--refs", "refs/tags/*"],
    );
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["findings"][0]["fingerprint"],
        keytrace::base::secret::fingerprint(repo.secret("tag").as_bytes())
    );
}

#[test]
fn since_reports_exactly_the_range_even_when_removed_again() {
    let repo = build();
    let (code, v) = scan_json(repo.dir.path(), &["--since", &repo.range_base]);
    assert_eq!(code, 1);
    let fs = v["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 1, "{fs:#?}");
    let f = finding(&v, repo.secret("range"));
    assert_eq!(history_location(f)["commit"], repo.commit("range"));
    assert_eq!(v["stats"]["commits"], 2);
    assert_eq!(
        v["stats"]["files"], 0,
        "the working tree is not scanned in a range"
    );
    // Nothing new since HEAD: clean.
    let (code, v) = scan_json(repo.dir.path(), &["--since", "HEAD"]);
    assert_eq!(code, 0, "{v}");
}

#[test]
fn zero_or_unknown_since_falls_back_to_commits_no_other_branch_has() {
    let repo = build();
    let d = repo.dir.path();
    // A new branch pushed for the first time: its own commits only.
    git(
        d,
        &["checkout", "-q", "-b", "topic"],
        "2024-07-01T10:00:00Z",
    );
    let mut f = Fakes::new(71);
    let t = f.npm();
    write(d, "topic.env", format!("NPM_TOKEN={t}\n"));
    commit(d, "topic", "2024-07-02T10:00:00Z");
    for rev in [
        "0000000000000000000000000000000000000000",
        "deadbeefdeadbeef",
    ] {
        let (code, v) = scan_json(d, &["--since", rev]);
        assert_eq!(code, 1);
        let fs = v["findings"].as_array().unwrap();
        assert_eq!(fs.len(), 1, "{rev}: {fs:#?}");
        assert_eq!(
            fs[0]["fingerprint"],
            keytrace::base::secret::fingerprint(t.as_bytes())
        );
        let warn = &v["errors"][0];
        assert_eq!(warn["severity"], "warning");
        assert!(
            warn["message"]
                .as_str()
                .unwrap()
                .contains("no other branch"),
            "{warn}"
        );
    }
}

#[test]
fn staged_reports_exactly_what_is_staged() {
    let repo = build();
    let d = repo.dir.path();
    let mut f = Fakes::new(72);
    let h = f.github("gho");
    write(d, "new.env", format!("TOKEN={h}\n"));
    write(d, "unstaged.env", format!("NPM_TOKEN={}\n", f.npm()));
    git(d, &["add", "new.env"], "2024-07-01T10:00:00Z");
    let (code, v) = scan_json(d, &["--staged"]);
    assert_eq!(code, 1);
    let fs = v["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_eq!(
        fs[0]["fingerprint"],
        keytrace::base::secret::fingerprint(h.as_bytes())
    );
    assert!(fs[0]["locations"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("new.env"));
    // Nothing staged: clean, and --staged outside a repository is a usage error.
    git(d, &["reset", "-q"], "2024-07-01T10:00:00Z");
    let (code, _) = scan_json(d, &["--staged"]);
    assert_eq!(code, 0);
    let plain = tempfile::tempdir().unwrap();
    let r = crate::run(&["scan", "--staged", plain.path().to_str().unwrap()], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn faults_never_stop_the_scan() {
    let mut f = Fakes::new(73);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A repository with no commits: nothing, no error.
    git(d, &["init", "-q"], "2024-01-01T00:00:00Z");
    let (code, v) = scan_json(d, &["--history-only"]);
    assert_eq!(code, 0);
    assert!(v["errors"].as_array().unwrap().is_empty());

    let keep = f.github("ghp");
    write(d, "keep.env", format!("GITHUB_TOKEN={keep}\n"));
    let lost = f.npm();
    write(d, "lost.env", format!("NPM_TOKEN={lost}\n"));
    // An LFS pointer, and a path that is not UTF-8.
    write(
        d,
        "model.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 12345\n",
    );
    let odd = f.slack_bot();
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.env");
        std::fs::write(d.join(name), format!("SLACK_TOKEN={odd}\n")).unwrap();
    }
    commit(d, "files", "2024-01-02T00:00:00Z");
    // A missing object: delete the loose blob of lost.env.
    let blob = git(d, &["rev-parse", "HEAD:lost.env"], "2024-01-02T00:00:00Z");
    std::fs::remove_file(d.join(".git/objects").join(&blob[..2]).join(&blob[2..])).unwrap();
    std::fs::remove_file(d.join("lost.env")).unwrap();

    let (code, v) = scan_json(d, &["--history-only"]);
    assert_eq!(code, 1);
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["path"].as_str().unwrap().ends_with("lost.env")
                && e["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("git object {blob} is missing"))),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("1 Git LFS pointer")),
        "{errors:#?}"
    );
    let found: Vec<&Value> = v["findings"].as_array().unwrap().iter().collect();
    assert!(
        found
            .iter()
            .any(|f| f["fingerprint"]
                == keytrace::base::secret::fingerprint(keep.as_bytes()).as_str())
    );
    #[cfg(unix)]
    assert!(
        found.iter().any(|f| f["fingerprint"]
            == keytrace::base::secret::fingerprint(odd.as_bytes()).as_str()
            && f["locations"][0]["path"]
                .as_str()
                .unwrap()
                .contains("caf\u{fffd}.env")),
        "{found:#?}"
    );
}

#[test]
fn shallow_clones_and_submodules() {
    let mut f = Fakes::new(74);
    let origin = tempfile::tempdir().unwrap();
    let o = origin.path();
    git(o, &["init", "-q"], "2024-01-01T00:00:00Z");
    let old = f.github("ghp");
    write(o, "a.env", format!("GITHUB_TOKEN={old}\n"));
    commit(o, "one", "2024-01-01T00:00:00Z");
    std::fs::remove_file(o.join("a.env")).unwrap();
    let new = f.npm();
    write(o, "b.env", format!("NPM_TOKEN={new}\n"));
    commit(o, "two", "2024-01-02T00:00:00Z");

    let work = tempfile::tempdir().unwrap();
    let url = format!("file://{}", o.display());
    git(
        work.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
        "2024-01-03T00:00:00Z",
    );
    let (code, v) = scan_json(&work.path().join("shallow"), &["--history-only"]);
    assert_eq!(code, 1);
    assert_eq!(
        v["findings"].as_array().unwrap().len(),
        1,
        "only what the shallow clone has"
    );
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("shallow clone"));

    // A superproject with the origin as a submodule: the gitlink is skipped
    // in the superproject's history, and the submodule's own history is
    // scanned as the repository it is.
    let sup = tempfile::tempdir().unwrap();
    let s = sup.path();
    git(s, &["init", "-q"], "2024-01-04T00:00:00Z");
    git(
        s,
        &["submodule", "add", "-q", &url, "vendor/lib"],
        "2024-01-04T00:00:00Z",
    );
    commit(s, "add submodule", "2024-01-04T00:00:00Z");
    let (code, v) = scan_json(s, &["--history-only"]);
    assert_eq!(code, 1);
    assert!(
        v["errors"].as_array().unwrap().is_empty(),
        "{}",
        v["errors"]
    );
    let fps: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    let want_old = keytrace::base::secret::fingerprint(old.as_bytes());
    assert!(
        fps.contains(&want_old.as_str()),
        "the submodule's own history is scanned"
    );
}

#[test]
fn ranges_and_staging_report_only_added_lines() {
    let mut f = Fakes::new(75);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"], "2024-01-01T00:00:00Z");
    let old = f.github("ghp");
    let gone = f.npm();
    write(d, "app.env", format!("A=1\nGITHUB_TOKEN={old}\n"));
    write(d, "other.env", format!("NPM_TOKEN={gone}\nB=2\n"));
    let base = commit(d, "base", "2024-01-01T10:00:00Z");
    // In the range: a new secret is added to a file that already holds an
    // old one, and a secret line is deleted from another file.
    let new = f.slack_bot();
    write(
        d,
        "app.env",
        format!("A=1\nGITHUB_TOKEN={old}\nSLACK_BOT_TOKEN={new}\n"),
    );
    write(d, "other.env", "B=2\n");
    commit(d, "change", "2024-01-02T10:00:00Z");
    let (code, v) = scan_json(d, &["--since", &base]);
    assert_eq!(code, 1);
    let fs = v["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_eq!(
        fs[0]["fingerprint"],
        keytrace::base::secret::fingerprint(new.as_bytes())
    );
    assert_eq!(fs[0]["locations"][0]["line"], 3);

    // Staged: only what the staged change adds.
    let staged = f.huggingface();
    write(
        d,
        "app.env",
        format!("A=1\nGITHUB_TOKEN={old}\nSLACK_BOT_TOKEN={new}\nHF_TOKEN={staged}\n"),
    );
    git(d, &["add", "app.env"], "2024-01-03T10:00:00Z");
    let (code, v) = scan_json(d, &["--staged"]);
    assert_eq!(code, 1);
    let fs = v["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_eq!(
        fs[0]["fingerprint"],
        keytrace::base::secret::fingerprint(staged.as_bytes())
    );
}

/// A long history: every secret is attributed to the commit that introduced
/// it and scanned once, whatever the number of threads.
#[test]
fn long_histories_attribute_the_same_on_any_thread_count() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"], "2024-01-01T00:00:00Z");
    let mut f = Fakes::new(808);
    // (commit number, secret): introduced there and kept to the end, or
    // (for every third one) removed again 100 commits later.
    let removed = |c: usize| c % 97 == 5 && (c / 97).is_multiple_of(3);
    let mut planted: Vec<(usize, String)> = Vec::new();
    let mut stream = String::new();
    let commits = 3000;
    for c in 0..commits {
        let when = 1_700_000_000 + c * 60;
        let msg = format!("c{c}");
        stream.push_str(&format!(
            "commit refs/heads/main\nauthor Ann Dev <ann@example.org> {when} +0000\ncommitter Ann Dev <ann@example.org> {when} +0000\ndata {}\n{msg}\n",
            msg.len()
        ));
        let body = format!("counter = {c}\n");
        stream.push_str(&format!(
            "M 100644 inline src/counter.py\ndata {}\n{body}\n",
            body.len()
        ));
        if c % 97 == 5 {
            let secret = f.github("ghp");
            let text = format!("TOKEN={secret}\n");
            stream.push_str(&format!(
                "M 100644 inline cfg/s{c:04}.env\ndata {}\n{text}\n",
                text.len()
            ));
            planted.push((c, secret));
        }
        if c >= 100 && removed(c - 100) {
            stream.push_str(&format!("D cfg/s{:04}.env\n", c - 100));
        }
        stream.push('\n');
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(d)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    git(
        d,
        &["reset", "-q", "--hard", "main"],
        "2024-01-01T00:00:00Z",
    );

    let scan = |threads: &str| {
        let (_, v) = scan_json(d, &["--history-only", "-j", threads]);
        let mut out: Vec<(String, String, String, bool)> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let l = &x["locations"][0];
                (
                    x["fingerprint"].as_str().unwrap().to_string(),
                    l["path"].as_str().unwrap().to_string(),
                    l["date"].as_str().unwrap().to_string(),
                    l["at_head"].as_bool().unwrap(),
                )
            })
            .collect();
        out.sort();
        (out, v["stats"]["blobs"].as_u64().unwrap())
    };
    let (one, blobs1) = scan("1");
    let (two, blobs2) = scan("2");
    let (three, _) = scan("3");
    assert_eq!(one.len(), planted.len());
    assert_eq!(two, one, "2 threads attribute as 1 does");
    assert_eq!(three, one);
    assert_eq!(blobs1, blobs2, "each blob scanned once");
    for (c, secret) in &planted {
        let fp = keytrace::base::secret::fingerprint(secret.as_bytes());
        let (_, path, date, at_head) = one.iter().find(|x| x.0 == fp).unwrap();
        assert!(path.ends_with(&format!("/cfg/s{c:04}.env")), "{path}");
        assert_eq!(
            date,
            &keytrace::base::time::rfc3339(1_700_000_000 + *c as i64 * 60)
        );
        assert_eq!(*at_head, !(removed(*c) && c + 100 < commits), "{c}");
    }
}

/// libgit2 inflates with zlib-rs (Cargo.toml), not with a shared libz
/// linked beside it: the history speed depends on it.
#[cfg(target_os = "linux")]
#[test]
fn libgit2_inflates_with_zlib_rs() {
    let dir = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init(dir.path()).unwrap();
    let oid = repo.blob(&b"zlib ".repeat(1000)).unwrap();
    drop(repo);
    let repo = git2::Repository::open(dir.path()).unwrap();
    assert_eq!(repo.find_blob(oid).unwrap().content().len(), 5000);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(!maps.contains("libz.so"), "a shared libz is loaded");
}

/// The walk orders by commit time but never puts a child before its
/// parent: a commit whose clock ran behind its parent's still comes after
/// it, so a secret it carries on from the parent is the parent's. A commit
/// two refs reach is labelled with the first (the checked-out branch).
#[test]
fn parents_come_first_whatever_the_clocks_say() {
    let mut f = Fakes::new(71);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"], "2024-05-01T00:00:00Z");
    let token = f.github("ghp");
    write(d, "a.env", format!("GITHUB_TOKEN={token}\n"));
    let parent = commit(d, "parent", "2024-05-02T12:00:00Z");
    // The same blob at a second path, committed "a day earlier".
    write(d, "b.env", format!("GITHUB_TOKEN={token}\n"));
    let child = commit(d, "skewed child", "2024-05-01T12:00:00Z");
    git(d, &["tag", "v1"], "2024-05-03T00:00:00Z");
    let (_, v) = scan_json(d, &["--history-only"]);
    let found = finding(&v, &token);
    let history: Vec<&Value> = found["locations"].as_array().unwrap().iter().collect();
    assert_eq!(history.len(), 1, "one blob, one introduction: {found:#}");
    let loc = history[0];
    assert_eq!(loc["commit"], parent.as_str(), "{found:#}");
    assert!(loc["path"].as_str().unwrap().ends_with("/a.env"), "{loc}");
    assert_eq!(loc["refs"], serde_json::json!(["refs/heads/main"]));
    assert_ne!(parent, child);
    assert_eq!(v["stats"]["commits"], 2);
}

/// A packed history (read by keytrace's own pack reader) with one blob
/// damaged inside the pack: that blob is an error naming it, every other
/// secret is still found.
#[test]
fn a_damaged_object_in_a_pack_is_an_error_not_an_end() {
    let mut f = Fakes::new(74);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"], "2024-06-01T00:00:00Z");
    let keep = f.github("ghp");
    write(d, "keep.env", format!("GITHUB_TOKEN={keep}\n"));
    let broken = f.npm();
    write(d, "broken.env", format!("NPM_TOKEN={broken}\n"));
    commit(d, "two", "2024-06-02T00:00:00Z");
    for i in 0..5 {
        write(d, "notes.md", format!("note {i}\n"));
        commit(d, "note", "2024-06-03T00:00:00Z");
    }
    git(d, &["repack", "-adq"], "2024-06-04T00:00:00Z");
    let blob = git(d, &["rev-parse", "HEAD:broken.env"], "2024-06-04T00:00:00Z");
    let pack_dir = d.join(".git/objects/pack");
    let idx = std::fs::read_dir(&pack_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .unwrap();
    let listing = git(
        d,
        &["verify-pack", "-v", idx.to_str().unwrap()],
        "2024-06-04T00:00:00Z",
    );
    let offset: usize = listing
        .lines()
        .find(|l| l.starts_with(&blob))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap()
        .parse()
        .unwrap();
    let pack = idx.with_extension("pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    // Past the entry's header and the zlib header: the deflate data.
    bytes[offset + 4] ^= 0x55;
    let mut perms = std::fs::metadata(&pack).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&pack, perms).unwrap();
    std::fs::write(&pack, bytes).unwrap();

    let (code, v) = scan_json(d, &["--history-only"]);
    assert_eq!(code, 1);
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["message"]
            .as_str()
            .unwrap()
            .contains(&format!("git object {blob} is missing or corrupt"))),
        "{errors:#?}"
    );
    let fps: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert!(fps.contains(&keytrace::base::secret::fingerprint(keep.as_bytes()).as_str()));
    assert!(!fps.contains(&keytrace::base::secret::fingerprint(broken.as_bytes()).as_str()));
}

/// Blobs and trees no commit reaches, only a tag (lightweight or
/// annotated): they are scanned, each under its tag's name.
#[test]
fn blobs_and_trees_reachable_only_through_a_tag_are_scanned() {
    let mut f = Fakes::new(88);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let date = "2025-03-01T00:00:00Z";
    git(d, &["init", "-q"], date);
    write(d, "README.md", "hello\n");
    commit(d, "init", date);
    let (a, b, c) = (f.github("ghp"), f.npm(), f.stripe("sk"));
    let blob_of = |text: String| {
        let p = d.join("../blob.txt");
        std::fs::write(&p, text).unwrap();
        git(d, &["hash-object", "-w", p.to_str().unwrap()], date)
    };
    let light = blob_of(format!("GITHUB_TOKEN={a}\n"));
    git(d, &["tag", "only-blob", &light], date);
    let annotated = blob_of(format!("NPM_TOKEN={b}\n"));
    git(
        d,
        &["tag", "-a", "-m", "key", "annotated-blob", &annotated],
        date,
    );
    // A tree: staged, written, tagged, never committed.
    write(d, "deploy/prod.env", format!("STRIPE_KEY={c}\n"));
    git(d, &["add", "deploy"], date);
    let tree = git(d, &["write-tree"], date);
    git(d, &["tag", "only-tree", &tree], date);
    git(d, &["reset", "-q"], date);
    std::fs::remove_dir_all(d.join("deploy")).unwrap();
    let (code, v) = scan_json(d, &["--history-only"]);
    assert_eq!(code, 1, "{v}");
    let found: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["fingerprint"].as_str().unwrap().to_string(),
                x["locations"][0]["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let fp = |s: &str| keytrace::base::secret::fingerprint(s.as_bytes());
    for (secret, path) in [
        (&a, "refs/tags/only-blob"),
        (&b, "refs/tags/annotated-blob"),
        (&c, "refs/tags/only-tree/deploy/prod.env"),
    ] {
        assert!(
            found
                .iter()
                .any(|(f, p)| *f == fp(secret) && p.ends_with(path)),
            "{path}: {found:?}"
        );
    }
}

/// A sweep's time budget for one repository: once past it, planning stops
/// and the scan says so as an error (the sweep then records the repository
/// as failed, to be walked again in full).
#[test]
fn a_spent_time_budget_stops_the_walk_with_an_error() {
    use keytrace::source::git::{scan, GitOptions, RepoLocation};
    use keytrace::source::{Chunk, Origin, ScanError, Sink};
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Record(Arc<Mutex<(Vec<ScanError>, usize)>>);
    impl Sink for Record {
        fn chunk(&mut self, _: Chunk<'_>) {
            self.0.lock().unwrap().1 += 1;
        }
        fn problem(&mut self, e: ScanError) {
            self.0.lock().unwrap().0.push(e);
        }
        fn binary(&mut self, _: &Origin, _: &[u8]) {}
        fn input_done(&mut self, _: &Origin, _: u64) {}
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"], "2025-01-01T00:00:00Z");
    for i in 0..3 {
        write(d, &format!("f{i}.txt"), format!("line {i}\n"));
        commit(d, "c", "2025-01-01T00:00:00Z");
    }
    let location = RepoLocation {
        path: d.to_path_buf(),
        display_root: d.to_path_buf(),
    };
    let run = |deadline| {
        let rec = Record::default();
        let opts = GitOptions {
            threads: 1,
            max_blob_size: 1 << 20,
            deadline,
            ..GitOptions::default()
        };
        let stats = scan(&location, &opts, || rec.clone()).unwrap();
        let (errors, chunks) = rec.0.lock().unwrap().clone();
        (stats.commits, errors, chunks)
    };
    let (commits, errors, chunks) = run(None);
    assert_eq!((commits, errors.len(), chunks), (3, 0, 3));
    let (commits, errors, chunks) = run(Some(std::time::Instant::now()));
    assert_eq!((commits, chunks), (0, 0));
    assert!(
        errors[0].message.contains("time budget exceeded"),
        "{errors:?}"
    );
}

/// A scan writes nothing into the repository it reads (libgit2 once
/// created an empty `logs/refs/stash` when asked for a reflog that did not
/// exist).
#[test]
fn a_scan_leaves_the_repository_as_it_was() {
    fn listing(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in walk(dir) {
            out.push(e.strip_prefix(dir).unwrap().display().to_string());
        }
        out.sort();
        out
    }
    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
        out
    }
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("w");
    std::fs::create_dir(&work).unwrap();
    git(&work, &["init", "-q"], "2025-01-01T00:00:00Z");
    write(&work, "a.txt", "hello\n");
    commit(&work, "a", "2025-01-01T00:00:00Z");
    let bare = dir.path().join("b.git");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
        "2025-01-01T00:00:00Z",
    );
    for repo in [&work, &bare] {
        let before = listing(repo);
        let (code, _) = scan_json(repo, &[]);
        assert_eq!(code, 0);
        assert_eq!(listing(repo), before, "{} changed", repo.display());
    }
}

/// A secret in a file edited many times is introduced once: JSON marks the
/// first version's location `introduced: true` and the later ones `false`
/// (all kept); human output shows the introducing commit, where the secret
/// is now and a count of the versions between, unless `--all-locations`.
#[test]
fn locations_tell_where_a_secret_was_introduced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"], "2025-01-01T00:00:00Z");
    let secret = Fakes::new(0x1a7).github("ghp");
    let mut first = String::new();
    for i in 0..6 {
        let mut text = String::new();
        for j in 0..i {
            text.push_str(&format!("# change {j}\n"));
        }
        text.push_str(&format!("GITHUB_TOKEN={secret}\n"));
        write(d, "deploy/app.env", &text);
        write(d, "README", format!("version {i}\n"));
        let date = format!("2025-01-{:02}T10:00:00Z", 2 + i);
        let c = commit(d, &format!("edit {i}"), &date);
        if i == 0 {
            first = c;
        }
    }
    let (_, v) = scan_json(d, &[]);
    let f = finding(&v, &secret);
    let locations = f["locations"].as_array().unwrap();
    let history: Vec<&Value> = locations
        .iter()
        .filter(|l| !l["commit"].is_null())
        .collect();
    assert_eq!(history.len(), 6, "every version is kept in JSON");
    let introduced: Vec<&Value> = history
        .iter()
        .copied()
        .filter(|l| l["introduced"] == true)
        .collect();
    assert_eq!(introduced.len(), 1);
    assert_eq!(introduced[0]["commit"], first.as_str());
    assert_eq!(introduced[0]["line"], 1);
    assert!(history.iter().filter(|l| l["introduced"] == false).count() == 5);
    assert!(locations
        .iter()
        .filter(|l| l["commit"].is_null())
        .all(|l| l.get("introduced").is_none()));

    let human = |extra: &[&str]| {
        let mut args = vec!["scan", "--color", "never"];
        args.extend_from_slice(extra);
        args.push(d.to_str().unwrap());
        crate::run(&args, None).stdout
    };
    let short = &first[..12];
    let text = human(&[]);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("app.env")).collect();
    assert_eq!(lines.len(), 2, "introduced, and where it is now:\n{text}");
    assert!(
        lines[0].contains(&format!("introduced in {short}")),
        "{text}"
    );
    assert!(lines[0].contains("on 2025-01-02"), "{text}");
    assert!(
        lines[1].contains("app.env:6:"),
        "the working tree's line: {text}"
    );
    assert!(text.contains("+5 later versions of the file"), "{text}");
    let all = human(&["--all-locations"]);
    assert_eq!(
        all.lines().filter(|l| l.contains("app.env")).count(),
        7,
        "{all}"
    );
    assert!(!all.contains("later versions"));
}

//! `keytrace ci` against a local bare "origin" and a clone: GitHub event
//! payloads for the first push of a new branch, a normal push, a force push,
//! a pull request, and a push that adds and removes a secret in its range.
//! Each run must scan exactly the commits the event brings.
use std::path::Path;

use keytrace::testkit::fakes::Fakes;
use serde_json::Value;

use crate::history::{commit, git};
use crate::write;

const ZERO: &str = "0000000000000000000000000000000000000000";

/// Runs `keytrace ci --format json` in `dir` as GitHub Actions would.
fn ci(dir: &Path, event: &str, payload: Value) -> (i32, Value) {
    let event_file = dir.join("../event.json");
    std::fs::write(&event_file, payload.to_string()).unwrap();
    let out = crate::keytrace()
        .args(["ci", "--format", "json", "."])
        .current_dir(dir)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", &event_file)
        .env_remove("GITLAB_CI")
        .env_remove("KEYTRACE_SINCE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

fn fingerprints(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn fps(secrets: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = secrets
        .iter()
        .map(|s| keytrace::base::secret::fingerprint(s.as_bytes()))
        .collect();
    out.sort();
    out
}

#[test]
fn ci_scans_exactly_what_each_event_brings() {
    let mut f = Fakes::new(85);
    let top = tempfile::tempdir().unwrap();
    let origin = top.path().join("origin.git");
    std::fs::create_dir(&origin).unwrap();
    git(&origin, &["init", "-q", "--bare"], "2024-01-01T00:00:00Z");
    let clone = top.path().join("work");
    git(
        top.path(),
        &["clone", "-q", origin.to_str().unwrap(), "work"],
        "2024-01-01T00:00:00Z",
    );
    let d = clone.as_path();
    let rev = |r: &str| git(d, &["rev-parse", r], "2024-01-01T00:00:00Z");

    // main, already pushed, with an old secret CI must not report again.
    let s0 = f.github("ghp");
    write(d, "old.env", format!("GITHUB_TOKEN={s0}\n"));
    commit(d, "old", "2024-01-01T10:00:00Z");
    git(
        d,
        &["push", "-q", "origin", "HEAD:main"],
        "2024-01-01T10:00:00Z",
    );

    // 1. Normal push.
    let before = rev("HEAD");
    let s1 = f.npm();
    write(d, "one.env", format!("NPM_TOKEN={s1}\n"));
    commit(d, "one", "2024-01-02T10:00:00Z");
    let after = rev("HEAD");
    git(
        d,
        &["push", "-q", "origin", "HEAD:main"],
        "2024-01-02T10:00:00Z",
    );
    let (code, v) = ci(
        d,
        "push",
        serde_json::json!({"before": before, "after": after}),
    );
    assert_eq!((code, fingerprints(&v)), (1, fps(&[&s1])), "normal push");

    // 2. A secret added and removed inside the pushed range is still found.
    let before = rev("HEAD");
    let s2 = f.slack_bot();
    write(d, "tmp.env", format!("SLACK_BOT_TOKEN={s2}\n"));
    commit(d, "add", "2024-01-03T10:00:00Z");
    std::fs::remove_file(d.join("tmp.env")).unwrap();
    commit(d, "remove", "2024-01-03T11:00:00Z");
    let after = rev("HEAD");
    git(
        d,
        &["push", "-q", "origin", "HEAD:main"],
        "2024-01-03T11:00:00Z",
    );
    let (code, v) = ci(
        d,
        "push",
        serde_json::json!({"before": before, "after": after}),
    );
    assert_eq!(
        (code, fingerprints(&v)),
        (1, fps(&[&s2])),
        "added then removed"
    );

    // 3. Force push: the old tip is no longer an ancestor.
    let old_tip = rev("HEAD");
    git(
        d,
        &["reset", "-q", "--hard", "HEAD~2"],
        "2024-01-04T10:00:00Z",
    );
    let s3 = f.huggingface();
    write(d, "force.env", format!("HF_TOKEN={s3}\n"));
    commit(d, "rewrite", "2024-01-04T10:00:00Z");
    let after = rev("HEAD");
    git(
        d,
        &["push", "-q", "-f", "origin", "HEAD:main"],
        "2024-01-04T10:00:00Z",
    );
    let (code, v) = ci(
        d,
        "push",
        serde_json::json!({"before": old_tip, "after": after}),
    );
    assert_eq!((code, fingerprints(&v)), (1, fps(&[&s3])), "force push");

    // 4. First push of a new branch: "before" is all zeros.
    git(
        d,
        &["checkout", "-q", "-b", "feature"],
        "2024-01-05T10:00:00Z",
    );
    let s4 = f.google_api_key();
    write(d, "feature.env", format!("GOOGLE_API_KEY={s4}\n"));
    commit(d, "feature", "2024-01-05T10:00:00Z");
    let feature = rev("HEAD");
    git(
        d,
        &["push", "-q", "origin", "feature"],
        "2024-01-05T10:00:00Z",
    );
    let (code, v) = ci(
        d,
        "push",
        serde_json::json!({"before": ZERO, "after": feature}),
    );
    assert_eq!((code, fingerprints(&v)), (1, fps(&[&s4])), "new branch");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("zero revision"),
        "{}",
        v["errors"]
    );

    // 5. A pull request from feature into main.
    let base = rev("origin/main");
    let s5 = f.docker_pat();
    write(d, "pr.env", format!("DOCKER_TOKEN={s5}\n"));
    commit(d, "pr", "2024-01-06T10:00:00Z");
    let head = rev("HEAD");
    let payload =
        serde_json::json!({"pull_request": {"base": {"sha": base}, "head": {"sha": head}}});
    let (code, v) = ci(d, "pull_request", payload);
    assert_eq!(
        (code, fingerprints(&v)),
        (1, fps(&[&s4, &s5])),
        "pull request"
    );

    // Nothing new: clean.
    let (code, v) = ci(
        d,
        "push",
        serde_json::json!({"before": head, "after": head}),
    );
    assert_eq!((code, fingerprints(&v)), (0, vec![]));
}

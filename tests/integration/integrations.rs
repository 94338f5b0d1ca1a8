//! The ready-made integrations run as written: the pre-commit hook's entry
//! against staged changes, and the GitHub Action's scan step (its bash, with
//! the environment Actions gives it) against a push.
use std::path::Path;
use std::process::Command;

use keytrace::testkit::fakes::Fakes;
use serde_json::Value;

use crate::history::{commit, git};
use crate::write;

fn yaml(name: &str) -> serde_yaml_ng::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn pre_commit_hook_entry_blocks_a_staged_secret() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hook = &hooks[0];
    assert_eq!(hook["id"].as_str(), Some("keytrace"));
    assert_eq!(hook["language"].as_str(), Some("rust"));
    let entry: Vec<&str> = hook["entry"].as_str().unwrap().split_whitespace().collect();
    assert_eq!(entry[0], "keytrace");
    let run = |dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_keytrace"))
            .args(&entry[1..])
            .current_dir(dir)
            .output()
            .unwrap()
            .status
            .code()
            .unwrap()
    };
    let mut f = Fakes::new(95);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"], "2024-01-01T00:00:00Z");
    write(d, "README.md", "hello\n");
    commit(d, "init", "2024-01-01T00:00:00Z");
    write(d, "notes.txt", "nothing secret\n");
    git(d, &["add", "notes.txt"], "2024-01-01T00:00:00Z");
    assert_eq!(run(d), 0, "a harmless staged change passes");
    write(d, "deploy.env", format!("NPM_TOKEN={}\n", f.npm()));
    git(d, &["add", "deploy.env"], "2024-01-01T00:00:00Z");
    assert_eq!(run(d), 1, "a staged secret stops the commit");
}

#[test]
fn action_scan_step_scans_the_push_and_writes_sarif() {
    let action = yaml("action.yml");
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    assert!(steps.iter().any(|s| s["run"]
        .as_str()
        .is_some_and(|r| r.contains("cargo install --locked --path"))));
    assert!(steps.iter().any(|s| s["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif"))));
    // The binary comes from the cache when it holds this build: the
    // install step runs only on a miss, and its result is saved.
    let by_name = |n: &str| {
        steps
            .iter()
            .find(|s| s["name"].as_str() == Some(n))
            .unwrap()
    };
    assert!(by_name("Restore keytrace from the cache")["uses"]
        .as_str()
        .unwrap()
        .starts_with("actions/cache/restore"));
    for n in ["Install keytrace", "Keep keytrace in the cache"] {
        assert_eq!(
            by_name(n)["if"].as_str(),
            Some("${{ steps.cache.outputs.cache-hit != 'true' }}"),
            "{n}"
        );
    }
    // The key names the version, read from Cargo.toml as the step does.
    let key_script = by_name("Key of this keytrace build")["run"]
        .as_str()
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let gh_output = out.path().join("out");
    let ok = Command::new("bash")
        .args(["-e", "-c", key_script])
        .env("GITHUB_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("GITHUB_OUTPUT", &gh_output)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("GITHUB_ACTION_REF", "v1")
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let key = std::fs::read_to_string(&gh_output).unwrap();
    assert!(
        key.starts_with(&format!(
            "key=keytrace-Linux-X64-{}-v1-",
            env!("CARGO_PKG_VERSION")
        )),
        "{key}"
    );
    let scan = steps
        .iter()
        .find(|s| s["id"].as_str() == Some("scan"))
        .unwrap();
    let script = scan["run"].as_str().unwrap();

    let mut f = Fakes::new(96);
    let top = tempfile::tempdir().unwrap();
    let repo = top.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"], "2024-01-01T00:00:00Z");
    write(&repo, "README.md", "hello\n");
    let before = commit(&repo, "init", "2024-01-01T00:00:00Z");
    let secret = f.github("ghp");
    write(&repo, "ci.env", format!("GITHUB_TOKEN={secret}\n"));
    let after = commit(&repo, "oops", "2024-01-02T00:00:00Z");
    // What the install step leaves behind: keytrace under $RUNNER_TEMP.
    let runner_temp = top.path().join("runner");
    std::fs::create_dir_all(runner_temp.join("keytrace/bin")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_keytrace"),
        runner_temp.join("keytrace/bin/keytrace"),
    )
    .unwrap();
    let event = top.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"before": before, "after": after}).to_string(),
    )
    .unwrap();
    let output = top.path().join("github_output");
    std::fs::write(&output, "").unwrap();
    let status = Command::new("bash")
        .args(["-e", "-c", script])
        .current_dir(&repo)
        .env("RUNNER_TEMP", &runner_temp)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_EVENT_PATH", &event)
        .env("KT_PATH", ".")
        .env("KT_AGENTS", "")
        .env("KT_BASELINE", "")
        .env("KT_FAIL_ON", "any")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the step itself succeeds; a later step fails the job"
    );
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains("code=1"), "{outputs}");
    let sarif = runner_temp.join("keytrace.sarif");
    assert!(
        outputs.contains(&format!("sarif={}", sarif.display())),
        "{outputs}"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert!(crate::formats::sarif_errors(&doc).is_empty());
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "github-classic-pat");
    assert!(!doc.to_string().contains(&secret));
}

//! The sweep examples run as written: the Kubernetes Indexed Job's script
//! once per completion index and then the merge CronJob's, and the GitHub
//! workflow's matrix steps once per shard and then its merge job, each with
//! the environment its platform gives it. Their merged report must hold
//! exactly the findings of one unsharded sweep.
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use keytrace::testkit::fakes::Fakes;
use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

use crate::history::{commit, git};
use crate::mock_https::{Answer, Mock};
use crate::write;

const DATE: &str = "2025-06-01T00:00:00Z";

fn docs(rel: &str) -> Vec<Yaml> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Yaml| !v.is_null())
        .collect()
}

/// The token the examples' GitHub API mock wants, made up here.
const TOKEN: &str = "gh-test-token-not-a-real-one";

/// Five repositories with a secret each: the first listed in `list` (the
/// examples' optional extra list), the other four in an organisation
/// `acme` that the returned mock of GitHub's API lists over two pages.
fn repos(root: &Path, list: &Path) -> (Vec<String>, Mock) {
    let mut f = Fakes::new(2024);
    let mut fps = Vec::new();
    let mut lines = String::new();
    let mut listed = Vec::new();
    for i in 0..5 {
        let r = root.join(format!("repos/svc{i}"));
        std::fs::create_dir_all(&r).unwrap();
        git(&r, &["init", "-q", "-b", "main"], DATE);
        let secret = f.github("ghp");
        fps.push(keytrace::base::secret::fingerprint(secret.as_bytes()));
        write(&r, "deploy.env", format!("RELEASE_BOT_TOKEN={secret}\n"));
        commit(&r, "one", DATE);
        if i == 0 {
            lines.push_str(&format!("{}\n", r.display()));
        } else {
            listed.push(serde_json::json!({
                "full_name": format!("acme/svc{i}"),
                "clone_url": format!("file://{}", r.display()),
                "fork": false, "archived": false, "topics": []
            }));
        }
    }
    std::fs::write(list, lines).unwrap();
    fps.sort();
    let mock = Mock::start_plain(move |hit| {
        if hit.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Answer::new(401, "{}");
        }
        let first = "/api/orgs/acme/repos?per_page=100&type=all";
        let (page, next) = if hit.path == first {
            (&listed[..2], true)
        } else if hit.path == format!("{first}&page=2") {
            (&listed[2..], false)
        } else {
            return Answer::new(404, "{}");
        };
        let answer = Answer::new(200, &Value::Array(page.to_vec()).to_string());
        if next {
            let host = hit.header("host").unwrap_or_default().to_string();
            answer.header(
                "link",
                &format!("<http://{host}{first}&page=2>; rel=\"next\""),
            )
        } else {
            answer
        }
    });
    (fps, mock)
}

/// What the platform's settings give the examples: the organisation, the
/// API (the mock) and the token.
fn github_env(mock: &Mock, env: &mut BTreeMap<String, String>) {
    env.insert("GITHUB_ORG".into(), "acme".into());
    env.insert("GITHUB_API_URL".into(), format!("http://{}/api", mock.addr));
    env.insert("GITHUB_TOKEN".into(), TOKEN.into());
}

/// Runs a shell script with `env`, keytrace first on PATH.
fn sh(script: &str, env: &BTreeMap<String, String>, cwd: &Path) {
    let bin = Path::new(env!("CARGO_BIN_EXE_keytrace")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .envs(env)
        .env("PATH", path)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fingerprints(report: &Value) -> Vec<String> {
    let mut v: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn container(job: &Yaml) -> &Yaml {
    &job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
}

fn container_env(c: &Yaml) -> BTreeMap<String, String> {
    c["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

#[test]
fn kubernetes_indexed_job_and_merge_step_run_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let (fps, mock) = repos(tmp.path(), &config.join("repos.txt"));
    // The inventory of the shipped ConfigMap, as the pods mount it.
    let cm = &docs("deploy/kubernetes/configmap.yaml")[0];
    assert!(cm["data"]["github-org"].as_str().is_some());
    std::fs::write(
        config.join("agents.yaml"),
        cm["data"]["agents.yaml"].as_str().unwrap(),
    )
    .unwrap();

    let sweep = &docs("deploy/kubernetes/sweep-cronjob.yaml")[0];
    let job = &sweep["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["completionMode"].as_str(), Some("Indexed"));
    let c = container(sweep);
    let mut env = container_env(c);
    let shards: u64 = env["SHARDS"].parse().unwrap();
    assert_eq!(job["completions"].as_u64(), Some(shards));
    assert_eq!(c["command"][0].as_str(), Some("/bin/sh"));
    let script = c["args"][0].as_str().unwrap();
    env.insert("DATA".into(), data.display().to_string());
    env.insert("CONFIG".into(), config.display().to_string());
    // The ConfigMap's keys and the Secret, as the pod's env takes them.
    github_env(&mock, &mut env);
    for k in 0..shards {
        env.insert("JOB_COMPLETION_INDEX".into(), k.to_string());
        sh(script, &env, tmp.path());
    }
    let stores = std::fs::read_dir(data.join("stores")).unwrap().count();
    assert!(stores as u64 >= shards, "one store per shard");

    let merge = &docs("deploy/kubernetes/merge-cronjob.yaml")[0];
    let c = container(merge);
    let mut env = container_env(c);
    env.insert("DATA".into(), data.display().to_string());
    env.insert("CONFIG".into(), config.display().to_string());
    sh(c["args"][0].as_str().unwrap(), &env, tmp.path());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("reports/sweep.json")).unwrap())
            .unwrap();
    assert_eq!(fingerprints(&report), fps);
    assert_eq!(report["totals"]["repositories"], 5);
    // The ConfigMap's inventory claims what is bound to RELEASE_BOT_TOKEN.
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["owner"] == "platform-team"));
    let html = std::fs::read_to_string(data.join("reports/sweep.html")).unwrap();
    assert!(html.contains("id=\"risk-matrix\""));
}

/// A step's `run` with the matrix value put in and other expressions empty.
fn expand(text: &str, shard: u64) -> String {
    let mut out = text.replace("${{ matrix.shard }}", &shard.to_string());
    while let Some(i) = out.find("${{") {
        let j = out[i..].find("}}").map_or(out.len(), |j| i + j + 2);
        out.replace_range(i..j, "");
    }
    out
}

#[test]
fn github_workflow_matrix_and_merge_job_run_as_written() {
    let wf = &docs(".github/workflows/sweep.yml")[0];
    assert!(wf["on"]["schedule"][0]["cron"].as_str().is_some());
    let shards: u64 = wf["env"]["SHARDS"].as_u64().unwrap();
    let matrix = wf["jobs"]["sweep"]["strategy"]["matrix"]["shard"]
        .as_sequence()
        .unwrap();
    assert_eq!(matrix.len() as u64, shards);
    assert_eq!(
        wf["jobs"]["report"]["needs"].as_str(),
        Some("sweep"),
        "the merge waits for the matrix"
    );

    let tmp = tempfile::tempdir().unwrap();
    let workspace = tmp.path().join("ws");
    std::fs::create_dir_all(workspace.join("sweep")).unwrap();
    let (fps, mock) = repos(tmp.path(), &workspace.join("sweep/repos.txt"));
    write(&workspace, ".keytrace/agents/bot.yaml", "agent: release-bot\nowner: ci-team\nidentity_type: ci_job\nauth: static_api_key\ncredentials:\n  - env: RELEASE_BOT_TOKEN\n");
    let runner_temp = tmp.path().join("runner");
    // What "Install keytrace" leaves: the binary in $RUNNER_TEMP/keytrace/bin.
    std::fs::create_dir_all(runner_temp.join("keytrace/bin")).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_keytrace"),
        runner_temp.join("keytrace/bin/keytrace"),
    )
    .unwrap();
    let base_env = |extra: &Yaml, shard: u64| {
        let mut env = BTreeMap::from([
            ("SHARDS".to_string(), shards.to_string()),
            ("RUNNER_TEMP".to_string(), runner_temp.display().to_string()),
            (
                "GITHUB_STEP_SUMMARY".to_string(),
                tmp.path().join("summary.md").display().to_string(),
            ),
        ]);
        if let Some(m) = extra.as_mapping() {
            for (k, v) in m {
                let v = match v {
                    Yaml::String(s) => expand(s, shard),
                    other => serde_yaml_ng::to_string(other).unwrap().trim().to_string(),
                };
                env.insert(k.as_str().unwrap().to_string(), v);
            }
        }
        env
    };
    let runs = |job: &str| -> Vec<(Yaml, String)> {
        wf["jobs"][job]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter(|s| s["run"].is_string())
            .filter(|s| s["name"].as_str() != Some("Install keytrace"))
            .map(|s| (s["env"].clone(), s["run"].as_str().unwrap().to_string()))
            .collect()
    };
    let shards_dir = workspace.join("shards");
    std::fs::create_dir_all(&shards_dir).unwrap();
    for shard in 0..shards {
        // Each matrix job has its own checkout; its cache holds its store.
        for (env, run) in runs("sweep") {
            let mut env = base_env(&env, shard);
            // The organisation, API and token the step's expressions give.
            github_env(&mock, &mut env);
            sh(&expand(&run, shard), &env, &workspace);
        }
        let artifact = format!("shard-{shard}.jsonl");
        // upload-artifact, then download-artifact with merge-multiple.
        std::fs::rename(workspace.join(&artifact), shards_dir.join(&artifact)).unwrap();
        std::fs::remove_dir_all(workspace.join(".keytrace-sweep")).unwrap();
    }
    for (env, run) in runs("report") {
        sh(&expand(&run, 0), &base_env(&env, 0), &workspace);
    }
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace.join("report/sweep.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(fingerprints(&report), fps);
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["identity"] == "release-bot"));
    assert!(workspace.join("report/sweep.html").is_file());
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(summary.contains("5 repositories"), "{summary}");
}

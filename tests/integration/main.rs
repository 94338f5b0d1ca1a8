//! All integration tests in one binary (ripgrep style): they run the real
//! `keytrace` executable on trees built at test time from fake credentials.
mod accuracy;
mod agents;
mod archives;
mod bad_input;
mod baseline;
mod ci;
mod cli_extras;
mod deploy;
mod formats;
mod history;
mod hostile;
mod html;
mod integrations;
mod interrupt;
mod keystores;
mod layout;
mod mock_https;
mod planted;
mod quine;
mod rules;
mod sweep;
mod sweep_listing;
mod sweep_verify;
mod verify;
mod verify_cloud;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

pub fn keytrace() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keytrace"));
    c.env_remove("NO_COLOR");
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str], cwd: Option<&Path>) -> Run {
    let mut c = keytrace();
    c.args(args);
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("run keytrace");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `keytrace scan --format json` over `dir` with extra arguments.
pub fn scan_json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["scan", "--format", "json"];
    args.extend_from_slice(extra);
    let d = dir.to_str().expect("utf-8 temp path");
    args.push(d);
    let r = run(&args, None);
    assert!(
        r.code == 0 || r.code == 1,
        "exit {}: {}\n{}",
        r.code,
        r.stderr,
        r.stdout
    );
    let v: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.stdout));
    (r.code, v)
}

pub fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// The file names (last path component) of every location of the findings
/// of a JSON report that `keep` accepts.
pub fn file_names_found(
    report: &Value,
    keep: impl Fn(&Value) -> bool,
) -> std::collections::BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| keep(f))
        .flat_map(|f| f["locations"].as_array().unwrap().clone())
        .map(|l| {
            let path = l["path"].as_str().unwrap();
            path.rsplit('/').next().unwrap().to_string()
        })
        .collect()
}

/// (rule, path, line) of every location of every finding.
pub fn locations(v: &Value) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for f in v["findings"].as_array().unwrap() {
        for l in f["locations"].as_array().unwrap() {
            out.push((
                f["rule"].as_str().unwrap().to_string(),
                l["path"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
            ));
        }
    }
    out.sort();
    out
}

//! The output contract: JSON/JSONL/SARIF parse back, SARIF validates against
//! the 2.1.0 schema, and no full secret appears anywhere without
//! `--show-secrets`.
use std::path::Path;

use serde_json::Value;

use crate::planted::plant_all;
use crate::run;

pub fn sarif_schema() -> Value {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        here.join("../shared/schemas/sarif-schema-2.1.0.json"),
        here.join("testdata/sarif-schema-2.1.0.json"),
    ];
    let path = candidates
        .iter()
        .find(|p| p.is_file())
        .expect("the SARIF 2.1.0 schema");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Validation errors of a SARIF document against the 2.1.0 schema.
pub fn sarif_errors(doc: &Value) -> Vec<String> {
    let schema = sarif_schema();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn sarif_validates_against_schema_with_one_result_per_location() {
    let tree = plant_all(11);
    let r = run(&["scan", "--format", "sarif", "."], Some(tree.dir.path()));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let schema = sarif_schema();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "SARIF does not validate: {errors:#?}");

    let run0 = &doc["runs"][0];
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), tree.expected.len());
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    for res in results {
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        let uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(!uri.starts_with('/') && !uri.starts_with("./"), "{uri}");
        assert_eq!(
            res["partialFingerprints"]["keytrace/v1"]
                .as_str()
                .unwrap()
                .len(),
            64
        );
    }
    for rule in rules {
        assert!(rule["helpUri"].as_str().unwrap().starts_with("https://"));
        assert!(rule["help"]["markdown"].as_str().unwrap().len() > 20);
    }
}

#[test]
fn no_full_secret_in_any_format_without_show_secrets() {
    let tree = plant_all(12);
    let dir = tree.dir.path();
    for format in ["human", "json", "jsonl", "sarif"] {
        let out = dir.join(format!("../report-{format}.out"));
        let r = run(&["scan", "--format", format, "."], Some(dir));
        let r2 = run(
            &[
                "scan",
                "--format",
                format,
                "--output",
                out.to_str().unwrap(),
                ".",
            ],
            Some(dir),
        );
        assert_eq!((r.code, r2.code), (1, 1), "{format}: {}", r.stderr);
        let file = std::fs::read_to_string(&out).unwrap();
        std::fs::remove_file(&out).unwrap();
        // Every secret, a lone AWS access key id (its own secret) included.
        for e in &tree.expected {
            for (what, text) in [
                ("stdout", &r.stdout),
                ("stderr", &r.stderr),
                ("file", &file),
            ] {
                assert!(
                    !text.contains(e.secret.as_str()),
                    "{format} {what} leaks the secret of {} at {}:{}",
                    e.rule,
                    e.path,
                    e.line
                );
            }
        }
    }
    // With the flag, the JSON carries every secret exactly.
    let r = run(
        &["scan", "--format", "json", "--show-secrets", "."],
        Some(dir),
    );
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    for e in &tree.expected {
        assert!(
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["secret"] == e.secret.as_str()),
            "secret of {} missing with --show-secrets",
            e.rule
        );
    }
}

#[test]
fn jsonl_is_one_finding_per_line_and_matches_json() {
    let tree = plant_all(13);
    let dir = tree.dir.path();
    let json = run(&["scan", "--format", "json", "."], Some(dir));
    let jsonl = run(&["scan", "--format", "jsonl", "."], Some(dir));
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let lines: Vec<Value> = jsonl
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&lines, v["findings"].as_array().unwrap());
    assert_eq!(v["version"], 1);
    for key in ["files", "blobs", "commits", "bytes", "seconds"] {
        assert!(v["stats"][key].is_number(), "stats.{key}");
    }
}

#[test]
fn exit_codes_and_human_summary() {
    let dir = tempfile::tempdir().unwrap();
    crate::write(dir.path(), "clean.txt", "nothing to see here\n");
    let r = run(&["scan", "."], Some(dir.path()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("0 findings"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("\x1b["),
        "no colour when not on a terminal"
    );
    let r = run(&["scan", "--format", "yaml", "."], Some(dir.path()));
    assert_eq!(r.code, 2);
}

#[test]
fn fingerprint_command_matches_scan_fingerprints() {
    use std::io::Write;
    let mut f = keytrace::testkit::fakes::Fakes::new(14);
    let tok = f.github("ghp");
    let mut child = crate::keytrace()
        .arg("fingerprint")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{tok}").unwrap();
    let out = child.wait_with_output().unwrap();
    let fp = String::from_utf8(out.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    crate::write(dir.path(), "a.env", format!("GITHUB_TOKEN={tok}\n"));
    let (_, v) = crate::scan_json(dir.path(), &[]);
    assert_eq!(v["findings"][0]["fingerprint"], fp.trim());
}

/// Ed25519 keys from OpenSSL (`openssl genpkey -algorithm ed25519`), which
/// are 64 characters of base64 with `+` and `/` as often as not: every one
/// is reported. Twenty keys, so a key body without `+` or `/` cannot carry
/// the test alone (about 1 in 4 is so).
#[test]
fn fresh_openssl_ed25519_keys_are_found() {
    let Ok(v) = std::process::Command::new("openssl")
        .arg("version")
        .output()
    else {
        panic!("openssl is needed for this test (Debian: openssl)");
    };
    assert!(v.status.success());
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20 {
        let out = dir.path().join(format!("k{i}.pem"));
        let ok = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                if i % 4 == 3 { "x25519" } else { "ed25519" },
                "-out",
            ])
            .arg(&out)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    let (_, v) = crate::scan_json(dir.path(), &["--no-history"]);
    let found = crate::file_names_found(&v, |f| f["rule"] == "pem-private-key");
    assert_eq!(found.len(), 20, "{found:?}");
}

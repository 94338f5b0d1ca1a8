//! Baselines record accepted findings by (rule, fingerprint): they survive a
//! file move and shifted lines, still let a new secret through, keep their
//! reasons, and prune what is gone. `--fail-on` chooses what fails a run.
use keytrace::testkit::fakes::Fakes;

use crate::{run, scan_json, write};

#[test]
fn baseline_survives_moves_and_line_shifts_but_not_new_secrets() {
    let mut f = Fakes::new(80);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let old1 = f.github("ghp");
    let old2 = f.npm();
    write(
        d,
        "src/config.env",
        format!("GITHUB_TOKEN={old1}\nNPM_TOKEN={old2}\n"),
    );
    let base = tempfile::tempdir().unwrap();
    let file = base.path().join("keytrace-baseline.json");
    let file_s = file.to_str().unwrap();
    let r = run(&["baseline", d.to_str().unwrap(), "-o", file_s], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    // Sorted, one entry per line, no secret in it.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"fingerprint\""))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
    assert!(!text.contains(&old1) && !text.contains(&old2));

    // Clean with the baseline; the suppressed count is reported.
    let (code, v) = scan_json(d, &["--baseline", file_s]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["stats"]["suppressed"], 2);

    // Move the file and shift its lines: still suppressed.
    std::fs::create_dir_all(d.join("deploy")).unwrap();
    std::fs::remove_file(d.join("src/config.env")).unwrap();
    write(
        d,
        "deploy/app.env",
        format!("# moved\n\n\nNPM_TOKEN={old2}\nX=1\nGITHUB_TOKEN={old1}\n"),
    );
    let (code, _) = scan_json(d, &["--baseline", file_s]);
    assert_eq!(code, 0);

    // A different secret is still reported.
    let new = f.github("ghp");
    write(d, "deploy/new.env", format!("GITHUB_TOKEN={new}\n"));
    let (code, v) = scan_json(d, &["--baseline", file_s]);
    assert_eq!(code, 1);
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["findings"][0]["fingerprint"],
        keytrace::base::secret::fingerprint(new.as_bytes())
    );

    // Reasons survive re-recording; --prune drops what is gone.
    let edited = text.replacen(
        "\"path\"",
        "\"reason\":\"test fixture, revoked\",\"path\"",
        1,
    );
    std::fs::write(&file, &edited).unwrap();
    std::fs::remove_file(d.join("deploy/app.env")).unwrap();
    write(d, "deploy/app.env", format!("GITHUB_TOKEN={old1}\n"));
    let r = run(
        &["baseline", "--prune", d.to_str().unwrap(), "-o", file_s],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    let entries: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"fingerprint\""))
        .collect();
    assert_eq!(entries.len(), 2, "old2 pruned, new recorded: {text}");
    assert!(!text.contains(&keytrace::base::secret::fingerprint(old2.as_bytes())));
    let fp1 = keytrace::base::secret::fingerprint(old1.as_bytes());
    // Entries are sorted by rule: the reason went to the GitHub token's.
    assert!(edited
        .lines()
        .any(|l| l.contains("test fixture") && l.contains(&fp1)));
    assert!(
        text.lines()
            .any(|l| l.contains(&fp1) && l.contains("test fixture, revoked")),
        "{text}"
    );
    // A malformed baseline is an error, not an empty one.
    std::fs::write(&file, "{not json").unwrap();
    let r = run(&["scan", "--baseline", file_s, d.to_str().unwrap()], None);
    assert_eq!(r.code, 2);
}

#[test]
fn fail_on_policies() {
    let mut f = Fakes::new(81);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let npm = f.npm();
    write(d, "a.env", format!("NPM_TOKEN={npm}\n"));
    write(d, "agents.yaml", "agent: ci\nowner: platform\nreview_cycle: annual\nlast_review: 2026-06-01\ncredentials: [{env: NPM_TOKEN}]\n");
    let ds = d.to_str().unwrap();
    let code =
        |policy: &str| run(&["scan", "--format", "json", "--fail-on", policy, ds], None).code;
    assert_eq!(code("any"), 1);
    assert_eq!(code("valid"), 1, "an npm token with a valid checksum");
    assert_eq!(code("unowned"), 0, "claimed by ci via its binding");
    assert_eq!(code("NHI7"), 1);
    assert_eq!(code("NHI1,NHI10"), 0);
    assert_eq!(code("bogus"), 2);
    // Whatever the policy, the report still lists the finding.
    let r = run(
        &["scan", "--format", "json", "--fail-on", "unowned", ds],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
}

/// `[[intended]]` in `.keytrace.toml`: credentials a tree holds on purpose
/// are found, counted by reason and not reported; a finding with one place
/// outside the entry's paths is reported; an entry a pushed range adds is
/// not trusted by a range scan of it.
#[test]
fn intended_credentials_are_counted_not_reported() {
    use crate::history::{commit, git};
    let mut f = keytrace::testkit::fakes::Fakes::new(0x1e7d);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let date = "2025-02-01T00:00:00Z";
    git(d, &["init", "-q", "-b", "main"], date);
    let (ex1, ex2, shared, real) = (f.github("ghp"), f.npm(), f.github("ghp"), f.npm());
    write(
        d,
        "rules/acme.toml",
        format!("examples = ['{ex1}', '{ex2}']\n"),
    );
    write(d, "fixtures/shared.env", format!("TOKEN={shared}\n"));
    write(
        d,
        "deploy/app.env",
        format!("TOKEN={shared}\nNPM_TOKEN={real}\n"),
    );
    write(
        d,
        ".keytrace.toml",
        "[[intended]]\npaths = [\"rules/*.toml\"]\nreason = \"rule examples\"\n\n\
         [[intended]]\npaths = [\"fixtures/**\"]\nreason = \"test fixtures\"\n",
    );
    let base = commit(d, "one", date);
    let (code, v) = crate::scan_json(d, &[]);
    assert_eq!(code, 1, "{v}");
    let fps: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["fingerprint"].as_str().unwrap())
        .collect();
    let fp = |s: &str| keytrace::base::secret::fingerprint(s.as_bytes());
    assert_eq!(fps.len(), 2, "{v}");
    assert!(
        fps.contains(&fp(&shared).as_str()),
        "also outside fixtures/"
    );
    assert!(fps.contains(&fp(&real).as_str()));
    assert_eq!(
        v["stats"]["intended"],
        serde_json::json!([{"reason": "rule examples", "findings": 2}])
    );
    let human = crate::run(&["scan", "--color", "never", d.to_str().unwrap()], None);
    assert!(
        human.stdout.contains("2 findings held on purpose")
            && human.stdout.contains("rule examples"),
        "{}",
        human.stdout
    );
    // A range that adds an entry covering its own new secret: not trusted,
    // while the base's entry still covers what it covered.
    let pushed = f.github("ghp");
    write(d, "src/new.env", format!("TOKEN={pushed}\n"));
    write(
        d,
        "rules/more.toml",
        format!("examples = ['{}']\n", f.npm()),
    );
    write(
        d,
        ".keytrace.toml",
        "[[intended]]\npaths = [\"rules/*.toml\"]\nreason = \"rule examples\"\n\n\
         [[intended]]\npaths = [\"src/**\"]\nreason = \"nothing to see\"\n",
    );
    commit(d, "two", date);
    let (code, v) = crate::scan_json(d, &["--since", &base]);
    assert_eq!(code, 1, "{v}");
    let found: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(found, [fp(&pushed).as_str()], "{v}");
    assert_eq!(
        v["stats"]["intended"],
        serde_json::json!([{"reason": "rule examples", "findings": 1}])
    );
    // A scan that is not a range honours the file as it stands.
    let (_, v) = crate::scan_json(d, &["--no-history"]);
    assert!(
        v["stats"]["intended"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["reason"] == "nothing to see" && c["findings"] == 1),
        "{v}"
    );
}

//! Content made to hang, crash or blind keytrace: committed symbolic links
//! to devices, FIFOs where files should be. Each case is a regression test
//! of a failure keytrace once had; each run is bounded by a watchdog, so a
//! hang fails the test instead of stalling the suite.
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use keytrace::testkit::fakes::Fakes;
use serde_json::Value;

use crate::{keytrace, write};

use crate::cli_extras::Ended;

/// Runs keytrace with `args` in `cwd`, its stdin a pipe kept open (so that
/// reading `/dev/stdin` would wait forever); kills it after `limit`.
fn run_guarded(args: &[&str], cwd: &Path, limit: Duration) -> Ended {
    crate::cli_extras::run_guarded(args, cwd, None, limit)
}

const LIMIT: Duration = Duration::from_secs(60);

fn json(e: &Ended) -> Value {
    serde_json::from_str(&e.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}\n{}", e.stdout, e.stderr))
}

#[cfg(unix)]
fn link(target: &str, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).unwrap();
}

#[cfg(unix)]
fn fifo(at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    let c = std::ffi::CString::new(at.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// `.gitignore` and `.ignore` pointing at devices, or FIFOs, at the root and
/// below: the walk neither aborts (a 4 GiB allocation reading `/dev/zero`)
/// nor waits, warns about each, and scans those directories without ignore
/// rules, so a secret under them is still found.
#[cfg(unix)]
#[test]
fn ignore_files_that_are_devices_or_fifos_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut f = Fakes::new(71);
    let tokens: Vec<String> = (0..4).map(|_| f.github("ghp")).collect();
    write(d, "a.env", format!("GITHUB_TOKEN={}\n", tokens[0]));
    write(d, "deep/x/a.env", format!("GITHUB_TOKEN={}\n", tokens[0]));
    link("/dev/zero", &d.join("deep/x/.gitignore"));
    write(d, "sub/b.env", format!("GITHUB_TOKEN={}\n", tokens[1]));
    link("/dev/stdin", &d.join("sub/.ignore"));
    write(d, "fifo/c.env", format!("GITHUB_TOKEN={}\n", tokens[2]));
    fifo(&d.join("fifo/.gitignore"));
    let e = run_guarded(&["scan", "--format", "json", "."], d, LIMIT);
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    let v = json(&e);
    let found = v["findings"].to_string();
    for p in ["\"a.env", "deep/x/a.env", "sub/b.env", "fifo/c.env"] {
        assert!(found.contains(p), "{p} not found: {found}");
    }
    let warnings: Vec<String> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["path"], e["message"]))
        .collect();
    for p in ["deep/x/.gitignore", "sub/.ignore", "fifo/.gitignore"] {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(p) && w.contains("not read")),
            "{p}: {warnings:?}"
        );
    }
    // The root's own: everything is scanned, with a warning.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a.env", format!("GITHUB_TOKEN={}\n", tokens[0]));
    write(d, ".ignore", "a.env\n");
    link("/dev/zero", &d.join(".gitignore"));
    let e = run_guarded(&["scan", "--format", "json", "."], d, LIMIT);
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    let v = json(&e);
    assert!(
        v["errors"].to_string().contains(".gitignore"),
        "{}",
        v["errors"]
    );
    // Beside a directory left to a plain walk, sound ignore files still
    // count.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "bad/x.env", format!("GITHUB_TOKEN={}\n", tokens[1]));
    link("/dev/zero", &d.join("bad/.gitignore"));
    write(d, "ok/.gitignore", "ignored.env\n");
    write(d, "ok/ignored.env", format!("GITHUB_TOKEN={}\n", tokens[3]));
    let e = run_guarded(&["scan", "--format", "json", "."], d, LIMIT);
    let v = json(&e);
    let paths = v["findings"].to_string();
    assert!(
        paths.contains("bad/x.env") && !paths.contains("ignored.env"),
        "{paths}"
    );
}

/// The files keytrace reads for itself, as a scanned repository can set
/// them: an `agents.yaml` pointing at `/dev/zero` or `/dev/stdin`, a
/// `CODEOWNERS` and a `catalog-info.yaml` pointing at `/dev/zero`. The scan
/// finishes, the discovered inventory is a warning, and the secret is found.
#[cfg(unix)]
#[test]
fn files_keytrace_reads_for_itself_are_never_devices() {
    let mut f = Fakes::new(72);
    for target in ["/dev/zero", "/dev/stdin"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "app/.env", format!("NPM_TOKEN={}\n", f.npm()));
        link(target, &d.join("agents.yaml"));
        link("/dev/zero", &d.join("CODEOWNERS"));
        link("/dev/zero", &d.join("app/catalog-info.yaml"));
        let e = run_guarded(&["scan", "--format", "json", "."], d, LIMIT);
        assert_eq!(e.code, Some(1), "{target}: {}", e.stderr);
        let v = json(&e);
        assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{target}");
        let errors = v["errors"].to_string();
        assert!(
            errors.contains("agents.yaml") && errors.contains("not a regular file"),
            "{target}: {errors}"
        );
    }
    // Given on the command line, it is an error (exit 2), not a hang.
    let dir = tempfile::tempdir().unwrap();
    link("/dev/zero", &dir.path().join("inv.yaml"));
    let e = run_guarded(
        &["scan", "--agents", "inv.yaml", "--format", "json", "."],
        dir.path(),
        LIMIT,
    );
    assert_eq!(e.code, Some(2), "{}", e.stderr);
    assert!(e.stderr.contains("not a regular file"), "{}", e.stderr);
    // A `.keytrace.toml` that is no file is not read; a rule file given is
    // an error.
    let dir = tempfile::tempdir().unwrap();
    link("/dev/zero", &dir.path().join(".keytrace.toml"));
    let e = run_guarded(&["scan", "."], dir.path(), LIMIT);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    link("/dev/stdin", &dir.path().join("r.toml"));
    let e = run_guarded(&["rules", "check", "r.toml"], dir.path(), LIMIT);
    assert_eq!(e.code, Some(2), "{}", e.stderr);
}

/// A reader that stops early (`keytrace scan | head -1` under `pipefail`)
/// does not turn findings into success: the exit code is still 1.
#[test]
fn a_closed_pipe_keeps_the_exit_code_of_the_findings() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(73);
    let text: String = (0..3000)
        .map(|i| format!("TOKEN_{i}={}\n", f.github("ghp")))
        .collect();
    write(dir.path(), "many.env", text);
    for format in ["human", "json", "jsonl", "sarif"] {
        let mut child = keytrace()
            .args(["scan", "--no-progress", "--format", format, "."])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 16];
        out.read_exact(&mut first).unwrap();
        drop(out);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(1), "{format}");
    }
}

/// Nothing fails open: a range whose end cannot be resolved, a `.git` that
/// points nowhere, and a scan that could read nothing at all are exit 2,
/// with the reason, not a clean scan.
#[test]
fn what_cannot_be_scanned_is_exit_2() {
    use crate::history::{commit, git};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"], "2025-01-01T00:00:00Z");
    write(d, "a.txt", "hello\n");
    let first = commit(d, "first", "2025-01-01T00:00:00Z");
    for args in [
        vec![
            "scan",
            "--since",
            first.as_str(),
            "--until",
            "no-such-branch",
            ".",
        ],
        vec![
            "scan",
            "--since",
            "HEAD",
            "--until",
            "0123456789abcdef0123456789abcdef01234567",
            ".",
        ],
    ] {
        let e = run_guarded(&args, d, LIMIT);
        assert_eq!(e.code, Some(2), "{args:?}: {}", e.stdout);
        assert!(e.stderr.contains("cannot resolve"), "{}", e.stderr);
    }
    // A CI run whose "after" is not in the clone.
    let out = keytrace()
        .args(["ci", "--format", "json", "."])
        .current_dir(d)
        .env("KEYTRACE_SINCE", &first)
        .env("KEYTRACE_UNTIL", "feedfacefeedfacefeedfacefeedfacefeedface")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A work tree whose `.git` file points at nothing.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".git", "gitdir: /nonexistent/keytrace-test\n");
    write(dir.path(), "a.txt", "hello\n");
    let e = run_guarded(&["scan", "."], dir.path(), LIMIT);
    assert_eq!(e.code, Some(2), "{}", e.stderr);
    assert!(e.stderr.contains("--no-history"), "{}", e.stderr);
    let e = run_guarded(&["scan", "--no-history", "."], dir.path(), LIMIT);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    // Nothing readable: a file that fails every read.
    #[cfg(target_os = "linux")]
    {
        let e = run_guarded(
            &["scan", "--no-history", "/proc/self/mem"],
            dir.path(),
            LIMIT,
        );
        assert_eq!(e.code, Some(2), "{}", e.stderr);
        assert!(e.stderr.contains("nothing could be read"), "{}", e.stderr);
    }
}

/// No full secret reaches a report, a warning or an error message through
/// the files keytrace reads for itself: an inventory value, a settings or
/// rule file that is not TOML.
#[test]
fn messages_never_quote_a_secret() {
    let mut f = Fakes::new(74);
    let tok = f.github("ghp");
    let middle = &tok[8..30];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "app/.env", format!("NPM_TOKEN={}\n", f.npm()));
    write(
        d,
        "agents.yaml",
        format!("agent: bot\nowner: a\nallowed_actions: {tok}\n"),
    );
    for format in ["human", "json", "sarif"] {
        let e = run_guarded(&["scan", "--format", format, "."], d, LIMIT);
        assert_eq!(e.code, Some(1), "{format}: {}", e.stderr);
        assert!(
            !e.stdout.contains(middle) && !e.stderr.contains(middle),
            "{format}: the inventory's value is printed:\n{}\n{}",
            e.stdout,
            e.stderr
        );
        assert!(e.stdout.contains("agents.yaml"), "{format}: {}", e.stdout);
    }
    // The same inventory checked or given: its errors and warnings redact.
    write(
        d,
        "inv/b.yaml",
        format!("agent: b\nowner: a\nstatus: {tok}\nreview_cycle: {tok}\n{tok}: 1\nallowed_actions: [{tok}]\nforbidden_actions: [{tok}]\ncredentials:\n  - env: X\n    {tok}: y\n"),
    );
    for args in [
        vec!["agents", "check", "agents.yaml"],
        vec!["agents", "check", "inv"],
        vec!["scan", "--agents", "agents.yaml", "app"],
    ] {
        let e = run_guarded(&args, d, LIMIT);
        assert!(
            !e.stdout.contains(middle) && !e.stderr.contains(middle),
            "{args:?}:\n{}\n{}",
            e.stdout,
            e.stderr
        );
    }
    // Settings and rule files that are not TOML: the error names a line, it
    // does not print it.
    write(
        d,
        "notes.txt",
        format!("# deploy notes\nGITHUB_TOKEN={tok}\n"),
    );
    write(d, ".keytrace.toml", format!("[allow]\npaths = \"{tok}\"\n"));
    for args in [
        vec!["scan", "--config", "notes.txt", "app"],
        vec!["scan", "--rules", "notes.txt", "app"],
        vec!["rules", "check", "notes.txt"],
        vec!["scan", "."],
    ] {
        let e = run_guarded(&args, d, LIMIT);
        assert_ne!(e.code, Some(0), "{args:?}");
        assert!(
            !e.stdout.contains(middle) && !e.stderr.contains(middle),
            "{args:?}:\n{}\n{}",
            e.stdout,
            e.stderr
        );
        assert!(
            format!("{}{}", e.stdout, e.stderr).contains("line 2"),
            "{args:?}: {}{}",
            e.stdout,
            e.stderr
        );
    }
}

/// Names from the scanned content (file names, commit authors and emails)
/// with terminal escapes, a right-to-left override or a newline are printed
/// escaped in human output: nothing recolours or clears the screen, sets
/// the title, or forges a second "found at" line.
#[cfg(unix)]
#[test]
fn human_output_escapes_what_a_terminal_would_act_on() {
    use crate::history::commit;
    use std::process::Command;
    let mut f = Fakes::new(75);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let names = [
        "red\x1b[31m.env",
        "title\x1b]0;pwned\x07.env",
        "clear\x1b[2J.env",
        "evil\u{202e}vne.txt",
        "two\n  found at     fake.env:1:1\n.env",
    ];
    for n in names {
        write(d, n, format!("GITHUB_TOKEN={}\n", f.github("ghp")));
    }
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(d)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let author = "Evil\x1b[2J\x1b]0;x\x07 <e\u{202e}vil@example.org>";
    let (name, email) = author.split_once(" <").unwrap();
    let ok = Command::new("git")
        .args(["-c", &format!("user.name={name}")])
        .args(["-c", &format!("user.email={}", email.trim_end_matches('>'))])
        .args(["-c", "commit.gpgsign=false", "add", "-A"])
        .current_dir(d)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let _ = commit;
    let ok = Command::new("git")
        .args(["-c", &format!("user.name={name}")])
        .args(["-c", &format!("user.email={}", email.trim_end_matches('>'))])
        .args(["-c", "commit.gpgsign=false", "commit", "-q", "-m", "x"])
        .current_dir(d)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    for color in ["never", "always"] {
        let e = run_guarded(&["scan", "--color", color, "."], d, LIMIT);
        assert_eq!(e.code, Some(1), "{}", e.stderr);
        let out = &e.stdout;
        // Our own colour codes are `ESC [ digits ; m`; nothing else.
        let mut rest = out.as_str();
        while let Some(i) = rest.find('\x1b') {
            let tail = &rest[i + 1..];
            let code: String = tail.chars().take_while(|c| *c != 'm').collect();
            assert!(
                color == "always"
                    && code.starts_with('[')
                    && code[1..].chars().all(|c| c.is_ascii_digit() || c == ';'),
                "an escape that keytrace did not write: {:?}",
                &tail[..tail.len().min(20)]
            );
            rest = &tail[code.len()..];
        }
        for bad in ['\u{7}', '\u{202e}', '\r'] {
            assert!(!out.contains(bad), "{bad:?} in:\n{out}");
        }
        let found_at = out
            .lines()
            .filter(|l| l.trim_start_matches("\x1b[36m").starts_with("  found at"))
            .count();
        // One "found at" line per finding (each file holds one secret).
        let findings = out.lines().filter(|l| l.contains("fingerprint")).count();
        assert_eq!(found_at, findings, "a forged line:\n{out}");
        assert!(
            out.contains("\\u{202e}") && out.contains("\\u{1b}"),
            "{out}"
        );
    }
}

/// The scanned repository cannot silence itself: in a range scan (`scan
/// --since`, `keytrace ci`), a change that adds a suppression (an allow
/// comment on an added line, an allow value or rule in `.keytrace.toml`, a
/// baseline entry) is reported as a finding of its own kind; suppressions
/// the base already had still count.
#[test]
fn a_range_cannot_hide_what_it_adds() {
    use crate::history::{commit, git};
    let mut f = Fakes::new(76);
    let date = "2025-02-01T00:00:00Z";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"], date);
    let old = f.github("ghp");
    write(
        d,
        ".keytrace.toml",
        format!("[allow]\nvalues = [\"^{}$\"]\n", f.npm()),
    );
    write(d, "old.env", format!("GITHUB_TOKEN={old}\n"));
    let keytrace_base = commit(d, "base", date);
    // The baseline accepts the old token at the base.
    let out = crate::keytrace()
        .args(["baseline", "--no-history", "-o", "baseline.json", "."])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = commit(d, "baseline", date);
    let _ = keytrace_base;
    let scan_since = |extra: &[&str]| {
        let mut args = vec!["scan", "--format", "json", "--since", base.as_str()];
        args.extend_from_slice(extra);
        args.push(".");
        let e = run_guarded(&args, d, LIMIT);
        (e.code, json(&e))
    };
    let kinds = |v: &Value| -> Vec<(String, String)> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["rule"].as_str().unwrap().to_string(),
                    x["decoded"]["suppression"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect()
    };
    // 1. An allow comment on an added line.
    let a = f.github("ghp");
    write(d, "a.env", format!("GITHUB_TOKEN={a}  # keytrace:allow\n"));
    commit(d, "a", date);
    let (code, v) = scan_since(&[]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        kinds(&v),
        [("suppression-added".into(), "allow comment".into())]
    );
    assert_eq!(
        v["findings"][0]["decoded"]["suppressed_rule"], "github-classic-pat",
        "{v}"
    );
    // Outside a range, the comment is honoured as before.
    let (code, v) = crate::scan_json(&d.join("a.env"), &["--no-history"]);
    assert_eq!(code, 0, "{v}");
    // 2. An allow value for exactly the secret it is added with.
    let b = f.npm();
    write(d, "b.env", format!("NPM_TOKEN={b}\n"));
    write(
        d,
        ".keytrace.toml",
        format!("[allow]\nvalues = [\"^{b}$\"]\n"),
    );
    let with_value = commit(d, "b", date);
    let (code, v) = scan_since(&[]);
    assert_eq!(code, Some(1), "{v}");
    assert!(
        kinds(&v).contains(&("suppression-added".into(), "allow.values".into())),
        "{v}"
    );
    // 3. A rule switched off, with a secret of that rule.
    let c = f.github("ghp");
    write(d, "c.env", format!("TOKEN={c}\n"));
    write(
        d,
        ".keytrace.toml",
        format!("[allow]\nvalues = [\"^{b}$\"]\nrules = [\"github-classic-pat\"]\n"),
    );
    commit(d, "c", date);
    let (_, v) = scan_since(&[]);
    assert!(
        kinds(&v).contains(&("suppression-added".into(), "allow.rules".into())),
        "{v}"
    );
    // 4. A baseline entry added for a new secret; the base's entry still
    // accepts the old one (which the range does not touch anyway).
    let e = f.stripe("sk");
    write(d, "e.env", format!("STRIPE_KEY={e}\n"));
    let out = crate::keytrace()
        .args(["baseline", "--no-history", "-o", "baseline.json", "e.env"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    commit(d, "e", date);
    let (code, v) = scan_since(&["--baseline", "baseline.json"]);
    assert_eq!(code, Some(1), "{v}");
    let fp_e = keytrace::base::secret::fingerprint(e.as_bytes());
    let hidden_e = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["fingerprint"] == fp_e.as_str());
    assert_eq!(
        hidden_e.map(|x| x["decoded"]["suppression"].clone()),
        Some(Value::String("baseline entry".into())),
        "{v}"
    );
    // A suppression the base already had is honoured: from the commit that
    // added the allow value on, the same value committed again is not
    // reported.
    write(d, "b2.env", format!("NPM_TOKEN={b}\n"));
    commit(d, "b2", date);
    let args = [
        "scan",
        "--format",
        "json",
        "--since",
        with_value.as_str(),
        ".",
    ];
    let v = json(&run_guarded(&args, d, LIMIT));
    let fp_b = keytrace::base::secret::fingerprint(b.as_bytes());
    assert!(
        !v["findings"].to_string().contains(&fp_b),
        "a trusted allow value still hides: {v}"
    );
}

/// A sweep does not take a repository's word for its own secrets: an
/// allow comment is ignored unless `--trust-repo-config`.
#[test]
fn sweeps_ignore_allow_comments_unless_trusted() {
    use crate::history::{commit, git};
    let mut f = Fakes::new(77);
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"], "2025-01-01T00:00:00Z");
    write(
        &repo,
        "a.env",
        format!("GITHUB_TOKEN={}  # keytrace:allow\n", f.github("ghp")),
    );
    commit(&repo, "a", "2025-01-01T00:00:00Z");
    for (trust, want) in [(false, 1), (true, 0)] {
        let summary = sweep_one(dir.path(), &repo, &format!("s-{trust}.db"), trust);
        assert_eq!(summary["findings"], want, "trust {trust}: {summary}");
    }
}

/// Sweeps `repo` alone into the store `store` under `dir`, trusting its
/// settings or not; the sweep's JSON summary.
fn sweep_one(dir: &std::path::Path, repo: &std::path::Path, store: &str, trust: bool) -> Value {
    let list = dir.join("repos.txt");
    std::fs::write(&list, format!("{}\n", repo.display())).unwrap();
    let store = dir.join(store);
    let mut args = vec!["sweep", "--no-progress", "--repos", list.to_str().unwrap()];
    args.extend(["--store", store.to_str().unwrap()]);
    if trust {
        args.push("--trust-repo-config");
    }
    let e = run_guarded(&args, dir, LIMIT);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    serde_json::from_str(e.stdout.trim()).unwrap()
}

/// Under `--trust-repo-config` a sweep also honours the repository's own
/// `.keytrace.toml` allow table (paths, values, rules) and its
/// `.keytrace-baseline.json`, read from the HEAD tree; without the flag it
/// reads neither. A changed allow table has the repository read again.
#[test]
fn trusted_sweeps_honour_the_repository_settings_and_baseline() {
    use crate::history::{commit, git};
    let mut f = Fakes::new(79);
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"], "2025-01-01T00:00:00Z");
    let kept = f.github("ghp");
    let accepted = f.github("ghp");
    write(
        &repo,
        "fixtures/sample.env",
        format!("GITHUB_TOKEN={}\n", f.github("ghp")),
    );
    write(&repo, "deploy.env", format!("NPM_TOKEN={}\n", f.npm()));
    write(
        &repo,
        "bot.env",
        format!("SLACK_BOT_TOKEN={}\n", f.slack_bot()),
    );
    write(&repo, "old.env", format!("GITHUB_TOKEN={accepted}\n"));
    write(&repo, "live.env", format!("GITHUB_TOKEN={kept}\n"));
    // The baseline accepts old.env's token alone (recorded by keytrace
    // itself on a directory holding only that file).
    let side = dir.path().join("side");
    std::fs::create_dir(&side).unwrap();
    write(&side, "old.env", format!("GITHUB_TOKEN={accepted}\n"));
    let base = repo.join(".keytrace-baseline.json");
    let e = run_guarded(
        &[
            "baseline",
            "--no-history",
            ".",
            "-o",
            base.to_str().unwrap(),
        ],
        &side,
        LIMIT,
    );
    assert!(e.code.is_some_and(|c| c <= 1), "{}", e.stderr);
    let settings = |rules: &str| {
        format!("[allow]\npaths = [\"fixtures/**\"]\nvalues = [\"^npm_\"]\nrules = [{rules}]\n")
    };
    write(&repo, ".keytrace.toml", settings("\"slack-bot-token\""));
    commit(&repo, "a", "2025-01-01T00:00:00Z");
    let sweep = |store: &str, trust: bool| sweep_one(dir.path(), &repo, store, trust);
    let untrusted = sweep("u.db", false);
    assert_eq!(untrusted["findings"], 5, "untrusted: {untrusted}");
    let trusted = sweep("t.db", true);
    assert_eq!(trusted["findings"], 1, "trusted: {trusted}");
    // The one left is live.env's.
    let out = dir.path().join("t.json");
    let e = run_guarded(
        &[
            "report",
            "--store",
            dir.path().join("t.db").to_str().unwrap(),
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
        LIMIT,
    );
    assert!(e.code.is_some_and(|c| c <= 1), "{}", e.stderr);
    let report = std::fs::read_to_string(&out).unwrap();
    let fp = keytrace::base::secret::fingerprint(kept.as_bytes());
    assert!(report.contains(&fp), "{report}");
    // The repository stops switching the Slack rule off: the next trusted
    // sweep reads its blobs again and finds the bot token.
    write(&repo, ".keytrace.toml", settings(""));
    commit(&repo, "b", "2025-01-02T00:00:00Z");
    let again = sweep("t.db", true);
    assert_eq!(again["new"], 1, "after the change: {again}");
}

/// Memory stays bounded whatever the input: a scan keeps at most
/// `--max-findings` distinct secrets, and one input at most
/// `MAX_MATCHES` matches (a custom rule that matches every byte), each
/// with a report entry saying what was left out.
#[test]
fn matches_and_findings_are_capped_with_a_report_entry() {
    let mut f = Fakes::new(78);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text: String = (0..50)
        .map(|i| format!("TOKEN_{i}={}\n", f.github("ghp")))
        .collect();
    write(d, "many.env", text);
    let e = run_guarded(
        &[
            "scan",
            "--no-history",
            "-j",
            "1",
            "--max-findings",
            "10",
            "--format",
            "json",
            "many.env",
        ],
        d,
        LIMIT,
    );
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    let v = json(&e);
    assert_eq!(v["findings"].as_array().unwrap().len(), 10);
    assert!(
        v["errors"].to_string().contains("--max-findings"),
        "{}",
        v["errors"]
    );
    // A rule that matches every byte of a 300 KB line.
    write(
        d,
        "every.toml",
        "[[rule]]\nid = \"every-byte\"\nname = \"t\"\nprovider = \"t\"\nkeywords = [\"aaa\"]\npattern = '(?P<secret>a)'\nidentity = \"service\"\n",
    );
    write(d, "a.txt", format!("{}\n", "a".repeat(300_000)));
    let e = run_guarded(
        &[
            "scan",
            "--no-history",
            "--no-builtin-rules",
            "--rules",
            "every.toml",
            "--format",
            "json",
            "a.txt",
        ],
        d,
        LIMIT,
    );
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    let v = json(&e);
    let locations = v["findings"][0]["locations"].as_array().unwrap().len();
    assert_eq!(locations, keytrace::matcher::MAX_MATCHES, "{}", v["errors"]);
    assert!(
        v["errors"].to_string().contains("matches"),
        "{}",
        v["errors"]
    );
}

/// Small ways a report could be wrong, each once so: a column on a line
/// that crosses a chunk boundary, a `\` in a POSIX file name turned into a
/// directory in SARIF, a duplicate agent reported at the first one's line,
/// and findings of an export dropped for want of their repository record.
#[test]
fn columns_uris_sources_and_exports_are_right() {
    use crate::history::{commit, git};
    let mut f = Fakes::new(79);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A line of 200,000 bytes, the token at its end: with 128 KiB chunks it
    // is read in the second chunk, which starts inside the line.
    let tok = f.github("ghp");
    let pad = "x = 1; ".repeat(200_000 / 7);
    write(
        d,
        "long.js",
        format!("// first line\n{pad}TOKEN = \"{tok}\"\n"),
    );
    let (_, v) = crate::scan_json(
        &d.join("long.js"),
        &["--no-history", "--max-file-size", "128K"],
    );
    let loc = &v["findings"][0]["locations"][0];
    assert_eq!(loc["line"], 2, "{v}");
    assert_eq!(loc["column"], pad.len() as u64 + 10, "{loc}");
    // A backslash in a POSIX file name.
    #[cfg(unix)]
    {
        write(
            d,
            "sub/a\\b.env",
            format!("GITHUB_TOKEN={}\n", f.github("ghp")),
        );
        let e = run_guarded(
            &["scan", "--no-history", "--format", "sarif", "sub"],
            d,
            LIMIT,
        );
        let v = json(&e);
        let uri = v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
            ["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(uri.ends_with("a%5Cb.env"), "{uri}");
    }
    // A name declared twice: the issue points at the second declaration.
    write(
        d,
        "inv.yaml",
        "agent: bot\nowner: a\n---\nagent: other\nowner: b\n---\nagent: bot\nowner: c\n",
    );
    let e = run_guarded(&["agents", "check", "inv.yaml"], d, LIMIT);
    let line = e
        .stdout
        .lines()
        .find(|l| l.contains("duplicate-name"))
        .unwrap_or_default();
    assert!(line.starts_with("inv.yaml:7:"), "{}", e.stdout);
    assert!(line.contains("first at inv.yaml:1"), "{line}");
    // A finding whose repository record is missing from an export.
    let repo = d.join("r");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"], "2025-01-01T00:00:00Z");
    write(&repo, "a.env", format!("NPM_TOKEN={}\n", f.npm()));
    commit(&repo, "a", "2025-01-01T00:00:00Z");
    std::fs::write(d.join("list.txt"), format!("{}\n", repo.display())).unwrap();
    let e = run_guarded(
        &[
            "sweep",
            "--no-progress",
            "--repos",
            "list.txt",
            "--store",
            "s.db",
        ],
        d,
        LIMIT,
    );
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    let e = run_guarded(
        &["report", "--store", "s.db", "--format", "jsonl"],
        d,
        LIMIT,
    );
    let cut: String = e
        .stdout
        .lines()
        .filter(|l| !l.contains("\"record\":\"repo\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(d.join("cut.jsonl"), cut).unwrap();
    let e = run_guarded(
        &["report", "--input", "cut.jsonl", "--format", "json"],
        d,
        LIMIT,
    );
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    let v = json(&e);
    assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{v}");
    assert!(
        v["errors"]
            .to_string()
            .contains("without their repository record"),
        "{v}"
    );
}

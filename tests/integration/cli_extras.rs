//! The command line's extras: shell completion scripts and man pages made
//! from the clap definition, and `keytrace scan -`, which scans standard
//! input as one input named `<stdin>` (whole, in chunks past
//! `--max-file-size`, opened as an archive where it is one). Every run
//! that reads standard input or could block is bounded by a watchdog.
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keytrace::testkit::fakes::Fakes;
use serde_json::Value;

use crate::archives::{gz, zip_stored};
use crate::{keytrace, run, write};

/// A run ended by itself within the watchdog's limit.
pub(crate) struct Ended {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

const LIMIT: Duration = Duration::from_secs(10);

/// Runs keytrace with `args` in `cwd`, `input` written to its standard
/// input (then closed; `None`: a pipe kept open, never written, so that
/// reading `/dev/stdin` would wait forever). Kills it, and fails, past
/// `limit`.
pub(crate) fn run_guarded(
    args: &[&str],
    cwd: &Path,
    input: Option<Vec<u8>>,
    limit: Duration,
) -> Ended {
    let mut c: Command = keytrace();
    c.args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run keytrace");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || match input {
        // keytrace may stop reading early (a binary input): not an error.
        Some(data) => drop(stdin.write_all(&data)),
        None => {
            std::thread::sleep(limit + Duration::from_secs(1));
            drop(stdin);
        }
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let ereader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("keytrace {args:?} did not finish within {limit:?}: it blocks");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(writer); // a writer kept waiting is left to end on its own
    Ended {
        code,
        stdout: String::from_utf8_lossy(&reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&ereader.join().unwrap()).into_owned(),
    }
}

fn json(e: &Ended) -> Value {
    serde_json::from_str(&e.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}\n{}", e.stdout, e.stderr))
}

/// (path, line, column) of every location of every finding.
fn places(v: &Value) -> Vec<(String, u64, u64)> {
    let mut out: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["locations"].as_array().unwrap().clone())
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn completion_scripts_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = run(&["completions", shell], None);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.len() > 1000, "{shell}: {}", r.stdout);
        assert!(r.stdout.contains("scan"), "{shell}");
        assert!(r.stdout.contains("max-file-size"), "{shell}");
        // fish spells a long flag `-l format`; the others `--format`.
        let flag = if shell == "fish" {
            "-l format"
        } else {
            "--format"
        };
        assert!(r.stdout.contains(flag), "{shell}: no {flag}");
    }
    let bash = run(&["completions", "bash"], None).stdout;
    assert!(bash.contains("complete -F _keytrace"), "{bash}");
    // The subcommands' own flags and values are there too.
    assert!(bash.contains("--no-history") && bash.contains("sarif"));
    let r = run(&["completions", "tcsh"], None);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("tcsh") && r.stderr.contains("zsh"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    let r = run(&["completions"], None);
    assert_eq!(r.code, 2);
}

#[test]
fn man_pages_for_keytrace_and_each_subcommand() {
    let r = run(&["man"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = &r.stdout;
    // The page opens with roff: string definitions, then the title header
    // before any section.
    assert!(page.starts_with('.'), "{page}");
    let th = page.find(".TH keytrace 1").expect("a .TH header");
    assert!(th < page.find(".SH").unwrap(), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "{section}: {page}");
    }
    // Every subcommand is listed by its own page's name.
    for sub in ["scan", "rules", "baseline", "completions", "man"] {
        assert!(page.contains(&format!("keytrace\\-{sub}(1)")), "{sub}");
    }
    assert!(!page.contains("keytrace\\-help"), "{page}");

    let r = run(&["man", "scan"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let scan = &r.stdout;
    assert!(scan.contains(".TH keytrace-scan 1"), "{scan}");
    assert!(scan.contains("\\fBkeytrace scan\\fR"), "{scan}");
    for flag in ["format", "max\\-file\\-size", "no\\-history"] {
        assert!(scan.contains(&format!("\\fB\\-\\-{flag}\\fR")), "{flag}");
    }
    assert!(scan.contains("sarif"), "{scan}");

    let r = run(&["man", "rules", "list"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(".TH keytrace-rules-list 1"));

    let r = run(&["man", "nope"], None);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("\"nope\"") && r.stderr.contains("scan"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn standard_input_is_scanned_as_one_input() {
    let dir = tempfile::tempdir().unwrap();
    let token = Fakes::new(4101).github("ghp");
    let input = format!("GITHUB_TOKEN={token}\n");
    let e = run_guarded(
        &["scan", "--format", "json", "-"],
        dir.path(),
        Some(input.into_bytes()),
        LIMIT,
    );
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    let v = json(&e);
    assert_eq!(places(&v), [("<stdin>".to_string(), 1, 14)]);
    assert_eq!(v["findings"][0]["rule"], "github-classic-pat");
    assert_eq!(v["stats"]["files"], 1);
    assert_eq!(v["errors"], serde_json::json!([]));
    // Human output names it too; `-` twice is read once.
    let e = run_guarded(
        &["scan", "--format", "human", "--color", "never", "-", "-"],
        dir.path(),
        Some(format!("x\nGITHUB_TOKEN={token}\n").into_bytes()),
        LIMIT,
    );
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    assert!(e.stdout.contains("<stdin>:2:14"), "{}", e.stdout);
    assert!(!e.stdout.contains(&token), "{}", e.stdout);
}

#[test]
fn empty_standard_input_is_a_clean_scan() {
    let dir = tempfile::tempdir().unwrap();
    let e = run_guarded(
        &["scan", "--format", "json", "-"],
        dir.path(),
        Some(Vec::new()),
        LIMIT,
    );
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    let v = json(&e);
    assert_eq!(v["findings"], serde_json::json!([]));
    assert_eq!(v["errors"], serde_json::json!([]));
    assert_eq!(v["stats"]["files"], 1);
    assert_eq!(v["stats"]["bytes"], 0);
}

/// Past `--max-file-size`, standard input is read in overlapping chunks:
/// secrets anywhere in it, one across a chunk boundary among them, are
/// found at their lines.
#[test]
fn large_standard_input_is_read_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(4102);
    let tokens: Vec<String> = (0..4).map(|_| f.github("ghp")).collect();
    let mut text = String::new();
    let mut want = Vec::new();
    for i in 1..=40_000u64 {
        if i % 10_000 == 0 {
            let t = &tokens[(i / 10_000 - 1) as usize];
            text.push_str(&format!("GITHUB_TOKEN={t}\n"));
            want.push(("<stdin>".to_string(), i, 14));
        } else {
            text.push_str(&format!("line {i:06} of filler text\n"));
        }
    }
    assert!(text.len() > 1 << 20);
    let e = run_guarded(
        &["scan", "--format", "json", "--max-file-size", "128K", "-"],
        dir.path(),
        Some(text.clone().into_bytes()),
        LIMIT,
    );
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    let v = json(&e);
    assert_eq!(places(&v), want);
    assert_eq!(v["stats"]["bytes"], text.len() as u64);
    assert_eq!(v["stats"]["files"], 1);
}

/// An archive on standard input is opened as a file's is: a small one in
/// memory, one past `--max-file-size` (a zip, whose directory is at its
/// end) from a temporary file; `--no-archives` reads it as a binary.
#[test]
fn archives_on_standard_input_are_opened() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(4103);
    let (a, b) = (f.github("ghp"), f.github("ghp"));
    let env = format!("A=1\nGITHUB_TOKEN={a}\n");
    let e = run_guarded(
        &["scan", "--format", "json", "-"],
        dir.path(),
        Some(gz(env.as_bytes())),
        LIMIT,
    );
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    let found = places(&json(&e));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].0.starts_with("<stdin>"), "{found:?}");
    assert_eq!((found[0].1, found[0].2), (2, 14));

    let filler = f.bytes(300 << 10);
    let env = format!("GITHUB_TOKEN={b}\n");
    let zip = zip_stored(&[("big.bin", &filler), ("app/.env", env.as_bytes())]);
    let e = run_guarded(
        &["scan", "--format", "json", "--max-file-size", "64K", "-"],
        dir.path(),
        Some(zip.clone()),
        LIMIT,
    );
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    let v = json(&e);
    assert_eq!(places(&v), [("<stdin>!app/.env".to_string(), 1, 14)]);
    assert_eq!(
        v["findings"][0]["locations"][0]["container"],
        serde_json::json!(["<stdin>"])
    );

    let e = run_guarded(
        &[
            "scan",
            "--format",
            "json",
            "--no-archives",
            "--max-file-size",
            "64K",
            "-",
        ],
        dir.path(),
        Some(zip),
        LIMIT,
    );
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    assert_eq!(json(&e)["stats"]["skipped_binary"], 1);
}

/// `-` beside other paths: both are scanned; the working directory's
/// CODEOWNERS does not claim what came on standard input. Standard input
/// has no history to scan a range of.
#[test]
fn standard_input_beside_paths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut f = Fakes::new(4104);
    let (a, b) = (f.github("ghp"), f.github("ghp"));
    write(d, "tree/app.env", format!("GITHUB_TOKEN={a}\n"));
    write(d, "CODEOWNERS", "* @acme/platform\n");
    let e = run_guarded(
        &["scan", "--format", "json", "--no-history", "-", "."],
        d,
        Some(format!("GITHUB_TOKEN={b}\n").into_bytes()),
        LIMIT,
    );
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    let v = json(&e);
    assert_eq!(
        places(&v),
        [
            ("<stdin>".to_string(), 1, 14),
            ("tree/app.env".to_string(), 1, 14)
        ]
    );
    for finding in v["findings"].as_array().unwrap() {
        let path = finding["locations"][0]["path"].as_str().unwrap();
        let owned = finding
            .get("code_owners")
            .is_some_and(|o| o.to_string().contains("@acme/platform"));
        assert_eq!(owned, path != "<stdin>", "{finding}");
    }
    for range in [&["--since", "HEAD"][..], &["--staged"], &["--history-only"]] {
        let mut args = vec!["scan"];
        args.extend_from_slice(range);
        args.push("-");
        let e = run_guarded(&args, d, Some(b"x\n".to_vec()), LIMIT);
        assert_eq!(e.code, Some(2), "{range:?}: {}", e.stdout);
        assert!(e.stderr.contains("standard input"), "{}", e.stderr);
    }
}

/// Without `-` nothing reads standard input: a scan whose stdin is a pipe
/// that never ends still finishes.
#[test]
fn without_dash_standard_input_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "hello\n");
    let e = run_guarded(&["scan", "--format", "json", "."], dir.path(), None, LIMIT);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    assert_eq!(json(&e)["stats"]["files"], 1);
}

#[cfg(unix)]
fn mkfifo(at: &Path) {
    let c = std::ffi::CString::new(at.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// A FIFO named on the command line is never opened (that would wait for
/// a writer): the scan returns at once with an error entry saying it was
/// not read. Alone it leaves nothing read (exit 2); beside `-` the scan
/// goes on.
#[cfg(unix)]
#[test]
fn a_fifo_given_as_a_path_is_reported_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mkfifo(&d.join("pipe"));
    let e = run_guarded(&["scan", "--format", "json", "pipe"], d, None, LIMIT);
    assert_eq!(e.code, Some(2), "{}", e.stderr);
    let v = json(&e);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "pipe");
    assert_eq!(errors[0]["severity"], "error");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("FIFO") && message.contains("not read"),
        "{message}"
    );
    assert!(e.stderr.contains("nothing could be read"), "{}", e.stderr);

    let token = Fakes::new(4105).github("ghp");
    let e = run_guarded(
        &["scan", "--format", "json", "pipe", "-"],
        d,
        Some(format!("GITHUB_TOKEN={token}\n").into_bytes()),
        LIMIT,
    );
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    let v = json(&e);
    assert_eq!(places(&v), [("<stdin>".to_string(), 1, 14)]);
    assert!(
        v["errors"].to_string().contains("not read"),
        "{}",
        v["errors"]
    );
    // A device too.
    let e = run_guarded(
        &["scan", "--format", "json", "/dev/zero", "-"],
        d,
        Some(Vec::new()),
        LIMIT,
    );
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    let v = json(&e);
    assert_eq!(v["errors"][0]["path"], "/dev/zero");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("device"));
}

/// `-o` into a directory that does not exist fails before the scan, with
/// exit 2, not after it.
#[test]
fn output_into_a_missing_directory_fails_first() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.env", "x=1\n");
    let out = dir.path().join("no/such/dir/report.json");
    let r = run(
        &[
            "scan",
            "-o",
            out.to_str().unwrap(),
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is not a directory"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("files"),
        "nothing was scanned: {}",
        r.stderr
    );
}

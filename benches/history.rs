//! History throughput: a generated repository of 20,000 commits and over
//! 200 MB of blobs (built once with `git fast-import` under target/), scanned
//! with `--history-only` on 1 and 2 threads, against the floor of
//! `git cat-file --batch-all-objects --batch > /dev/null` on the same
//! repository. Checks the finding count, and prints this process's peak RSS,
//! which is keytrace's: the repository is built by a child process.
//!
//! `cargo bench --bench history` (size: KEYTRACE_BENCH_COMMITS, default 20000).
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use clap::Parser;
use keytrace::cli::{Cli, Command as Sub};
use keytrace::config::Config;
use keytrace::testkit::fakes::Fakes;

mod common;
use common::{fast_import, peak_rss_mib, quick, size, text};

const PATHS: usize = 2000;
const EXT: [&str; 5] = ["py", "ts", "go", "yaml", "md"];

/// Streams `commits` commits into `git fast-import`; each changes two files
/// to new content of 3 to 8 KB. Returns the number of planted secrets.
fn build(dir: &Path, commits: usize) -> usize {
    let mut planted = 0;
    fast_import(dir, true, |out| {
        let mut f = Fakes::new(4242);
        let mut mark = 0usize;
        for c in 0..commits {
            let mut changes: Vec<(usize, String)> = Vec::new();
            let first = f.below(PATHS);
            // Two different paths: a second change to the same path would leave
            // the first blob unreachable, and so rightly unscanned.
            for p in [first, (first + 1 + f.below(PATHS - 1)) % PATHS] {
                let lang = p % 5;
                let size = 3000 + f.below(5000);
                let (text, n) = text(&mut f, lang, size, 400);
                planted += n;
                mark += 1;
                write!(out, "blob\nmark :{mark}\ndata {}\n{text}\n", text.len()).unwrap();
                changes.push((mark, format!("src/m{:02}/f{p:04}.{}", p % 40, EXT[lang])));
            }
            mark += 1;
            let when = 1_600_000_000 + c * 600;
            let msg = format!("change {c}");
            write!(
            out,
            "commit refs/heads/main\nmark :{mark}\nauthor Bench <bench@example.org> {when} +0000\ncommitter Bench <bench@example.org> {when} +0000\ndata {}\n{msg}\n",
            msg.len()
        )
        .unwrap();
            if c > 0 {
                writeln!(out, "from :{}", mark - 3).unwrap();
            }
            for (m, path) in changes {
                writeln!(out, "M 100644 :{m} {path}").unwrap();
            }
            writeln!(out).unwrap();
        }
    });
    planted
}

fn repo(commits: usize) -> (PathBuf, usize) {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-history-{commits}.git"));
    let marker = dir.with_extension("planted");
    if let Ok(n) = fs::read_to_string(&marker) {
        return (dir, n.trim().parse().unwrap());
    }
    let n = build(&dir, commits);
    fs::write(&marker, n.to_string()).unwrap();
    (dir, n)
}

fn main() {
    let quick = quick();
    let commits = size("KEYTRACE_BENCH_COMMITS", 300, 20_000);
    let (dir, planted) = repo(commits);
    let size: u64 = fs::read_dir(dir.join("objects/pack"))
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum();
    let reps = if quick { 1 } else { 2 };

    let mut floor = f64::MAX;
    for _ in 0..reps {
        let start = Instant::now();
        let ok = Command::new("git")
            .args(["cat-file", "--batch-all-objects", "--batch"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok);
        floor = floor.min(start.elapsed().as_secs_f64());
    }
    println!(
        "repository: {commits} commits, pack {} MiB; git cat-file --batch-all-objects --batch: {floor:.2} s",
        size >> 20
    );
    for threads in [1usize, 2] {
        let cli = Cli::parse_from([
            "keytrace",
            "scan",
            "--history-only",
            "--no-progress",
            "--threads",
            &threads.to_string(),
            dir.to_str().unwrap(),
        ]);
        let Sub::Scan(args) = cli.command else {
            unreachable!()
        };
        let cfg = Config::from_scan_args(&args).unwrap();
        let mut best = f64::MAX;
        for _ in 0..reps {
            let report = keytrace::scan::run(&cfg).unwrap();
            assert_eq!(report.findings.len(), planted, "history findings");
            assert!(report.errors.is_empty(), "{:?}", report.errors);
            assert_eq!(report.stats.commits, commits as u64);
            best = best.min(report.stats.seconds);
            if threads == 2 {
                println!(
                    "  {} blobs, {} MiB of blob content",
                    report.stats.blobs,
                    report.stats.bytes >> 20
                );
            }
        }
        println!(
            "keytrace history {threads} thread{}: {best:.2} s = {:.2}x the cat-file floor",
            if threads == 1 { " " } else { "s" },
            best / floor
        );
    }
    println!(
        "peak RSS of this process (keytrace's): {} MiB",
        peak_rss_mib()
    );
}

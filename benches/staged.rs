//! Commit-time speed: `keytrace scan --staged` on a repository of 100,000
//! files with three staged changes (built once under target/ with
//! `git fast-import` and `git checkout`). It must read only the staged blobs.
//!
//! `cargo bench --bench staged` (files: KEYTRACE_BENCH_FILES, default 100000).
use std::fs;
use std::path::Path;
use std::time::Instant;

use clap::Parser;
use keytrace::cli::{Cli, Command};
use keytrace::config::Config;
use keytrace::testkit::fakes::Fakes;

mod common;
use common::{fast_import, git, quick, size};

fn build(dir: &Path, files: usize) {
    fast_import(dir, false, |out| {
        writeln!(out, "commit refs/heads/main\ncommitter Bench <bench@example.org> 1700000000 +0000\ndata 4\nbase").unwrap();
        for i in 0..files {
            let text = format!("// module {i}\nfn f{i}() -> u32 {{ {i} }}\n");
            writeln!(
                out,
                "M 100644 inline src/d{:03}/f{i:06}.rs\ndata {}\n{text}",
                i / 1000,
                text.len()
            )
            .unwrap();
        }
    });
    git(dir, &["checkout", "-q", "-f", "main"]);
}

fn main() {
    let quick = quick();
    let files = size("KEYTRACE_BENCH_FILES", 2000, 100_000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-staged-{files}"));
    let marker = dir.with_extension("built");
    if !marker.exists() {
        build(&dir, files);
        fs::write(&marker, "").unwrap();
    }
    // Three staged changes, one with a secret; a fresh token each run.
    let mut f = Fakes::new(std::process::id() as u64);
    let token = f.github("ghp");
    fs::write(
        dir.join("src/d000/f000001.rs"),
        format!("const T: &str = \"{token}\";\n"),
    )
    .unwrap();
    fs::write(dir.join("src/d000/f000002.rs"), "fn changed() {}\n").unwrap();
    fs::write(dir.join("new.txt"), "a new file\n").unwrap();
    git(
        &dir,
        &[
            "add",
            "src/d000/f000001.rs",
            "src/d000/f000002.rs",
            "new.txt",
        ],
    );
    let Command::Scan(args) = Cli::parse_from([
        "keytrace",
        "scan",
        "--staged",
        "--no-progress",
        "--no-agent-discovery",
        dir.to_str().unwrap(),
    ])
    .command
    else {
        unreachable!()
    };
    let mut best = f64::MAX;
    for _ in 0..if quick { 1 } else { 5 } {
        let start = Instant::now();
        let config = Config::from_scan_args(&args).unwrap();
        let report = keytrace::scan::run(&config).unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(report.findings.len(), 1, "the staged secret");
        assert_eq!(report.stats.blobs, 3, "only the staged blobs are read");
        assert_eq!(report.stats.files, 0);
    }
    git(&dir, &["reset", "-q", "--hard", "main"]);
    let _ = fs::remove_file(dir.join("new.txt"));
    println!(
        "scan --staged, {files} files, 3 staged changes: {:.3} s",
        best
    );
}

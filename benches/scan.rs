//! Throughput of the matcher and of a whole-directory scan, in MB/s, on a
//! generated corpus of realistic source and config text with planted fake
//! credentials. Every run also checks the finding count, so a fast but wrong
//! matcher cannot look good.
//!
//! `cargo bench --bench scan` (corpus size: KEYTRACE_BENCH_MB, default 128;
//! the corpus is generated once under target/ and reused).
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use keytrace::cli::{Cli, Command};
use keytrace::config::Config;
use keytrace::matcher::Scratch;
use keytrace::testkit::fakes::Fakes;

mod common;
use common::{filler, plant, quick, size};

const EXT: [&str; 5] = ["py", "ts", "go", "yaml", "md"];

/// Writes ~`mb` MiB of files; returns the number of planted secrets.
fn generate(dir: &Path, mb: usize) -> usize {
    let mut f = Fakes::new(2024);
    let (mut planted, mut total, mut i) = (0, 0usize, 0);
    while total < mb << 20 {
        let lang = i % 5;
        let size = 20_000 + f.below(180_000);
        let mut text = String::with_capacity(size + 200);
        while text.len() < size {
            if f.below(2000) == 0 {
                text.push_str(&plant(&mut f));
                planted += 1;
            } else {
                text.push_str(&filler(&mut f, lang));
            }
            text.push('\n');
        }
        let sub = dir.join(format!("pkg{:03}", i / 50));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("file{i:05}.{}", EXT[lang])), &text).unwrap();
        total += text.len();
        i += 1;
    }
    planted
}

fn corpus(mb: usize) -> (PathBuf, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-corpus-v2-{mb}"));
    let done = dir.with_extension("planted");
    if let Ok(n) = fs::read_to_string(&done) {
        return (dir, n.trim().parse().unwrap());
    }
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let n = generate(&dir, mb);
    fs::write(&done, n.to_string()).unwrap();
    (dir, n)
}

fn config(dir: &Path, threads: usize) -> Config {
    let cli = Cli::parse_from([
        "keytrace",
        "scan",
        "--no-progress",
        "--no-history",
        "--threads",
        &threads.to_string(),
        dir.to_str().unwrap(),
    ]);
    let Command::Scan(args) = cli.command else {
        unreachable!()
    };
    Config::from_scan_args(&args).unwrap()
}

fn mbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / (1 << 20) as f64 / secs
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: then
    // only check that the bench runs, on a tiny corpus.
    let quick = quick();
    let mb = size("KEYTRACE_BENCH_MB", 4, 128);
    let reps = if quick { 1 } else { 3 };
    let (dir, planted) = corpus(mb);

    // Matcher alone, on files held in memory, one thread.
    let cfg = config(&dir, 1);
    let mut files = Vec::new();
    for e in ignore::Walk::new(&dir).flatten() {
        if e.file_type().is_some_and(|t| t.is_file()) {
            files.push(fs::read(e.path()).unwrap());
        }
    }
    let bytes: u64 = files.iter().map(|f| f.len() as u64).sum();
    let mut best = f64::MAX;
    for _ in 0..reps {
        let mut scratch = Scratch::default();
        let start = Instant::now();
        let mut found = 0;
        for data in &files {
            found += cfg.matcher.scan(data, &mut scratch).len();
        }
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(found, planted, "matcher found {found}, planted {planted}");
    }
    println!(
        "matcher        1 thread : {:8.1} MB/s  ({} MiB, {} files, {} secrets)",
        mbps(bytes, best),
        bytes >> 20,
        files.len(),
        planted
    );
    drop(files);

    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads = vec![1];
    if all > 1 {
        threads.push(all);
    }
    for t in threads {
        let cfg = config(&dir, t);
        let mut best = f64::MAX;
        for _ in 0..reps {
            let report = keytrace::scan::run(&cfg).unwrap();
            assert_eq!(report.findings.len(), planted, "scan findings");
            assert!(report.errors.is_empty(), "{:?}", report.errors);
            best = best.min(report.stats.seconds);
            assert_eq!(report.stats.bytes, bytes);
        }
        println!(
            "directory scan {t} thread{}: {:8.1} MB/s",
            if t == 1 { " " } else { "s" },
            mbps(bytes, best)
        );
    }
}

//! Memory per finding: a corpus of N distinct fake secrets (one GitHub
//! token a line, 1,000,000 by default, 20,000 to a file), scanned and
//! written as a JSON report to nowhere. Prints the time, this process's peak RSS and the
//! bytes per finding; checks that every secret is a finding.
//!
//! `cargo bench --bench findings` (size: KEYTRACE_BENCH_FINDINGS).
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use keytrace::cli::{Cli, Command};
use keytrace::config::Config;
use keytrace::report::{self, ReportOptions};
use keytrace::testkit::fakes::Fakes;

mod common;
use common::{peak_rss_mib, size};

const PER_FILE: usize = 20_000;

fn corpus(n: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-findings-{n}"));
    let done = dir.join("done");
    if done.is_file() {
        return dir;
    }
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let mut f = Fakes::new(1_000_003);
    for (k, start) in (0..n).step_by(PER_FILE).enumerate() {
        let file = dir.join(format!("tokens-{k:03}.env"));
        let mut out = std::io::BufWriter::new(fs::File::create(&file).unwrap());
        for i in start..(start + PER_FILE).min(n) {
            writeln!(out, "TOKEN_{i}={}", f.github("ghp")).unwrap();
        }
        out.flush().unwrap();
    }
    fs::write(done, "").unwrap();
    dir
}

fn main() {
    let n = size("KEYTRACE_BENCH_FINDINGS", 10_000, 1_000_000);
    let dir = corpus(n);
    let before = peak_rss_mib();
    let cli = Cli::parse_from([
        "keytrace",
        "scan",
        "--no-progress",
        "--no-history",
        "--max-findings",
        &(2 * n).to_string(),
        dir.to_str().unwrap(),
    ]);
    let Command::Scan(args) = cli.command else {
        unreachable!()
    };
    let config = Config::from_scan_args(&args).unwrap();
    let start = Instant::now();
    let report = keytrace::scan::run(&config).unwrap();
    // A few random bodies spell a placeholder word (`abcdefgh`) and are
    // rightly dropped: about 3 in a million.
    let found = report.findings.len();
    assert!(
        found <= n && found + n / 100_000 + 1 >= n,
        "{found} of {n} secrets found"
    );
    let opts = ReportOptions {
        color: false,
        threads: config.fs.threads,
        all_locations: false,
    };
    report::write(
        report::Format::Json,
        &report,
        config.matcher.rules(),
        opts,
        &mut std::io::sink(),
    )
    .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let peak = peak_rss_mib();
    println!(
        "{found} distinct secrets: scan and JSON report {secs:.2} s, peak RSS {peak} MiB ({} bytes per finding above the {before} MiB before the scan)",
        (peak.saturating_sub(before) << 20) / found.max(1) as u64
    );
}

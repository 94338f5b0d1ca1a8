//! Sweep scale: many small repositories (default 500; each 12 commits over
//! 24 files of 2-6 KB with a few planted fakes, built once with
//! `git fast-import` under target/), swept into a fresh store, then swept
//! again with nothing new. Checks the finding count and that the second
//! sweep reads no blob; prints time per repository and this process's peak
//! RSS (the repositories are built by child processes).
//!
//! `cargo bench --bench sweep` (size: KEYTRACE_BENCH_REPOS, default 500).
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use keytrace::cli::{Cli, Command as Sub};
use keytrace::testkit::fakes::Fakes;

mod common;
use common::{fast_import, peak_rss_mib, size, text};

const COMMITS: usize = 12;
const FILES: usize = 24;

/// One small repository; returns how many fakes it plants.
fn build(dir: &Path, seed: u64) -> usize {
    let mut planted = 0;
    fast_import(dir, true, |out| {
        let mut f = Fakes::new(seed);
        let mut mark = 0usize;
        for c in 0..COMMITS {
            let mut changes = Vec::new();
            // The first commit adds every file, later ones change two.
            let paths: Vec<usize> = if c == 0 {
                (0..FILES).collect()
            } else {
                let a = f.below(FILES);
                vec![a, (a + 1 + f.below(FILES - 1)) % FILES]
            };
            for p in paths {
                let lang = p % 5;
                let size = 2000 + f.below(4000);
                let (text, n) = text(&mut f, lang, size, 150);
                planted += n;
                mark += 1;
                write!(out, "blob\nmark :{mark}\ndata {}\n{text}\n", text.len()).unwrap();
                changes.push((mark, format!("src/f{p:02}.txt")));
            }
            mark += 1;
            let when = 1_650_000_000 + c * 3600;
            write!(
                out,
                "commit refs/heads/main\nmark :{mark}\nauthor Bench <bench@example.org> {when} +0000\ncommitter Bench <bench@example.org> {when} +0000\ndata 6\nchange\n"
            )
            .unwrap();
            if c > 0 {
                writeln!(out, "from :{}", mark - changes.len() - 1).unwrap();
            }
            for (m, path) in &changes {
                writeln!(out, "M 100644 :{m} {path}").unwrap();
            }
            writeln!(out).unwrap();
        }
    });
    planted
}

/// The repositories and a list naming them; built once per count.
fn org(n: usize) -> (PathBuf, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-sweep-{n}"));
    let marker = root.join("planted");
    if let Ok(p) = fs::read_to_string(&marker) {
        return (root, p.trim().parse().unwrap());
    }
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    let mut planted = 0;
    let mut list = String::new();
    for i in 0..n {
        let dir = root.join(format!("repos/r{i:04}.git"));
        planted += build(&dir, 9000 + i as u64);
        list.push_str(&format!("repos/r{i:04}.git\n"));
    }
    fs::write(root.join("repos.txt"), list).unwrap();
    fs::write(&marker, planted.to_string()).unwrap();
    (root, planted)
}

fn sweep(root: &Path, store: &Path) -> (keytrace::sweep::SweepSummary, f64) {
    let cli = Cli::parse_from([
        "keytrace",
        "sweep",
        "--no-progress",
        "--threads",
        "2",
        "--repos",
        root.join("repos.txt").to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    let Sub::Sweep(args) = cli.command else {
        unreachable!()
    };
    let config = keytrace::sweep::SweepConfig::from_args(&args).unwrap();
    let start = Instant::now();
    let mut slowest = 0f64;
    let summary = keytrace::sweep::run(
        &config,
        |_, _| {},
        |log| {
            assert!(log.error.is_none(), "{}: {:?}", log.repo, log.error);
            slowest = slowest.max(log.seconds);
        },
    )
    .unwrap();
    assert!((start.elapsed().as_secs_f64() - summary.seconds).abs() < 1.0);
    (summary, slowest)
}

fn main() {
    let n = size("KEYTRACE_BENCH_REPOS", 20, 500);
    let (root, planted) = org(n);
    let store = root.join("store.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", store.display()));
    }
    let (first, slowest) = sweep(&root, &store);
    assert_eq!(first.repositories, n);
    // The generic-assignment rule rejects about 0.06% of random values as
    // identifiers (measured in the core issue); every other fake is found.
    assert!(
        first.findings <= planted && first.findings * 1000 >= planted * 999,
        "findings of the first sweep: {} of {planted} planted",
        first.findings
    );
    assert_eq!(first.new, first.findings);
    println!(
        "first sweep: {n} repositories, {} commits, {} blobs, {} MiB: {:.2} s ({:.1} ms per repository, slowest {:.1} ms); {} findings",
        first.commits,
        first.blobs,
        first.bytes >> 20,
        first.seconds,
        first.seconds * 1000.0 / n as f64,
        slowest * 1000.0,
        first.findings
    );
    println!("  {planted} fakes planted");
    let (second, slowest) = sweep(&root, &store);
    assert_eq!(second.blobs, 0, "nothing new: nothing read");
    assert_eq!(second.commits, 0);
    println!(
        "second sweep (nothing new): {:.2} s ({:.1} ms per repository, slowest {:.1} ms)",
        second.seconds,
        second.seconds * 1000.0 / n as f64,
        slowest * 1000.0
    );
    println!(
        "store: {} KiB; peak RSS of this process: {} MiB",
        fs::metadata(&store).map_or(0, |m| m.len() >> 10),
        peak_rss_mib()
    );
}

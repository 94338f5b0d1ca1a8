//! What the agent inventory costs: a scan of a 100,000-file tree with and
//! without a 1,000-identity inventory (runs alternated, best of five), with
//! the finding and claim counts checked.
//!
//! `cargo bench --bench agents` (files: KEYTRACE_BENCH_FILES, default 100000).
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use clap::Parser;
use keytrace::cli::{Cli, Command};
use keytrace::config::Config;
use keytrace::testkit::fakes::Fakes;

mod common;
use common::{filler, quick, size};

const IDENTITIES: usize = 1000;

/// Writes the tree and the inventory; returns (planted secrets, claimed ones).
fn build(dir: &Path, files: usize) -> (usize, usize) {
    let _ = fs::remove_dir_all(dir);
    let tree = dir.join("tree");
    let mut f = Fakes::new(77);
    let mut tokens = Vec::new();
    for i in 0..files {
        let sub = tree.join(format!("d{:03}/e{:02}", i / 1000, (i / 50) % 20));
        if i % 50 == 0 {
            fs::create_dir_all(&sub).unwrap();
        }
        let mut text = String::new();
        while text.len() < 900 {
            text.push_str(&filler(&mut f, i % 5));
            text.push('\n');
        }
        if i % 40 == 0 {
            let t = f.github("ghp");
            let _ = writeln!(text, "SERVICE_{}_TOKEN={t}", tokens.len());
            tokens.push(t);
        }
        fs::write(sub.join(format!("f{i:06}.txt")), text).unwrap();
    }
    // Each identity claims one secret by fingerprint, one by env, and
    // declares a key id that matches nothing.
    let mut inv = String::from("agents:\n");
    let mut claimed = 0;
    for n in 0..IDENTITIES {
        let fp_of = |k: usize| {
            tokens
                .get(k)
                .map(|t| keytrace::base::secret::fingerprint(t.as_bytes()))
        };
        let _ = writeln!(
            inv,
            "  - agent: agent-{n}\n    owner: team-{}\n    identity_type: service_account\n    auth: static_api_key\n    review_cycle: annual\n    last_review: 2026-06-01\n    credentials:",
            n % 40
        );
        if let Some(fp) = fp_of(2 * n) {
            let _ = writeln!(inv, "      - fingerprint: \"{fp}\"");
            claimed += 1;
        }
        if 2 * n + 1 < tokens.len() {
            let _ = writeln!(inv, "      - env: SERVICE_{}_TOKEN", 2 * n + 1);
            claimed += 1;
        }
        let _ = writeln!(inv, "      - provider: aws\n        key_id: AKIAQ{:015}", n);
    }
    fs::write(dir.join("agents.yaml"), inv).unwrap();
    (tokens.len(), claimed)
}

fn config(tree: &Path, agents: Option<&Path>) -> Config {
    let mut argv = vec![
        "keytrace".to_string(),
        "scan".into(),
        "--no-progress".into(),
        "--no-history".into(),
        "--no-agent-discovery".into(),
    ];
    if let Some(a) = agents {
        argv.push("--agents".into());
        argv.push(a.display().to_string());
    }
    argv.push(tree.display().to_string());
    let Command::Scan(args) = Cli::parse_from(argv).command else {
        unreachable!()
    };
    Config::from_scan_args(&args).unwrap()
}

fn main() {
    let quick = quick();
    let files = size("KEYTRACE_BENCH_FILES", 2000, 100_000);
    let dir: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-agents-{files}"));
    let marker = dir.with_extension("planted");
    let (planted, claimed) = match fs::read_to_string(&marker) {
        Ok(s) => {
            let v: Vec<usize> = s.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (v[0], v[1])
        }
        Err(_) => {
            let r = build(&dir, files);
            fs::write(&marker, format!("{} {}", r.0, r.1)).unwrap();
            r
        }
    };
    let tree = dir.join("tree");
    let inventory = dir.join("agents.yaml");
    // Both timings include building the configuration, which loads and
    // lints the inventory.
    let (mut best_plain, mut best_with) = (f64::MAX, f64::MAX);
    for _ in 0..if quick { 1 } else { 5 } {
        let start = std::time::Instant::now();
        let r = keytrace::scan::run(&config(&tree, None)).unwrap();
        best_plain = best_plain.min(start.elapsed().as_secs_f64());
        assert_eq!(r.findings.len(), planted);
        let start = std::time::Instant::now();
        let r = keytrace::scan::run(&config(&tree, Some(&inventory))).unwrap();
        best_with = best_with.min(start.elapsed().as_secs_f64());
        assert_eq!(r.findings.len(), planted);
        assert_eq!(r.identities.len(), IDENTITIES);
        let owned = r.findings.iter().filter(|f| f.identity.is_some()).count();
        assert_eq!(owned, claimed, "claimed findings");
    }
    println!(
        "{files} files, {planted} secrets, {IDENTITIES} identities ({claimed} claims): \
         scan {best_plain:.2} s, with --agents {best_with:.2} s ({:+.1}%)",
        (best_with / best_plain - 1.0) * 100.0
    );
}

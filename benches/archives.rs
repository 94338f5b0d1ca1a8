//! Archives: MB/s of archive content (a `.tar.gz` and a `.zip` of
//! generated source and config text with planted fake credentials, built
//! here), against the same text as plain files; and peak memory. First, a
//! zip bomb (a few hundred KB declaring 16 GiB): how long until it stops,
//! and the peak memory of that scan alone (at most 200 MiB, asserted). Every run
//! checks the finding count. The cost of archive detection on a tree
//! without archives is the `scan` bench's (`--no-archives` there changes
//! nothing else).
//!
//! `cargo bench --bench archives` (content size: KEYTRACE_BENCH_MB,
//! default 64; quick mode under `cargo test --benches`: 2).
use std::io::Write;
use std::path::Path;

use clap::Parser;
use keytrace::cli::{Cli, Command};
use keytrace::config::Config;
use keytrace::testkit::fakes::Fakes;

mod common;
use common::{peak_rss_mib, quick, reset_peak_rss, size, text};

const EXT: [&str; 5] = ["py", "ts", "go", "yaml", "md"];

/// ~`mb` MiB of files in memory: (path, text), and the secrets planted.
fn files(mb: usize) -> (Vec<(String, String)>, usize) {
    let mut f = Fakes::new(77);
    let (mut out, mut planted, mut total) = (Vec::new(), 0, 0usize);
    let mut i = 0;
    while total < mb << 20 {
        let lang = i % 5;
        let size = 20_000 + f.below(180_000);
        let (t, n) = text(&mut f, lang, size, 2000);
        planted += n;
        total += t.len();
        out.push((format!("pkg{:03}/file{i:05}.{}", i / 50, EXT[lang]), t));
        i += 1;
    }
    (out, planted)
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

/// A zip of `members`, deflated.
fn zip_of(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        z.start_file(name.as_str(), opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// Scans a zip bomb: 64 zips of 16 gzip'd 16 MiB runs of zeros.
fn bomb() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 16 << 20]).unwrap();
    let run = gz.finish().unwrap();
    let level = zip_of(
        &(0..16)
            .map(|i| (format!("z{i}.gz"), run.clone()))
            .collect::<Vec<_>>(),
    );
    let bomb = zip_of(
        &(0..64)
            .map(|i| (format!("l{i}.zip"), level.clone()))
            .collect::<Vec<_>>(),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bomb.zip"), &bomb).unwrap();
    let cfg = config(dir.path(), 1);
    let before = peak_rss_mib();
    let reset = reset_peak_rss();
    let report = keytrace::scan::run(&cfg).unwrap();
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.message.contains("expansion stopped")),
        "{:?}",
        report.errors
    );
    let peak = peak_rss_mib();
    println!(
        "zip bomb: {} KiB declaring 16 GiB, stopped after {:.2} s; peak RSS {} MiB{}",
        bomb.len() >> 10,
        report.stats.seconds,
        peak,
        if reset {
            format!(" (the process held {before} MiB before)")
        } else {
            " (the process's peak so far: it could not be reset)".into()
        }
    );
    assert!(peak < 200, "a bomb's scan peaked at {peak} MiB");
}

fn main() {
    bomb();
    let quick = quick();
    let mb = size("KEYTRACE_BENCH_MB", 2, 64);
    let reps = if quick { 1 } else { 3 };
    let (files, planted) = files(mb);
    let bytes: u64 = files.iter().map(|(_, t)| t.len() as u64).sum();
    let root = tempfile::tempdir().unwrap();
    let plain = root.path().join("plain");
    let targz = root.path().join("targz");
    let zipped = root.path().join("zip");
    for d in [&plain, &targz, &zipped] {
        std::fs::create_dir_all(d).unwrap();
    }
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(targz.join("tree.tar.gz")).unwrap(),
        flate2::Compression::default(),
    ));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(zipped.join("tree.zip")).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, t) in &files {
        let p = plain.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, t).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(t.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, path, t.as_bytes()).unwrap();
        zip.start_file(path.as_str(), opts).unwrap();
        zip.write_all(t.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    zip.finish().unwrap();
    let size_of = |d: &Path| -> u64 {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    };
    println!(
        "{} MiB of text in {} files, {planted} secrets; tree.tar.gz {} KiB, tree.zip {} KiB",
        bytes >> 20,
        files.len(),
        size_of(&targz) >> 10,
        size_of(&zipped) >> 10
    );
    drop(files);
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (name, dir) in [
        ("plain files", &plain),
        ("tar.gz", &targz),
        ("zip", &zipped),
    ] {
        for t in [1, all] {
            let cfg = config(dir, t);
            let mut best = f64::MAX;
            for _ in 0..reps {
                let report = keytrace::scan::run(&cfg).unwrap();
                assert_eq!(report.findings.len(), planted, "{name}: findings");
                assert!(report.errors.is_empty(), "{:?}", report.errors);
                assert_eq!(report.stats.bytes, bytes, "{name}: bytes scanned");
                best = best.min(report.stats.seconds);
            }
            println!(
                "{name:<12} {t} thread{}: {:8.1} MB/s of content",
                if t == 1 { " " } else { "s" },
                bytes as f64 / (1 << 20) as f64 / best
            );
            if all == 1 {
                break;
            }
        }
    }
    println!("peak RSS {} MiB", peak_rss_mib());
}

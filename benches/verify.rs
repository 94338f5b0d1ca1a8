//! Live verification throughput: N findings (1,000 by default; 100 under
//! `cargo test --benches`) of distinct fake GitHub tokens, verified against
//! a local HTTPS mock standing in for api.github.com (the tests' mock: a CA
//! made here, the test-only resolver), half live and half dead. Each
//! request is a new TLS connection (the mock closes it). Prints requests
//! per second and this process's peak RSS for two per-host caps, and checks
//! every verdict.
//!
//! `cargo bench --bench verify` (size: KEYTRACE_BENCH_VERIFY).
use std::io::Write;
use std::time::{Duration, Instant};

use clap::Parser;
use keytrace::cli::{Cli, Command};
use keytrace::config::Config;
use keytrace::net::{Client, NetOptions};
use keytrace::testkit::fakes::Fakes;
use keytrace::verify::{self, VerifyOptions};

mod common;
// The tests' mock; the bench uses only part of it.
#[allow(dead_code)]
#[path = "../tests/integration/mock_https.rs"]
mod mock_https;
use common::{peak_rss_mib, size};
use mock_https::{Answer, Mock};

fn main() {
    let n = size("KEYTRACE_BENCH_VERIFY", 100, 1_000);
    let dir = tempfile::tempdir().unwrap();
    let mut fakes = Fakes::new(4_242);
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(dir.path().join("tokens.env")).unwrap());
    for i in 0..n {
        writeln!(out, "TOKEN_{i}={}", fakes.github("ghp")).unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let cli = Cli::parse_from([
        "keytrace",
        "scan",
        "--no-progress",
        "--no-history",
        dir.path().to_str().unwrap(),
    ]);
    let Command::Scan(args) = cli.command else {
        unreachable!()
    };
    let config = Config::from_scan_args(&args).unwrap();
    let findings = keytrace::scan::run(&config).unwrap().findings;
    assert_eq!(findings.len(), n);
    // Live when the token's last character is a digit or upper case: about half.
    let mock = Mock::start(&["api.github.com"], |hit| {
        let auth = hit.header("authorization").unwrap_or_default();
        if auth.ends_with(|c: char| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            Answer::new(200, r#"{"login":"bench-bot","id":1,"type":"Bot"}"#)
                .header("x-oauth-scopes", "repo")
        } else {
            Answer::new(401, r#"{"message":"Bad credentials"}"#)
        }
    });
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &mock.ca_pem).unwrap();
    let before = peak_rss_mib();
    for per_host in [4, 16] {
        let opts = VerifyOptions {
            net: NetOptions {
                ca_file: Some(ca.clone()),
                ..NetOptions::default()
            },
            per_host,
            threads: per_host,
            // Throughput, not pacing: no per-host rate.
            rate: 0.0,
            budget: Duration::from_secs(600),
            ..VerifyOptions::default()
        };
        let client =
            Client::with_fixed_hosts(&opts.net, vec![("api.github.com".into(), mock.addr)])
                .unwrap();
        let mut f = findings.clone();
        let start = Instant::now();
        let tally = verify::run(&mut f, config.matcher.rules(), &opts, &client);
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(tally.live + tally.dead, n, "{tally:?}");
        assert!(tally.live > n / 4 && tally.dead > n / 4, "{tally:?}");
        println!(
            "{n} findings verified, per-host cap {per_host}: {secs:.2} s, {:.0} requests/s ({} live, {} dead); peak RSS {} MiB ({before} MiB before)",
            tally.requests as f64 / secs,
            tally.live,
            tally.dead,
            peak_rss_mib()
        );
    }
}

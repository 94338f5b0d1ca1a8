//! `keytrace sweep --verify`: checks stored with their time, made again
//! only past `--reverify-after` (reading the secret again from its blob,
//! since the store keeps none), and live counts per owner in the report.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use keytrace::net::{Client, NetOptions};
use keytrace::rules::verify::State;
use keytrace::sweep::store::Store;
use keytrace::testkit::fakes::Fakes;

use super::history::{commit, git};
use super::mock_https::{Answer, Mock};
use super::write;

const GITHUB: &str = "api.github.com";
const DATE: &str = "2025-03-01T10:00:00Z";

fn config(
    dir: &std::path::Path,
    store: &std::path::Path,
    mock: &Mock,
) -> keytrace::sweep::SweepConfig {
    let cli = keytrace::cli::Cli::parse_from([
        "keytrace",
        "sweep",
        "--repos-dir",
        dir.join("repos").to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--verify",
        "--no-progress",
    ]);
    let keytrace::cli::Command::Sweep(args) = cli.command else {
        unreachable!()
    };
    let mut config = keytrace::sweep::SweepConfig::from_args(&args).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &mock.ca_pem).unwrap();
    let net = NetOptions {
        ca_file: Some(ca),
        request_timeout: Duration::from_secs(5),
        ..NetOptions::default()
    };
    let live = config.live.as_mut().expect("--verify");
    live.client = Client::with_fixed_hosts(&net, vec![(GITHUB.to_string(), mock.addr)]).unwrap();
    live.options.rate = 0.0;
    config
}

fn state(store: &std::path::Path, token: &str) -> (State, String) {
    let fp = keytrace::base::secret::fingerprint(token.as_bytes());
    let contents = Store::open_read(store).unwrap().contents().unwrap();
    let f = contents
        .findings
        .iter()
        .find(|f| f.finding.fingerprint == fp)
        .expect("stored");
    let v = f.finding.verification.as_ref().expect("checked");
    (v.state, v.checked_at.clone())
}

#[test]
fn sweeps_store_checks_and_make_them_again_only_when_old() {
    let mut fakes = Fakes::new(0x5eed);
    let (a, b, c) = (
        fakes.github("ghp"),
        fakes.github("ghp"),
        fakes.github("ghp"),
    );
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repos/app");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], DATE);
    write(&repo, "deploy.env", format!("GITHUB_TOKEN={a}\n"));
    write(&repo, "ci.env", format!("CI_TOKEN={b}\n"));
    commit(&repo, "first", DATE);
    // The second token leaves HEAD: only history holds it.
    std::fs::remove_file(repo.join("ci.env")).unwrap();
    commit(&repo, "drop ci", DATE);
    std::fs::write(
        dir.path().join("repos/agents.yaml"),
        "agent: deployer\nowner: platform\ncredentials:\n  - env: GITHUB_TOKEN\n",
    )
    .unwrap();

    // `a` is live until the provider is told to revoke it.
    let revoked = Arc::new(AtomicBool::new(false));
    let (a2, r2) = (a.clone(), revoked.clone());
    let mock = Mock::start(&[GITHUB], move |hit| {
        let auth = hit.header("authorization").unwrap_or_default();
        if auth.ends_with(a2.as_str()) && !r2.load(Ordering::SeqCst) {
            Answer::new(200, r#"{"login":"deploy-bot","id":7,"type":"Bot"}"#)
        } else {
            Answer::new(401, r#"{"message":"Bad credentials"}"#)
        }
    });
    let store = dir.path().join("sweep.db");

    // First sweep: both checked.
    let cfg = config(dir.path(), &store, &mock);
    let s = keytrace::sweep::run(&cfg, |_, _| {}, |_| {}).unwrap();
    let t = s.verified.clone().unwrap();
    assert_eq!((t.live, t.dead, t.requests), (1, 1, 2), "{t:?}");
    let (sa, first_check) = state(&store, &a);
    assert_eq!(sa, State::Live);
    assert_eq!(state(&store, &b).0, State::Dead);

    // Second sweep, nothing new and checks younger than 7 days: no request.
    let s = keytrace::sweep::run(&cfg, |_, _| {}, |_| {}).unwrap();
    assert_eq!(s.verified.unwrap().requests, 0);
    assert_eq!(mock.hits().len(), 2);
    assert_eq!(state(&store, &a), (State::Live, first_check.clone()));

    // The key is revoked; `--reverify-after 0` checks every stored finding
    // again, reading each secret back from its blob (`b` from history).
    revoked.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1100)); // a later checked_at
    let mut cfg = config(dir.path(), &store, &mock);
    cfg.live.as_mut().unwrap().reverify_after = Duration::ZERO;
    let s = keytrace::sweep::run(&cfg, |_, _| {}, |_| {}).unwrap();
    assert_eq!(s.verified.unwrap().requests, 2);
    let (sa, again) = state(&store, &a);
    assert_eq!(sa, State::Dead);
    assert!(again > first_check, "{again} after {first_check}");

    // A new commit: `b` again in a new blob (its recent check is reused)
    // and a new token `c` (checked).
    write(
        &repo,
        "ci.env",
        format!("# back\nCI_TOKEN={b}\nOTHER={c}\n"),
    );
    commit(&repo, "again", DATE);
    let cfg = config(dir.path(), &store, &mock);
    let s = keytrace::sweep::run(&cfg, |_, _| {}, |_| {}).unwrap();
    assert_eq!(s.verified.unwrap().requests, 1, "only c");
    assert_eq!(state(&store, &c).0, State::Dead);
    assert_eq!(mock.hits().len(), 5);

    // The store holds no secret.
    let bytes = std::fs::read(&store).unwrap();
    for t in [&a, &b, &c] {
        assert!(
            !bytes.windows(t.len()).any(|w| w == t.as_bytes()),
            "a secret in the store"
        );
    }
}

#[test]
fn reports_count_live_credentials_per_owner() {
    let mut fakes = Fakes::new(0x11fe);
    let (owned, loose) = (fakes.github("ghp"), fakes.github("ghp"));
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repos/svc");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], DATE);
    write(&repo, "deploy.env", format!("GITHUB_TOKEN={owned}\n"));
    write(&repo, "misc.env", format!("SOME_TOKEN={loose}\n"));
    commit(&repo, "first", DATE);
    let mock = Mock::start(&[GITHUB], |_| {
        Answer::new(200, r#"{"login":"bot","id":7,"type":"Bot"}"#)
    });
    let store = dir.path().join("sweep.db");
    let cfg = config(dir.path(), &store, &mock);
    keytrace::sweep::run(&cfg, |_, _| {}, |_| {}).unwrap();
    let agents = dir.path().join("agents.yaml");
    std::fs::write(
        &agents,
        "agent: deployer\nowner: platform\ncredentials:\n  - env: GITHUB_TOKEN\n",
    )
    .unwrap();
    let out = dir.path().join("report.json");
    let html = dir.path().join("report.html");
    for (format, file) in [("json", &out), ("html", &html)] {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_keytrace"))
            .args(["report", "--store"])
            .arg(&store)
            .arg("--agents")
            .arg(&agents)
            .args(["--format", format, "-o"])
            .arg(file)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(r["totals"]["verified"], 2);
    assert_eq!(r["totals"]["live"], 2);
    let owners = r["owners"].as_array().unwrap();
    let live_of = |o: Option<&str>| {
        owners
            .iter()
            .find(|x| x["owner"].as_str() == o)
            .map(|x| x["live"].as_u64().unwrap())
    };
    assert_eq!(live_of(Some("platform")), Some(1));
    assert_eq!(live_of(None), Some(1));
    let f = r["findings"].as_array().unwrap();
    assert!(f.iter().all(|f| f["verification"]["state"] == "live"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Live at last check"));
    assert!(page.contains("<th class=\"num\">Live</th>"));
}

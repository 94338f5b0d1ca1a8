//! Org-wide sweeps: many repositories built at test time with the git CLI,
//! swept into SQLite stores, swept again incrementally, sharded and merged,
//! with failures along the way. Everything is checked through the store
//! itself and through `keytrace report`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keytrace::testkit::fakes::Fakes;
use serde_json::Value;

use crate::history::{commit, git};
use crate::{run, write};

const DATE: &str = "2025-03-01T10:00:00Z";

/// An organisation of repositories below one directory.
struct Org {
    dir: tempfile::TempDir,
    /// (repo name, secret) for every secret planted, in any commit.
    secrets: Vec<(String, String)>,
}

impl Org {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn list(&self) -> PathBuf {
        self.dir.path().join("repos.txt")
    }
    fn store(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn name(i: usize) -> String {
    format!("r{i:02}")
}

/// `n` repositories, each with its own secret of one of three kinds in
/// `.env`, and plain code. Every fifth repository deletes its secret again in
/// a second commit (gone from HEAD, still in history); every seventh also
/// holds the secret of r00 (one finding, two repositories).
fn org(n: usize) -> Org {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(41);
    let shared = f.github("ghp");
    let mut secrets = vec![(name(0), shared.clone())];
    let mut list = String::from("# the organisation's repositories\n");
    for i in 0..n {
        let repo = dir.path().join(name(i));
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"], DATE);
        let secret = match i {
            0 => shared.clone(),
            _ => match i % 3 {
                0 => f.github("ghp"),
                1 => f.stripe("sk"),
                _ => f.slack_bot(),
            },
        };
        if i > 0 {
            secrets.push((name(i), secret.clone()));
        }
        write(
            &repo,
            ".env",
            format!("# service {i}\nAPI_TOKEN={secret}\n"),
        );
        write(
            &repo,
            "src/app.py",
            format!("import os\n\nTOKEN = os.environ['API_TOKEN']  # repo {i}\n"),
        );
        if i % 7 == 0 && i > 0 {
            write(&repo, "ci/shared.env", format!("SHARED_TOKEN={shared}\n"));
            secrets.push((name(i), shared.clone()));
        }
        commit(&repo, "first", DATE);
        if i % 5 == 4 {
            std::fs::remove_file(repo.join(".env")).unwrap();
            commit(&repo, "remove the token", "2025-03-02T10:00:00Z");
        }
        list.push_str(&format!("{}\n", name(i)));
    }
    std::fs::write(dir.path().join("repos.txt"), list).unwrap();
    Org { dir, secrets }
}

/// `keytrace sweep`: (summary, log line per repository by name).
fn sweep(args: &[&str]) -> (Value, BTreeMap<String, Value>) {
    let mut all = vec!["sweep", "--no-progress", "-j", "2"];
    all.extend_from_slice(args);
    let r = run(&all, None);
    assert_eq!(r.code, 0, "sweep {args:?}: {}\n{}", r.stderr, r.stdout);
    let summary: Value = serde_json::from_str(r.stdout.trim()).expect("summary JSON");
    let logs = r
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("log line JSON");
            (v["repo"].as_str().unwrap().to_string(), v)
        })
        .collect();
    (summary, logs)
}

fn report(args: &[&str]) -> Value {
    let mut all = vec!["report", "--format", "json"];
    all.extend_from_slice(args);
    let r = run(&all, None);
    assert_eq!(r.code, 0, "report {args:?}: {}", r.stderr);
    serde_json::from_str(&r.stdout).expect("report JSON")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The findings of a report without what depends on when sweeps ran.
fn timeless(v: &Value) -> Vec<Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut f = f.clone();
            let sweep = f["sweep"].as_object_mut().unwrap();
            sweep.remove("first_seen");
            sweep.remove("last_seen");
            f
        })
        .collect()
}

/// (repo, fingerprint) of every location.
fn places(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in v["findings"].as_array().unwrap() {
        for l in f["locations"].as_array().unwrap() {
            out.push((
                l["repo"].as_str().unwrap().to_string(),
                f["fingerprint"].as_str().unwrap().to_string(),
            ));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn expected_places(org: &Org) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = org
        .secrets
        .iter()
        .map(|(r, s)| (r.clone(), keytrace::base::secret::fingerprint(s.as_bytes())))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Blob objects in a repository, as git counts them.
fn git_blobs(repo: &Path) -> i64 {
    let out = git(
        repo,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objecttype)",
        ],
        DATE,
    );
    out.lines().filter(|l| *l == "blob").count() as i64
}

fn db(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

fn blobs_in_store(conn: &rusqlite::Connection, repo: &str) -> i64 {
    conn.query_row(
        "SELECT COUNT(*) FROM blobs b JOIN repos r ON r.id = b.repo WHERE r.name = ?1",
        [repo],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn incremental_sweeps_scan_only_what_is_new() {
    let org = org(30);
    let store = org.store("sweep.db");
    let list = org.list();
    let args = ["--repos", s(&list), "--store", s(&store)];

    // First sweep: every repository, every blob.
    let (first, logs) = sweep(&args);
    assert_eq!(first["repositories"], 30);
    assert_eq!(first["failed"], 0);
    assert_eq!(logs.len(), 30);
    let r1 = report(&["--store", s(&store)]);
    assert_eq!(places(&r1), expected_places(&org));
    // The shared secret is one finding with locations in r00, r07, r14, ...
    let shared = keytrace::base::secret::fingerprint(org.secrets[0].1.as_bytes());
    let f = r1["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fingerprint"] == shared.as_str())
        .unwrap();
    let repos: Vec<&str> = f["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["repo"].as_str().unwrap())
        .collect();
    assert_eq!(repos, ["r00", "r07", "r14", "r21", "r28"]);
    // Deleted in a later commit: still reported, no longer at HEAD.
    for fnd in r1["findings"].as_array().unwrap() {
        let in_removed = fnd["locations"].as_array().unwrap().iter().all(|l| {
            let i: usize = l["repo"].as_str().unwrap()[1..].parse().unwrap();
            i % 5 == 4 && l["path"] == ".env"
        });
        assert_eq!(fnd["at_head"], !in_removed, "{fnd}");
        assert_eq!(
            fnd["sweep"]["new"], false,
            "nothing is new on a first sweep"
        );
    }
    assert_eq!(r1["totals"]["findings"], 30);
    let conn = db(&store);
    for i in 0..30 {
        let repo = org.path(&name(i));
        assert_eq!(
            blobs_in_store(&conn, &name(i)),
            git_blobs(&repo),
            "{}: every blob scanned once and recorded",
            name(i)
        );
        assert_eq!(logs[&name(i)]["blobs"].as_i64().unwrap(), git_blobs(&repo));
    }
    drop(conn);

    // Second sweep, nothing changed: nothing walked, nothing read.
    let (second, logs) = sweep(&args);
    assert_eq!(second["blobs"], 0);
    assert_eq!(second["commits"], 0);
    assert!(logs
        .values()
        .all(|l| l["blobs"] == 0 && l["error"].is_null()));
    let r2 = report(&["--store", s(&store)]);
    assert_eq!(places(&r2), places(&r1));
    let conn = db(&store);
    let stale: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM findings WHERE last_sweep != 2 OR first_sweep != 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stale, 0, "every finding seen again by sweep 2");
    let seen_by: i64 = conn
        .query_row("SELECT COUNT(*) FROM finding_sweeps", [], |r| r.get(0))
        .unwrap();
    let findings: i64 = conn
        .query_row("SELECT COUNT(*) FROM findings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(seen_by, 2 * findings, "each finding has both sweeps");
    for f in r2["findings"].as_array().unwrap() {
        assert_eq!(f["sweep"]["sweeps"], 2);
        assert!(f["sweep"]["last_seen"].as_str() >= f["sweep"]["first_seen"].as_str());
    }
    drop(conn);

    // New commits in three repositories: only their new blobs are read.
    let mut fakes = Fakes::new(7);
    let fresh = fakes.stripe("sk");
    let r03 = org.path("r03");
    write(&r03, "deploy/prod.env", format!("STRIPE_KEY={fresh}\n"));
    commit(&r03, "deploy settings", "2025-04-01T10:00:00Z");
    let r10 = org.path("r10");
    write(&r10, "src/app.py", "import os\nprint('changed')\n");
    commit(&r10, "change", "2025-04-01T10:00:00Z");
    let r20 = org.path("r20");
    // A copy of a file already scanned is the same blob: not read again.
    std::fs::copy(r20.join(".env"), r20.join("copy.env")).unwrap();
    write(&r20, "docs/notes.md", "# notes\n");
    commit(&r20, "notes", "2025-04-01T10:00:00Z");
    let (third, logs) = sweep(&args);
    let read: BTreeMap<&str, i64> = logs
        .iter()
        .filter(|(_, l)| l["blobs"] != 0)
        .map(|(n, l)| (n.as_str(), l["blobs"].as_i64().unwrap()))
        .collect();
    assert_eq!(read, BTreeMap::from([("r03", 1), ("r10", 1), ("r20", 1)]));
    assert_eq!(third["blobs"], 3);
    assert_eq!(third["new"], 1);
    let r3 = report(&["--store", s(&store)]);
    let conn = db(&store);
    for r in ["r03", "r10", "r20"] {
        assert_eq!(blobs_in_store(&conn, r), git_blobs(&org.path(r)));
    }
    let new: Vec<&Value> = r3["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["sweep"]["new"] == true)
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(r3["totals"]["new"], 1);
    assert_eq!(
        new[0]["fingerprint"],
        keytrace::base::secret::fingerprint(fresh.as_bytes()).as_str()
    );
    assert_eq!(new[0]["locations"][0]["path"], "deploy/prod.env");
    assert_eq!(new[0]["locations"][0]["date"], "2025-04-01T10:00:00Z");
}

#[test]
fn four_shards_merge_into_the_unsharded_report() {
    let org = org(16);
    let list = org.list();
    let whole = org.store("whole.db");
    sweep(&["--repos", s(&list), "--store", s(&whole)]);
    let mut shard_args = Vec::new();
    let mut taken = 0;
    for k in 0..4 {
        let store = org.store(&format!("shard{k}.db"));
        let shard = format!("{k}/4");
        let (summary, _) = sweep(&["--repos", s(&list), "--store", s(&store), "--shard", &shard]);
        taken += summary["repositories"].as_u64().unwrap();
        shard_args.push(store);
    }
    assert_eq!(taken, 16, "each repository in exactly one shard");
    let unsharded = report(&["--store", s(&whole)]);
    let mut args = Vec::new();
    for st in &shard_args {
        args.extend(["--store", s(st)]);
    }
    let merged = report(&args);
    assert_eq!(timeless(&merged), timeless(&unsharded));
    assert_eq!(merged["totals"], unsharded["totals"]);
    assert_eq!(merged["owners"], unsharded["owners"]);
    assert_eq!(merged["risk_matrix"], unsharded["risk_matrix"]);
    assert_eq!(merged["age_histogram"], unsharded["age_histogram"]);
    assert_eq!(places(&merged), expected_places(&org));

    // The JSONL a store exports merges the same way.
    let mut inputs = Vec::new();
    for (k, st) in shard_args.iter().enumerate() {
        let out = org.store(&format!("shard{k}.jsonl"));
        let r = run(
            &[
                "report",
                "--store",
                s(st),
                "--format",
                "jsonl",
                "-o",
                s(&out),
            ],
            None,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        inputs.push(out);
    }
    let mut args = Vec::new();
    for i in &inputs {
        args.extend(["--input", s(i)]);
    }
    let from_jsonl = report(&args);
    assert_eq!(timeless(&from_jsonl), timeless(&unsharded));
    assert_eq!(from_jsonl["repositories"], merged["repositories"]);
}

#[test]
fn failures_are_recorded_and_the_sweep_goes_on() {
    let org = org(3);
    let cache = org.dir.path().join("cache");
    // A corrupt repository: its objects are gone.
    let corrupt = org.path("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    git(&corrupt, &["init", "-q", "-b", "main"], DATE);
    write(&corrupt, "a.txt", "hello\n");
    commit(&corrupt, "one", DATE);
    let objects = corrupt.join(".git/objects");
    for e in std::fs::read_dir(&objects).unwrap().flatten() {
        let n = e.file_name();
        if n.len() == 2 {
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
    let missing = format!("file://{}/nowhere/missing.git", org.dir.path().display());
    let list = org.dir.path().join("faulty.txt");
    std::fs::write(&list, format!("r00\n{missing}\ncorrupt\nr01\nr02\n")).unwrap();
    let store = org.store("faulty.db");
    let args = [
        "--repos",
        s(&list),
        "--store",
        s(&store),
        "--cache",
        s(&cache),
    ];
    let (first, logs) = sweep(&args);
    assert_eq!(first["repositories"], 5);
    assert_eq!(first["failed"], 2, "{logs:?}");
    let why = logs["corrupt"]["error"].as_str().unwrap();
    assert!(
        why.contains("refs/heads/main") && why.contains("peeled"),
        "{why}"
    );
    let missing_name = logs
        .keys()
        .find(|k| k.ends_with("nowhere/missing"))
        .expect("the clone failure has a log line")
        .clone();
    assert!(logs[&missing_name]["error"]
        .as_str()
        .unwrap()
        .contains("cannot clone"));
    for r in ["r00", "r01", "r02"] {
        assert!(logs[r]["error"].is_null());
    }

    // A repository deleted between sweeps.
    std::fs::remove_dir_all(org.path("r01")).unwrap();
    let (second, logs) = sweep(&args);
    assert_eq!(second["failed"], 3);
    assert!(logs["r01"]["error"]
        .as_str()
        .unwrap()
        .contains("no such repository"));
    assert!(logs["r00"]["error"].is_null() && logs["r02"]["error"].is_null());
    let rep = report(&["--store", s(&store)]);
    assert_eq!(rep["totals"]["failed"], 3);
    let failed: Vec<&str> = rep["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["error"].is_null())
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed.len(), 3);
    assert!(failed.contains(&"r01") && failed.contains(&"corrupt"));
    // r01's finding is kept, as last seen by the first sweep.
    let conn = db(&store);
    let (last, count): (i64, i64) = conn
        .query_row(
            "SELECT MAX(f.last_sweep), COUNT(*) FROM findings f JOIN repos r ON r.id = f.repo
             WHERE r.name = 'r01'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((last, count), (1, 1));
    assert!(places(&rep).iter().any(|(r, _)| r == "r01"));
}

#[test]
fn remote_repositories_are_cloned_then_fetched() {
    let org = org(1);
    let origin = org.path("r00");
    let cache = org.dir.path().join("cache");
    let list = org.dir.path().join("remote.txt");
    std::fs::write(&list, format!("file://{}\n", origin.display())).unwrap();
    let store = org.store("remote.db");
    let args = [
        "--repos",
        s(&list),
        "--store",
        s(&store),
        "--cache",
        s(&cache),
    ];
    let (first, logs) = sweep(&args);
    assert_eq!(first["failed"], 0, "{logs:?}");
    let clones: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().collect();
    assert_eq!(clones.len(), 1, "one bare clone in the cache");
    assert!(clones[0].path().join("HEAD").is_file());
    let mut f = Fakes::new(99);
    let later = f.slack_bot();
    write(&origin, "later.env", format!("SLACK_BOT_TOKEN={later}\n"));
    commit(&origin, "later", "2025-05-01T10:00:00Z");
    let (second, _) = sweep(&args);
    assert_eq!(second["blobs"], 1, "only the pushed blob is read");
    assert_eq!(second["new"], 1);
    let rep = report(&["--store", s(&store)]);
    let fp = keytrace::base::secret::fingerprint(later.as_bytes());
    assert!(rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["fingerprint"] == fp.as_str() && x["sweep"]["new"] == true));
}

#[test]
fn a_deleted_branch_leaves_its_findings_out_of_history() {
    let org = org(1);
    let repo = org.path("r00");
    let mut f = Fakes::new(5);
    let only_here = f.stripe("sk");
    git(&repo, &["checkout", "-q", "-b", "spike"], DATE);
    write(&repo, "spike.env", format!("STRIPE_KEY={only_here}\n"));
    commit(&repo, "spike", DATE);
    git(&repo, &["checkout", "-q", "main"], DATE);
    let store = org.store("b.db");
    let list = org.list();
    let args = ["--repos", s(&list), "--store", s(&store)];
    sweep(&args);
    git(&repo, &["branch", "-q", "-D", "spike"], DATE);
    git(&repo, &["reflog", "expire", "--expire=now", "--all"], DATE);
    git(&repo, &["gc", "-q", "--prune=now"], DATE);
    let (second, _) = sweep(&args);
    assert_eq!(second["blobs"], 0, "a rewrite rereads no known blob");
    let rep = report(&["--store", s(&store)]);
    let fp = keytrace::base::secret::fingerprint(only_here.as_bytes());
    let gone = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["fingerprint"] == fp.as_str())
        .expect("kept in the store");
    assert_eq!(gone["sweep"]["in_history"], false);
    assert_eq!(gone["at_head"], false);
    let kept = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["fingerprint"] != fp.as_str())
        .unwrap();
    assert_eq!(kept["sweep"]["in_history"], true);
    assert_eq!(kept["sweep"]["sweeps"], 2);
}

#[test]
fn stores_hold_no_secret_unless_asked() {
    let org = org(3);
    let store = org.store("quiet.db");
    sweep(&["--repos", s(&org.list()), "--store", s(&store)]);
    let loud = org.store("loud.db");
    sweep(&[
        "--repos",
        s(&org.list()),
        "--store",
        s(&loud),
        "--show-secrets",
    ]);
    let bytes_of = |p: &Path| {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let f = PathBuf::from(format!("{}{suffix}", p.display()));
            if let Ok(b) = std::fs::read(&f) {
                all.extend(b);
            }
        }
        all
    };
    let quiet = bytes_of(&store);
    let noisy = bytes_of(&loud);
    for (_, secret) in &org.secrets {
        let needle = secret.as_bytes();
        assert!(
            !quiet.windows(needle.len()).any(|w| w == needle),
            "a secret is in the store without --show-secrets"
        );
        assert!(noisy.windows(needle.len()).any(|w| w == needle));
    }
    for fmt in ["json", "jsonl", "human"] {
        let r = run(&["report", "--store", s(&loud), "--format", fmt], None);
        assert_eq!(r.code, 0, "{}", r.stderr);
        for (_, secret) in &org.secrets {
            assert!(
                !r.stdout.contains(secret.as_str()),
                "{fmt} leaks without --show-secrets"
            );
        }
    }
    let r = run(
        &[
            "report",
            "--store",
            s(&loud),
            "--format",
            "json",
            "--show-secrets",
        ],
        None,
    );
    assert!(r.stdout.contains(org.secrets[1].1.as_str()));
}

#[test]
fn reports_roll_up_per_owner_and_render_as_one_page() {
    let org = org(6);
    let store = org.store("owners.db");
    let list = org.list();
    sweep(&["--repos", s(&list), "--store", s(&store)]);
    let fp = |i: usize| keytrace::base::secret::fingerprint(org.secrets[i].1.as_bytes());
    let inventory = org.dir.path().join("agents.yaml");
    std::fs::write(
        &inventory,
        format!(
            "agent: deploy-bot\nowner: platform\nidentity_type: bot\nauth: static_api_key\n\
             audit_log: required\nreview_cycle: annual\nlast_review: 2026-11-01\n\
             credentials:\n  - fingerprint: \"{}\"\n\
             ---\n\
             agent: billing-sync\nowner: payments\nidentity_type: service_account\n\
             auth: static_api_key\naudit_log: required\nreview_cycle: annual\n\
             last_review: 2026-11-01\ncredentials:\n  - fingerprint: \"{}\"\n",
            fp(1),
            fp(2)
        ),
    )
    .unwrap();
    let rep = report(&["--store", s(&store), "--agents", s(&inventory)]);
    let owners: Vec<(Value, u64)> = rep["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["owner"].clone(), o["findings"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        owners,
        [
            (Value::from("payments"), 1),
            (Value::from("platform"), 1),
            (Value::Null, 4)
        ]
    );
    assert_eq!(rep["totals"]["unowned"], 4);
    let m = &rep["risk_matrix"];
    assert_eq!(m["risks"].as_array().unwrap().len(), 10);
    assert_eq!(m["owners"].as_array().unwrap().len(), 3);
    // Every finding leaks (NHI2); the unowned ones are also NHI1.
    assert_eq!(m["counts"][1], serde_json::json!([1, 1, 4]));
    assert_eq!(m["counts"][0][2], 4);
    let claimed = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fingerprint"] == fp(1).as_str())
        .unwrap();
    assert_eq!(claimed["identity"], "deploy-bot");
    assert_eq!(claimed["owner"], "platform");
    let ages: u64 = rep["age_histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(ages, 6, "every finding has an age");

    let page = org.dir.path().join("report.html");
    let r = run(
        &[
            "report",
            "--store",
            s(&store),
            "--agents",
            s(&inventory),
            "--format",
            "html",
            "-o",
            s(&page),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(&page).unwrap();
    for id in keytrace::report::html::SECTIONS {
        assert!(html.contains(&format!("id=\"{id}\"")), "section {id}");
    }
    assert!(html.contains("platform") && html.contains("deploy-bot"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    for (_, secret) in &org.secrets {
        assert!(!html.contains(secret.as_str()));
    }
    let r = run(
        &["report", "--store", s(&store), "--fail-on", "unowned"],
        None,
    );
    assert_eq!(r.code, 1, "unowned findings fail with --fail-on unowned");
}

#[test]
fn readers_do_not_block_a_sweep() {
    let org = org(2);
    let store = org.store("shared.db");
    let list = org.list();
    let args = ["--repos", s(&list), "--store", s(&store)];
    sweep(&args);
    // A reader holding a snapshot open (a report or dashboard mid-read)...
    let mut reader = db(&store);
    let tx = reader.transaction().unwrap();
    let before: i64 = tx
        .query_row("SELECT COUNT(*) FROM sweeps", [], |r| r.get(0))
        .unwrap();
    // ...does not stop the next sweep from writing,
    write(
        &org.path("r00"),
        "more.env",
        format!("K={}\n", Fakes::new(3).npm()),
    );
    commit(&org.path("r00"), "more", DATE);
    let (summary, _) = sweep(&args);
    assert_eq!(summary["blobs"], 1);
    // and keeps its consistent view until it ends.
    let during: i64 = tx
        .query_row("SELECT COUNT(*) FROM sweeps", [], |r| r.get(0))
        .unwrap();
    assert_eq!(during, before);
    tx.commit().unwrap();
    let after: i64 = reader
        .query_row("SELECT COUNT(*) FROM sweeps", [], |r| r.get(0))
        .unwrap();
    assert_eq!(after, before + 1);
    let r = run(&["report", "--store", s(&store), "--format", "json"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_changed_rule_set_reads_every_blob_again() {
    let org = org(2);
    let store = org.store("rules.db");
    let list = org.list();
    let r00 = org.path("r00");
    write(
        &r00,
        "deploy/acme.env",
        "ACME_KEY=acme_dk_q8zr2lmx0vte7wbn4kps9d1f\n",
    );
    commit(&r00, "acme", DATE);
    let args = ["--repos", s(&list), "--store", s(&store)];
    sweep(&args);
    let (again, _) = sweep(&args);
    assert_eq!(again["blobs"], 0);
    // A custom rule added later: the blobs already scanned are read again.
    let rules = org.dir.path().join("acme.toml");
    std::fs::write(&rules, crate::rules::CUSTOM).unwrap();
    let with_rule = [
        "--repos",
        s(&list),
        "--store",
        s(&store),
        "--rules",
        s(&rules),
    ];
    let (third, _) = sweep(&with_rule);
    let total: i64 = (0..2).map(|i| git_blobs(&org.path(&name(i)))).sum();
    assert_eq!(
        third["blobs"].as_i64().unwrap(),
        total,
        "every blob read again"
    );
    assert_eq!(third["new"], 1, "the new rule's finding");
    let rep = report(&["--store", s(&store)]);
    assert!(rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "acme-deploy-key"));
    let (fourth, _) = sweep(&with_rule);
    assert_eq!(fourth["blobs"], 0, "and then not again");
}

#[test]
fn decoded_locations_keep_their_encoding_through_the_store() {
    use base64::Engine as _;
    let org = org(1);
    let repo = org.path("r00");
    let token = Fakes::new(64).github("ghp");
    let encoded = base64::engine::general_purpose::STANDARD.encode(&token);
    write(
        &repo,
        "k8s/secret.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bot\ntype: Opaque\ndata:\n  GITHUB_TOKEN: {encoded}\n"
        ),
    );
    commit(&repo, "secret", DATE);
    let store = org.store("enc.db");
    let list = org.list();
    sweep(&["--repos", s(&list), "--store", s(&store)]);
    let rep = report(&["--store", s(&store)]);
    let fp = keytrace::base::secret::fingerprint(token.as_bytes());
    let f = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fingerprint"] == fp.as_str())
        .expect("the decoded token is found");
    assert_eq!(f["locations"][0]["encoding"], "base64");
    assert_eq!(f["locations"][0]["path"], "k8s/secret.yaml");
}

/// A git server that accepts the connection and never answers costs the
/// network timeout, not the sweep: the repository is recorded as failed
/// and the next one is swept.
#[test]
fn a_server_that_never_answers_does_not_hang_the_sweep() {
    let org = org(1);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept, and hold every connection open without a byte in answer.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let list = org.dir.path().join("silent.txt");
    std::fs::write(
        &list,
        format!(
            "http://127.0.0.1:{port}/org/silent.git\n{}\n",
            org.path("r00").display()
        ),
    )
    .unwrap();
    let cache = org.dir.path().join("cache");
    let store = org.store("silent.db");
    let started = std::time::Instant::now();
    let (summary, logs) = sweep(&[
        "--repos",
        s(&list),
        "--store",
        s(&store),
        "--cache",
        s(&cache),
        "--network-timeout",
        "2",
    ]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "the sweep waited on the silent server"
    );
    assert_eq!(summary["repositories"], 2, "{logs:?}");
    assert_eq!(summary["failed"], 1, "{logs:?}");
    let silent = &logs[&format!("127.0.0.1:{port}/org/silent")];
    assert!(
        silent["error"]
            .as_str()
            .unwrap()
            .contains("cannot clone or fetch"),
        "{silent}"
    );
    assert!(summary["findings"].as_u64().unwrap() >= 1, "{summary}");
}

/// SSH clone URLs (`ssh://…` and `git@host:path`) are fetched with the git
/// command and the user's SSH setup. Here `GIT_SSH_COMMAND` stands in for
/// ssh: it runs the remote command on this machine.
#[cfg(unix)]
#[test]
fn ssh_urls_are_swept() {
    use std::os::unix::fs::PermissionsExt;
    let org = org(1);
    let origin = org.path("r00");
    let fake_ssh = org.dir.path().join("fake-ssh");
    // The last argument is the command git asks the server to run.
    std::fs::write(
        &fake_ssh,
        "#!/bin/sh\nfor last; do :; done\nexec sh -c \"$last\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake_ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
    for url in [
        format!("ssh://git@example.invalid{}", origin.display()),
        format!("git@example.invalid:{}", origin.display()),
    ] {
        let list = org.dir.path().join("ssh.txt");
        std::fs::write(&list, format!("{url}\n")).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let store = tempfile::tempdir().unwrap();
        let db = store.path().join("ssh.db");
        let r = crate::keytrace()
            .args([
                "sweep",
                "--no-progress",
                "--repos",
                s(&list),
                "--store",
                s(&db),
            ])
            .args(["--cache", s(cache.path())])
            .env("GIT_SSH_COMMAND", &fake_ssh)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&r.stdout);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(0), "{url}: {err}");
        let summary: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(summary["failed"], 0, "{url}: {err}");
        assert!(
            summary["findings"].as_u64().unwrap() >= 1,
            "{url}: {summary}"
        );
    }
}

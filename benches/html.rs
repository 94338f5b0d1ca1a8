//! The HTML sweep report at organisation scale: N findings (100,000 under
//! `cargo bench`; 2,000 in quick mode) over 500 repositories, claimed by
//! 200 identities of 20 owners (a seventh unowned), merged into a report,
//! written as one page; the page's size, each section's, and, where
//! Chromium is installed, the time headless Chromium takes to paint the
//! first screen (`--screenshot`) and to parse the whole page (`--dump-dom`).
//! Every run checks the finding count in the page.
//!
//! `cargo bench --bench html` (KEYTRACE_BENCH_FINDINGS sets N).
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use keytrace::base::time::Date;
use keytrace::identity::index::Inventory;
use keytrace::identity::risks::RiskOptions;
use keytrace::report::html;
use keytrace::report::sweep::Sighting;
use keytrace::sweep::merge::{self, ReportSettings};
use keytrace::sweep::store::{Contents, StoredFinding};
use serde_json::json;

mod common;
use common::size;

const REPOS: usize = 500;
const IDENTITIES: usize = 200;

fn contents(n: usize) -> Contents {
    let mut out = Contents::default();
    for i in 0..n {
        let repo = format!("github.com/acme/service-{:03}", i % REPOS);
        let secret = format!("fake-secret-{i:08}");
        let finding = serde_json::from_value(json!({
            "rule": "github-classic-pat", "name": "GitHub PAT", "provider": "github",
            "fingerprint": keytrace::base::secret::fingerprint(secret.as_bytes()),
            "key_id": null, "redacted": format!("ghp_…{:02}", i % 100),
            "binding": format!("TOKEN_{}", i % IDENTITIES), "lifetime": "long",
            "checksum": "valid", "identity_class": "user",
            "first_seen": "2024-03-01T10:00:00Z", "at_head": i % 3 != 0,
            "locations": (0..1 + i % 3).map(|k| json!({
                "repo": repo, "path": format!("deploy/app-{k}.env"), "line": 3 + k,
                "column": 7, "commit": format!("{:040x}", i * 7 + k),
                "author": "dev@example.com", "date": "2024-03-01T10:00:00Z",
                "at_head": i % 3 != 0, "binding": format!("TOKEN_{}", i % IDENTITIES),
            })).collect::<Vec<_>>(),
            "identity": null, "owner": null,
        }))
        .expect("a finding");
        out.findings.push(StoredFinding {
            repo: repo.clone(),
            finding,
            sighting: Sighting {
                first_seen: "2025-05-01T00:00:00Z".into(),
                last_seen: "2025-06-01T00:00:00Z".into(),
                sweeps: 3,
                new: i % 50 == 0,
                in_history: true,
            },
        });
    }
    out
}

/// 200 identities of 20 owners; every seventh identity has no owner.
fn inventory(dir: &Path) -> Inventory {
    let mut yaml = String::new();
    for k in 0..IDENTITIES {
        let owner = if k % 7 == 0 {
            String::new()
        } else {
            format!("owner: team-{:02}\n", k % 20)
        };
        yaml.push_str(&format!(
            "---\nagent: bot-{k:03}\n{owner}identity_type: bot\nauth: static_api_key\n\
             review_cycle: quarterly\nlast_review: 2026-10-01\ncredentials:\n  - env: TOKEN_{k}\n"
        ));
    }
    let path = dir.join("agents.yaml");
    std::fs::write(&path, yaml).expect("inventory");
    Inventory::load(&[path], Date::today()).expect("the inventory loads")
}

fn main() {
    let n = size("KEYTRACE_BENCH_FINDINGS", 2_000, 100_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let inventory = inventory(dir.path());
    let settings = ReportSettings {
        inventory: Some(&inventory),
        risk: RiskOptions {
            today: Date::today(),
            max_age_days: 90,
        },
        show_secrets: false,
        generated: "2026-12-07T00:00:00Z".into(),
    };
    let t = Instant::now();
    let report = merge::report(contents(n), &settings);
    let merged = t.elapsed();
    assert_eq!(report.findings.len(), n, "findings merged");
    let t = Instant::now();
    let mut page = Vec::new();
    html::write(&report, &mut page).expect("the page is written");
    let written = t.elapsed();
    let text = String::from_utf8(page).expect("UTF-8");
    // Each finding is in one repository: one row in the grouped view.
    let rows = text.matches("<tr><td>github-classic-pat<td>").count();
    assert_eq!(rows, n, "every finding has its row in the grouped view");
    let mut sections: Vec<(usize, &str)> = text
        .match_indices("<section id=\"")
        .map(|(i, _)| {
            let id = &text[i + 13..];
            (i, &id[..id.find('"').unwrap_or(0)])
        })
        .collect();
    sections.push((text.len(), ""));
    let sizes: Vec<String> = sections
        .windows(2)
        .map(|w| format!("{} {:.1} MB", w[0].1, (w[1].0 - w[0].0) as f64 / 1e6))
        .collect();
    println!("sections: {}", sizes.join(", "));
    let file = dir.path().join("sweep.html");
    std::fs::write(&file, &text).expect("write the page");
    println!(
        "{n} findings, {REPOS} repositories, {IDENTITIES} identities: merged in {:.2} s, \
         page {:.1} MB written in {:.2} s",
        merged.as_secs_f64(),
        text.len() as f64 / 1e6,
        written.as_secs_f64()
    );
    let installed = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(bin) = installed else {
        println!("no Chromium: render time not measured");
        return;
    };
    let url = format!("file://{}", file.display());
    let (empty, _) = chromium(bin, &["--dump-dom", "about:blank"]);
    let shot = dir.path().join("shot.png");
    let (painted, _) = chromium(
        bin,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
            &url,
        ],
    );
    assert!(shot.exists(), "Chromium painted the page");
    let (dumped, dom) = chromium(bin, &["--dump-dom", &url]);
    assert!(dom.contains("id=\"findings\""), "the page loaded");
    println!(
        "Chromium (start-up included; an empty page takes {empty:.2} s): \
         first screen painted in {painted:.2} s (--screenshot); \
         whole DOM parsed and serialised in {dumped:.2} s (--dump-dom)"
    );
}

/// Runs headless Chromium with `args`: seconds taken, standard output.
fn chromium(bin: &str, args: &[&str]) -> (f64, String) {
    let profile = tempfile::tempdir().expect("a profile directory");
    let t = Instant::now();
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("run chromium");
    let took = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "chromium failed: {args:?}");
    (took, String::from_utf8_lossy(&out.stdout).into_owned())
}

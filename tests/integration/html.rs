//! The HTML sweep report in a real browser: headless Chromium loads the page,
//! its DOM holds every section, and its screenshot shows the charts in their
//! colours, so a blank or unstyled page fails. Skipped without Chromium unless
//! `KEYTRACE_REQUIRE_CHROMIUM` is set (CI sets it).
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keytrace::base::secret::{fingerprint, redact};
use keytrace::finding::{Finding, Risk};
use keytrace::identity::risks::TITLES;
use keytrace::report::html;
use keytrace::report::sweep::{
    AgeBucket, OwnerRollup, RepoSummary, RiskMatrix, Sighting, SweepReport, SweptFinding, Totals,
};
use keytrace::testkit::fakes::Fakes;
use serde_json::json;

use keytrace::report::html::SECTIONS;

const AGES: [&str; 6] = [
    "< 30 days",
    "30–90 days",
    "90 days – 1 year",
    "1–2 years",
    "> 2 years",
    "no commit date",
];

/// One planted finding: (owner, agent, repo, risk ids, age bucket, new, at HEAD).
type Spec = (
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    &'static [&'static str],
    usize,
    bool,
    bool,
);

const SPECS: &[Spec] = &[
    (
        Some("platform"),
        Some("deploy-bot"),
        "github.com/acme/infra",
        &["NHI2", "NHI7"],
        3,
        false,
        true,
    ),
    (
        Some("platform"),
        Some("deploy-bot"),
        "github.com/acme/infra",
        &["NHI2"],
        2,
        false,
        false,
    ),
    (
        Some("platform"),
        Some("release-ci"),
        "github.com/acme/api",
        &["NHI2", "NHI5"],
        4,
        false,
        true,
    ),
    (
        Some("platform"),
        Some("release-ci"),
        "github.com/acme/api",
        &["NHI7"],
        2,
        true,
        true,
    ),
    (
        Some("platform"),
        Some("terraform"),
        "github.com/acme/infra",
        &["NHI1", "NHI2"],
        1,
        false,
        false,
    ),
    (
        Some("platform"),
        Some("terraform"),
        "github.com/acme/web",
        &["NHI2"],
        0,
        true,
        true,
    ),
    (
        Some("data-eng"),
        Some("etl-runner"),
        "github.com/acme/pipelines",
        &["NHI2", "NHI7", "NHI9"],
        3,
        false,
        true,
    ),
    (
        Some("data-eng"),
        Some("etl-runner"),
        "github.com/acme/pipelines",
        &["NHI9"],
        2,
        false,
        true,
    ),
    (
        Some("data-eng"),
        Some("notebook-agent"),
        "github.com/acme/notebooks",
        &["NHI10"],
        5,
        false,
        false,
    ),
    (
        Some("data-eng"),
        Some("notebook-agent"),
        "github.com/acme/notebooks",
        &["NHI2"],
        2,
        true,
        true,
    ),
    (
        Some("payments"),
        Some("stripe-sync"),
        "github.com/acme/billing",
        &["NHI2", "NHI4"],
        1,
        false,
        true,
    ),
    (
        Some("payments"),
        Some("stripe-sync"),
        "github.com/acme/billing",
        &["NHI7"],
        3,
        false,
        false,
    ),
    (
        Some("payments"),
        Some("refund-bot"),
        "github.com/acme/billing",
        &["NHI3"],
        0,
        false,
        true,
    ),
    (
        None,
        None,
        "github.com/acme/legacy",
        &["NHI2", "NHI7"],
        4,
        false,
        true,
    ),
    (
        None,
        None,
        "github.com/acme/legacy",
        &["NHI1"],
        3,
        false,
        false,
    ),
    (
        None,
        None,
        "github.com/acme/web",
        &["NHI2", "NHI8"],
        2,
        true,
        true,
    ),
    (None, None, "github.com/acme/api", &["NHI6"], 2, false, true),
];

/// A commit date in age bucket `b` (the report is made on 2025-06-01).
fn commit_date(b: usize) -> Option<&'static str> {
    [
        Some("2025-05-20T10:00:00Z"),
        Some("2025-04-02T10:00:00Z"),
        Some("2024-11-15T10:00:00Z"),
        Some("2023-12-01T10:00:00Z"),
        Some("2021-03-09T10:00:00Z"),
        None,
    ][b]
}

fn title(id: &str) -> &'static str {
    TITLES.iter().find(|t| t.0 == id).unwrap().1
}

/// Fake credentials, made now; only their redacted forms enter the report.
fn redacted_fakes(n: usize) -> Vec<(String, String, String, String)> {
    let mut g = Fakes::new(2025);
    (0..n)
        .map(|i| {
            let (rule, provider, secret) = match i % 4 {
                0 => ("github-pat", "github", g.github("ghp_")),
                1 => ("aws-access-key", "aws", g.aws_key_id("AKIA")),
                2 => ("slack-bot-token", "slack", g.slack_bot()),
                _ => ("gitlab-pat", "gitlab", g.gitlab_pat()),
            };
            (
                rule.to_string(),
                provider.to_string(),
                redact(secret.as_bytes()),
                fingerprint(secret.as_bytes()),
            )
        })
        .collect()
}

fn sample_report() -> SweepReport {
    let fakes = redacted_fakes(SPECS.len());
    let mut findings = Vec::new();
    for (i, &(owner, agent, repo, risks, bucket, new, at_head)) in SPECS.iter().enumerate() {
        let (rule, provider, redacted, fp) = &fakes[i];
        let mut f: Finding = serde_json::from_value(json!({
            "rule": rule, "name": rule, "provider": provider,
            "fingerprint": fp, "key_id": null, "redacted": redacted,
            "binding": null, "lifetime": "long", "checksum": null,
            "identity_class": "service", "first_seen": commit_date(bucket),
            "at_head": at_head,
            "locations": (0..=i % 5).map(|k| json!({
                "repo": repo, "path": format!("config/app-{k}.env"), "line": 3 + k,
                "column": 1, "commit": "0123456789abcdef0123456789abcdef01234567",
                "author": "dev@example.com", "date": commit_date(bucket), "at_head": at_head,
            })).collect::<Vec<_>>(),
            "identity": agent,
            "owner": owner,
        }))
        .expect("a finding from JSON");
        f.risks = risks
            .iter()
            .map(|&id| Risk {
                id,
                title: title(id),
                reason: format!("planted for the {id} row"),
            })
            .collect();
        findings.push(SweptFinding {
            finding: f,
            sweep: Sighting {
                first_seen: "2025-05-31T22:00:00Z".into(),
                last_seen: "2025-06-01T00:00:00Z".into(),
                sweeps: if new { 1 } else { 4 },
                new,
                in_history: true,
            },
        });
    }

    let mut owner_keys: Vec<Option<String>> = Vec::new();
    for s in &findings {
        if !owner_keys.contains(&s.finding.owner) {
            owner_keys.push(s.finding.owner.clone());
        }
    }
    let risk_ids: Vec<String> = TITLES.iter().map(|t| t.0.to_string()).collect();
    fn owned_by<'a>(
        findings: &'a [SweptFinding],
        o: &'a Option<String>,
    ) -> impl Iterator<Item = &'a SweptFinding> + 'a {
        findings.iter().filter(move |s| &s.finding.owner == o)
    }
    let of = |o| owned_by(&findings, o);
    let owners: Vec<OwnerRollup> = owner_keys
        .iter()
        .map(|o| {
            let mut identities: Vec<(String, usize)> = Vec::new();
            for s in of(o) {
                if let Some(a) = s.finding.identity.as_ref().and_then(|v| v.as_str()) {
                    match identities.iter_mut().find(|(n, _)| n == a) {
                        Some((_, c)) => *c += 1,
                        None => identities.push((a.to_string(), 1)),
                    }
                }
            }
            OwnerRollup {
                owner: o.clone(),
                findings: of(o).count(),
                live: 0,
                identities,
                risks: risk_ids
                    .iter()
                    .map(|id| {
                        of(o)
                            .filter(|s| s.finding.risks.iter().any(|r| r.id == id))
                            .count()
                    })
                    .collect(),
            }
        })
        .collect();
    let counts = (0..risk_ids.len())
        .map(|r| owners.iter().map(|o| o.risks[r]).collect())
        .collect();
    let age_histogram = AGES
        .iter()
        .enumerate()
        .map(|(b, label)| AgeBucket {
            label: label.to_string(),
            min_days: [Some(0), Some(30), Some(90), Some(365), Some(730), None][b],
            count: SPECS.iter().filter(|s| s.4 == b).count(),
        })
        .collect();
    let mut repositories: Vec<RepoSummary> = [
        "infra",
        "api",
        "web",
        "pipelines",
        "notebooks",
        "billing",
        "legacy",
    ]
    .iter()
    .map(|n| RepoSummary {
        name: format!("github.com/acme/{n}"),
        source: format!("https://github.com/acme/{n}.git"),
        sweeps: 4,
        last_sweep: Some("2025-06-01T00:00:00Z".into()),
        last_success: Some("2025-06-01T00:00:00Z".into()),
        ..RepoSummary::default()
    })
    .collect();
    repositories.push(RepoSummary {
        name: "github.com/acme/archived-mobile".into(),
        source: "https://github.com/acme/archived-mobile.git".into(),
        sweeps: 3,
        last_sweep: Some("2025-06-01T00:00:00Z".into()),
        last_success: Some("2025-04-01T00:00:00Z".into()),
        error: Some("fetch failed: repository not found".into()),
        ..RepoSummary::default()
    });

    let totals = Totals {
        repositories: repositories.len(),
        failed: repositories.iter().filter(|r| r.error.is_some()).count(),
        findings: findings.len(),
        unowned: findings
            .iter()
            .filter(|s| s.finding.owner.is_none())
            .count(),
        new: findings.iter().filter(|s| s.sweep.new).count(),
        at_head: findings.iter().filter(|s| s.finding.at_head).count(),
        locations: findings.iter().map(|s| s.finding.locations.len()).sum(),
        verified: 0,
        live: 0,
        added: 0,
        removed: 0,
    };
    SweepReport {
        version: 1,
        generated: "2025-06-01T00:00:00Z".into(),
        totals,
        findings,
        owners,
        identities: vec![],
        risk_matrix: RiskMatrix {
            risks: risk_ids,
            owners: owner_keys,
            counts,
        },
        age_histogram,
        repositories,
        errors: vec![],
    }
}

/// `/usr/bin/chromium`, else `chromium` or `chromium-browser` on PATH.
fn find_chromium() -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
        .find(|p| p.is_file())
}

/// Runs headless Chromium with a fresh profile and returns its stdout; kills
/// it (and its helpers) if it has not finished within 60 s.
fn chromium(bin: &Path, work: &Path, tag: &str, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let stdout = work.join(format!("{tag}.stdout"));
    let stderr = work.join(format!("{tag}.stderr"));
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-color-profile=srgb",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .stdin(Stdio::null())
    .stdout(File::create(&stdout).unwrap())
    .stderr(File::create(&stderr).unwrap());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            #[cfg(unix)]
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium ({tag}) did not finish within 60 s; stderr:\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "chromium ({tag}) failed: {status}; stderr:\n{}",
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );
    std::fs::read_to_string(&stdout).unwrap()
}

/// Pixels within 2 per channel of `rgb`.
fn count_colour(png_path: &Path, rgb: [u8; 3]) -> usize {
    let mut decoder = png::Decoder::new(BufReader::new(File::open(png_path).unwrap()));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    let n = info.color_type.samples();
    assert!(n >= 3, "screenshot is not in colour: {:?}", info.color_type);
    buf[..info.buffer_size()]
        .chunks_exact(n)
        .filter(|p| (0..3).all(|i| p[i].abs_diff(rgb[i]) <= 2))
        .count()
}

#[test]
fn html_report_renders_in_chromium() {
    let report = sample_report();
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join("sweep-report.html");
    let mut out = Vec::new();
    html::write(&report, &mut out).unwrap();
    std::fs::write(&page, &out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for s in &report.findings {
        assert!(text.contains(&s.finding.redacted), "{}", s.finding.redacted);
    }

    let Some(bin) = find_chromium() else {
        if std::env::var_os("KEYTRACE_REQUIRE_CHROMIUM").is_some() {
            panic!("KEYTRACE_REQUIRE_CHROMIUM is set but no chromium was found (/usr/bin/chromium, or chromium / chromium-browser on PATH)");
        }
        println!("skipped: no chromium");
        return;
    };
    let url = format!("file://{}", page.display());

    let dom = chromium(
        &bin,
        work.path(),
        "dump-dom",
        &["--dump-dom".into(), url.clone()],
    );
    for id in SECTIONS {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "DOM lacks section {id}"
        );
    }
    assert!(dom.matches("<svg").count() >= 3, "DOM lacks the charts");
    assert!(dom.contains("Unowned") && dom.contains("archived-mobile"));
    // All findings: owner → repository → identity, collapsible, no script.
    let findings = &dom[dom.find("id=\"findings\"").unwrap()..];
    assert!(
        findings.matches("<details").count() >= 3,
        "the grouped view"
    );
    assert!(findings.contains("<summary>") && !dom.contains("<script"));

    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output");
    std::fs::create_dir_all(&out_dir).unwrap();
    let shot = out_dir.join("sweep-report.png");
    // A stale screenshot must not pass for a new one.
    let _ = std::fs::remove_file(&shot);
    chromium(
        &bin,
        work.path(),
        "screenshot",
        &[
            "--window-size=1280,2400".into(),
            format!("--screenshot={}", shot.display()),
            url,
        ],
    );
    assert!(shot.is_file(), "chromium wrote no screenshot");
    println!("screenshot: {}", shot.display());

    for (what, rgb, min) in [
        ("owner bars", html::BAR, 2000),
        ("unowned bar", html::UNOWNED_BAR, 2000),
        ("age bars", html::AGE_BAR, 2000),
        ("darkest heat map cell", html::CELL_HIGH, 1000),
    ] {
        let n = count_colour(&shot, rgb);
        println!("{what}: {n} pixels");
        assert!(
            n > min,
            "{what}: {n} pixels of {rgb:?} in {} (want > {min})",
            shot.display()
        );
    }
}

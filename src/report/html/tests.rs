//! The HTML report's tests: escaping, the empty report, and a full report
//! whose sections and charts hold no secret.
use serde_json::json;

use super::*;
use crate::base::secret::{fingerprint, redact};
use crate::finding::Risk;
use crate::report::sweep::{AgeBucket, OwnerRollup, RepoSummary, RiskMatrix, Sighting, Totals};

fn page(r: &SweepReport) -> String {
    let mut out = Vec::new();
    write(r, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn empty() -> SweepReport {
    SweepReport {
        version: 1,
        generated: "2025-06-01T00:00:00Z".into(),
        totals: Totals::default(),
        findings: vec![],
        owners: vec![],
        identities: vec![],
        risk_matrix: RiskMatrix {
            risks: vec![],
            owners: vec![],
            counts: vec![],
        },
        age_histogram: vec![],
        repositories: vec![],
        errors: vec![],
    }
}

/// A finding holding `secret` in full, as under `--show-secrets`.
fn finding(secret: &str, owner: Option<&str>, repo: &str, new: bool) -> SweptFinding {
    let mut f: Finding = serde_json::from_value(json!({
        "rule": "github-pat", "name": "GitHub PAT", "provider": "github",
        "fingerprint": fingerprint(secret.as_bytes()), "key_id": null,
        "redacted": redact(secret.as_bytes()), "secret": secret,
        "binding": null, "lifetime": "long", "checksum": null,
        "identity_class": "service", "first_seen": "2024-01-02T03:04:05Z",
        "at_head": true,
        "locations": [{"repo": repo, "path": "ci/deploy.yml", "line": 7, "column": 3,
                       "commit": "abc123", "author": null, "date": null, "at_head": true}],
        "identity": owner.map(|_| json!(["deploy-bot", "<b>x</b>"])),
        "owner": owner,
    }))
    .unwrap();
    f.risks = vec![Risk {
        id: "NHI7",
        title: "Long-Lived Secrets",
        reason: "first committed long ago".into(),
    }];
    SweptFinding {
        finding: f,
        sweep: Sighting {
            first_seen: "2025-05-01T00:00:00Z".into(),
            new,
            ..Sighting::default()
        },
    }
}

fn sample(secrets: &[String]) -> SweepReport {
    let mut r = empty();
    r.findings = vec![
        finding(&secrets[0], Some("team-a"), "github.com/o/one", true),
        finding(
            &secrets[1],
            Some("<script>alert(1)</script>"),
            "github.com/o/two",
            false,
        ),
        finding(&secrets[2], None, "github.com/o/one", false),
    ];
    r.owners = vec![
        OwnerRollup {
            owner: Some("team-a".into()),
            findings: 1,
            live: 1,
            identities: vec![("deploy-bot".into(), 1)],
            risks: vec![1],
        },
        OwnerRollup {
            owner: Some("<script>alert(1)</script>".into()),
            findings: 1,
            live: 0,
            identities: vec![],
            risks: vec![1],
        },
        OwnerRollup {
            owner: None,
            findings: 1,
            live: 0,
            identities: vec![],
            risks: vec![1],
        },
    ];
    r.risk_matrix = RiskMatrix {
        risks: vec!["NHI7".into()],
        owners: r.owners.iter().map(|o| o.owner.clone()).collect(),
        counts: vec![vec![1, 1, 1]],
    };
    r.age_histogram = vec![
        AgeBucket {
            label: "< 90 days".into(),
            min_days: Some(0),
            count: 0,
        },
        AgeBucket {
            label: "> 1 year".into(),
            min_days: Some(365),
            count: 3,
        },
    ];
    r.repositories = vec![RepoSummary {
        name: "github.com/o/broken".into(),
        error: Some("clone failed: <timeout>".into()),
        ..RepoSummary::default()
    }];
    r.totals = Totals {
        repositories: 3,
        failed: 1,
        findings: 3,
        unowned: 1,
        new: 1,
        at_head: 3,
        locations: 3,
        verified: 2,
        live: 1,
        added: 0,
        removed: 0,
    };
    r
}

fn secrets() -> Vec<String> {
    let mut g = crate::testkit::fakes::Fakes::new(7);
    (0..3).map(|_| g.github("ghp_")).collect()
}

#[test]
fn escape_neutralises_markup() {
    assert_eq!(
        escape(r#"<script>alert("x" & 'y')</script>"#),
        "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
    );
    assert_eq!(escape("plain ghp_…7l"), "plain ghp_…7l");
}

#[test]
fn empty_report_renders_with_none() {
    let p = page(&empty());
    for id in SECTIONS {
        assert!(p.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    // Every section but the totals says "none".
    assert_eq!(p.matches("<p class=\"none\">none</p>").count(), 8);
    assert!(!p.contains("<svg"));
    assert!(!p.contains("NaN") && !p.contains("inf"));
    // Nothing was checked live: no live card or column.
    assert!(!p.contains(">Live<") && !p.contains("Live at last check"));
}

#[test]
fn report_draws_sections_and_charts_without_secrets() {
    let s = secrets();
    let p = page(&sample(&s));
    let mut at = 0;
    for id in SECTIONS {
        let i = p
            .find(&format!("<section id=\"{id}\">"))
            .unwrap_or_else(|| panic!("{id}"));
        assert!(i > at, "{id} out of order");
        at = i;
    }
    assert_eq!(p.matches("<svg").count(), 3);
    assert_eq!(p.matches("<rect class=\"bar\"").count(), 2);
    assert_eq!(p.matches("<rect class=\"bar unowned\"").count(), 1);
    assert_eq!(p.matches("<rect class=\"age-bar\"").count(), 2);
    assert_eq!(p.matches("<rect class=\"cell\"").count(), 10 * 3);
    assert!(p.contains(">Unowned<"));
    assert!(p.contains("deploy-bot, &lt;b&gt;x&lt;/b&gt;"));
    // Live credentials per owner: team-a's row holds its one.
    assert!(p.contains("<div class=\"n\">1</div><div class=\"k\">Live at last check</div>"));
    assert!(p.contains("<th class=\"num\">Live</th>"), "the column");
    assert!(p.contains("clone failed: &lt;timeout&gt;"));
    assert!(!p.contains("<script") && p.contains("&lt;script&gt;"));
    assert!(!p.contains("NaN"));
    for secret in &s {
        assert!(p.contains(&redact(secret.as_bytes())));
        assert!(!p.contains(secret.as_str()), "full secret in page");
        assert!(!p.contains(&secret[4..20]), "part of a secret in page");
    }
}

#[test]
fn fix_first_lists_urgent_keys_and_names_an_empty_owner() {
    let mut r = empty();
    // Long-lived and unowned: urgent. Owned, with an empty owner name, and
    // not otherwise urgent: not listed, but labelled.
    r.findings = vec![
        finding(
            "ghp_unownedAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            None,
            "r1",
            true,
        ),
        finding(
            "ghp_ownedBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
            Some(""),
            "r2",
            false,
        ),
    ];
    let p = page(&r);
    let start = p.find("<section id=\"fix-first\">").unwrap();
    let section = &p[start..start + p[start..].find("</section>").unwrap()];
    assert!(
        section.contains("long-lived and nobody owns it"),
        "{section}"
    );
    assert_eq!(
        section.matches("<tr>").count(),
        2,
        "a header and one row: {section}"
    );
    assert_eq!(owner_label(Some(" ")), "(owner not named)");
    assert!(!p.contains("ghp_unownedAAAA"), "no secret in the page");
}

#[test]
fn all_findings_are_grouped_by_owner_repository_and_identity() {
    let mut r = empty();
    r.findings = vec![
        finding(
            "ghp_aaaaAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            Some("platform"),
            "r1",
            true,
        ),
        finding(
            "ghp_bbbbBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
            Some("platform"),
            "r2",
            true,
        ),
        finding(
            "ghp_ccccCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
            None,
            "r1",
            false,
        ),
    ];
    let p = page(&r);
    let start = p.find("<section id=\"findings\">").unwrap();
    let section = &p[start..start + p[start..].find("</section>").unwrap()];
    // platform (2) → r1, r2 → an identity each; Unowned (1) → r1 → none.
    assert_eq!(
        section.matches("<details").count(),
        2 + 2 + 2 + 1 + 1,
        "{section}"
    );
    assert_eq!(
        section.matches("<details").count(),
        section.matches("</details>").count()
    );
    let platform = section
        .find("<b>platform</b> <span class=\"count\">2</span>")
        .unwrap();
    let unowned = section
        .find("<b class=\"warn-text\">Unowned</b> <span class=\"count\">1</span>")
        .unwrap();
    assert!(platform < unowned, "the unowned last");
    assert!(section.contains("no identity"));
}

/// Past `FIRST_ROWS`, the unowned and the new tables show the findings to
/// look at first and count the rest; the grouped view keeps every one.
#[test]
fn long_tables_keep_the_first_to_look_at_and_the_grouped_view_all() {
    let mut r = empty();
    let n = FIRST_ROWS + 30;
    r.findings = (0..n)
        .map(|i| {
            let mut s = finding(&format!("ghp_{i:036}"), None, "r1", true);
            // The last one is the only one still at HEAD: it comes first.
            s.finding.at_head = i == n - 1;
            s
        })
        .collect();
    let p = page(&r);
    let section = |id: &str| {
        let start = p.find(&format!("<section id=\"{id}\">")).unwrap();
        p[start..start + p[start..].find("</section>").unwrap()].to_string()
    };
    let unowned = section("unowned");
    assert_eq!(unowned.matches("<tr>").count(), 1 + FIRST_ROWS, "{unowned}");
    assert!(unowned.contains(&format!("{n} unowned credentials, 1 of them still at HEAD")));
    assert!(unowned.contains("href=\"#findings-unowned\""));
    let last = redact(format!("ghp_{:036}", n - 1).as_bytes());
    let first_row = &unowned[unowned.find("<tbody>").unwrap()..];
    let first_row = &first_row[..first_row.find("</tr>").unwrap()];
    assert!(first_row.contains(&last), "at HEAD first: {first_row}");
    let new = section("new");
    assert_eq!(new.matches("<tr>").count(), 1 + FIRST_ROWS);
    assert!(new.contains(&format!("{n} findings are new.")));
    let grouped = section("findings");
    assert!(grouped.contains("<details id=\"findings-unowned\">"));
    assert_eq!(grouped.matches("<tr><td>github-pat<td>").count(), n);
}

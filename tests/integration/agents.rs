//! The inventory at work: every finding gets the identity that claims it,
//! the accountable owner and its OWASP NHI risks; the inventory itself is
//! linted; malformed inventories fail with file, line and column.
use keytrace::base::time::Date;
use keytrace::testkit::fakes::Fakes;
use serde_json::Value;

use crate::{run, scan_json, write};

fn risks(f: &Value) -> Vec<String> {
    f["risks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_finding_gets_identity_owner_and_risks() {
    let mut f = Fakes::new(90);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let recent = Date(Date::today().0 - 10).to_string();
    let old = Date(Date::today().0 - 400).to_string();

    let gh = f.github("ghp");
    write(
        d,
        "deploy/prod/release.env",
        format!("RELEASE_BOT_TOKEN={gh}\n"),
    );
    write(d, "deploy/staging/release.env", format!("GH_TOKEN={gh}\n"));
    let admin = f.openai("admin");
    write(
        d,
        ".mcp.json",
        format!("{{\"mcpServers\": {{\"tickets\": {{\"env\": {{\"OPENAI_API_KEY\": \"{admin}\"}}}}}}}}\n"),
    );
    let slack = f.slack_bot();
    write(d, "ops/legacy.env", format!("SLACK_BOT_TOKEN={slack}\n"));
    let key_id = f.aws_key_id("AKIA");
    let account = keytrace::validate::keys::aws_account_id(key_id.as_bytes()).unwrap();
    let aws = f.aws_secret();
    write(
        d,
        "infra/main.tf",
        format!("aws_access_key_id = \"{key_id}\"\naws_secret_access_key = \"{aws}\"\n"),
    );
    let npm = f.npm();
    write(d, "scripts/run.sh", format!("export NPM_TOKEN={npm}\n"));

    let admin_fp = keytrace::base::secret::fingerprint(admin.as_bytes());
    let inventory = format!(
        r#"agent: release-assistant
owner: platform-team
identity_type: workload_identity
auth: oidc_short_lived_token
allowed_actions: [read_ci_status, create_release_note]
forbidden_actions: [deploy_production]
audit_log: required
review_cycle: quarterly
last_review: {recent}
environment: prod
credentials:
  - provider: github
    env: RELEASE_BOT_TOKEN
---
agent: support-agent
owner: support-team
identity_type: ai_agent
auth: static_api_key
allowed_actions: [read_tickets, reply_to_customer]
audit_log: required
review_cycle: monthly
last_reviewed: {recent}
credentials:
  - fingerprint: "{admin_fp}"
---
agents:
  - agent: old-bot
    owner: chatops
    identity_type: bot
    auth: static_api_key
    review_cycle: annual
    last_review: {recent}
    status: offboarded
    credentials: [{{env: SLACK_BOT_TOKEN}}]
  - agent: deployer
    owner: infra-team
    identity_type: ci_job
    auth: static_api_key
    allowed_actions: ["*"]
    review_cycle: quarterly
    last_review: {old}
    credentials: [{{provider: aws, key_id: {key_id}}}]
  - agent: backup-job
    owner: data-team
    identity_type: service_account
    auth: static_api_key
    review_cycle: annual
    last_review: {recent}
    aws_account_id: "{account}"
"#
    );
    write(d, "inventory/agents.yaml", &inventory);
    let inv = d.join("inventory");
    let (code, v) = scan_json(d, &["--agents", inv.to_str().unwrap()]);
    assert_eq!(code, 1);
    let by_fp = |secret: &str| -> Value {
        let fp = keytrace::base::secret::fingerprint(secret.as_bytes());
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["fingerprint"] == fp.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("no finding for {fp}"))
    };

    let f = by_fp(&gh);
    assert_eq!(f["identity"], "release-assistant");
    assert_eq!(f["owner"], "platform-team");
    assert_eq!(
        risks(&f),
        ["NHI2", "NHI4", "NHI7", "NHI8", "NHI9", "NHI10"],
        "{f:#}"
    );

    let f = by_fp(&admin);
    assert_eq!(f["identity"], "support-agent");
    assert_eq!(f["owner"], "support-team");
    assert_eq!(risks(&f), ["NHI2", "NHI3", "NHI5", "NHI7"], "{f:#}");

    let f = by_fp(&slack);
    assert_eq!(f["identity"], "old-bot");
    assert_eq!(risks(&f), ["NHI1", "NHI2", "NHI7"], "{f:#}");
    assert!(f["risks"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("offboarded"));

    let f = by_fp(&aws);
    assert_eq!(f["identity"], serde_json::json!(["deployer", "backup-job"]));
    assert_eq!(f["owner"], "infra-team");
    assert_eq!(risks(&f), ["NHI1", "NHI2", "NHI5", "NHI7", "NHI9"], "{f:#}");

    let f = by_fp(&npm);
    assert!(f["identity"].is_null() && f["owner"].is_null());
    assert_eq!(risks(&f), ["NHI1", "NHI2", "NHI7"], "{f:#}");
    assert!(f["risks"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("unowned"));

    let identities = v["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 5);
    let issues = |agent: &str| -> Vec<String> {
        let i = identities.iter().find(|i| i["agent"] == agent).unwrap();
        i["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(issues("release-assistant"), Vec::<String>::new());
    assert_eq!(issues("support-agent"), Vec::<String>::new());
    assert_eq!(issues("old-bot"), ["offboarded"]);
    assert_eq!(issues("deployer"), ["review-overdue", "wildcard-action"]);
    assert_eq!(
        identities
            .iter()
            .find(|i| i["agent"] == "deployer")
            .unwrap()["findings"],
        1
    );

    // The SARIF of this scan, with findings of every detectable risk,
    // validates, and carries the risk ids as tags.
    let r = run(
        &[
            "scan",
            "--format",
            "sarif",
            "--agents",
            inv.to_str().unwrap(),
            d.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 1);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let errors = crate::formats::sarif_errors(&doc);
    assert!(errors.is_empty(), "{errors:#?}");
    let mut tags: Vec<String> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["properties"]["tags"].as_array().unwrap().clone())
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    tags.dedup();
    assert_eq!(
        tags,
        ["NHI1", "NHI10", "NHI2", "NHI3", "NHI4", "NHI5", "NHI7", "NHI8", "NHI9"],
        "every risk but NHI6, which no repository shows"
    );

    // Without an inventory nothing is claimed, and "unowned" is not a risk.
    let (_, v) = scan_json(d, &["--no-ignore"]);
    assert!(v["identities"].as_array().unwrap().is_empty());
    let npm_finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fingerprint"] == keytrace::base::secret::fingerprint(npm.as_bytes()).as_str())
        .unwrap()
        .clone();
    assert_eq!(risks(&npm_finding), ["NHI2", "NHI7"]);

    // The human report groups by owner and identity, unowned last.
    let r = run(
        &[
            "scan",
            "--agents",
            inv.to_str().unwrap(),
            d.to_str().unwrap(),
        ],
        None,
    );
    let platform = r
        .stdout
        .find("== platform-team / release-assistant")
        .expect("owner group");
    let unowned = r.stdout.find("== Unowned").expect("unowned group");
    assert!(platform < unowned, "{}", r.stdout);
    assert!(
        r.stdout.contains("Identity issues:\n  old-bot: offboarded"),
        "{}",
        r.stdout
    );

    // The inventory can come from .keytrace.toml too.
    write(d, ".keytrace.toml", "agents = [\"inventory\"]\n");
    let (_, v) = scan_json(d, &[]);
    assert_eq!(v["identities"].as_array().unwrap().len(), 5);
    std::fs::remove_file(d.join(".keytrace.toml")).unwrap();

    // Or from the repository itself: .keytrace/agents/ (switchable off).
    std::fs::create_dir_all(d.join(".keytrace")).unwrap();
    std::fs::rename(d.join("inventory"), d.join(".keytrace/agents")).unwrap();
    let (_, v) = scan_json(d, &[]);
    assert_eq!(v["identities"].as_array().unwrap().len(), 5);
    let (_, v) = scan_json(d, &["--no-agent-discovery"]);
    assert!(v["identities"].as_array().unwrap().is_empty());
    // A root agents.yaml of another tool is not an inventory: a warning.
    write(d, "agents.yaml", "researcher:\n  role: Senior analyst\n");
    let (code, v) = scan_json(d, &["--no-ignore"]);
    assert_eq!(code, 1);
    assert_eq!(v["identities"].as_array().unwrap().len(), 5);
    assert!(v["errors"].as_array().unwrap().iter().any(|e| e["path"]
        .as_str()
        .unwrap()
        .ends_with("agents.yaml")
        && e["message"]
            .as_str()
            .unwrap()
            .starts_with("not used as the agent inventory")));
}

/// An AWS access key id found alone is the finding's secret: it is not
/// written whole (no `key_id`, a shortened `redacted`), and an inventory
/// entry listing it as `key_id` still claims it.
#[test]
fn a_lone_key_id_is_claimed_by_its_key_id_and_not_printed() {
    let mut f = Fakes::new(91);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lone = f.aws_key_id("AKIA");
    write(d, "ops/old.env", format!("AWS_ACCESS_KEY_ID={lone}\n"));
    let recent = Date(Date::today().0 - 10).to_string();
    write(
        d,
        "inventory/agents.yaml",
        format!(
            "agent: deployer\nowner: infra-team\nidentity_type: ci_job\nauth: static_api_key\n\
             review_cycle: quarterly\nlast_review: {recent}\n\
             credentials: [{{provider: aws, key_id: {lone}}}]\n"
        ),
    );
    let inv = d.join("inventory");
    for format in ["json", "human", "sarif", "jsonl"] {
        let r = run(
            &[
                "scan",
                "--format",
                format,
                "--agents",
                inv.to_str().unwrap(),
                d.join("ops").to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(r.code, 1, "{format}: {}", r.stderr);
        assert!(
            !r.stdout.contains(&lone) && !r.stderr.contains(&lone),
            "{format} prints the lone key id whole:\n{}",
            r.stdout
        );
    }
    let (_, v) = scan_json(&d.join("ops"), &["--agents", inv.to_str().unwrap()]);
    let found = &v["findings"][0];
    assert_eq!(found["rule"], "aws-access-key-id", "{v:#}");
    assert!(found["key_id"].is_null(), "{found:#}");
    assert_eq!(found["identity"], "deployer", "{found:#}");
    assert_eq!(found["owner"], "infra-team");
    // With --show-secrets, the value is there, as the secret.
    let (_, v) = scan_json(&d.join("ops"), &["--show-secrets"]);
    assert_eq!(v["findings"][0]["secret"], lone.as_str());
}

#[test]
fn agents_check_and_malformed_inventories() {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/inventory/seed.yaml");
    let r = run(&["agents", "check", seed], None);
    // The seed's review (2026-09-01, quarterly) falls due on 2026-12-02.
    if Date::today() <= Date::parse("2026-12-02").unwrap() {
        assert_eq!(r.code, 0, "{}", r.stdout);
        assert!(r.stdout.contains("1 identities, 0 issues"), "{}", r.stdout);
    } else {
        assert_eq!(r.code, 1);
        assert!(r.stdout.contains("review-overdue"), "{}", r.stdout);
    }

    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("yaml.yaml", "agent: a\nowner: [unclosed\n", "line 2"),
        ("types.yaml", "agent: a\nallowed_actions: read\n", "line 2"),
        (
            "date.yaml",
            "agent: a\nowner: o\nlast_review: 2026-02-30\n",
            "line 3",
        ),
        ("noname.yaml", "owner: o\n", "missing field `agent`"),
    ];
    for (name, text, want) in cases {
        write(dir.path(), name, text);
        let path = dir.path().join(name);
        let r = run(&["agents", "check", path.to_str().unwrap()], None);
        assert_eq!(r.code, 2, "{name}: {}", r.stdout);
        assert!(
            r.stderr.contains(name) && r.stderr.contains(want),
            "{name}: {}",
            r.stderr
        );
        // A scan with a malformed inventory cannot run either.
        let r = run(
            &[
                "scan",
                "--agents",
                path.to_str().unwrap(),
                dir.path().to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(r.code, 2, "{name}");
    }
    write(
        dir.path(),
        "dup.yaml",
        "agent: a\nowner: o\n---\nagent: a\nowner: o\n",
    );
    let r = run(
        &[
            "agents",
            "check",
            dir.path().join("dup.yaml").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("duplicate-name"), "{}", r.stdout);
}

#[test]
fn a_gitlab_token_is_claimed_by_the_user_id_it_encodes() {
    // A routable token whose payload names user 44552137 (checksum valid).
    let token = Fakes::new(97).gitlab_routable(3, 44_552_137);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ci.env", format!("GITLAB_TOKEN={token}\n"));
    write(
        dir.path(),
        "agents.yaml",
        "agent: release-bot\nowner: platform\nidentity_type: bot\ngitlab_user_id: 44552137\n",
    );
    let (code, v) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let f = &v["findings"][0];
    assert_eq!(f["decoded"]["gitlab_user_id"], "44552137");
    assert_eq!(f["identity"], "release-bot");
    assert_eq!(f["owner"], "platform");
}

#[test]
fn pypi_scope_decides_whether_a_publisher_is_overprivileged() {
    let mut f = Fakes::new(31);
    let user_wide = f.pypi_macaroon(&["[3,\"5e1f0c2a-1111-4222-8333-444455556666\"]"]);
    let scoped = f.pypi_macaroon(&["[1,[\"acme-client\"]]"]);
    let minted = f.pypi_macaroon(&[
        "[4,\"7a7a\"]",
        "[1,[\"acme-client\"]]",
        "[0,1767225900,1767225000]",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        ".pypirc",
        format!("[pypi]\nusername = __token__\npassword = {user_wide}\n"),
    );
    write(d, "ci/publish.env", format!("PYPI_TOKEN={scoped}\n"));
    write(d, "ci/job.log", format!("minted token {minted}\n"));
    let inv = d.join("inv.yaml");
    std::fs::write(
        &inv,
        "agent: release-bot\nowner: pkg-team\nidentity_type: ci_job\nauth: static_api_key\n\
         allowed_actions: [upload_package]\naudit_log: required\nreview_cycle: annual\n\
         last_review: 2026-11-01\ncredentials:\n  - provider: pypi\n    env: password\n\
         \x20 - provider: pypi\n    env: PYPI_TOKEN\n",
    )
    .unwrap();
    let (_, v) = scan_json(d, &["--agents", inv.to_str().unwrap()]);
    let by = |secret: &str| {
        let fp = keytrace::base::secret::fingerprint(secret.as_bytes());
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["fingerprint"] == fp.as_str())
            .unwrap_or_else(|| panic!("no finding for a planted PyPI token: {v}"))
            .clone()
    };
    let u = by(&user_wide);
    assert_eq!(u["decoded"]["pypi_scope"], "user");
    assert_eq!(u["privilege"], "admin");
    assert_eq!(u["identity"], "release-bot");
    assert!(risks(&u).contains(&"NHI5".to_string()), "{u}");
    let s = by(&scoped);
    assert_eq!(s["decoded"]["pypi_scope"], "project");
    assert_eq!(
        s["decoded"]["pypi_projects"],
        serde_json::json!(["acme-client"])
    );
    assert_eq!(s["identity"], "release-bot");
    assert!(!risks(&s).contains(&"NHI5".to_string()), "{s}");
    let m = by(&minted);
    assert_eq!(m["decoded"]["pypi_scope"], "trusted-publishing");
    assert_eq!(m["lifetime"], "short");
    assert_eq!(m["identity_class"], "service");
    assert!(!risks(&m).contains(&"NHI7".to_string()), "{m}");
}

#[test]
fn code_owners_come_from_codeowners_and_backstage_catalogs() {
    let mut f = Fakes::new(77);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        ".github/CODEOWNERS",
        "# default\n*       @acme/platform\n/services/billing/  @acme/payments finance@acme.example\n*.md\n",
    );
    write(
        d,
        "services/billing/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: billing\nspec:\n  type: service\n  owner: group:default/payments\n",
    );
    write(
        d,
        "services/search/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: docs\nspec:\n  targets: []\n---\nkind: Component\nmetadata:\n  name: search\nspec:\n  owner: search-team\n",
    );
    let billing = f.stripe("sk");
    let search = f.slack_bot();
    let docs = f.github("ghp");
    write(
        d,
        "services/billing/app/.env",
        format!("STRIPE_KEY={billing}\n"),
    );
    write(
        d,
        "services/search/config.yaml",
        format!("slack_token: {search}\n"),
    );
    write(d, "docs/setup.md", format!("export GITHUB_TOKEN={docs}\n"));
    let (_, v) = scan_json(d, &[]);
    let owners_of = |secret: &str| -> Vec<(String, String)> {
        let fp = keytrace::base::secret::fingerprint(secret.as_bytes());
        let found = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["fingerprint"] == fp.as_str())
            .unwrap();
        assert!(found["identity"].is_null(), "code owners do not claim");
        found["code_owners"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| {
                        (
                            o["owner"].as_str().unwrap().to_string(),
                            o["source"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let pair = |o: &str, s: &str| (o.to_string(), s.to_string());
    assert_eq!(
        owners_of(&billing),
        [
            pair("@acme/payments", ".github/CODEOWNERS"),
            pair("finance@acme.example", ".github/CODEOWNERS"),
            pair(
                "group:default/payments",
                "services/billing/catalog-info.yaml"
            ),
        ]
    );
    assert_eq!(
        owners_of(&search),
        [
            pair("@acme/platform", ".github/CODEOWNERS"),
            pair("search-team", "services/search/catalog-info.yaml"),
        ]
    );
    // `*.md` with no owner: the last matching rule says nobody.
    assert!(owners_of(&docs).is_empty());

    let (_, off) = scan_json(d, &["--no-code-owners"]);
    assert!(off["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x.get("code_owners").is_none()));
    let r = run(&["scan", d.to_str().unwrap()], None);
    assert!(
        r.stdout
            .contains("code owners  @acme/payments (.github/CODEOWNERS)"),
        "{}",
        r.stdout
    );
}

/// An inventory's `env: NPM_TOKEN` claims the secret however the code
/// spells the name: `npm_token`, `npmToken`, `NpmToken`, `npm-token`. A
/// `fingerprint` that holds a raw secret is a warning that does not print it.
#[test]
fn binding_names_match_across_spellings() {
    let mut fakes = Fakes::new(0x5e11);
    let dir = tempfile::tempdir().unwrap();
    let spellings = [
        ("a.env", "npm_token={}\n"),
        ("b.ts", "const npmToken = \"{}\";\n"),
        ("c.cs", "var NpmToken = \"{}\";\n"),
        ("values.yaml", "npm-token: {}\n"),
        ("d.env", "NPM_TOKEN={}\n"),
    ];
    let mut tokens = Vec::new();
    for (file, line) in spellings {
        let t = fakes.npm();
        write(dir.path(), file, line.replace("{}", &t));
        tokens.push(t);
    }
    // A name that only shares letters with another is not the same name.
    let other = fakes.npm();
    write(dir.path(), "e.env", format!("NPM_TOKEN_OLD={other}\n"));
    let raw = fakes.github("ghp");
    let inventory = dir.path().join("inventory");
    write(
        &inventory,
        "agents.yaml",
        format!(
            "agent: publisher\nowner: release-team\nidentity_type: ci_job\ncredentials:\n  - env: NPM_TOKEN\n  - fingerprint: {raw}\n"
        ),
    );
    let (_, v) = scan_json(
        dir.path(),
        &["--agents", inventory.to_str().unwrap(), "--no-history"],
    );
    let findings = v["findings"].as_array().unwrap();
    for t in &tokens {
        let fp = keytrace::base::secret::fingerprint(t.as_bytes());
        let f = findings
            .iter()
            .find(|f| f["fingerprint"] == fp.as_str())
            .unwrap_or_else(|| panic!("{t} not found: {findings:?}"));
        assert_eq!(f["identity"], "publisher", "{}", f["locations"][0]["path"]);
    }
    let fp = keytrace::base::secret::fingerprint(other.as_bytes());
    let f = findings
        .iter()
        .find(|f| f["fingerprint"] == fp.as_str())
        .unwrap();
    assert!(f["identity"].is_null(), "NPM_TOKEN_OLD is another name");
    let r = run(
        &[
            "agents",
            "check",
            inventory.join("agents.yaml").to_str().unwrap(),
        ],
        None,
    );
    assert!(r.stdout.contains("fingerprint-not-sha256"), "{}", r.stdout);
    assert!(r.stdout.contains("looks like a raw secret"), "{}", r.stdout);
    assert!(!r.stdout.contains(&raw) && !r.stderr.contains(&raw));
    assert!(!v.to_string().contains(&raw));
}

/// `agents init` drafts an inventory from a scan; scanning with it leaves
/// no finding unclaimed, `agents check` reads it and asks for the reviews;
/// run again with it, it drafts only what is new.
#[test]
fn agents_init_drafts_an_inventory_that_claims_every_finding() {
    let mut f = Fakes::new(0x1417);
    let repo = tempfile::tempdir().unwrap();
    let d = repo.path();
    let secrets = [f.npm(), f.stripe("sk"), f.github("ghp"), f.slack_bot()];
    write(
        d,
        ".github/workflows/release.yml",
        format!(
            "jobs:\n  publish:\n    env:\n      NPM_TOKEN: {}\n",
            secrets[0]
        ),
    );
    write(
        d,
        "services/billing/.env",
        format!("STRIPE_SECRET_KEY={}\n", secrets[1]),
    );
    write(
        d,
        "agents/triage/mcp.json",
        format!("{{\"env\": {{\"GITHUB_TOKEN\": \"{}\"}}}}\n", secrets[2]),
    );
    write(
        d,
        "deploy/k8s/chatops.yaml",
        format!("slack_token: {}\n", secrets[3]),
    );
    write(
        d,
        ".github/CODEOWNERS",
        "/services/billing/ @acme/payments\n",
    );
    let out = tempfile::tempdir().unwrap();
    let draft = out.path().join("agents.yaml");
    let r = run(
        &[
            "agents",
            "init",
            "--no-history",
            "-o",
            draft.to_str().unwrap(),
            d.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("4 identities drafted"), "{}", r.stderr);
    let text = std::fs::read_to_string(&draft).unwrap();
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret in the draft");
    }
    for kind in ["ci_job", "service_account", "ai_agent", "workload_identity"] {
        assert!(
            text.contains(&format!("identity_type: {kind}   # a guess")),
            "{kind}: {text}"
        );
    }
    assert!(text.contains("owner: \"@acme/payments\""), "{text}");
    // Scanning with the draft: every finding is claimed.
    let (_, v) = scan_json(d, &["--no-history", "--agents", draft.to_str().unwrap()]);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 4, "{v}");
    assert!(findings.iter().all(|f| !f["identity"].is_null()), "{v}");
    // `agents check` reads it and asks for every review.
    let r = run(&["agents", "check", draft.to_str().unwrap()], None);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(
        r.stdout.matches("review-missing").count(),
        4,
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("4 identities"), "{}", r.stdout);
    // A new credential: the next draft holds only it.
    let new = f.github("ghp");
    write(d, "tools/sync.py", format!("GITHUB_TOKEN = \"{new}\"\n"));
    let r = run(
        &[
            "agents",
            "init",
            "--no-history",
            "--agents",
            draft.to_str().unwrap(),
            d.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with("agent: "))
            .count(),
        1,
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains(&keytrace::base::secret::fingerprint(new.as_bytes())));
    assert!(r.stderr.contains("(4 already claimed)"), "{}", r.stderr);
}

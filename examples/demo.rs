//! keytrace at its best, in one command: builds a small repository with
//! fake credentials (made now, in the shape each provider issues: prefix,
//! length, alphabet, checksum; none is live) and an inventory of the
//! agents that hold them, scans it, history included, and prints the
//! report grouped by owner: who is accountable for each key, which keys
//! nobody owns, and the OWASP NHI risks of each.
//!
//! `cargo run --release --example demo` (a temporary directory, removed
//! afterwards), or `cargo run --release --example demo -- DIR` to keep the
//! repository and scan it yourself (`keytrace scan DIR --agents
//! DIR/agents.yaml`). Nothing is committed to keytrace's own tree.
use std::path::Path;
use std::process::Command;

use clap::Parser;
use keytrace::cli::{Cli, Command as Sub};
use keytrace::config::Config;
use keytrace::report::{self, ReportOptions};
use keytrace::testkit::fakes::Fakes;

/// Runs git in `dir` as the demo's committer, on a fixed date.
fn git(dir: &Path, args: &[&str], date: &str) -> bool {
    Command::new("git")
        .args([
            "-c",
            "user.name=Dana Dev",
            "-c",
            "user.email=dana@example.org",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("a relative path")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// The repository: what an organisation's agents, bots and CI jobs leave
/// behind, and the inventory that says whose each one is.
fn build(dir: &Path) -> bool {
    let mut f = Fakes::new(2026);
    let npm = f.npm();
    let stripe = f.stripe("sk");
    let slack = f.slack_bot();
    let gh_agent = f.github("ghp");
    let gh_shared = f.github("ghp");
    let aws_id = f.aws_key_id("AKIA");
    let aws_secret = f.aws_secret();
    let has_git = git(dir, &["init", "-q"], "2025-03-01T09:00:00Z");
    let commit = |msg: &str, date: &str| {
        has_git && git(dir, &["add", "-A"], date) && git(dir, &["commit", "-q", "-m", msg], date)
    };
    // An old deploy key, committed and removed again: gone from the files,
    // still in history.
    write(
        dir,
        "deploy/old-aws.env",
        &format!("AWS_ACCESS_KEY_ID={aws_id}\nAWS_SECRET_ACCESS_KEY={aws_secret}\n"),
    );
    commit("deploy: temporary AWS credentials", "2025-03-01T09:00:00Z");
    if has_git {
        std::fs::remove_file(dir.join("deploy/old-aws.env")).expect("rm");
        commit("deploy: remove AWS credentials", "2025-03-02T09:00:00Z");
    }
    write(
        dir,
        ".github/workflows/release.yml",
        &format!(
            "name: release\non: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    env:\n      NPM_TOKEN: {npm}\n    steps:\n      - run: npm publish\n"
        ),
    );
    write(
        dir,
        "services/billing/.env",
        &format!("STRIPE_SECRET_KEY={stripe}\nLOG_LEVEL=info\n"),
    );
    write(
        dir,
        "agents/triage/mcp.json",
        &format!(
            "{{\n  \"mcpServers\": {{\n    \"github\": {{\n      \"command\": \"github-mcp-server\",\n      \"env\": {{ \"GITHUB_PERSONAL_ACCESS_TOKEN\": \"{gh_agent}\" }}\n    }}\n  }}\n}}\n"
        ),
    );
    write(
        dir,
        "chatops/config.yaml",
        &format!("slack:\n  bot_token: {slack}\n"),
    );
    // One token, two identities: the docs bot reuses the triage agent's.
    write(
        dir,
        "docs-bot/settings.toml",
        &format!("[github]\ntoken = \"{gh_shared}\"\n"),
    );
    write(
        dir,
        "scripts/sync.py",
        &format!("import os\n\nGITHUB_TOKEN = \"{gh_shared}\"\n"),
    );
    let fp = |s: &str| keytrace::base::secret::fingerprint(s.as_bytes());
    write(
        dir,
        "agents.yaml",
        &format!(
            "# Who holds what: the agents, bots and CI jobs of this repository.
agent: release-bot
owner: platform-team
identity_type: ci_job
auth: oidc_short_lived_token      # declared short-lived ... yet a static npm token sits in CI
review_cycle: quarterly
last_review: 2026-10-01
credentials:
  - env: npm_token                 # matches NPM_TOKEN, npmToken, npm-token
---
agent: billing-sync
owner: payments-team
identity_type: service_account
auth: static_api_key
status: offboarded                 # retired in October: its key should be gone
review_cycle: quarterly
last_review: 2026-06-15
credentials:
  - provider: stripe
    env: STRIPE_SECRET_KEY
---
agent: triage-agent
owner: support-eng
identity_type: ai_agent
auth: static_api_key
allowed_actions: [read_issues, label_issues, \"repo:*\"]
review_cycle: monthly
last_review: 2026-05-01
credentials:
  - fingerprint: \"{}\"
---
agent: docs-bot
owner: devrel
identity_type: bot
auth: static_api_key
review_cycle: quarterly
last_review: 2026-11-01
credentials:
  - fingerprint: \"{}\"
---
agent: sync-script
owner: data-team
identity_type: bot
auth: static_api_key
review_cycle: quarterly
last_review: 2026-11-01
credentials:
  - env: GITHUB_TOKEN
    provider: github
",
            fp(&gh_agent),
            fp(&gh_shared),
        ),
    );
    commit(
        "services, agents and their configuration",
        "2025-06-01T09:00:00Z",
    );
    has_git
}

fn main() {
    let kept = std::env::args().nth(1);
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = kept
        .as_deref()
        .map_or_else(|| tmp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).expect("the demo directory");
    let has_git = build(&dir);
    // Scanned from inside, so that paths read as in the repository.
    std::env::set_current_dir(&dir).expect("into the demo directory");
    let args = [
        "keytrace",
        "scan",
        "--agents",
        "agents.yaml",
        "--no-progress",
        ".",
    ];
    let Sub::Scan(scan) = Cli::parse_from(args).command else {
        unreachable!("a scan")
    };
    let config = Config::from_scan_args(&scan).expect("the demo's configuration");
    let report = keytrace::scan::run(&config).expect("the demo scan");
    println!(
        "keytrace demo: a repository with fake credentials (made now, none live) and an\n\
         inventory (agents.yaml) of the agents that hold them, in {}{}\n\
         The same scan, run there: keytrace scan . --agents agents.yaml\n",
        dir.display(),
        if has_git {
            ""
        } else {
            " (no git here: files only)"
        },
    );
    let opts = ReportOptions {
        color: std::io::IsTerminal::is_terminal(&std::io::stdout()),
        threads: 1,
        all_locations: false,
    };
    let mut out = std::io::stdout().lock();
    report::write(
        report::Format::Human,
        &report,
        config.matcher.rules(),
        opts,
        &mut out,
    )
    .expect("the report is written");
    if kept.is_none() {
        println!("\n(the repository was temporary; `cargo run --release --example demo -- DIR` keeps it)");
    }
}

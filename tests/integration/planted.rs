//! A tree of fake credentials of every kind keytrace's first rules cover,
//! planted in .env, YAML, JSON, Python, JS/TS, Go, Java, Terraform,
//! Dockerfile, shell and Markdown files, next to look-alikes that must not be
//! reported. Built at test time: no committed file holds a token-shaped string.
use std::collections::BTreeSet;

use keytrace::testkit::fakes::Fakes;
use tempfile::TempDir;

use crate::{scan_json, write};

#[derive(Debug, Clone)]
pub struct Expect {
    pub rule: &'static str,
    pub path: String,
    pub line: u32,
    pub binding: Option<&'static str>,
    pub secret: String,
    pub key_id: Option<String>,
}

pub struct Planted {
    pub dir: TempDir,
    pub expected: Vec<Expect>,
}

struct Builder {
    dir: TempDir,
    expected: Vec<Expect>,
}

impl Builder {
    /// Writes `lines`; a line holding `{}` gets the secret of the matching
    /// entry in `plants` (in order), and is expected at that line.
    fn file(&mut self, path: &str, lines: &[&str], plants: Vec<Plant>) {
        let mut text = String::new();
        let mut plants = plants.into_iter();
        for (i, l) in lines.iter().enumerate() {
            if l.contains("{}") {
                let p = plants.next().expect("a plant for every {}");
                let line = i as u32 + 1 + p.line_offset;
                text.push_str(&l.replace("{}", &p.text));
                self.expected.push(Expect {
                    rule: p.rule,
                    path: path.to_string(),
                    line,
                    binding: p.binding,
                    secret: p.secret,
                    key_id: p.key_id,
                });
            } else {
                text.push_str(l);
            }
            text.push('\n');
        }
        assert!(plants.next().is_none(), "unused plant in {path}");
        write(self.dir.path(), path, text);
    }
}

struct Plant {
    rule: &'static str,
    /// What goes into the line (the secret, or a URI holding it).
    text: String,
    /// What the finding's secret must be.
    secret: String,
    binding: Option<&'static str>,
    key_id: Option<String>,
    line_offset: u32,
}

fn p(rule: &'static str, secret: String, binding: Option<&'static str>) -> Plant {
    Plant {
        rule,
        text: secret.clone(),
        secret,
        binding,
        key_id: None,
        line_offset: 0,
    }
}

/// A URI whose password is the secret.
fn uri(rule: &'static str, template: &str, pw: String, binding: &'static str) -> Plant {
    Plant {
        rule,
        text: template.replace("PW", &pw),
        secret: pw,
        binding: Some(binding),
        key_id: None,
        line_offset: 0,
    }
}

pub fn plant_all(seed: u64) -> Planted {
    let mut f = Fakes::new(seed);
    let mut b = Builder {
        dir: tempfile::tempdir().unwrap(),
        expected: Vec::new(),
    };
    b.file(
        ".env",
        &[
            "# service settings",
            "APP_ENV=production",
            "GITHUB_TOKEN={}",
            "NPM_TOKEN={}",
            "DATABASE_URL={}",
            "REDIS_URL={}",
        ],
        vec![
            p("github-classic-pat", f.github("ghp"), Some("GITHUB_TOKEN")),
            p("npm-access-token", f.npm(), Some("NPM_TOKEN")),
            uri(
                "postgres-connection-uri",
                "postgres://app:PW@db.internal:5432/app",
                f.password(),
                "DATABASE_URL",
            ),
            uri(
                "redis-connection-uri",
                "redis://default:PW@cache.internal:6379/0",
                f.password(),
                "REDIS_URL",
            ),
        ],
    );
    b.file(
        "deploy/config.yaml",
        &[
            "service:",
            "  name: release-bot",
            "  slack:",
            "    bot_token: {}",
            "    user_token: \"{}\"",
            "    webhook: {}",
            "  huggingface_token: '{}'",
            "  queue: {}",
        ],
        vec![
            p("slack-bot-token", f.slack_bot(), Some("bot_token")),
            p("slack-user-token", f.slack_user(), Some("user_token")),
            p("slack-incoming-webhook", f.slack_webhook(), Some("webhook")),
            p(
                "huggingface-access-token",
                f.huggingface(),
                Some("huggingface_token"),
            ),
            uri(
                "amqp-connection-uri",
                "amqps://worker:PW@mq.internal:5671/prod",
                f.password(),
                "queue",
            ),
        ],
    );
    b.file(
        "settings.json",
        &[
            "{",
            "  \"openai\": {",
            "    \"api_key\": \"{}\"",
            "  },",
            "  \"anthropic_admin_key\": \"{}\",",
            "  \"mongo\": \"{}\",",
            "  \"admin_key\": \"{}\"",
            "}",
        ],
        vec![
            p("openai-project-api-key", f.openai("proj"), Some("api_key")),
            p(
                "anthropic-admin-key",
                f.anthropic("admin01"),
                Some("anthropic_admin_key"),
            ),
            uri(
                "mongodb-connection-uri",
                "mongodb+srv://svc:PW@cluster0.ab12c.mongodb.net/app",
                f.password(),
                "mongo",
            ),
            p("openai-admin-key", f.openai("admin"), Some("admin_key")),
        ],
    );
    b.file(
        "agent/agent.py",
        &[
            "import os",
            "from openai import OpenAI",
            "",
            "client = OpenAI(api_key=\"{}\")",
            "ANTHROPIC_API_KEY = \"{}\"",
            "os.environ[\"HF_TOKEN\"] = \"{}\"",
            "SECRET_KEY = \"{}\"",
            "LEGACY_KEY = '{}'",
        ],
        vec![
            p(
                "openai-service-account-key",
                f.openai("svcacct"),
                Some("api_key"),
            ),
            p(
                "anthropic-api-key",
                f.anthropic("api03"),
                Some("ANTHROPIC_API_KEY"),
            ),
            p(
                "huggingface-access-token",
                f.huggingface(),
                Some("HF_TOKEN"),
            ),
            p(
                "generic-secret-assignment",
                f.generic_value(),
                Some("SECRET_KEY"),
            ),
            p(
                "openai-legacy-user-key",
                f.openai_legacy(),
                Some("LEGACY_KEY"),
            ),
        ],
    );
    b.file(
        "web/server.ts",
        &[
            "import Stripe from 'stripe';",
            "const stripe = new Stripe('{}');",
            "export const GOOGLE_API_KEY = \"{}\";",
            "const webhookSecret = \"{}\";",
            "const restricted = `{}`;",
        ],
        vec![
            p("stripe-live-secret-key", f.stripe("sk"), None),
            p("google-api-key", f.google_api_key(), Some("GOOGLE_API_KEY")),
            p(
                "stripe-webhook-secret",
                f.stripe_webhook_secret(),
                Some("webhookSecret"),
            ),
            p(
                "stripe-live-restricted-key",
                f.stripe("rk"),
                Some("restricted"),
            ),
        ],
    );
    b.file(
        "web/db.js",
        &["const pool = mysql.createPool({ uri: '{}' });"],
        vec![uri(
            "mysql-connection-uri",
            "mysql://reporter:PW@10.0.0.7:3306/sales",
            f.password(),
            "uri",
        )],
    );
    b.file(
        "cmd/main.go",
        &[
            "package main",
            "",
            "func main() {",
            "\ttoken := \"{}\"",
            "\tvar slackAppToken = \"{}\"",
            "\tinstallation := \"{}\"",
            "}",
        ],
        vec![
            p("github-oauth-token", f.github("gho"), Some("token")),
            p(
                "slack-app-level-token",
                f.slack_app(),
                Some("slackAppToken"),
            ),
            p(
                "github-installation-token",
                f.github_installation(),
                Some("installation"),
            ),
        ],
    );
    let jwt = f.jwt(r#"{"sub":"svc-reporting","role":"service_role","iat":1767225600}"#);
    b.file(
        "src/main/java/App.java",
        &[
            "public class App {",
            "    private static final String DOCKER_TOKEN = \"{}\";",
            "    String jwt = \"{}\";",
            "    String s2s = \"{}\";",
            "}",
        ],
        vec![
            p("docker-hub-pat", f.docker_pat(), Some("DOCKER_TOKEN")),
            p("jwt", jwt, Some("jwt")),
            p(
                "github-installation-token-legacy",
                f.github("ghs"),
                Some("s2s"),
            ),
        ],
    );
    let key_id = f.aws_key_id("AKIA");
    let aws_secret = f.aws_secret();
    b.file(
        "infra/main.tf",
        &[
            "provider \"aws\" {",
            "  region                = \"eu-west-1\"",
            &format!("  aws_access_key_id     = \"{key_id}\""),
            "  aws_secret_access_key = \"{}\"",
            "}",
        ],
        vec![Plant {
            key_id: Some(key_id.clone()),
            ..p(
                "aws-secret-access-key",
                aws_secret,
                Some("aws_secret_access_key"),
            )
        }],
    );
    b.file(
        "Dockerfile",
        &[
            "FROM node:20-slim",
            "ENV NPM_TOKEN {}",
            "ARG PYPI_TOKEN={}",
            "RUN npm ci",
        ],
        vec![
            p("npm-access-token", f.npm(), Some("NPM_TOKEN")),
            p("pypi-api-token", f.pypi(), Some("PYPI_TOKEN")),
        ],
    );
    b.file(
        "scripts/deploy.sh",
        &[
            "#!/bin/sh",
            "set -eu",
            "export GH_REFRESH={}",
            "export GITLAB_TOKEN={}",
            "curl -H \"Authorization: token {}\" https://api.github.com/user",
            "export AWS_ACCESS_KEY_ID={}",
        ],
        vec![
            p("github-refresh-token", f.github("ghr"), Some("GH_REFRESH")),
            p("gitlab-pat-legacy", f.gitlab_pat(), Some("GITLAB_TOKEN")),
            p("github-user-to-server-token", f.github("ghu"), None),
            // Alone, the id is the finding's secret: no `key_id` (it
            // would print the whole value).
            p(
                "aws-temporary-access-key-id",
                f.aws_key_id("ASIA"),
                Some("AWS_ACCESS_KEY_ID"),
            ),
        ],
    );
    b.file(
        ".npmrc",
        &["//npm.pkg.github.com/:_authToken={}"],
        vec![p(
            "github-fine-grained-pat",
            f.github_fine_grained(),
            Some("_authToken"),
        )],
    );
    let openssh = f.openssh();
    let mut md: Vec<String> = vec![
        "# Setup".into(),
        "".into(),
        "Use the deploy key below:".into(),
        "".into(),
        "```".into(),
    ];
    md.push("{}".into());
    md.extend(openssh.lines().skip(1).map(String::from));
    md.push("```".into());
    let md_refs: Vec<&str> = md.iter().map(String::as_str).collect();
    let mut ssh = p("openssh-private-key", openssh.clone(), None);
    ssh.text = openssh.lines().next().unwrap().to_string();
    b.file("docs/README.md", &md_refs, vec![ssh]);
    // The planted text for the key is only its first line; the rest follows.
    let pem = f.pem("RSA PRIVATE KEY");
    write(b.dir.path(), "keys/deploy.pem", format!("{pem}\n"));
    b.expected.push(Expect {
        rule: "pem-private-key",
        path: "keys/deploy.pem".into(),
        line: 1,
        binding: None,
        secret: pem,
        key_id: None,
    });
    let pkcs8 = f.pem("PRIVATE KEY");
    let escaped = format!("{}\\n", pkcs8.replace('\n', "\\n"));
    b.file(
        "gcp/service-account.json",
        &[
            "{",
            "  \"type\": \"service_account\",",
            "  \"private_key\": \"{}\",",
            "  \"client_email\": \"deployer@proj.iam.gserviceaccount.com\"",
            "}",
        ],
        vec![Plant {
            text: escaped,
            ..p(
                "pem-private-key",
                pkcs8.replace('\n', "\\n"),
                Some("private_key"),
            )
        }],
    );
    write_negatives(&mut f, b.dir.path());
    Planted {
        dir: b.dir,
        expected: b.expected,
    }
}

/// Look-alikes that a good scanner must stay silent on.
fn write_negatives(f: &mut Fakes, dir: &std::path::Path) {
    let image: String = {
        let mut g = Fakes::new(99);
        g.chars(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            20_000,
        )
    };
    let lines = [
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE".to_string(),
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string(),
        format!("GITHUB_TOKEN={}", f.github_bad_checksum("ghp")),
        format!("NPM_TOKEN={}", {
            let t = f.npm();
            format!(
                "{}{}",
                &t[..t.len() - 1],
                if t.ends_with('Z') { 'Y' } else { 'Z' }
            )
        }),
        "api_key: your_api_key_here".into(),
        "token: ${{ secrets.GITHUB_TOKEN }}".into(),
        "password = os.getenv(\"DB_PASSWORD\")".into(),
        "api_key = process.env.API_KEY".into(),
        "secret: 550e8400-e29b-41d4-a716-446655440000".into(),
        format!("checksum: {}", f.hex(64)),
        format!("commit_token = \"{}\"", f.hex(40)),
        format!(
            "\"integrity\": \"sha512-{}==\",",
            f.chars(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                86
            )
        ),
        format!("<img src=\"data:image/png;base64,{image}\">"),
        "OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".into(),
        "DATABASE_URL=postgres://user:password@localhost/db".into(),
        "DATABASE_URL=postgres://user:${DB_PASSWORD}@localhost/db".into(),
        "REDIS_URL=redis://localhost:6379/0".into(),
        "STRIPE_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx".into(),
        "token = \"<token>\"".into(),
        "SECRET_KEY = \"changeme\"".into(),
        "client_secret = \"{{ vault_client_secret }}\"".into(),
        "GITHUB_TOKEN=$GITHUB_TOKEN".into(),
        "export SLACK_TOKEN=\"${SLACK_TOKEN:?}\"".into(),
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----".into(),
        format!("session_token = {}  # keytrace:allow", f.github("ghp")),
        format!("STRIPE_PUBLISHABLE_KEY=pk_live_{}", f.alnum(99)),
    ];
    write(dir, "docs/negatives.md", lines.join("\n") + "\n");
    write(dir, "web/negatives.ts", format!("const lock = {{ \"integrity\": \"sha512-{}==\" }};\nconst uuid = \"123e4567-e89b-12d3-a456-426614174000\";\n", f.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 86)));
}

#[test]
fn every_planted_credential_is_found_with_rule_path_line_and_binding() {
    // Several seeds: a rule must hold for any value of the right shape.
    for (seed, threads) in (10..26).zip(["1", "2"].into_iter().cycle()) {
        check_planted(seed, threads);
    }
}

fn check_planted(seed: u64, threads: &str) {
    let tree = plant_all(seed);
    {
        let (code, v) = scan_json(tree.dir.path(), &["--threads", threads]);
        assert_eq!(code, 1);
        assert!(
            v["errors"].as_array().unwrap().is_empty(),
            "{}",
            v["errors"]
        );
        let root = tree.dir.path().to_str().unwrap().to_string() + "/";
        let mut got = BTreeSet::new();
        for f in v["findings"].as_array().unwrap() {
            for l in f["locations"].as_array().unwrap() {
                got.insert((
                    f["rule"].as_str().unwrap().to_string(),
                    l["path"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches(&root)
                        .to_string(),
                    l["line"].as_u64().unwrap() as u32,
                    l["binding"].as_str().map(String::from),
                    f["key_id"].as_str().map(String::from),
                ));
            }
        }
        let want: BTreeSet<_> = tree
            .expected
            .iter()
            .map(|e| {
                (
                    e.rule.to_string(),
                    e.path.clone(),
                    e.line,
                    e.binding.map(String::from),
                    e.key_id.clone(),
                )
            })
            .collect();
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "seed {seed}, threads {threads}\nmissing: {missing:#?}\nunexpected: {extra:#?}"
        );
        // Every secret is captured exactly: the fingerprint is of the secret.
        for e in &tree.expected {
            let fp = keytrace::base::secret::fingerprint(e.secret.as_bytes());
            assert!(
                v["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["fingerprint"] == fp.as_str() && f["rule"] == e.rule),
                "{} at {}:{}: secret not captured exactly",
                e.rule,
                e.path,
                e.line
            );
        }
    }
}

#[test]
fn facts_decoded_offline() {
    let tree = plant_all(15);
    let (_, v) = scan_json(tree.dir.path(), &[]);
    let find = |rule: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule}"))
            .clone()
    };
    let aws = find("aws-secret-access-key");
    assert_eq!(aws["decoded"]["aws_account_id"].as_str().unwrap().len(), 12);
    assert_eq!(aws["lifetime"], "long");
    assert_eq!(find("aws-temporary-access-key-id")["lifetime"], "short");
    assert_eq!(find("github-classic-pat")["checksum"], "valid");
    let jwt = find("jwt");
    assert_eq!(jwt["lifetime"], "long", "no exp claim: long-lived");
    assert_eq!(jwt["decoded"]["role"], "service_role");
    let ghs = find("github-installation-token");
    assert_eq!(ghs["lifetime"], "short");
    assert!(ghs["decoded"]["github_app_id"].is_number());
    let ghp = find("github-classic-pat");
    let risks: Vec<&str> = ghp["risks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(risks, ["NHI2", "NHI7"]);
    assert_eq!(find("openssh-private-key")["decoded"]["encrypted"], false);
}

#[test]
fn include_invalid_reports_bad_checksums_marked() {
    let tree = plant_all(16);
    let (_, v) = scan_json(tree.dir.path(), &["--include-invalid"]);
    let invalid: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["checksum"] == "invalid")
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(invalid, ["github-classic-pat", "npm-access-token"]);
}

#[test]
fn project_file_allows_paths_values_and_rules() {
    let tree = plant_all(17);
    let n = tree.expected.len();
    write(
        tree.dir.path(),
        ".keytrace.toml",
        "[allow]\npaths = [\"deploy/**\", \"*.md\", \"docs/**\"]\nvalues = [\"^xox\"]\nrules = [\"jwt\"]\n",
    );
    let (_, v) = scan_json(tree.dir.path(), &[]);
    let dropped = tree
        .expected
        .iter()
        .filter(|e| {
            e.path.starts_with("deploy/")
                || e.path.starts_with("docs/")
                || e.rule == "jwt"
                || e.secret.starts_with("xox")
        })
        .count();
    assert!(dropped >= 6);
    assert_eq!(crate::locations(&v).len(), n - dropped);
}

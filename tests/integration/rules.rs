//! Rules are data with their own examples: every built-in rule passes the
//! same lint that `keytrace rules check` runs on custom files.
use keytrace::matcher::rulecheck;
use keytrace::rules::RuleSet;

use crate::{run, scan_json, write};

#[path = "../../benches/common/mod.rs"]
mod bench_text;

#[test]
fn every_builtin_rule_passes_its_own_examples() {
    let set = RuleSet::builtin().unwrap();
    let problems = rulecheck::check(&set, true);
    assert!(
        problems.is_empty(),
        "{}",
        problems
            .iter()
            .map(|p| format!("{}: {}: {}", p.origin, p.rule, p.message))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn builtin_coverage_and_metadata() {
    let set = RuleSet::builtin().unwrap();
    assert!(set.len() >= 30, "{} rules", set.len());
    let providers: std::collections::BTreeSet<_> = set
        .rules()
        .iter()
        .map(|r| r.spec.provider.clone())
        .collect();
    assert!(providers.len() >= 15, "{providers:?}");
    for r in set.rules() {
        let s = &r.spec;
        assert!(
            s.references.iter().all(|u| u.starts_with("https://")),
            "{}: references must be https URLs",
            s.id
        );
        for k in &s.keywords {
            assert!(k.len() >= 3, "{}: keyword {k:?} too short", s.id);
        }
    }
}

#[test]
fn rules_list_human_and_json() {
    let r = run(&["rules", "list"], None);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("github-classic-pat"));
    let r = run(&["rules", "list", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let n = RuleSet::builtin().unwrap().len();
    assert_eq!(v.as_array().unwrap().len(), n);
    assert!(v[0]["pattern"].is_string() && v[0]["examples"].is_array());
}

pub const CUSTOM: &str = r#"
[[rule]]
id = "acme-deploy-key"
name = "ACME deploy key"
provider = "acme"
keywords = ["acme_dk_"]
pattern = '''(?:^|[^A-Za-z0-9_])(?P<secret>acme_dk_[a-z0-9]{24})(?:[^a-z0-9]|$)'''
lifetime = "long"
identity = "service"
references = ["https://docs.acme.invalid/keys"]
examples = ["ACME_KEY=acme_dk_q8zr2lmx0vte7wbn4kps9d1f"]
negative_examples = ["ACME_KEY=acme_dk_short"]
"#;

#[test]
fn rules_check_accepts_good_and_names_problems() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.toml", CUSTOM);
    let good = dir.path().join("good.toml");
    let r = run(&["rules", "check", good.to_str().unwrap()], None);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("1 rules ok"));

    let bad = CUSTOM
        .replace("acme_dk_q8zr2lmx0vte7wbn4kps9d1f", "acme_dk_tooshort")
        .replace("acme_dk_short", "acme_dk_a8zr2lmx0vte7wbn4kps9d1f");
    write(dir.path(), "bad.toml", bad);
    let r = run(
        &[
            "rules",
            "check",
            dir.path().join("bad.toml").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("example 1 does not yield a finding"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("negative example 1 yields a finding"),
        "{}",
        r.stdout
    );

    let clash = CUSTOM.replace("acme-deploy-key", "github-classic-pat");
    write(dir.path(), "clash.toml", clash);
    let r = run(
        &[
            "rules",
            "check",
            dir.path().join("clash.toml").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("clashes with a built-in rule"),
        "{}",
        r.stdout
    );

    write(
        dir.path(),
        "broken.toml",
        CUSTOM.replace("[a-z0-9]{24})", "[a-z0-9]{24}"),
    );
    let r = run(
        &[
            "rules",
            "check",
            dir.path().join("broken.toml").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("does not compile"), "{}", r.stdout);
}

#[test]
fn custom_rules_are_used_by_scan() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "rules/acme.toml", CUSTOM);
    write(
        dir.path(),
        "src/app.env",
        "ACME_KEY=acme_dk_z8zr2lmx0vte7wbn4kps9d1q\n",
    );
    let rules = dir.path().join("rules/acme.toml");
    let (code, v) = scan_json(
        &dir.path().join("src"),
        &["--rules", rules.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert_eq!(v["findings"][0]["rule"], "acme-deploy-key");
    assert_eq!(v["findings"][0]["binding"], "ACME_KEY");
    let (code, _) = scan_json(&dir.path().join("src"), &[]);
    assert_eq!(code, 0);
}

#[test]
fn readme_table_of_credential_kinds_is_the_generated_one() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let (_, rest) = readme
        .split_once("<!-- rules:begin -->\n")
        .expect("README marks the rules table");
    let (table, _) = rest.split_once("<!-- rules:end -->").unwrap();
    let r = run(&["rules", "list", "--format", "markdown"], None);
    assert_eq!(r.code, 0);
    let differs = table
        .lines()
        .zip(r.stdout.lines())
        .find(|(a, b)| a != b)
        .map(|(a, b)| format!("README: {a}\nrules:  {b}"));
    assert!(
        table == r.stdout,
        "README's table is stale: paste `keytrace rules list --format markdown` between the markers\n{}",
        differs.unwrap_or_else(|| "(one is longer)".into())
    );
    let n = RuleSet::builtin().unwrap().len();
    assert_eq!(
        table
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains('`'))
            .count(),
        n
    );
}

/// Rules of `files` read files of their names, wherever they are, in the
/// working tree and in history, and nothing else: the same lines in a file
/// of another name are not theirs. A custom rule file can declare them too.
#[test]
fn credential_files_are_recognised_by_their_names() {
    use crate::history::{commit, git};
    let mut f = keytrace::testkit::fakes::Fakes::new(90);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"], "2025-01-01T00:00:00Z");
    let store_pw = f.alnum(20);
    let pg_pw = f.alnum(20);
    let key = f.hex(32);
    let store = format!("https://jdoe:{store_pw}@git.acme.net\n");
    let pgpass = format!("# prod\ndb.acme.net:5432:billing:svc:{pg_pw}\n");
    // Committed, then deleted: history alone holds the credential store.
    write(d, "home/.git-credentials", &store);
    commit(d, "oops", "2025-01-01T00:00:00Z");
    git(
        d,
        &["rm", "-q", "home/.git-credentials"],
        "2025-01-02T00:00:00Z",
    );
    commit(d, "remove", "2025-01-02T00:00:00Z");
    write(d, "deploy/.pgpass", &pgpass);
    write(d, "app/config/master.key", format!("{key}\n"));
    // The same content under other names.
    write(d, "docs/store.txt", &store);
    write(d, "docs/pgpass.example", &pgpass);
    write(d, "docs/master.key.txt", format!("{key}\n"));
    let (_, v) = scan_json(d, &[]);
    let named = |rule: &str| crate::file_names_found(&v, |f| f["rule"] == rule);
    assert_eq!(
        named("git-credential-store-password"),
        [".git-credentials".to_string()].into(),
        "{v}"
    );
    assert_eq!(named("pgpass-password"), [".pgpass".to_string()].into());
    assert_eq!(named("rails-master-key"), ["master.key".to_string()].into());
    let store_finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "git-credential-store-password")
        .unwrap();
    assert_eq!(store_finding["at_head"], false, "{store_finding}");
    assert!(
        !v.to_string().contains(&store_pw),
        "no full secret without --show-secrets"
    );

    // A custom rule of `files`, and the lint's word on a bad one.
    let rules = d.join("custom.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = 'acme-license'\nname = 'Acme license'\nprovider = 'acme'\n\
         files = ['acme.lic']\npattern = '''\\A(?P<secret>ACME-[0-9A-F]{24})'''\n\
         identity = 'service'\nexamples = ['ACME-0A1B2C3D4E5F60718293A4B5']\n",
    )
    .unwrap();
    write(
        d,
        "opt/acme.lic",
        format!("ACME-{}", f.hex(24).to_uppercase()),
    );
    let (_, v) = scan_json(d, &["--no-history", "--rules", rules.to_str().unwrap()]);
    assert_eq!(
        crate::file_names_found(&v, |f| f["rule"] == "acme-license"),
        ["acme.lic".to_string()].into()
    );
    std::fs::write(
        &rules,
        "[[rule]]\nid = 'acme-license'\nname = 'Acme license'\nprovider = 'acme'\n\
         keywords = ['acme']\nfiles = ['acme.lic']\npattern = '''(?P<secret>ACME-[0-9A-F]{24})'''\n\
         identity = 'service'\n",
    )
    .unwrap();
    let r = run(&["rules", "check", rules.to_str().unwrap()], None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("takes no keywords"), "{}", r.stdout);
}

/// A token in an `Authorization: Bearer` header is reported by the rule of
/// its format where it has one, and otherwise by the header's own rule, at
/// medium confidence; a variable or a placeholder is not a token.
#[test]
fn bearer_headers_yield_to_known_formats() {
    let mut f = keytrace::testkit::fakes::Fakes::new(91);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ghp = f.github("ghp");
    let opaque = f.alnum(40);
    write(
        d,
        "call.sh",
        format!(
            "curl -H \"Authorization: Bearer {ghp}\" https://api.github.com/user\n\
             curl -H \"Authorization: Bearer {opaque}\" https://api.acme.net/v1/jobs\n\
             curl -H \"Authorization: Bearer $API_TOKEN\" https://api.acme.net/v1/jobs\n"
        ),
    );
    let (_, v) = scan_json(d, &["--no-history", "--show-secrets"]);
    let got: Vec<(String, String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["secret"].as_str().unwrap().to_string(),
                f["confidence"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("github-classic-pat".to_string(), ghp, "high".to_string()),
            (
                "http-authorization-bearer-token".to_string(),
                opaque,
                "medium".to_string()
            ),
        ],
        "{v}"
    );
}

/// Every position where one of the keywords' 3-byte anchors occurs costs the
/// prefilter a lookup and a comparison: a keyword whose every trigram is
/// common in code (`logged_in` by `ogg` of `logger`, `fury.io` by `y.i` of
/// `registry.internal`) made 1 position in 175 of the bench corpus pass and
/// the 1 GiB scan 31% slower. The built-in keywords keep it under 1 in 500
/// on the text the benches scan (about 1 in 1,000 today).
#[test]
fn keyword_anchors_stay_rare_in_the_bench_text() {
    let m =
        keytrace::matcher::Matcher::new(RuleSet::builtin().unwrap(), Default::default()).unwrap();
    let mut f = keytrace::testkit::fakes::Fakes::new(11);
    let (mut bytes, mut passes) = (0, 0);
    for lang in 0..5 {
        let (text, _) = bench_text::text(&mut f, lang, 1 << 20, 400);
        bytes += text.len();
        passes += m.keywords().gate_passes(text.as_bytes());
    }
    assert!(
        passes * 500 < bytes,
        "{passes} of {bytes} positions pass the keyword gate (1 in {})",
        bytes / passes.max(1)
    );
}

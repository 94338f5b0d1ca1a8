//! Recall and precision of every built-in rule on the labelled accuracy
//! corpus (`keytrace::corpus`): a tree generated at test time from a seed,
//! with a fresh credential of every rule in realistic files (some
//! base64-encoded) and more decoys than credentials. The real binary scans
//! it; findings are matched to labels by (rule, path, line), and by whether
//! the location says the text was decoded.
//!
//! `cargo test --test integration accuracy -- --nocapture` prints the table.
use std::collections::{BTreeMap, BTreeSet};

use keytrace::rules::RuleSet;
use keytrace::testkit::corpus::Corpus;
use serde_json::Value;

use crate::{scan_json, write};

const SEEDS: [u64; 3] = [1, 2, 3];
const MIN_RECALL: f64 = 0.99;
const MIN_PRECISION: f64 = 0.99;

/// (rule, path, line, encoded)
type Key = (String, String, u32, bool);

#[derive(Default, Clone, Copy)]
struct Score {
    tp: u32,
    fp: u32,
    fn_: u32,
}

impl Score {
    fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    fn add(&mut self, o: Score) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Every location of every finding, as a key relative to `root`.
fn found(v: &Value, root: &str) -> BTreeSet<Key> {
    let mut out = BTreeSet::new();
    for f in v["findings"].as_array().unwrap() {
        for l in f["locations"].as_array().unwrap() {
            out.insert((
                f["rule"].as_str().unwrap().to_string(),
                l["path"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches(root)
                    .to_string(),
                l["line"].as_u64().unwrap() as u32,
                l["encoding"].as_str() == Some("base64"),
            ));
        }
    }
    out
}

#[test]
fn accuracy_corpus_recall_and_precision_per_rule() {
    let rules = RuleSet::builtin().unwrap();
    let mut per_rule: BTreeMap<String, Score> = rules
        .rules()
        .iter()
        .map(|r| (r.spec.id.clone(), Score::default()))
        .collect();
    let mut misses = Vec::new();
    let mut false_alarms = Vec::new();
    let (mut labels, mut decoys) = (0, 0);
    for seed in SEEDS {
        let corpus = Corpus::generate(&rules, seed);
        let dir = tempfile::tempdir().unwrap();
        corpus.write(dir.path()).unwrap();
        let (_, v) = scan_json(dir.path(), &["--no-history"]);
        assert!(
            v["errors"].as_array().unwrap().is_empty(),
            "{}",
            v["errors"]
        );
        let root = format!("{}/", dir.path().to_str().unwrap());
        let got = found(&v, &root);
        let want: BTreeSet<Key> = corpus
            .labels
            .iter()
            .map(|l| (l.rule.clone(), l.path.clone(), l.line, l.encoded))
            .collect();
        assert_eq!(
            want.len(),
            corpus.labels.len(),
            "one label per (rule, path, line)"
        );
        labels += want.len();
        decoys += corpus.decoys;
        // Every credential of the corpus is a random value of its format:
        // none is `low`, in a test path or not; each keeps the confidence
        // its rule declares.
        for f in v["findings"].as_array().unwrap() {
            let rule = rules.get(f["rule"].as_str().unwrap());
            let mut declared = rule.and_then(|r| r.spec.confidence).unwrap_or_default();
            // A generic assignment has no format to check: seen only in test
            // paths it is `low` by design, random or not.
            let generic = rule
                .is_some_and(|r| r.spec.validator == Some(keytrace::validate::Validator::Generic));
            let only_tests = f["locations"].as_array().unwrap().iter().all(|l| {
                let path = l["path"].as_str().unwrap().trim_start_matches(&root);
                keytrace::finding::collect::is_test_path(path)
            });
            if generic && only_tests {
                declared = keytrace::finding::Confidence::Low;
            }
            assert_eq!(
                f["confidence"],
                declared.as_str(),
                "seed {seed}: {} {}",
                f["rule"],
                f["locations"][0]["path"]
            );
        }
        for k in want.intersection(&got) {
            per_rule.get_mut(&k.0).unwrap().tp += 1;
        }
        for k in want.difference(&got) {
            per_rule.get_mut(&k.0).unwrap().fn_ += 1;
            misses.push((seed, k.clone()));
        }
        for k in got.difference(&want) {
            per_rule.entry(k.0.clone()).or_default().fp += 1;
            false_alarms.push((seed, k.clone()));
        }
    }

    // The table: rule ids and counts only, never a secret.
    let provider: BTreeMap<&str, &str> = rules
        .rules()
        .iter()
        .map(|r| (r.spec.id.as_str(), r.spec.provider.as_str()))
        .collect();
    let mut by_provider: BTreeMap<&str, Vec<(&String, Score)>> = BTreeMap::new();
    for (rule, s) in &per_rule {
        let p = provider.get(rule.as_str()).copied().unwrap_or("?");
        by_provider.entry(p).or_default().push((rule, *s));
    }
    println!("\naccuracy corpus, seeds {SEEDS:?}: {labels} credentials, {decoys} decoys\n");
    println!(
        "{:<22} {:<44} {:>4} {:>4} {:>4} {:>7} {:>9}",
        "provider", "rule", "TP", "FP", "FN", "recall", "precision"
    );
    let mut total = Score::default();
    for (p, rows) in &by_provider {
        let mut sub = Score::default();
        for (rule, s) in rows {
            println!(
                "{:<22} {:<44} {:>4} {:>4} {:>4} {:>6.1}% {:>8.1}%",
                p,
                rule,
                s.tp,
                s.fp,
                s.fn_,
                100.0 * s.recall(),
                100.0 * s.precision()
            );
            sub.add(*s);
        }
        if rows.len() > 1 {
            println!(
                "{:<22} {:<44} {:>4} {:>4} {:>4} {:>6.1}% {:>8.1}%",
                p,
                "(all)",
                sub.tp,
                sub.fp,
                sub.fn_,
                100.0 * sub.recall(),
                100.0 * sub.precision()
            );
        }
        total.add(sub);
    }
    println!(
        "\nTOTAL  TP {}  FP {}  FN {}  recall {:.2}%  precision {:.2}%",
        total.tp,
        total.fp,
        total.fn_,
        100.0 * total.recall(),
        100.0 * total.precision()
    );
    for (seed, (rule, path, line, enc)) in &misses {
        println!(
            "missed      seed {seed}: {rule} at {path}:{line}{}",
            if *enc { " (base64)" } else { "" }
        );
    }
    for (seed, (rule, path, line, enc)) in &false_alarms {
        println!(
            "false alarm seed {seed}: {rule} at {path}:{line}{}",
            if *enc { " (base64)" } else { "" }
        );
    }

    assert!(decoys >= labels, "{decoys} decoys for {labels} credentials");
    let without: Vec<_> = rules
        .rules()
        .iter()
        .filter(|r| per_rule[&r.spec.id].tp == 0)
        .map(|r| r.spec.id.as_str())
        .collect();
    assert!(
        without.is_empty(),
        "rules without a true positive: {without:?}"
    );
    assert!(
        total.recall() >= MIN_RECALL,
        "recall {:.2}% below {}%",
        100.0 * total.recall(),
        100.0 * MIN_RECALL
    );
    assert!(
        total.precision() >= MIN_PRECISION,
        "precision {:.2}% below {}%",
        100.0 * total.precision(),
        100.0 * MIN_PRECISION
    );
}

/// `confidence: low` needs both: only test or example paths, and a value
/// that fails a format check. A checksum-valid credential is never low.
#[test]
fn confidence_is_low_only_for_made_up_values_in_test_paths() {
    let mut f = keytrace::testkit::fakes::Fakes::new(77);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A Stripe key whose random part spells out test data.
    let made_up = |f: &mut keytrace::testkit::fakes::Fakes, word: &str| {
        format!("sk_live_{}{word}{}", f.alnum(40), f.alnum(50))
    };
    let low = made_up(&mut f, "TestKey");
    write(
        d,
        "tests/fixtures/payments.env",
        format!("STRIPE_SECRET_KEY={low}\n"),
    );
    let high_in_src = made_up(&mut f, "MockKey");
    write(
        d,
        "src/payments.env",
        format!("STRIPE_SECRET_KEY={high_in_src}\n"),
    );
    // The same made-up value in a test path and in the code: not only tests.
    let both = made_up(&mut f, "SampleKey");
    write(d, "spec/payments_spec.rb", format!("KEY = \"{both}\"\n"));
    write(d, "lib/payments.rb", format!("KEY = \"{both}\"\n"));
    // A random key in a test path: nothing fails, high.
    let random = f.stripe("sk");
    write(
        d,
        "web/src/__tests__/pay.test.ts",
        format!("const key = \"{random}\";\n"),
    );
    // A GitHub token whose body says test, with a checksum that holds: high.
    let body = format!("TestToken{}", f.alnum(21));
    let check = keytrace::validate::checksums::base62(crc32fast::hash(body.as_bytes()) as u64, 6);
    let valid = format!("ghp_{body}{check}");
    write(
        d,
        "pkg/gh/client_test.go",
        format!("const token = \"{valid}\"\n"),
    );
    // A failing checksum (reported under --include-invalid): low in a test
    // path, high elsewhere.
    let bad_test = f.github_bad_checksum("ghp");
    write(d, "test_client.py", format!("TOKEN = \"{bad_test}\"\n"));
    let bad_src = f.github_bad_checksum("ghp");
    write(d, "client.py", format!("TOKEN = \"{bad_src}\"\n"));

    let (_, v) = scan_json(d, &["--no-history", "--include-invalid", "--show-secrets"]);
    let confidence: BTreeMap<String, String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["secret"].as_str().unwrap().to_string(),
                f["confidence"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        (&low, "low"),
        (&high_in_src, "high"),
        (&both, "high"),
        (&random, "high"),
        (&valid, "high"),
        (&bad_test, "low"),
        (&bad_src, "high"),
    ];
    assert_eq!(confidence.len(), want.len(), "{confidence:?}");
    for (secret, c) in want {
        assert_eq!(
            confidence[secret.as_str()],
            c,
            "{}",
            keytrace::base::secret::redact(secret.as_bytes())
        );
    }
    // The human report says why.
    let r = crate::run(
        &[
            "scan",
            "--no-history",
            "--include-invalid",
            d.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        r.stdout.contains("low: only in test or example paths"),
        "{}",
        r.stdout
    );
}

/// coverage.md §5 and §6 through the whole pipeline: chosen passwords under
/// password names, hex under secret names and a shape-level fabrication;
/// and the six things real code holds that are not credentials.
#[test]
fn filters_keep_real_values_and_drop_look_alikes() {
    let mut f = keytrace::testkit::fakes::Fakes::new(56);
    let lower = b"abcdefghijkmnopqrstuvwxyz";
    // A 12-character password (two digits at least, letters): under the
    // old 3.5-bit floor most such values were dropped.
    let short = loop {
        let v = format!(
            "{}{}",
            f.alnum(10),
            f.hex(2).replace(char::is_alphabetic, "7")
        );
        if v.chars().any(|c| c.is_ascii_alphabetic()) {
            break v;
        }
    };
    let app = f.chars(lower, 16);
    let hex = f.hex(32);
    let keep = [
        ("settings.py", format!("EMAIL_HOST_PASSWORD = '{short}'")),
        ("app.env", format!("GMAIL_APP_PASSWORD={app}")),
        ("mail.env", "SMTP_PASSWORD='Prestigitariu$'".to_string()),
        ("oauth.env", format!("CLIENT_SECRET={hex}")),
    ];
    let drop = [
        ("test.sh", "PWDHASH='abJnggxhB/yWI'".to_string()),
        (
            "jwt.rs",
            "let alg = jsonwebtoken::DIGEST_SHA256_ALG;".to_string(),
        ),
        (
            "auth.py",
            "token = \"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\"".to_string(),
        ),
        (
            "schema.json",
            format!("  \"AWS::IAM::AccessKey\": \"{}\",", f.hex(16)),
        ),
        (
            "nr.ini",
            "licenseKey=a1b2c3d4e5f6g7h8i9j0a1b2c3d4e5f6g7h8NRAL".to_string(),
        ),
        ("aws.env", format!("AWS_SECRET_ACCESS_KEY={}", f.hex(42))),
        ("doc.md", "password: geheim$parole".to_string()),
        (
            "sums.txt",
            format!("sha256 checksum api_key: {}", f.hex(64)),
        ),
        ("fab.env", "API_TOKEN=Z9y8X7w6V5u4T3s2".to_string()),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, line) in keep.iter().chain(drop.iter()) {
        write(dir.path(), name, format!("{line}\n"));
    }
    let (_, v) = scan_json(dir.path(), &["--no-history"]);
    let files = crate::file_names_found(&v, |_| true);
    for (name, line) in &keep {
        assert!(files.contains(*name), "not found: {line}");
    }
    for (name, line) in &drop {
        assert!(!files.contains(*name), "reported: {line}");
    }
}

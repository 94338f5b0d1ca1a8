//! Key stores (PKCS#12 / PFX, JKS, JCEKS) are binary: the text rules pass
//! them over, and the `binary` rules find them by structure, whatever their
//! name, in a directory and in git history, reporting the SHA-256 of the
//! file and never its content.
use keytrace::matcher::keystore::BinaryFormat;
use keytrace::testkit::fakes::Fakes;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::history::git;
use crate::{locations, scan_json, write};

const DATE: &str = "2026-01-05T10:00:00Z";

fn finding<'a>(v: &'a Value, rule: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding: {v}"))
}

#[test]
fn key_stores_are_found_by_structure_in_files_and_in_history() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut f = Fakes::new(41);
    let p12 = f.key_store(BinaryFormat::Pkcs12);
    let jks = f.key_store(BinaryFormat::Jks);
    let jceks = f.key_store(BinaryFormat::Jceks);
    git(d, &["init", "-q"], DATE);
    write(d, "certs/client.p12", &p12);
    write(d, "android/release.jks", &jks);
    write(d, "build/cache.bin", &jceks); // a name that says nothing
    let mut class = vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 0x41];
    class.extend(f.bytes(2000));
    write(d, "build/Main.class", &class);
    git(d, &["add", "-A"], DATE);
    git(d, &["commit", "-qm", "keys"], DATE);
    git(d, &["rm", "-q", "android/release.jks"], DATE);
    git(d, &["commit", "-qm", "drop the release key"], DATE);

    let (code, v) = scan_json(d, &[]);
    assert_eq!(code, 1);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules.len(), 3, "{rules:?}");
    let jks_finding = finding(&v, "java-key-store");
    assert_eq!(jks_finding["at_head"], false, "deleted in the last commit");
    assert!(jks_finding["locations"][0]["commit"].is_string());
    let path = |f: &Value| f["locations"][0]["path"].as_str().unwrap().to_string();
    assert!(path(finding(&v, "jceks-key-store")).ends_with("/build/cache.bin"));
    let p = finding(&v, "pkcs12-key-store");
    assert_eq!(p["decoded"]["format"], "PKCS#12");
    assert_eq!(p["decoded"]["bytes"], p12.len());
    assert_eq!(p["locations"][0]["line"], 1);
    // Nothing of the content, and only a prefix of the digest.
    let digest = format!("sha256:{:x}", Sha256::digest(&p12));
    let text = v.to_string();
    assert!(!text.contains(&digest));
    assert!(!text.contains(&format!("{:x}", Sha256::digest(&p12))));

    // With --show-secrets the secret is the digest.
    let (_, shown) = scan_json(d, &["--no-history", "--show-secrets"]);
    assert_eq!(finding(&shown, "pkcs12-key-store")["secret"], digest);

    // Allowed by its digest, like any secret value.
    write(
        d,
        ".keytrace.toml",
        format!("[allow]\nvalues = ['^{digest}$']\n"),
    );
    let (_, allowed) = scan_json(d, &["--no-history"]);
    assert!(
        !locations(&allowed)
            .iter()
            .any(|(r, _, _)| r == "pkcs12-key-store"),
        "{allowed}"
    );
    assert!(locations(&allowed)
        .iter()
        .any(|(r, _, _)| r == "jceks-key-store"));
}

/// A PKCS#12 file need not hold a NUL in its first 8 KiB, and then it is
/// read as text: its first chunk is looked at as a binary too.
#[test]
fn a_key_store_without_a_nul_is_found_on_the_text_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(42);
    let mut p12 = f.key_store(BinaryFormat::Pkcs12);
    p12.iter_mut().skip(20).for_each(|b| *b = (*b).max(1));
    p12.extend((0..9000).map(|i| 1 + (i % 250) as u8));
    write(dir.path(), "store.pfx", &p12);
    let (code, v) = scan_json(dir.path(), &["--no-history"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["stats"]["skipped_binary"], 0);
    let path = finding(&v, "pkcs12-key-store")["locations"][0]["path"]
        .as_str()
        .unwrap();
    assert!(path.ends_with("/store.pfx"), "{path}");
}

/// DBeaver's `credentials-config.json` is encrypted under a key every
/// install shares: each saved password is reported, with its user as key
/// id; a file of that name that does not decrypt, and the same content
/// under another name, yield nothing.
#[test]
fn dbeaver_saved_passwords_are_decrypted_and_reported() {
    use keytrace::matcher::keystore::dbeaver_encrypt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut f = Fakes::new(43);
    let password = f.alnum(20);
    let plain = format!(
        r##"{{"postgres-jdbc-1":{{"#connection":{{"user":"report_svc","password":"{password}"}}}},"mysql8-2":{{"#connection":{{"user":"root","password":""}}}}}}"##
    );
    let file = dbeaver_encrypt(plain.as_bytes(), [0; 16]);
    write(d, "team/.dbeaver/credentials-config.json", &file);
    write(d, "backup/credentials-config.bin", &file);
    let mut junk = f.bytes(64);
    junk[3] = 0; // binary, as the real file usually is
    write(d, "other/credentials-config.json", junk);
    let (code, v) = scan_json(d, &["--no-history"]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["errors"].as_array().unwrap().is_empty(),
        "{}",
        v["errors"]
    );
    let found = locations(&v);
    assert_eq!(found.len(), 1, "{found:?}");
    let db = finding(&v, "dbeaver-saved-password");
    assert_eq!(db["key_id"], "report_svc");
    assert!(db["locations"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("team/.dbeaver/credentials-config.json"));
    assert!(!v.to_string().contains(&password));
    let (_, shown) = scan_json(d, &["--no-history", "--show-secrets"]);
    assert_eq!(
        finding(&shown, "dbeaver-saved-password")["secret"],
        password
    );
}

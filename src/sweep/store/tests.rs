use super::*;

#[test]
fn schema_is_versioned_and_newer_stores_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.version().unwrap(), SCHEMA_VERSION);
    let id = store.begin_sweep("2026-01-01T00:00:00Z", None).unwrap();
    assert_eq!(id, 1);
    drop(store);
    // Opening again migrates nothing and keeps the data.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.begin_sweep("2026-01-02T00:00:00Z", None).unwrap(), 2);
    store
        .conn
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(store);
    let e = Store::open(&path).err().expect("a newer store is refused");
    assert!(e.message.contains("newer"), "{}", e.message);
    let e = Store::open_read(&path).err().expect("and not misread");
    assert!(e.message.contains("schema version"), "{}", e.message);
    let e = Store::open_read(&dir.path().join("none.db")).err().unwrap();
    assert!(e.message.contains("no such sweep store"));
}

/// A store written while a lone access key id was kept whole as `key_id`:
/// the migration nulls it on disk for the rules whose key id is their whole
/// secret, and reading drops any other such key id (a custom rule's); a key
/// id beside a different secret stays.
#[test]
fn stored_key_ids_that_are_the_whole_secret_are_dropped() {
    use crate::base::secret::fingerprint;
    let mut fakes = crate::testkit::fakes::Fakes::new(7);
    let lone = fakes.aws_key_id("AKIA");
    let custom = fakes.aws_key_id("AKIA");
    let (pair_id, pair_secret) = (fakes.aws_key_id("AKIA"), fakes.aws_secret());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = Store::open(&path).unwrap();
    let sweep = store.begin_sweep("2026-01-01T00:00:00Z", None).unwrap();
    store
        .conn
        .execute(
            "INSERT INTO repos (id, name, source) VALUES (1, 'r', 'r')",
            [],
        )
        .unwrap();
    for (rule, secret, key_id) in [
        ("aws-access-key-id", &lone, &lone),
        ("my-own-key-id", &custom, &custom),
        ("aws-secret-access-key", &pair_secret, &pair_id),
    ] {
        let data = serde_json::json!({
            "rule": rule, "name": rule, "provider": "aws",
            "fingerprint": fingerprint(secret.as_bytes()), "key_id": key_id,
            "redacted": "AKIA…", "binding": null, "lifetime": "long",
            "checksum": null, "identity_class": "service", "first_seen": null,
            "at_head": true, "locations": [], "identity": null, "owner": null,
        });
        store
            .conn
            .execute(
                "INSERT INTO findings (repo, rule, fingerprint, data, first_seen, last_seen,
                                       first_sweep, last_sweep, at_head)
                 VALUES (1, ?1, ?2, ?3, 'x', 'x', ?4, ?4, 1)",
                rusqlite::params![
                    rule,
                    fingerprint(secret.as_bytes()),
                    data.to_string(),
                    sweep
                ],
            )
            .unwrap();
    }
    // As the store was before this keytrace: schema version 3.
    store.conn.pragma_update(None, "user_version", 3).unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.version().unwrap(), SCHEMA_VERSION);
    let on_disk: Vec<String> = store
        .conn
        .prepare("SELECT data FROM findings ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(!on_disk[0].contains(&lone), "migrated: {}", on_disk[0]);
    assert!(
        on_disk[1].contains(&custom),
        "a rule the migration does not know"
    );
    let contents = store.contents().unwrap();
    let key_ids: Vec<Option<&str>> = contents
        .findings
        .iter()
        .map(|f| f.finding.key_id.as_deref())
        .collect();
    assert_eq!(key_ids, [None, None, Some(pair_id.as_str())]);
}

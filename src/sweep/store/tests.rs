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

//! The store's schema, as the migrations that build it.

/// Schema migrations, in order: migration `i` takes the store from version
/// `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE sweeps (
    id       INTEGER PRIMARY KEY,
    started  TEXT NOT NULL,
    finished TEXT,
    shard    TEXT,
    version  TEXT NOT NULL
);
CREATE TABLE repos (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    source       TEXT NOT NULL,
    sweeps       INTEGER NOT NULL DEFAULT 0,
    first_ok     INTEGER,
    last_ok      INTEGER,
    last_sweep   INTEGER,
    error        TEXT,
    rules        TEXT
);
CREATE TABLE repo_sweeps (
    repo     INTEGER NOT NULL REFERENCES repos(id),
    sweep    INTEGER NOT NULL REFERENCES sweeps(id),
    at       TEXT NOT NULL,
    commits  INTEGER NOT NULL,
    blobs    INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    seconds  REAL NOT NULL,
    error    TEXT,
    problems TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (repo, sweep)
);
CREATE TABLE tips (
    repo   INTEGER NOT NULL REFERENCES repos(id),
    ref    TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    PRIMARY KEY (repo, ref)
) WITHOUT ROWID;
CREATE TABLE blobs (
    repo INTEGER NOT NULL,
    oid  BLOB NOT NULL,
    PRIMARY KEY (repo, oid)
) WITHOUT ROWID;
CREATE TABLE findings (
    id          INTEGER PRIMARY KEY,
    repo        INTEGER NOT NULL REFERENCES repos(id),
    rule        TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    data        TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    first_sweep INTEGER NOT NULL,
    last_sweep  INTEGER NOT NULL,
    at_head     INTEGER NOT NULL,
    in_history  INTEGER NOT NULL DEFAULT 1,
    UNIQUE (repo, rule, fingerprint)
);
CREATE TABLE locations (
    finding   INTEGER NOT NULL REFERENCES findings(id),
    blob      TEXT,
    path      TEXT NOT NULL,
    line      INTEGER NOT NULL,
    col       INTEGER NOT NULL,
    commit_id TEXT,
    author    TEXT,
    date      TEXT,
    refs      TEXT NOT NULL,
    binding   TEXT,
    at_head   INTEGER NOT NULL,
    encoding  TEXT,
    UNIQUE (finding, path, line, col, commit_id)
);
CREATE INDEX locations_by_finding ON locations(finding);
CREATE TABLE finding_sweeps (
    finding INTEGER NOT NULL,
    sweep   INTEGER NOT NULL,
    PRIMARY KEY (finding, sweep)
) WITHOUT ROWID;
"#,
    r#"
ALTER TABLE findings ADD COLUMN verification TEXT;
ALTER TABLE locations ADD COLUMN container TEXT;
"#,
    // The repositories an org listing gave each sweep (this worker's shard).
    r#"
CREATE TABLE listings (
    sweep INTEGER NOT NULL,
    name  TEXT NOT NULL,
    PRIMARY KEY (sweep, name)
) WITHOUT ROWID;
"#,
    // A key id that is the whole secret is no longer kept: these rules'
    // `key_id` capture is their whole secret (a lone access key id). Stores
    // of other rules are cleaned as they are read (`drop_key_id_if_secret`).
    r#"
UPDATE findings SET data = json_set(data, '$.key_id', NULL)
WHERE rule IN ('aws-access-key-id', 'aws-temporary-access-key-id',
               'alibaba-access-key-id', 'exoscale-api-key', 'scaleway-access-key',
               'tencent-secret-id', 'tigris-access-key-id',
               'yandex-cloud-static-access-key-id')
  AND json_extract(data, '$.key_id') IS NOT NULL;
"#,
];

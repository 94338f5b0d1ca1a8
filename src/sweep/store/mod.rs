//! The sweep store: one SQLite file per worker (bundled SQLite, nothing to
//! install). Per repository it keeps the ref tips already walked and the
//! blob ids already scanned, so the next sweep reads only what is new; per
//! finding its rule, fingerprint, locations, when sweeps first and last saw
//! it and which sweeps did, and whether it is still at HEAD.
//!
//! Each repository is written in one transaction: a crash loses at most the
//! repository in progress. WAL journal, so reports can read while a sweep
//! writes. The schema carries its version (`PRAGMA user_version`) and is
//! migrated forward on open. No secret is stored unless the sweep ran with
//! `--show-secrets`.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use git2::Oid;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::finding::{Finding, Location};
use crate::report::sweep::{RepoSummary, Sighting};
use crate::source::git::OidSet;
use crate::source::ScanError;

/// Typed errors of the store. The message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct StoreError {
    pub path: PathBuf,
    pub message: String,
}

type Result<T> = std::result::Result<T, StoreError>;

/// The version a store of this build has.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

mod schema;
use schema::MIGRATIONS;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What the store knows of a repository before a sweep.
#[derive(Debug, Default)]
pub struct RepoState {
    /// The digest of the rules its blobs were scanned with.
    pub rules: Option<String>,
    /// Ref name → the tip commit whose history is already scanned.
    pub tips: Vec<(String, Oid)>,
    pub known: OidSet,
}

/// What one repository's sweep found, for [`Store::record`].
pub struct RepoOutcome<'a> {
    pub name: &'a str,
    /// The digest of the rules this sweep scanned with.
    pub rules: &'a str,
    pub source: &'a str,
    /// Ref tips walked; `None` when the walk was incomplete and must be
    /// done again next time.
    pub tips: Option<Vec<(String, Oid)>>,
    pub scanned: &'a [Oid],
    pub findings: Vec<Finding>,
    /// Blob ids in the tree of HEAD now.
    pub head: &'a OidSet,
    /// Every blob reachable now, when a rewrite made that a question; `None`
    /// when every ref only moved forward (nothing old became unreachable).
    pub reachable: Option<&'a OidSet>,
    pub commits: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// The first problem that kept part of it from being scanned.
    pub error: Option<&'a str>,
    pub problems: &'a [ScanError],
}

/// One repository's findings as a store holds them, ready to merge.
#[derive(Debug, Clone)]
pub struct StoredFinding {
    pub repo: String,
    pub finding: Finding,
    pub sighting: Sighting,
}

/// A finding's last live check, and a blob to read its secret back from.
#[derive(Debug, Clone)]
pub struct StoredCheck {
    pub rule: String,
    pub fingerprint: String,
    pub verification: Option<crate::verify::Verification>,
    /// (blob id, path) of one location, the smallest blob id.
    pub blob: Option<(String, String)>,
}

/// Everything a store holds, for reports and JSONL export.
#[derive(Debug, Default)]
pub struct Contents {
    pub repos: Vec<RepoSummary>,
    pub findings: Vec<StoredFinding>,
    pub problems: Vec<ScanError>,
}

impl Store {
    /// Opens (creating it if need be) and migrates a store for writing.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| err(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| err(path, e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| err(path, e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| err(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens a store for reading only; it must exist and be of a version this
    /// build knows.
    pub fn open_read(path: &Path) -> Result<Store> {
        if !path.is_file() {
            return Err(StoreError {
                path: path.to_path_buf(),
                message: "no such sweep store".into(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| err(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| err(path, e))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        let v = store.version()?;
        if v != SCHEMA_VERSION {
            return Err(StoreError {
                path: path.to_path_buf(),
                message: format!(
                    "store schema version {v}; this keytrace reads version {SCHEMA_VERSION} \
                     (a sweep with this keytrace migrates an older store)"
                ),
            });
        }
        Ok(store)
    }

    fn e(&self, e: rusqlite::Error) -> StoreError {
        err(&self.path, e)
    }

    fn version(&self) -> Result<i64> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.e(e))
    }

    fn migrate(&mut self) -> Result<()> {
        let v = self.version()?;
        if v > SCHEMA_VERSION {
            return Err(StoreError {
                path: self.path.clone(),
                message: format!(
                    "store schema version {v} is newer than this keytrace's {SCHEMA_VERSION}: \
                     use a newer keytrace"
                ),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(v as usize) {
            let tx = self.conn.transaction().map_err(|e| err(&self.path, e))?;
            tx.execute_batch(sql).map_err(|e| err(&self.path, e))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(|e| err(&self.path, e))?;
            tx.commit().map_err(|e| err(&self.path, e))?;
        }
        Ok(())
    }

    /// Starts a sweep and returns its id.
    pub fn begin_sweep(&self, now: &str, shard: Option<String>) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO sweeps (started, shard, version) VALUES (?1, ?2, ?3)",
                params![now, shard, env!("CARGO_PKG_VERSION")],
            )
            .map_err(|e| self.e(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the repositories an org listing gave this sweep.
    pub fn record_listing(&mut self, sweep: i64, names: &[&str]) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| err(&path, e))?;
        {
            let mut q = tx
                .prepare("INSERT OR IGNORE INTO listings (sweep, name) VALUES (?1, ?2)")
                .map_err(|e| err(&path, e))?;
            for n in names {
                q.execute(params![sweep, n]).map_err(|e| err(&path, e))?;
            }
        }
        tx.commit().map_err(|e| err(&path, e))
    }

    /// The names the latest two listings gave: (latest, the one before).
    fn listings(c: &Connection) -> rusqlite::Result<Option<(Vec<String>, Vec<String>)>> {
        let ids: Vec<i64> = c
            .prepare("SELECT DISTINCT sweep FROM listings ORDER BY sweep DESC LIMIT 2")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let names = |sweep: i64| -> rusqlite::Result<Vec<String>> {
            c.prepare("SELECT name FROM listings WHERE sweep = ?1")?
                .query_map([sweep], |r| r.get(0))?
                .collect()
        };
        match ids[..] {
            [last, before] => Ok(Some((names(last)?, names(before)?))),
            _ => Ok(None),
        }
    }

    pub fn finish_sweep(&self, sweep: i64, now: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE sweeps SET finished = ?1 WHERE id = ?2",
                params![now, sweep],
            )
            .map_err(|e| self.e(e))?;
        Ok(())
    }

    fn repo_id(&self, name: &str) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT id FROM repos WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(|e| self.e(e))
    }

    /// The tips already walked and the blobs already scanned in `name`.
    pub fn repo_state(&self, name: &str) -> Result<RepoState> {
        let mut state = RepoState::default();
        let Some(id) = self.repo_id(name)? else {
            return Ok(state);
        };
        state.rules = self
            .conn
            .query_row("SELECT rules FROM repos WHERE id = ?1", [id], |r| r.get(0))
            .map_err(|e| self.e(e))?;
        let mut q = self
            .conn
            .prepare("SELECT ref, commit_id FROM tips WHERE repo = ?1 ORDER BY ref")
            .map_err(|e| self.e(e))?;
        let rows = q
            .query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.e(e))?;
        for row in rows {
            let (name, commit) = row.map_err(|e| self.e(e))?;
            if let Ok(oid) = Oid::from_str(&commit) {
                state.tips.push((name, oid));
            }
        }
        let mut q = self
            .conn
            .prepare("SELECT oid FROM blobs WHERE repo = ?1")
            .map_err(|e| self.e(e))?;
        let rows = q
            .query_map([id], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| self.e(e))?;
        for row in rows {
            if let Ok(oid) = Oid::from_bytes(&row.map_err(|e| self.e(e))?) {
                state.known.insert(oid);
            }
        }
        Ok(state)
    }

    /// The repository row for `name`, created if new; counts this sweep.
    fn touch_repo(
        tx: &rusqlite::Transaction,
        name: &str,
        source: &str,
        sweep: i64,
    ) -> rusqlite::Result<i64> {
        tx.execute(
            "INSERT INTO repos (name, source) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET source = excluded.source",
            params![name, source],
        )?;
        let id: i64 = tx.query_row("SELECT id FROM repos WHERE name = ?1", [name], |r| r.get(0))?;
        tx.execute(
            "UPDATE repos SET sweeps = sweeps + 1, last_sweep = ?1 WHERE id = ?2",
            params![sweep, id],
        )?;
        Ok(id)
    }

    /// Records a repository this sweep could not read. Its findings stay as
    /// they were; `last_seen` does not move.
    pub fn record_failure(
        &mut self,
        sweep: i64,
        now: &str,
        name: &str,
        source: &str,
        error: &str,
        seconds: f64,
    ) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| err(&path, e))?;
        (|| -> rusqlite::Result<()> {
            let id = Self::touch_repo(&tx, name, source, sweep)?;
            tx.execute(
                "UPDATE repos SET error = ?1 WHERE id = ?2",
                params![error, id],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO repo_sweeps
                 (repo, sweep, at, commits, blobs, bytes, findings, seconds, error)
                 VALUES (?1, ?2, ?3, 0, 0, 0, 0, ?4, ?5)",
                params![id, sweep, now, seconds, error],
            )?;
            Ok(())
        })()
        .map_err(|e| err(&path, e))?;
        tx.commit().map_err(|e| err(&path, e))
    }

    /// Records one repository's sweep in one transaction; returns how many of
    /// its findings are new to the store.
    pub fn record(&mut self, sweep: i64, now: &str, o: RepoOutcome) -> Result<usize> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| err(&path, e))?;
        let new = Self::record_in(&tx, sweep, now, o).map_err(|e| err(&path, e))?;
        tx.commit().map_err(|e| err(&path, e))?;
        Ok(new)
    }

    fn record_in(
        tx: &rusqlite::Transaction,
        sweep: i64,
        now: &str,
        o: RepoOutcome,
    ) -> rusqlite::Result<usize> {
        let repo = Self::touch_repo(tx, o.name, o.source, sweep)?;
        let error = o.error;
        tx.execute(
            "UPDATE repos SET error = ?1, last_ok = ?2, first_ok = COALESCE(first_ok, ?2), rules = ?3
             WHERE id = ?4",
            params![error, sweep, o.rules, repo],
        )?;
        {
            let mut ins =
                tx.prepare_cached("INSERT OR IGNORE INTO blobs (repo, oid) VALUES (?1, ?2)")?;
            for oid in o.scanned {
                ins.execute(params![repo, oid.as_bytes()])?;
            }
        }
        if let Some(tips) = &o.tips {
            tx.execute("DELETE FROM tips WHERE repo = ?1", [repo])?;
            let mut ins =
                tx.prepare_cached("INSERT INTO tips (repo, ref, commit_id) VALUES (?1, ?2, ?3)")?;
            for (name, oid) in tips {
                ins.execute(params![repo, name, oid.to_string()])?;
            }
        }
        let mut seen: std::collections::HashSet<i64> = std::collections::HashSet::new();
        let mut new = 0;
        let found = o.findings.len();
        for mut f in o.findings {
            let locations = std::mem::take(&mut f.locations);
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM findings WHERE repo = ?1 AND rule = ?2 AND fingerprint = ?3",
                    params![repo, f.rule, f.fingerprint],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match existing {
                Some(id) => id,
                None => {
                    new += 1;
                    f.identity = None;
                    f.owner = None;
                    f.risks.clear();
                    // Kept in its own column (`set_checks`), re-checked in place.
                    f.verification = None;
                    let data = serde_json::to_string(&f).expect("findings serialize");
                    tx.execute(
                        "INSERT INTO findings (repo, rule, fingerprint, data, first_seen, last_seen,
                                               first_sweep, last_sweep, at_head)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?6, 0)",
                        params![repo, f.rule, f.fingerprint, data, now, sweep],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            let mut ins = tx.prepare_cached(
                "INSERT OR IGNORE INTO locations
                 (finding, blob, path, line, col, commit_id, author, date, refs, binding, at_head,
                  encoding, container)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?12)",
            )?;
            for l in &locations {
                ins.execute(params![
                    id,
                    l.blob,
                    l.path,
                    l.line,
                    l.column,
                    l.commit,
                    l.author,
                    l.date,
                    serde_json::to_string(&l.refs).expect("strings serialize"),
                    l.binding,
                    l.encoding
                        .and_then(|e| serde_json::to_value(e).ok())
                        .and_then(|v| v.as_str().map(str::to_string)),
                    (!l.container.is_empty())
                        .then(|| serde_json::to_string(&l.container).expect("strings serialize")),
                ])?;
            }
            seen.insert(id);
        }
        // Older findings of this repository: still reachable unless a
        // history rewrite dropped every blob that held them.
        let mut older = Vec::new();
        {
            let mut q = tx.prepare_cached("SELECT id FROM findings WHERE repo = ?1")?;
            for id in q.query_map([repo], |r| r.get::<_, i64>(0))? {
                let id = id?;
                if !seen.contains(&id) {
                    older.push(id);
                }
            }
        }
        let mut gone = Vec::new();
        for id in older {
            let reachable = match o.reachable {
                None => true,
                Some(set) => Self::blobs_of(tx, id)?
                    .iter()
                    .any(|b| Oid::from_str(b).is_ok_and(|b| set.contains(&b))),
            };
            if reachable {
                seen.insert(id);
            } else {
                gone.push(id);
            }
        }
        for id in &seen {
            tx.execute(
                "UPDATE findings SET last_seen = ?1, last_sweep = ?2, in_history = 1 WHERE id = ?3",
                params![now, sweep, id],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO finding_sweeps (finding, sweep) VALUES (?1, ?2)",
                params![id, sweep],
            )?;
        }
        for id in &gone {
            tx.execute("UPDATE findings SET in_history = 0 WHERE id = ?1", [id])?;
        }
        // Where the secrets are now: a location is at HEAD while its blob is
        // in HEAD's tree.
        {
            let mut q = tx.prepare_cached(
                "SELECT l.rowid, l.blob FROM locations l JOIN findings f ON f.id = l.finding
                 WHERE f.repo = ?1",
            )?;
            let rows: Vec<(i64, Option<String>)> = q
                .query_map([repo], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut upd =
                tx.prepare_cached("UPDATE locations SET at_head = ?1 WHERE rowid = ?2")?;
            for (rowid, blob) in rows {
                let at = blob
                    .and_then(|b| Oid::from_str(&b).ok())
                    .is_some_and(|b| o.head.contains(&b));
                upd.execute(params![at, rowid])?;
            }
        }
        tx.execute(
            "UPDATE findings SET at_head = EXISTS
                (SELECT 1 FROM locations l WHERE l.finding = findings.id AND l.at_head)
             WHERE repo = ?1",
            [repo],
        )?;
        let problems = serde_json::to_string(o.problems).expect("problems serialize");
        tx.execute(
            "INSERT OR REPLACE INTO repo_sweeps
             (repo, sweep, at, commits, blobs, bytes, findings, seconds, error, problems)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                repo,
                sweep,
                now,
                o.commits as i64,
                o.scanned.len() as i64,
                o.bytes as i64,
                found as i64,
                o.seconds,
                error,
                problems
            ],
        )?;
        Ok(new)
    }

    /// Every finding of repository `name`, with its last live check.
    pub fn checks(&self, name: &str) -> Result<Vec<StoredCheck>> {
        let Some(repo) = self.repo_id(name)? else {
            return Ok(Vec::new());
        };
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT f.rule, f.fingerprint, f.verification,
                        (SELECT l.blob || ' ' || l.path FROM locations l
                         WHERE l.finding = f.id AND l.blob IS NOT NULL ORDER BY l.blob LIMIT 1)
                 FROM findings f WHERE f.repo = ?1",
            )
            .map_err(|e| self.e(e))?;
        let rows = q
            .query_map([repo], |r| {
                let v: Option<String> = r.get(2)?;
                let blob: Option<String> = r.get(3)?;
                Ok(StoredCheck {
                    rule: r.get(0)?,
                    fingerprint: r.get(1)?,
                    verification: v.and_then(|v| serde_json::from_str(&v).ok()),
                    blob: blob.and_then(|b| {
                        let (oid, path) = b.split_once(' ')?;
                        Some((oid.to_string(), path.to_string()))
                    }),
                })
            })
            .map_err(|e| self.e(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.e(e))
    }
    /// Records live checks of repository `name`'s findings.
    pub fn set_checks(
        &mut self,
        name: &str,
        checks: &[(String, String, crate::verify::Verification)],
    ) -> Result<()> {
        let Some(repo) = self.repo_id(name)? else {
            return Ok(());
        };
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| err(&path, e))?;
        {
            let mut upd = tx
                .prepare_cached(
                    "UPDATE findings SET verification = ?1
                     WHERE repo = ?2 AND rule = ?3 AND fingerprint = ?4",
                )
                .map_err(|e| err(&path, e))?;
            for (rule, fingerprint, v) in checks {
                let json = serde_json::to_string(v).expect("verifications serialize");
                upd.execute(params![json, repo, rule, fingerprint])
                    .map_err(|e| err(&path, e))?;
            }
        }
        tx.commit().map_err(|e| err(&path, e))
    }
    fn blobs_of(tx: &rusqlite::Transaction, finding: i64) -> rusqlite::Result<Vec<String>> {
        let mut q = tx
            .prepare_cached("SELECT blob FROM locations WHERE finding = ?1 AND blob IS NOT NULL")?;
        let rows = q.query_map([finding], |r| r.get(0))?;
        rows.collect()
    }

    /// Everything the store holds: each repository as its latest sweep left
    /// it, each finding with its locations and sightings, and the problems of
    /// each repository's latest sweep.
    pub fn contents(&self) -> Result<Contents> {
        self.contents_inner().map_err(|e| self.e(e))
    }

    fn contents_inner(&self) -> rusqlite::Result<Contents> {
        let c = &self.conn;
        let sweep_time: HashMap<i64, String> = c
            .prepare("SELECT id, started FROM sweeps")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Contents::default();
        let listed = Self::listings(c)?.map(|(last, before)| {
            let set = |v: Vec<String>| v.into_iter().collect::<std::collections::HashSet<_>>();
            (set(last), set(before))
        });
        let mut repo_names: HashMap<i64, String> = HashMap::new();
        // (first_ok, last_ok, swept_ok_before) per repo, for `new`.
        let mut repo_ok: HashMap<i64, (Option<i64>, Option<i64>)> = HashMap::new();
        let mut q = c.prepare(
            "SELECT r.id, r.name, r.source, r.sweeps, r.last_sweep, r.last_ok, r.first_ok, r.error,
                    s.commits, s.blobs, s.bytes, s.seconds, s.problems,
                    (SELECT COUNT(*) FROM blobs b WHERE b.repo = r.id),
                    (SELECT COUNT(*) FROM findings f WHERE f.repo = r.id)
             FROM repos r LEFT JOIN repo_sweeps s ON s.repo = r.id AND s.sweep = r.last_sweep
             ORDER BY r.name",
        )?;
        let rows = q.query_map([], |r| {
            let id: i64 = r.get(0)?;
            let last_sweep: Option<i64> = r.get(4)?;
            let last_ok: Option<i64> = r.get(5)?;
            let first_ok: Option<i64> = r.get(6)?;
            let problems: Option<String> = r.get(12)?;
            Ok((
                id,
                first_ok,
                last_ok,
                RepoSummary {
                    name: r.get(1)?,
                    source: r.get(2)?,
                    sweeps: r.get(3)?,
                    last_sweep: last_sweep.and_then(|s| sweep_time.get(&s).cloned()),
                    last_success: last_ok.and_then(|s| sweep_time.get(&s).cloned()),
                    error: r.get(7)?,
                    commits: r.get::<_, Option<i64>>(8)?.unwrap_or(0) as u64,
                    blobs: r.get::<_, Option<i64>>(9)?.unwrap_or(0) as u64,
                    bytes: r.get::<_, Option<i64>>(10)?.unwrap_or(0) as u64,
                    seconds: r.get::<_, Option<f64>>(11)?.unwrap_or(0.0),
                    known_blobs: r.get::<_, i64>(13)? as u64,
                    findings: r.get::<_, i64>(14)? as u64,
                    ..RepoSummary::default()
                },
                problems,
            ))
        })?;
        for row in rows {
            let (id, first_ok, last_ok, summary, problems) = row?;
            if let Some(p) = problems {
                let list: Vec<ScanError> = serde_json::from_str(&p).unwrap_or_default();
                out.problems.extend(list.into_iter().map(|mut e| {
                    e.path = format!("{}: {}", summary.name, e.path);
                    e
                }));
            }
            repo_names.insert(id, summary.name.clone());
            repo_ok.insert(id, (first_ok, last_ok));
            let mut summary = summary;
            if let Some((last, before)) = &listed {
                summary.added = last.contains(&summary.name) && !before.contains(&summary.name);
                summary.removed = before.contains(&summary.name) && !last.contains(&summary.name);
            }
            out.repos.push(summary);
        }
        let mut locations: HashMap<i64, Vec<Location>> = HashMap::new();
        let mut q = c.prepare(
            "SELECT finding, blob, path, line, col, commit_id, author, date, refs, binding, at_head,
                    encoding, container
             FROM locations",
        )?;
        for row in q.query_map([], |r| {
            let refs: String = r.get(8)?;
            Ok((
                r.get::<_, i64>(0)?,
                Location {
                    repo: None,
                    blob: r.get(1)?,
                    path: r.get(2)?,
                    line: r.get(3)?,
                    column: r.get(4)?,
                    commit: r.get(5)?,
                    author: r.get(6)?,
                    date: r.get(7)?,
                    refs: serde_json::from_str(&refs).unwrap_or_default(),
                    binding: r.get(9)?,
                    encoding: r
                        .get::<_, Option<String>>(11)?
                        .and_then(|e| serde_json::from_value(serde_json::Value::String(e)).ok()),
                    at_head: r.get(10)?,
                    suppression: None,
                    container: r
                        .get::<_, Option<String>>(12)?
                        .and_then(|c| serde_json::from_str(&c).ok())
                        .unwrap_or_default(),
                    introduced: None,
                    relative: String::new(),
                },
            ))
        })? {
            let (f, l) = row?;
            locations.entry(f).or_default().push(l);
        }
        let mut q = c.prepare(
            "SELECT f.id, f.repo, f.data, f.first_seen, f.last_seen, f.first_sweep, f.in_history,
                    (SELECT COUNT(*) FROM finding_sweeps s WHERE s.finding = f.id), f.verification
             FROM findings f ORDER BY f.id",
        )?;
        for row in q.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, bool>(6)?,
                r.get::<_, u32>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })? {
            let (id, repo, data, first_seen, last_seen, first_sweep, in_history, sweeps, checked) =
                row?;
            let Ok(mut finding) = serde_json::from_str::<Finding>(&data) else {
                out.problems.push(ScanError::error(
                    self.path.display().to_string(),
                    format!("finding {id} does not read back (written by another version?)"),
                ));
                continue;
            };
            finding.drop_key_id_if_secret();
            let name = repo_names.get(&repo).cloned().unwrap_or_default();
            let mut locs = locations.remove(&id).unwrap_or_default();
            for l in &mut locs {
                l.repo = Some(name.clone());
                l.relative = l.path.clone();
            }
            finding.locations = locs;
            finding.verification = checked
                .and_then(|v| serde_json::from_str(&v).ok())
                .map(Box::new);
            let (first_ok, last_ok) = repo_ok.get(&repo).copied().unwrap_or_default();
            out.findings.push(StoredFinding {
                repo: name,
                finding,
                sighting: Sighting {
                    first_seen,
                    last_seen,
                    sweeps,
                    new: Some(first_sweep) == last_ok && first_ok < last_ok,
                    in_history,
                },
            });
        }
        Ok(out)
    }
}

fn err(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests;

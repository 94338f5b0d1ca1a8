//! keytrace's pack reader against libgit2 on damaged packs. A small real
//! repository (commits, trees, blobs, deltas after `git repack -adf`) is
//! built once per process; each input is a list of byte edits to a copy
//! of its `.pack` and `.idx`. Every object the index listed is read with
//! `Reader::read` / `Reader::tree` and, with `KEYTRACE_FUZZ_LIBGIT2=1`,
//! with libgit2 (which checks each object's hash; off by default, since
//! libgit2 itself crashes on some damaged indexes). Properties: no panic;
//! where both succeed, the same content; where ours succeeds and libgit2
//! fails (or is not asked), ours is the original (undamaged) content; a
//! second read (partly from the reader's cache) too. Allocations are held
//! by `-malloc_limit_mb`.
//!
//! Input: 5-byte edits `[op, off0, off1, off2, value]`, at most 32. Bit 7
//! of `op` picks the index file, bits 0-1 the edit: xor, set, add, and
//! (with bit 6) truncate at the offset. Byte `value` of the first edit
//! also picks the order of the reads.
#![no_main]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use git2::{ObjectType, Odb, Oid};
use keytrace::source::git::pack::{
    entries, parse_commit, Packs, Reader, OBJ_BLOB, OBJ_COMMIT, OBJ_TREE,
};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    /// Kept alive: the directory the repository and the copies live in.
    dir: tempfile::TempDir,
    pack_name: String,
    pack: Vec<u8>,
    idx: Vec<u8>,
    /// Every object of the pack: id, pack type, content.
    objects: Vec<(Oid, u8, Vec<u8>)>,
}

/// Runs git with fixed names and dates, so that every process builds the
/// same pack byte for byte and an input means the same edits in each.
fn git(dir: &Path, args: &[&str]) {
    static STEP: AtomicU64 = AtomicU64::new(0);
    let date = format!(
        "{} +0000",
        1_704_067_200 + 60 * STEP.fetch_add(1, Ordering::Relaxed)
    );
    let out = Command::new("git")
        .args(["-c", "user.name=Fuzz", "-c", "user.email=fuzz@example.org"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(["-c", "pack.threads=1"])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn kind(t: ObjectType) -> u8 {
    match t {
        ObjectType::Commit => OBJ_COMMIT,
        ObjectType::Tree => OBJ_TREE,
        ObjectType::Blob => OBJ_BLOB,
        ObjectType::Tag => 4,
        _ => 0,
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("src/deep")).unwrap();
        git(&repo, &["init", "-q"]);
        // Files that change a little each commit: the repack makes deltas.
        let mut config = String::new();
        let mut notes = String::new();
        for i in 0..12 {
            config.push_str(&format!("setting_{i} = value number {i} for the service\n"));
            notes.push_str(&format!(
                "line {i}: the quick brown fox jumps over the lazy dog\n"
            ));
            std::fs::write(repo.join("config.env"), &config).unwrap();
            std::fs::write(repo.join("src/notes.md"), &notes).unwrap();
            std::fs::write(
                repo.join(format!("src/deep/f{}.txt", i % 3)),
                format!("password = placeholder-{i}\n").repeat(1 + i),
            )
            .unwrap();
            git(&repo, &["add", "-A"]);
            git(&repo, &["commit", "-q", "-m", &format!("commit {i}")]);
        }
        git(&repo, &["tag", "-a", "v1", "-m", "a tag"]);
        git(&repo, &["repack", "-adf", "--window=50", "--depth=20"]);
        git(&repo, &["prune-packed"]);
        let packdir = repo.join(".git/objects/pack");
        let idx_path = std::fs::read_dir(&packdir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "idx"))
            .expect("one pack");
        let pack_name = idx_path.file_stem().unwrap().to_str().unwrap().to_string();
        let idx = std::fs::read(&idx_path).unwrap();
        let pack = std::fs::read(idx_path.with_extension("pack")).unwrap();
        let odb = Odb::new().unwrap();
        odb.add_disk_alternate(repo.join(".git/objects").to_str().unwrap())
            .unwrap();
        let mut ids = Vec::new();
        odb.foreach(|id| {
            ids.push(*id);
            true
        })
        .unwrap();
        ids.sort();
        ids.dedup();
        let objects: Vec<_> = ids
            .into_iter()
            .map(|id| {
                let o = odb.read(id).unwrap();
                (id, kind(o.kind()), o.data().to_vec())
            })
            .collect();
        // The reader must read every one of them from the undamaged pack.
        let copy = write_copy(dir.path(), &pack_name, &pack, &idx);
        let packs = Packs::open(&copy).expect("our reader opens the pack");
        let mut r = Reader::new(packs);
        let mut buf = Vec::new();
        for (id, k, data) in &objects {
            assert!(r.read(*id, *k, &mut buf).is_some(), "{id} unread");
            assert_eq!(&buf, data, "{id}");
        }
        std::fs::remove_dir_all(&copy).unwrap();
        Fixture {
            dir,
            pack_name,
            pack,
            idx,
            objects,
        }
    })
}

/// A fresh git directory holding only these pack files.
fn write_copy(base: &Path, name: &str, pack: &[u8], idx: &[u8]) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let git_dir = base.join(format!("copy-{}", N.fetch_add(1, Ordering::Relaxed)));
    let packdir = git_dir.join("objects/pack");
    std::fs::create_dir_all(&packdir).unwrap();
    std::fs::write(packdir.join(format!("{name}.pack")), pack).unwrap();
    std::fs::write(packdir.join(format!("{name}.idx")), idx).unwrap();
    git_dir
}

fn edit(file: &mut Vec<u8>, op: u8, off: usize, value: u8) {
    if file.is_empty() {
        return;
    }
    let at = off % file.len();
    if op & 0x40 != 0 && op & 3 == 3 {
        file.truncate(at);
        return;
    }
    match op & 3 {
        0 | 3 => file[at] ^= value.max(1),
        1 => file[at] = value,
        _ => file[at] = file[at].wrapping_add(value.max(1)),
    }
}

/// libgit2 itself crashed on a damaged index offset with its default
/// settings (a SEGV in `packfile_unpack_header1`; with keytrace's 8 MiB
/// windows the same read failed cleanly), which would end every run there.
/// So by default our reader's answers are held to the original content
/// alone, which is what libgit2 answers where it does (it checks each
/// object's hash); `KEYTRACE_FUZZ_LIBGIT2=1` reads every object with
/// libgit2 too, set up as keytrace sets it up (`tune_libgit2`: small mapped
/// windows, no object cache) but checking hashes.
static WITH_LIBGIT2: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    let on = std::env::var_os("KEYTRACE_FUZZ_LIBGIT2").is_some_and(|v| v == "1");
    if on {
        keytrace::source::git::tune_libgit2();
        git2::opts::strict_hash_verification(true);
    }
    on
});

/// Wrong answers where the input rewrote the index's CRC-32 table too: the
/// reader trusts that table (hashing every object would cost more than
/// reading it), so an index forged in both its offset and its CRC can
/// still name another object. Counted, not failed.
static FORGED: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let (mut pack, mut idx) = (fx.pack.clone(), fx.idx.clone());
    let count = u32::from_be_bytes(fx.idx[8 + 255 * 4..8 + 256 * 4].try_into().unwrap()) as usize;
    let crc_table = 8 + 1024 + count * 20..8 + 1024 + count * 24;
    let mut crc_touched = false;
    for e in data.chunks_exact(5).take(32) {
        let off = usize::from(e[1]) | usize::from(e[2]) << 8 | usize::from(e[3]) << 16;
        let file = if e[0] & 0x80 != 0 {
            if !idx.is_empty() && crc_table.contains(&(off % idx.len())) {
                crc_touched = true;
            }
            &mut idx
        } else {
            &mut pack
        };
        edit(file, e[0], off, e[4]);
    }
    let git_dir = write_copy(fx.dir.path(), &fx.pack_name, &pack, &idx);
    let odb = Odb::new().unwrap();
    let libgit2_ok = *WITH_LIBGIT2
        && odb
            .add_disk_alternate(git_dir.join("objects").to_str().unwrap())
            .is_ok();
    // libgit2's answer for every object (it checks each object's hash, so
    // it answers only with the original content).
    let theirs: Vec<Option<(u8, Vec<u8>)>> = fx
        .objects
        .iter()
        .enumerate()
        .map(|(i, (id, _, _))| {
            if !libgit2_ok || !*WITH_LIBGIT2 {
                return None;
            }
            // Not `read_header` nor `OdbObject::kind`: git2 unwraps the
            // type libgit2 gives, which a damaged pack makes one git2 has
            // no name for (a panic in git2, not in keytrace). With its hash
            // check libgit2 answers only for the object of this id, so of
            // this type.
            let o = odb.read(*id).ok()?;
            Some((fx.objects[i].1, o.data().to_vec()))
        })
        .collect();
    let ours = Packs::open(&git_dir).map(Reader::new);
    if let Some(mut r) = ours {
        let mut order: Vec<usize> = (0..fx.objects.len()).collect();
        match data.get(4).copied().unwrap_or(0) % 3 {
            0 => {}
            1 => order.reverse(),
            _ => order.sort_by_key(|&i| (fx.objects[i].1, i)),
        }
        let mut buf = Vec::new();
        for pass in 0..2 {
            for &i in &order {
                let (id, k, orig) = &fx.objects[i];
                let got: Option<Vec<u8>> = if *k == OBJ_TREE && pass == 0 {
                    r.tree(*id).map(|t| t.to_vec())
                } else {
                    r.read(*id, *k, &mut buf).map(|()| buf.clone())
                };
                let Some(got) = got else {
                    continue;
                };
                match *k {
                    OBJ_COMMIT => {
                        let _ = parse_commit(&got);
                    }
                    OBJ_TREE => for _ in entries(&got) {},
                    _ => {}
                }
                let theirs = &theirs[i];
                match theirs {
                    Some((tk, tdata)) => assert!(
                        tk == k && *tdata == got,
                        "pass {pass}: object {id} (type {k}): our reader returned {} bytes, libgit2 {} bytes of type {tk}",
                        got.len(),
                        tdata.len()
                    ),
                    // The reader checks each entry against the index's
                    // CRC-32 (fuzz/regressions/pack/wrong-*, fixed); an
                    // input that rewrote that table too is counted only.
                    None if got != *orig && crc_touched => {
                        FORGED.fetch_add(1, Ordering::Relaxed);
                    }
                    None => assert!(
                        got == *orig,
                        "pass {pass}: object {id} (type {k}): our reader returned {} bytes that are not the original's {} (libgit2 fails or was not asked); first difference at {:?}; another object's content: {}",
                        got.len(),
                        orig.len(),
                        got.iter().zip(orig.iter()).position(|(a, b)| a != b),
                        fx.objects.iter().any(|(_, _, o)| *o == got)
                    ),
                }
            }
        }
    }
    drop(odb);
    let _ = std::fs::remove_dir_all(&git_dir);
});

//! The pack reader's tests: commits and trees parsed as libgit2 reads them,
//! deltas, every tree of a repacked repository against git's reading, and
//! damaged packs.
use super::*;

#[test]
fn commits_parse_as_libgit2_reads_them() {
    let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 0123456789012345678901234567890123456789\nparent 1111111111111111111111111111111111111111\nauthor  Ann <Dev> <ann@example.org > 1704067200 +0100\ncommitter C <c@x> 1704070800 -0500\ngpgsig -----BEGIN\n  more\n\nmessage\n";
    let c = parse_commit(raw).unwrap();
    assert_eq!(
        c.tree.to_string(),
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    );
    assert_eq!(c.parents.len(), 2);
    assert_eq!(c.name, b"Ann <Dev");
    assert_eq!(c.email, b"ann@example.org");
    assert_eq!((c.author_time, c.commit_time), (1704067200, 1704070800));
    assert!(parse_commit(b"tree nothex\nauthor a <b> 1 +0000\n").is_none());
    // Short ids, an unended committer line: libgit2's to judge.
    assert!(
        parse_commit(b"tree 4b825dc\nauthor a <b> 1 +0000\ncommitter a <b> 1 +0000\n").is_none()
    );
    assert!(parse_commit(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <b> 1 +0000\ncommitter a <b> 1 +0000").is_none());
    // Names lose what libgit2 trims.
    let q = parse_commit(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor \"John Doe\", <j@x> 5 +0000\ncommitter a <b> 6 +0000\n").unwrap();
    assert_eq!(
        (q.name, q.email, q.author_time),
        (&b"John Doe"[..], &b"j@x"[..], 5)
    );
    assert!(parse_commit(
        b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ncommitter a <b> 1 +0000\n"
    )
    .is_none());
}

#[test]
fn deltas_copy_and_insert() {
    let base = b"0123456789abcdef";
    // base size 16, result size 9: copy 4 bytes from offset 10, insert "XYZ", copy 2 from 0.
    let delta = [16, 9, 0x91, 10, 4, 3, b'X', b'Y', b'Z', 0x90, 2];
    let mut out = b"old".to_vec();
    apply(base, &delta, &mut out).unwrap();
    assert_eq!(out, b"abcdXYZ01");
    // A copy past the base's end, or the wrong base size, is damage.
    assert!(apply(base, &[16, 4, 0x91, 14, 4], &mut out).is_none());
    assert!(apply(base, &[15, 1, 1, b'x'], &mut out).is_none());
}

#[test]
fn tree_entries_parse_and_stop_at_damage() {
    let mut raw = Vec::new();
    for (mode, name, byte) in [
        ("100644", "a.env", 1u8),
        ("40000", "src", 2),
        ("160000", "sub", 3),
    ] {
        raw.extend_from_slice(format!("{mode} {name}\0").as_bytes());
        raw.extend_from_slice(&[byte; 20]);
    }
    let got: Vec<_> = entries(&raw).map(|e| e.unwrap()).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].0, b"a.env");
    assert_eq!(got[0].2, Kind::Blob);
    assert_eq!(got[1].2, Kind::Tree);
    assert_eq!(got[2].2, Kind::Gitlink);
    assert_eq!(got[1].1, Oid::from_bytes(&[2; 20]).unwrap());
    let cut = &raw[..raw.len() - 5];
    assert!(entries(cut).any(|e| e.is_none()));
}

fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.org"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}");
    out.stdout
}

/// Every tree of a repacked history (deep delta chains, both
/// directions) reads back exactly as git reads it; other objects give
/// `None`, as does an id in no pack.
#[test]
fn trees_read_as_git_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    for c in 0..40 {
        for k in 0..3 {
            let sub = d.join(format!("dir{k}/deep{}", c % 4));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(format!("f{c}.txt")), format!("version {c} {k}\n")).unwrap();
        }
        std::fs::write(d.join("top.txt"), format!("{c}\n")).unwrap();
        git(d, &["add", "-A"]);
        git(d, &["commit", "-q", "-m", &format!("c{c}")]);
    }
    // A commit whose author line libgit2 trims (quotes, a trailing
    // comma), written by hand: git itself would tidy it.
    let head = String::from_utf8(git(d, &["rev-parse", "HEAD", "HEAD^{tree}"])).unwrap();
    let (head, tree) = head.trim().split_once('\n').unwrap();
    let odd = format!(
        "tree {tree}\nparent {head}\nauthor \"Q, Name\", <q@example.org> 1700000000 +0000\ncommitter T <t@example.org> 1700000001 +0000\n\nodd\n"
    );
    let path = d.join("odd-commit");
    std::fs::write(&path, odd).unwrap();
    let oid = git(
        d,
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--literally",
            path.to_str().unwrap(),
        ],
    );
    let oid = String::from_utf8(oid).unwrap();
    git(d, &["update-ref", "refs/heads/odd", oid.trim()]);
    std::fs::remove_file(path).unwrap();
    git(d, &["repack", "-adq", "--depth=50", "--window=50"]);
    let git_dir = d.join(".git");
    let packs = Packs::open(&git_dir).expect("a pack");
    let mut trees = Reader::new(packs.clone());
    let list = git(
        d,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname) %(objecttype)",
        ],
    );
    let (mut checked, mut deltas) = (0, 0);
    for line in String::from_utf8(list).unwrap().lines() {
        let (id, kind) = line.split_once(' ').unwrap();
        let oid = Oid::from_str(id).unwrap();
        if kind == "blob" {
            let want = git(d, &["cat-file", "blob", id]);
            let mut got = b"stale".to_vec();
            trees.read(oid, OBJ_BLOB, &mut got).unwrap();
            assert_eq!(got, want, "blob {id}");
        }
        if kind != "tree" {
            assert!(trees.tree(oid).is_none(), "{kind} {id} read as a tree");
            continue;
        }
        let want = git(d, &["cat-file", "tree", id]);
        let got = trees
            .tree(oid)
            .unwrap_or_else(|| panic!("tree {id} not read"));
        assert_eq!(&got[..], &want[..], "tree {id}");
        assert!(entries(&got).all(|e| e.is_some()));
        checked += 1;
    }
    let verify = git(
        d,
        &[
            "verify-pack",
            "-v",
            &format!(
                "{}",
                std::fs::read_dir(git_dir.join("objects/pack"))
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .find(|p| p.extension().is_some_and(|e| e == "idx"))
                    .unwrap()
                    .display()
            ),
        ],
    );
    for line in String::from_utf8(verify).unwrap().lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 7 && f[1] == "tree" {
            deltas += 1;
        }
    }
    assert!(checked > 100, "{checked} trees");
    assert!(deltas > 50, "only {deltas} trees stored as deltas");
    assert!(trees.tree(Oid::from_bytes(&[7; 20]).unwrap()).is_none());

    // Commits read as libgit2 reads them.
    let repo = git2::Repository::open(d).unwrap();
    let commits = git(d, &["rev-list", "--all"]);
    let mut raw = Vec::new();
    let mut odd_seen = false;
    for id in String::from_utf8(commits).unwrap().lines() {
        let oid = Oid::from_str(id).unwrap();
        trees
            .read(oid, OBJ_COMMIT, &mut raw)
            .expect("commit in the pack");
        let got = parse_commit(&raw).expect("a commit as git writes it");
        let c = repo.find_commit(oid).unwrap();
        assert_eq!(got.tree, c.tree_id());
        assert_eq!(got.parents, c.parent_ids().collect::<Vec<_>>());
        assert_eq!(got.name, c.author().name_bytes(), "{id}");
        odd_seen |= got.name == b"Q, Name";
        assert_eq!(got.email, c.author().email_bytes(), "{id}");
        assert_eq!(got.author_time, c.author().when().seconds());
        assert_eq!(got.commit_time, c.time().seconds());
    }
    assert!(odd_seen, "the hand-written commit was read");

    // Damage anywhere in the pack: each tree reads right or not at all.
    let pack = std::fs::read_dir(git_dir.join("objects/pack"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .unwrap();
    let good = std::fs::read(&pack).unwrap();
    let ids: Vec<(Oid, Vec<u8>)> = {
        let list = git(d, &["rev-list", "--all", "--objects"]);
        String::from_utf8(list)
            .unwrap()
            .lines()
            .filter_map(|l| Oid::from_str(l.split(' ').next().unwrap()).ok())
            .filter_map(|o| trees.tree(o).map(|t| (o, t.to_vec())))
            .collect()
    };
    let mut f = crate::testkit::fakes::Fakes::new(9);
    for _ in 0..40 {
        let mut bad = good.clone();
        let at = 12 + f.below(bad.len() - 32);
        bad[at] ^= 1 << f.below(8);
        std::fs::write(&pack, &bad).unwrap();
        let mut t = Reader::new(Packs::open(&git_dir).unwrap());
        for (oid, want) in &ids {
            if let Some(got) = t.tree(*oid) {
                assert_eq!(&got[..], &want[..], "damage at {at} changed tree {oid}");
            }
        }
    }
    std::fs::write(&pack, &good).unwrap();
}

/// Found by fuzzing: an index whose offset for one object points at
/// another object's entry made the reader return that other object's
/// content under the first one's id. The entry's CRC32, which the index
/// records, now tells them apart: the reader answers `None`, never the
/// wrong content.
#[test]
fn a_damaged_index_offset_is_never_another_object() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    for k in 0..4 {
        std::fs::write(d.join(format!("f{k}.txt")), format!("content number {k}\n")).unwrap();
    }
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "c"]);
    git(d, &["repack", "-adq"]);
    let pack_dir = d.join(".git/objects/pack");
    let idx_path = std::fs::read_dir(&pack_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .unwrap();
    let blob = |k: usize| {
        let out = git(d, &["rev-parse", &format!("HEAD:f{k}.txt")]);
        Oid::from_str(String::from_utf8(out).unwrap().trim()).unwrap()
    };
    let (a, b) = (blob(0), blob(1));
    // Point `a`'s offset at `b`'s entry.
    let mut idx = std::fs::read(&idx_path).unwrap();
    let count = be32(&idx, 8 + 255 * 4) as usize;
    let position = |id: Oid| {
        (0..count)
            .find(|&i| idx[8 + 1024 + i * 20..8 + 1024 + i * 20 + 20] == *id.as_bytes())
            .unwrap()
    };
    let (ia, ib) = (position(a), position(b));
    let offsets = 8 + 1024 + count * 24;
    let b_offset: [u8; 4] = idx[offsets + ib * 4..offsets + ib * 4 + 4]
        .try_into()
        .unwrap();
    idx[offsets + ia * 4..offsets + ia * 4 + 4].copy_from_slice(&b_offset);
    let mut perms = std::fs::metadata(&idx_path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&idx_path, perms).unwrap();
    std::fs::write(&idx_path, idx).unwrap();
    let packs = Packs::open(&d.join(".git")).expect("the pack still opens");
    let mut reader = Reader::new(packs);
    let mut out = Vec::new();
    assert!(
        reader.read(a, OBJ_BLOB, &mut out).is_none(),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    assert!(reader.read(b, OBJ_BLOB, &mut out).is_some());
    assert_eq!(out, b"content number 1\n");
}

/// Found by fuzzing: an entry whose header claims far more than its bytes
/// can inflate to made the reader reserve all of it first. Such a header
/// is damage now, refused before any reservation.
#[test]
fn a_size_its_bytes_cannot_hold_is_damage() {
    let mut z = Inflate::new(true, 15);
    // "hello" deflated (zlib), 13 bytes.
    let stream = [
        0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x06, 0x2c, 0x02, 0x15,
    ];
    let mut out = Vec::new();
    assert!(inflate(&mut z, &stream, 5, &mut out).is_some());
    assert_eq!(out, b"hello");
    let mut out = Vec::new();
    assert!(inflate(&mut z, &stream, 1 << 30, &mut out).is_none());
    assert_eq!(
        out.capacity(),
        0,
        "nothing reserved for a size that cannot be"
    );
}

//! Bad input gets a clear error and loses nothing: the scan always goes on.
use keytrace::testkit::fakes::Fakes;

use crate::{locations, scan_json, write};

#[test]
fn binary_file_is_passed_over_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(1);
    let mut bin = vec![0u8, 1, 2, 3];
    bin.extend(format!("TOKEN={}", f.github("ghp")).as_bytes());
    write(dir.path(), "blob.bin", &bin);
    write(
        dir.path(),
        "ok.env",
        format!("GITHUB_TOKEN={}\n", f.github("ghp")),
    );
    let (code, v) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(v["stats"]["skipped_binary"], 1);
    assert_eq!(v["stats"]["files"], 1);
    let locs = locations(&v);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert!(locs[0].1.ends_with("ok.env"));
}

#[test]
fn invalid_utf8_does_not_hide_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(2);
    let tok = f.github("ghp");
    let mut content = b"caf\xe9 = 1\n\xff\xfe\n".to_vec();
    content.extend(format!("GITHUB_TOKEN={tok} ").as_bytes());
    content.extend(b"\xc3\n");
    write(dir.path(), "latin1.cfg", &content);
    let (code, v) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let finding = &v["findings"][0];
    assert_eq!(finding["rule"], "github-classic-pat");
    assert_eq!(finding["locations"][0]["line"], 3);
    assert_eq!(finding["binding"], "GITHUB_TOKEN");
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["severity"], "warning");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("invalid UTF-8 at byte 3"));
}

#[test]
fn huge_file_is_scanned_in_chunks_with_right_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(3);
    let filler = "let value = compute(alpha, beta, gamma); // ordinary code line\n";
    let mut text = String::new();
    let mut expected = Vec::new();
    for (line, i) in (1u64..).zip(0..20_000u64) {
        if i % 997 == 500 {
            text.push_str(&format!("GITHUB_TOKEN={}\n", f.github("ghp")));
            expected.push(line);
        } else {
            text.push_str(filler);
        }
    }
    write(dir.path(), "big.log", &text);
    let (_, whole) = scan_json(dir.path(), &[]);
    let (_, chunked) = scan_json(dir.path(), &["--max-file-size", "200K"]);
    let lines = |v: &serde_json::Value| -> Vec<u64> {
        let mut l: Vec<u64> = locations(v).into_iter().map(|x| x.2).collect();
        l.sort();
        l
    };
    assert_eq!(lines(&whole), expected);
    assert_eq!(lines(&chunked), expected);
    assert_eq!(chunked["stats"]["bytes"], text.len() as u64);
    assert_eq!(chunked["stats"]["files"], 1);
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_reported_and_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(4);
    write(
        dir.path(),
        "a/b/keys.env",
        format!("NPM_TOKEN={}\n", f.npm()),
    );
    std::os::unix::fs::symlink("..", dir.path().join("a/b/up")).unwrap();
    // Not following links (the default): nothing to report but the finding.
    let (code, v) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);
    // Following them: the loop is named, and the file is still found once.
    let (code, v) = scan_json(dir.path(), &["--follow"]);
    assert_eq!(code, 1);
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["message"]
            .as_str()
            .unwrap()
            .contains("symbolic link loop")
            && e["path"].as_str().unwrap().ends_with("a/b/up")),
        "{errors:?}"
    );
    assert_eq!(locations(&v).len(), 1);
}

#[cfg(unix)]
#[test]
fn dangling_link_when_following_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(5);
    write(dir.path(), "z.env", format!("NPM_TOKEN={}\n", f.npm()));
    std::os::unix::fs::symlink("nowhere", dir.path().join("gone.env")).unwrap();
    let (code, v) = scan_json(dir.path(), &["--follow"]);
    assert_eq!(code, 1);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0]["path"].as_str().unwrap().ends_with("gone.env"));
    assert_eq!(errors[0]["severity"], "error");
}

/// Something the reader is handed that is no regular file (here: a
/// directory; tests run as root, so mode bits cannot make a file
/// unreadable): an error entry, nothing scanned.
#[test]
fn unreadable_input_is_an_error_entry() {
    use keytrace::source::fs::{read_file, FsOptions};
    use keytrace::source::{Chunk, Origin, ScanError, Sink};
    #[derive(Default)]
    struct Record(Vec<ScanError>, usize);
    impl Sink for Record {
        fn chunk(&mut self, _: Chunk<'_>) {
            self.1 += 1;
        }
        fn problem(&mut self, e: ScanError) {
            self.0.push(e);
        }
        fn binary(&mut self, _: &Origin, _: &[u8]) {}
        fn input_done(&mut self, _: &Origin, _: u64) {}
    }
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::file("unreadable".into(), dir.path().to_path_buf());
    let mut sink = Record::default();
    read_file(
        dir.path(),
        &origin,
        &FsOptions::default(),
        &mut Vec::new(),
        &mut sink,
    );
    assert_eq!(sink.1, 0);
    assert_eq!(sink.0.len(), 1);
    assert!(
        sink.0[0].message.contains("not a regular file"),
        "{:?}",
        sink.0
    );
}

#[test]
fn gitignored_and_dot_git_are_skipped_unless_no_ignore() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fakes::new(6);
    write(dir.path(), ".gitignore", "secrets/\n");
    write(
        dir.path(),
        "secrets/a.env",
        format!("NPM_TOKEN={}\n", f.npm()),
    );
    write(
        dir.path(),
        ".git/config",
        format!("token = {}\n", f.github("ghp")),
    );
    // `.git/` here is no repository: its history cannot be read (exit 2,
    // see hostile.rs), so only the files are scanned.
    let (code, v) = scan_json(dir.path(), &["--no-history"]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = scan_json(dir.path(), &["--no-ignore", "--no-history"]);
    assert_eq!(code, 1);
    let locs = locations(&v);
    assert_eq!(locs.len(), 1, ".git/ must never be walked: {locs:?}");
    assert!(locs[0].1.ends_with("secrets/a.env"));
}

#[test]
fn missing_path_is_a_usage_error() {
    let r = crate::run(&["scan", "/definitely/not/here"], None);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no such file"), "{}", r.stderr);
}

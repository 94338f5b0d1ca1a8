//! Inside archives and compressed files: every format built here at test
//! time, with fake credentials planted in members, found with their full
//! container path in a directory scan and in git history; bombs, deep
//! nesting, damaged and encrypted members end with a listed problem.
use std::io::{Cursor, Write};
use std::path::Path;

use keytrace::testkit::fakes::Fakes;
use serde_json::Value;

use super::history::{commit, git};
use super::{keytrace, run};

fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub(crate) fn zip_stored(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

pub(crate) fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn bz2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn zst(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn env(token: &str) -> Vec<u8> {
    format!("# service settings\nAPI_URL=https://api.example.org\nGITHUB_TOKEN={token}\n")
        .into_bytes()
}

/// Scans `dir` (files only) as JSON: (findings, errors, peak RSS in MiB).
// The child is reaped by `wait4`, which also reads its peak memory.
#[allow(clippy::zombie_processes)]
fn scan_peak(dir: &Path, extra: &[&str]) -> (Vec<Value>, Vec<Value>, u64) {
    use std::io::Read;
    let mut c = keytrace();
    c.args([
        "scan",
        dir.to_str().unwrap(),
        "--no-history",
        "--format",
        "json",
    ])
    .args(extra)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    // This child's own peak, not that of other tests' children.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut status = 0;
    // SAFETY: waits for our own child and writes the two values given.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    let v: Value = serde_json::from_slice(&out).unwrap();
    (
        v["findings"].as_array().unwrap().clone(),
        v["errors"].as_array().unwrap().clone(),
        usage.ru_maxrss as u64 / 1024,
    )
}

fn scan(dir: &Path, extra: &[&str]) -> (Vec<Value>, Vec<Value>) {
    let (f, e, _) = scan_peak(dir, extra);
    (f, e)
}

/// (path, line, container) of the finding of `token`.
fn place(findings: &[Value], token: &str) -> Option<(String, u64, Vec<String>)> {
    let fp = keytrace::base::secret::fingerprint(token.as_bytes());
    let f = findings.iter().find(|f| f["fingerprint"] == fp.as_str())?;
    let l = &f["locations"][0];
    let container = l["container"]
        .as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    Some((
        l["path"].as_str().unwrap().to_string(),
        l["line"].as_u64().unwrap(),
        container,
    ))
}

fn strip(dir: &Path, p: &str) -> String {
    p.strip_prefix(&format!("{}/", dir.display()))
        .unwrap_or(p)
        .to_string()
}

/// Writes one archive of each format below `d`, holding `t[i]`; returns
/// each one's expected (member path, container list).
fn plant_all(d: &Path, t: &[String]) -> Vec<(&'static str, Vec<&'static str>)> {
    let put = |name: &str, data: &[u8]| std::fs::write(d.join(name), data).unwrap();
    put(
        "deploy.zip",
        &zip(&[("conf/app.env", &env(&t[0])), ("README", b"hello")]),
    );
    // A jar inside a war inside a tar.gz.
    let jar = zip(&[("BOOT-INF/classes/application.properties", &env(&t[1]))]);
    let war = zip(&[("WEB-INF/lib/app.jar", &jar), ("index.html", b"<html/>")]);
    put("release.tar.gz", &gz(&tar(&[("dist/app.war", &war)])));
    put(
        "chart.tgz",
        &gz(&tar(&[("chart/values.yaml", &env(&t[2]))])),
    );
    put("plain.tar", &tar(&[("etc/app.env", &env(&t[3]))]));
    put("changelog.gz", &gz(&env(&t[4])));
    put("notes.txt.bz2", &bz2(&env(&t[5])));
    put("dump.sql.xz", &xz(&env(&t[6])));
    put("config.json.zst", &zst(&env(&t[7])));
    put("backup.tar.xz", &xz(&tar(&[("home/.env", &env(&t[8]))])));
    // Office files and wheels are zips: found by content, whatever the name.
    put("report.docx", &zip(&[("word/document.xml", &env(&t[9]))]));
    put(
        "pkg-1.0-py3-none-any.whl",
        &zip(&[("pkg/settings.py", &env(&t[10]))]),
    );
    put("no-extension", &bz2(&tar(&[("x/y.env", &env(&t[11]))])));

    let expect: [(&'static str, &[&'static str]); 12] = [
        ("deploy.zip!conf/app.env", &["deploy.zip"]),
        (
            "release.tar.gz!dist/app.war!WEB-INF/lib/app.jar!BOOT-INF/classes/application.properties",
            &["release.tar.gz", "dist/app.war", "WEB-INF/lib/app.jar"],
        ),
        ("chart.tgz!chart/values.yaml", &["chart.tgz"]),
        ("plain.tar!etc/app.env", &["plain.tar"]),
        ("changelog.gz!changelog", &["changelog.gz"]),
        ("notes.txt.bz2!notes.txt", &["notes.txt.bz2"]),
        ("dump.sql.xz!dump.sql", &["dump.sql.xz"]),
        ("config.json.zst!config.json", &["config.json.zst"]),
        ("backup.tar.xz!home/.env", &["backup.tar.xz"]),
        ("report.docx!word/document.xml", &["report.docx"]),
        ("pkg-1.0-py3-none-any.whl!pkg/settings.py", &["pkg-1.0-py3-none-any.whl"]),
        ("no-extension!x/y.env", &["no-extension"]),
    ];
    expect.iter().map(|(p, c)| (*p, c.to_vec())).collect()
}

#[test]
fn every_format_and_nesting_is_opened_with_its_container_path() {
    let mut fakes = Fakes::new(0xa4c1);
    let t: Vec<String> = (0..12).map(|_| fakes.github("ghp")).collect();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let expect = plant_all(d, &t);
    let (findings, errors) = scan(d, &[]);
    assert!(errors.is_empty(), "{errors:?}");
    for (i, (path, container)) in expect.iter().enumerate() {
        let (got, line, c) = place(&findings, &t[i]).unwrap_or_else(|| panic!("{path} not found"));
        assert_eq!(strip(d, &got), *path);
        assert_eq!(line, 3, "{path}: the member's own line");
        let c: Vec<String> = c.iter().map(|p| strip(d, p)).collect();
        assert_eq!(c, *container, "{path}");
    }
    // Archives above the size limit are opened as they lie on disk
    // (streamed, a zip by seeking), with the same results.
    let (streamed, errors) = scan(d, &["--max-file-size", "200"]);
    assert!(errors.is_empty(), "{errors:?}");
    for (i, (path, _)) in expect.iter().enumerate() {
        let got = place(&streamed, &t[i]).unwrap_or_else(|| panic!("{path}: streamed"));
        assert_eq!(strip(d, &got.0), *path);
    }
    // --no-archives: none of them.
    let (findings, _) = scan(d, &["--no-archives"]);
    assert!(t.iter().all(|x| place(&findings, x).is_none()));
    // --max-archive-depth 1: the outermost archives only.
    let (findings, errors) = scan(d, &["--max-archive-depth", "1"]);
    assert!(place(&findings, &t[0]).is_some());
    assert!(
        place(&findings, &t[1]).is_none(),
        "the war is a second level"
    );
    assert!(errors.iter().any(|e| e["message"]
        .as_str()
        .unwrap()
        .contains("nested deeper than 1")));

    // Human output and SARIF name the member inside its archive.
    let human = run(
        &["scan", d.to_str().unwrap(), "--no-history", "--no-progress"],
        None,
    );
    let text = &human.stdout;
    assert!(text.contains("deploy.zip!conf/app.env:3:"), "{text}");
    let sarif = run(
        &[
            "scan",
            d.to_str().unwrap(),
            "--no-history",
            "--format",
            "sarif",
        ],
        None,
    );
    let s: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let r = s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["properties"]["container"][0]
                .as_str()
                .is_some_and(|c| c.ends_with("/deploy.zip"))
        })
        .expect("a result inside deploy.zip");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy.zip"
    );
    assert_eq!(
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "deploy.zip!conf/app.env:3:14"
    );
}

#[test]
fn archives_committed_in_history_are_opened() {
    let mut fakes = Fakes::new(0xa4c2);
    let t: Vec<String> = (0..12).map(|_| fakes.github("ghp")).collect();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"], "2025-01-01T00:00:00Z");
    let expect = plant_all(repo, &t);
    let c = commit(repo, "bundles", "2025-01-01T00:00:00Z");
    // Gone from the working tree and HEAD: history alone holds them.
    for (path, _) in &expect {
        let file = path.split('!').next().unwrap();
        std::fs::remove_file(repo.join(file)).unwrap();
    }
    commit(repo, "remove bundles", "2025-01-02T00:00:00Z");
    let out = run(&["scan", repo.to_str().unwrap(), "--format", "json"], None);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    for (i, (path, container)) in expect.iter().enumerate() {
        let fp = keytrace::base::secret::fingerprint(t[i].as_bytes());
        let f = findings
            .iter()
            .find(|f| f["fingerprint"] == fp.as_str())
            .unwrap_or_else(|| panic!("{path}: not found in history"));
        let l = &f["locations"][0];
        assert_eq!(strip(repo, l["path"].as_str().unwrap()), *path);
        assert_eq!(l["commit"], c.as_str(), "{path}");
        assert_eq!(l["at_head"], false, "{path}");
        let got: Vec<String> = l["container"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| strip(repo, x.as_str().unwrap()))
            .collect();
        assert_eq!(got, *container, "{path}");
    }
}

#[test]
fn bombs_deep_nesting_and_broken_members_end_with_a_problem() {
    let mut fakes = Fakes::new(0xa4c3);
    let (shallow, deep, after) = (
        fakes.github("ghp"),
        fakes.github("ghp"),
        fakes.github("ghp"),
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A bomb of a few hundred KB: 64 zips of 16 gzip'd 16 MiB runs of
    // zeros, 16 GiB expanded.
    let run_gz = gz(&vec![0u8; 16 << 20]);
    let inner: Vec<(String, Vec<u8>)> = (0..16)
        .map(|i| (format!("z{i}.gz"), run_gz.clone()))
        .collect();
    let inner_refs: Vec<(&str, &[u8])> = inner
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let level = zip(&inner_refs);
    let outer: Vec<(String, Vec<u8>)> = (0..64)
        .map(|i| (format!("l{i}.zip"), level.clone()))
        .collect();
    let outer_refs: Vec<(&str, &[u8])> = outer
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let bomb = zip(&outer_refs);
    assert!(bomb.len() < 4 << 20, "{} bytes", bomb.len());
    std::fs::write(d.join("bomb.zip"), &bomb).unwrap();
    // Ten levels of zips: a credential at level 3 is found, one at 8 is not.
    let mut nest = zip(&[("deep.env", &env(&deep))]);
    for level in (1..8).rev() {
        let name = format!("level{level}.zip");
        nest = if level == 3 {
            zip(&[(&name, &nest), ("shallow.env", &env(&shallow))])
        } else {
            zip(&[(&name, &nest)])
        };
    }
    std::fs::write(d.join("nested.zip"), &nest).unwrap();
    // A damaged member (its bytes no longer match their CRC) and an
    // encrypted one, then a good one.
    let mut damaged = zip_stored(&[
        ("bad.env", &env("x".repeat(40).as_str())),
        ("good.env", &env(&after)),
    ]);
    let at = damaged.windows(4).position(|w| w == b"xxxx").unwrap_or(60);
    damaged[at] ^= 1;
    std::fs::write(d.join("damaged.zip"), &damaged).unwrap();
    let mut enc = zip(&[
        ("secret.env", &env(&fakes.github("ghp"))),
        ("open.env", b"x=1\n"),
    ]);
    enc[6] |= 1; // the local header's "encrypted" flag
    let cd = enc.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    enc[cd + 8] |= 1; // and the central directory's
    std::fs::write(d.join("encrypted.zip"), &enc).unwrap();

    // A bomb dressed as a compressed image: its layer listing stops too.
    let zeros = tar(&[("zeros", &vec![0u8; 32 << 20])]);
    let fake_image = gz(&tar(&[
        ("blobs/sha256/00", &zeros),
        (
            "index.json",
            br#"{"manifests":[{"digest":"sha256:01"}]}"#.as_slice(),
        ),
        (
            "blobs/sha256/01",
            br#"{"layers":[{"digest":"sha256:00"}]}"#.as_slice(),
        ),
    ]));
    let image_dir = tempfile::tempdir().unwrap();
    std::fs::write(image_dir.path().join("image.tar.gz"), &fake_image).unwrap();
    let (_, errors) = scan(image_dir.path(), &["--max-archive-size", "8M"]);
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("expansion stopped")),
        "{errors:?}"
    );

    // Peak memory is not asserted here: a spawned child's rusage counts the
    // test process's own pages from before its exec (92 MiB here, 203 MiB
    // with the whole suite running). The README gives the figure measured
    // on the binary alone.
    let (findings, errors) = scan(d, &[]);
    let messages: Vec<String> = errors
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["path"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("bomb.zip: expansion stopped")),
        "{messages:?}"
    );
    assert!(
        place(&findings, &shallow).is_some(),
        "level 3 is within the depth"
    );
    assert!(place(&findings, &deep).is_none());
    assert!(
        messages
            .iter()
            .any(|m| m.contains("level3.zip!level4.zip: an archive nested deeper than 4")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("damaged.zip!bad.env")),
        "{messages:?}"
    );
    assert!(
        place(&findings, &after).is_some(),
        "the member after the damaged one"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("encrypted.zip!secret.env")),
        "{messages:?}"
    );
}

/// Member names are the archive author's: printed escaped, never as
/// terminal control sequences.
#[test]
fn member_names_cannot_drive_the_terminal() {
    let mut fakes = Fakes::new(0xa4c4);
    let token = fakes.github("ghp");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("names.zip"),
        zip(&[("evil\x1b[2J\x1b]0;pwned\x07.env", &env(&token))]),
    )
    .unwrap();
    let human = run(
        &[
            "scan",
            dir.path().to_str().unwrap(),
            "--no-history",
            "--no-progress",
        ],
        None,
    );
    assert!(human.stdout.contains("names.zip!evil"), "{}", human.stdout);
    assert!(!human.stdout.contains('\x1b') && !human.stdout.contains('\x07'));
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An image tarball written here, layer by layer (no container runtime):
/// a file a later layer deletes (whiteout) or replaces is reported as not
/// in the final image; one still there, and the config's `Env`, are.
#[test]
fn image_layers_are_scanned_and_deleted_files_marked() {
    let mut fakes = Fakes::new(0xa4c5);
    let t: Vec<String> = (0..5).map(|_| fakes.github("ghp")).collect();
    let lower = gz(&tar(&[
        ("app/.env", &env(&t[0])),
        ("app/config.yaml", &env(&t[1])),
        ("./etc/old.env", &env(&t[2])),
    ]));
    let upper = tar(&[
        ("app/.wh..env", b""),
        ("etc/old.env", b"# rotated\n"),
        ("opt/new.env", &env(&t[3])),
    ]);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Env":["PATH=/usr/bin","GITHUB_TOKEN={}"]}}}}"#,
        t[4]
    );
    let (l1, l2, cfg) = (
        sha256_hex(&lower),
        sha256_hex(&upper),
        sha256_hex(config.as_bytes()),
    );
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{cfg}","size":{}}},
"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{l1}","size":{}}},
{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{l2}","size":{}}}]}}"#,
        config.len(),
        lower.len(),
        upper.len()
    );
    let m = sha256_hex(manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{m}","size":{}}}]}}"#,
        manifest.len()
    );
    let blob = |h: &str| format!("blobs/sha256/{h}");
    let (b1, b2, bc, bm) = (blob(&l1), blob(&l2), blob(&cfg), blob(&m));
    let oci = tar(&[
        (
            "oci-layout",
            br#"{"imageLayoutVersion":"1.0.0"}"#.as_slice(),
        ),
        ("index.json", index.as_bytes()),
        (&bm, manifest.as_bytes()),
        (&bc, config.as_bytes()),
        (&b1, &lower),
        (&b2, &upper),
    ]);
    // The same image as an older `docker save` writes it.
    let (d1, d2) = (format!("{l1}/layer.tar"), format!("{l2}/layer.tar"));
    let docker = tar(&[
        (&d1, &lower),
        (&d2, &upper),
        (&format!("{cfg}.json"), config.as_bytes()),
        (
            "manifest.json",
            format!(
                r#"[{{"Config":"{cfg}.json","RepoTags":["acme/app:1.0"],"Layers":["{d1}","{d2}"]}}]"#
            )
            .as_bytes(),
        ),
    ]);
    // The OCI image layout as a directory (the tarball unpacked), then as
    // tarballs.
    let mut images = vec![
        (
            "oci".to_string(),
            oci.clone(),
            format!("sha256:{l1}"),
            format!("sha256:{l2}"),
            bc.clone(),
        ),
        (
            "oci.tar".to_string(),
            oci.clone(),
            format!("sha256:{l1}"),
            format!("sha256:{l2}"),
            bc.clone(),
        ),
        (
            "docker.tar".to_string(),
            docker.clone(),
            d1.clone(),
            d2.clone(),
            format!("{cfg}.json"),
        ),
    ];
    // `docker save | gzip`: the same, through the decoder.
    for i in 1..3 {
        let (f, data, a, b, c) = images[i].clone();
        images.push((format!("{f}.gz"), gz(&data), a, b, c));
    }
    for (file, data, lower_name, upper_name, config_name) in images {
        let dir = tempfile::tempdir().unwrap();
        if file == "oci" {
            let root = dir.path().join(&file);
            tar::Archive::new(data.as_slice()).unpack(&root).unwrap();
            // A blob that is a link out of the layout is not followed.
            let outside = dir.path().join("outside.txt");
            std::fs::write(&outside, b"not part of the image\n").unwrap();
            std::os::unix::fs::symlink(&outside, root.join("blobs/sha256/0123")).unwrap();
        } else {
            std::fs::write(dir.path().join(&file), &data).unwrap();
        }
        // Read whole, and (over the size limit) read by seeking in the file.
        let (whole, _) = scan(dir.path(), &[]);
        let (findings, errors) = scan(dir.path(), &["--max-file-size", "1k"]);
        assert_eq!(whole.len(), findings.len());
        assert!(errors.is_empty(), "{errors:?}");
        let at = |token: &str| {
            let fp = keytrace::base::secret::fingerprint(token.as_bytes());
            let f = findings
                .iter()
                .find(|f| f["fingerprint"] == fp.as_str())
                .unwrap_or_else(|| panic!("{file}: not found"));
            let l = &f["locations"][0];
            (
                strip(dir.path(), l["path"].as_str().unwrap()),
                l["at_head"].as_bool().unwrap(),
                l["container"].as_array().unwrap().len(),
            )
        };
        assert_eq!(
            at(&t[0]),
            (format!("{file}!{lower_name}!app/.env"), false, 2),
            "whiteout"
        );
        assert_eq!(
            at(&t[1]),
            (format!("{file}!{lower_name}!app/config.yaml"), true, 2)
        );
        assert_eq!(
            at(&t[2]),
            (format!("{file}!{lower_name}!etc/old.env"), false, 2),
            "replaced"
        );
        assert_eq!(
            at(&t[3]),
            (format!("{file}!{upper_name}!opt/new.env"), true, 2)
        );
        assert_eq!(
            at(&t[4]),
            (format!("{file}!{config_name}"), true, 1),
            "the config's Env"
        );
    }
}

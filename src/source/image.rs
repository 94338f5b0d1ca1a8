//! Container images: a `docker save` tarball or an OCI image layout in a
//! tar, read from its manifest into its layers, bottom to top, and what a
//! layer's files become in the final image. [`read`] finds the layers and
//! the other files (the config, whose `Env` may hold a secret);
//! [`Hidden`] tells, from the layers above one, whether a file of it is
//! still in the final image (not deleted by a whiteout, not hidden by an
//! opaque directory, not replaced). [`super::archive`] walks them.
use std::collections::{HashMap, HashSet};
use std::io::{Read, SeekFrom};

use serde_json::Value;

use super::ReadSeek;

/// Where a file lies in the tarball: offset and size of its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub at: u64,
    pub size: u64,
}

/// One layer: its name in locations (`sha256:<hex>`, or its path in the
/// tarball), and where its bytes (a tar, or a compressed one) lie.
pub struct Layer {
    pub name: String,
    pub span: Span,
}

/// An image tarball's layers, bottom first, and its other files.
pub struct Image {
    pub layers: Vec<Layer>,
    pub others: Vec<(String, Span)>,
}

/// The most of a manifest or index read (they are a few KB).
const MAX_JSON: u64 = 4 << 20;

/// Files of a tarball by path, with where they lie; headers only are read.
fn entries(tar: &mut dyn ReadSeek) -> Option<Vec<(String, Span)>> {
    tar.rewind().ok()?;
    let mut archive = tar::Archive::new(&mut *tar);
    let mut out = Vec::new();
    for e in archive.entries_with_seek().ok()? {
        let e = e.ok()?;
        if !e.header().entry_type().is_file() {
            continue;
        }
        let span = Span {
            at: e.raw_file_position(),
            size: e.size(),
        };
        let path = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        out.push((normal(&path).to_string(), span));
    }
    Some(out)
}

/// A path without `./` or `/` in front.
pub fn normal(path: &str) -> &str {
    let mut p = path;
    loop {
        if let Some(rest) = p.strip_prefix("./") {
            p = rest;
        } else if let Some(rest) = p.strip_prefix('/') {
            p = rest;
        } else {
            return p;
        }
    }
}

/// `blobs/sha256/<hex>` for a digest.
fn blob_path(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok(alg) && ok(hex)).then(|| format!("blobs/{alg}/{hex}"))
}

/// How a layer path is named in locations.
fn layer_name(path: &str) -> String {
    match path.strip_prefix("blobs/").and_then(|p| p.split_once('/')) {
        Some((alg, hex)) => format!("{alg}:{hex}"),
        None => path.to_string(),
    }
}

/// The image in a tarball, or None when it is not one (no `manifest.json`
/// naming layers, and no OCI `index.json`).
pub fn read(tar: &mut dyn ReadSeek) -> Option<Image> {
    let files = entries(tar)?;
    let by_path: HashMap<&str, Span> = files.iter().map(|(p, s)| (p.as_str(), *s)).collect();
    if !by_path.contains_key("manifest.json") && !by_path.contains_key("index.json") {
        return None;
    }
    let mut json = |p: &str| -> Option<Value> {
        let span = by_path.get(p)?;
        tar.seek(SeekFrom::Start(span.at)).ok()?;
        let mut text = Vec::new();
        Read::take(&mut *tar, span.size.min(MAX_JSON))
            .read_to_end(&mut text)
            .ok()?;
        serde_json::from_slice(&text).ok()
    };
    let mut paths: Vec<String> = Vec::new();
    if let Some(Value::Array(list)) = json("manifest.json") {
        // docker save: [{"Config": …, "RepoTags": […], "Layers": [paths]}].
        for l in list.first()?.get("Layers")?.as_array()? {
            paths.push(normal(l.as_str()?).to_string());
        }
    } else {
        // OCI image layout: index.json → manifest (through nested indexes,
        // the first of each) → layers by digest.
        let mut doc = json("index.json")?;
        for _ in 0..4 {
            if doc.get("layers").is_some() {
                break;
            }
            let digest = doc.get("manifests")?.get(0)?.get("digest")?.as_str()?;
            doc = json(&blob_path(digest)?)?;
        }
        for l in doc.get("layers")?.as_array()? {
            paths.push(blob_path(l.get("digest")?.as_str()?)?);
        }
    }
    let mut layers = Vec::new();
    for p in &paths {
        layers.push(Layer {
            name: layer_name(p),
            span: *by_path.get(p.as_str())?,
        });
    }
    let layer_set: HashSet<&str> = paths.iter().map(String::as_str).collect();
    let others = files
        .iter()
        .filter(|(p, _)| !layer_set.contains(p.as_str()))
        .map(|(p, s)| (p.clone(), *s))
        .collect();
    Some(Image { layers, others })
}

/// What the layers above one do to its files: files they hold (which
/// replace it), paths they delete (`.wh.<name>`), and directories they make
/// opaque (`.wh..wh..opq`).
#[derive(Debug, Default)]
pub struct Hidden {
    files: HashSet<String>,
    deleted: HashSet<String>,
    opaque: HashSet<String>,
}

/// The whiteout prefix of the OCI image spec (and of AUFS before it).
const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// Whether a layer entry is a whiteout marker, not a file of the image.
pub fn is_whiteout(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .unwrap_or(path)
        .starts_with(WHITEOUT)
}

impl Hidden {
    /// Whether a file at `path` of a lower layer is gone from the final image.
    pub fn hides(&self, path: &str) -> bool {
        let path = normal(path);
        if self.files.contains(path) || self.deleted.contains(path) {
            return true;
        }
        let mut dir = path;
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if self.deleted.contains(parent) || self.opaque.contains(parent) {
                return true;
            }
            dir = parent;
        }
        // An opaque marker at the root hides everything below it.
        self.opaque.contains("")
    }

    /// Takes in an entry of the layer just above those still to come.
    pub fn add(&mut self, path: &str) {
        let path = normal(path);
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => ("", path),
        };
        if name == OPAQUE {
            self.opaque.insert(dir.to_string());
        } else if let Some(gone) = name.strip_prefix(WHITEOUT) {
            let full = if dir.is_empty() {
                gone.to_string()
            } else {
                format!("{dir}/{gone}")
            };
            self.deleted.insert(full);
        } else {
            self.files.insert(path.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whiteouts_opaque_directories_and_replacements() {
        let mut h = Hidden::default();
        for p in [
            "./app/.wh.secret.env",
            "etc/.wh..wh..opq",
            "opt/tool/config",
            "/var/.wh.cache",
        ] {
            h.add(p);
        }
        assert!(h.hides("app/secret.env"));
        assert!(!h.hides("app/other.env"));
        assert!(h.hides("etc/passwd"), "opaque etc/");
        assert!(h.hides("etc/ssl/key.pem"));
        assert!(h.hides("./opt/tool/config"), "replaced");
        assert!(h.hides("var/cache/x/y"), "a deleted directory");
        assert!(!h.hides("variable"));
        assert!(is_whiteout("a/.wh.b") && !is_whiteout("a/b.wh.c"));
        assert_eq!(layer_name("blobs/sha256/ab12"), "sha256:ab12");
        assert_eq!(blob_path("sha256:../x"), None);
    }
}

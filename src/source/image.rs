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
    let paths = layer_paths(&mut json)?;
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

/// The layers' paths in the tarball, bottom first, from its manifest
/// (`docker save`) or its OCI index; `json` reads a file of the tarball.
fn layer_paths(json: &mut dyn FnMut(&str) -> Option<Value>) -> Option<Vec<String>> {
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
    Some(paths)
}

/// JSON files kept from a tarball read front to back, at most this much.
const MAX_KEPT: u64 = 16 << 20;

/// The layers of an image tarball read once, front to back (a compressed
/// one): (path, name) bottom first, or None when it is not an image. Its
/// small JSON files are kept to resolve the manifest, whatever their order.
pub fn layers_of_stream(r: &mut dyn Read) -> Option<Vec<(String, String)>> {
    let mut archive = tar::Archive::new(r);
    let mut kept: HashMap<String, Value> = HashMap::new();
    let mut total = 0;
    for (n, e) in archive.entries().ok()?.enumerate() {
        let mut e = e.ok()?;
        // An image tarball starts with its blobs, its layout files, or
        // (older docker save) a layer directory named by its hex id: any
        // other tarball is left at its first entry, not read through.
        if n == 0 {
            let first = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let first = normal(&first);
            let top = first.split(['/', '.']).next().unwrap_or_default();
            let hex = top.len() == 64 && top.bytes().all(|b| b.is_ascii_hexdigit());
            let known = ["blobs", "manifest", "index", "oci-layout", "repositories"];
            if !hex && !known.contains(&top) {
                return None;
            }
        }
        let size = e.size();
        if !e.header().entry_type().is_file() || size > MAX_JSON || total + size > MAX_KEPT {
            continue;
        }
        let path = normal(&String::from_utf8_lossy(&e.path_bytes())).to_string();
        if path != "manifest.json" && path != "index.json" && !path.starts_with("blobs/") {
            continue;
        }
        let mut text = Vec::new();
        e.read_to_end(&mut text).ok()?;
        if matches!(text.first(), Some(b'{' | b'[')) {
            total += size;
            if let Ok(v) = serde_json::from_slice(&text) {
                kept.insert(path, v);
            }
        }
    }
    if !kept.contains_key("manifest.json") && !kept.contains_key("index.json") {
        return None;
    }
    let paths = layer_paths(&mut |p: &str| kept.get(p).cloned())?;
    Some(paths.into_iter().map(|p| (layer_name(&p), p)).collect())
}

/// The files every layer of an image holds, deletes or makes opaque, by
/// the highest layer that does: whether a file of layer `i` is in the final
/// image, without keeping the layers above it in view.
#[derive(Debug, Default)]
pub struct Touches {
    files: HashMap<String, usize>,
    deleted: HashMap<String, usize>,
    opaque: HashMap<String, usize>,
}

impl Touches {
    /// Takes in an entry of layer `i`.
    pub fn add(&mut self, i: usize, path: &str) {
        let path = normal(path);
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let (map, key) = if name == OPAQUE {
            (&mut self.opaque, dir.to_string())
        } else if let Some(gone) = name.strip_prefix(WHITEOUT) {
            let full = if dir.is_empty() {
                gone.to_string()
            } else {
                format!("{dir}/{gone}")
            };
            (&mut self.deleted, full)
        } else {
            (&mut self.files, path.to_string())
        };
        let top = map.entry(key).or_insert(i);
        *top = (*top).max(i);
    }

    /// Whether a file at `path` of layer `i` is gone from the final image.
    pub fn hides(&self, i: usize, path: &str) -> bool {
        let above = |m: &HashMap<String, usize>, k: &str| m.get(k).is_some_and(|&j| j > i);
        let path = normal(path);
        if above(&self.files, path) || above(&self.deleted, path) {
            return true;
        }
        let mut dir = path;
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if above(&self.deleted, parent) || above(&self.opaque, parent) {
                return true;
            }
            dir = parent;
        }
        above(&self.opaque, "")
    }
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
        let mut t = Touches::default();
        for (i, p) in [
            (0, "app/.env"),
            (0, "app/keep"),
            (1, "app/.wh..env"),
            (1, "etc/x"),
        ] {
            t.add(i, p);
        }
        assert!(t.hides(0, "app/.env") && !t.hides(0, "app/keep"));
        assert!(!t.hides(1, "etc/x") && t.hides(0, "etc/x"));
        assert_eq!(blob_path("sha256:../x"), None);
    }
}

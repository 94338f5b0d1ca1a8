//! Container images: a `docker save` tarball or an OCI image layout in a
//! tar, read from its manifest into its layers, bottom to top, and what a
//! layer's files become in the final image. [`read`] finds the layers and
//! the other files of a tarball, [`layout`] those of an OCI image layout
//! directory (the config, whose `Env` may hold a secret);
//! [`Hidden`] tells, from the layers above one, whether a file of it is
//! still in the final image (not deleted by a whiteout, not hidden by an
//! opaque directory, not replaced). [`super::archive`] walks them.
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ReadSeek;

/// Where a file lies in the tarball: offset and size of its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub at: u64,
    pub size: u64,
}

/// One layer: its name in locations (`sha256:<hex>`, or its path in the
/// tarball), and the path of its bytes (a tar, or a compressed one) among
/// the image's files.
pub struct Layer {
    pub name: String,
    pub path: String,
}

/// An image's layers, bottom first, and its other files (by path).
pub struct Image {
    pub layers: Vec<Layer>,
    pub others: Vec<String>,
}

/// Where an image's files are read from: a tarball, or an OCI image
/// layout directory.
pub trait Files {
    /// The bytes of the file at `path` (a path [`Image`] names).
    fn open(&mut self, path: &str) -> io::Result<Box<dyn Read + '_>>;
}

/// The files of an image tarball, read where they lie in it.
pub struct Tarball<'a> {
    input: &'a mut dyn ReadSeek,
    spans: HashMap<String, Span>,
}

impl Files for Tarball<'_> {
    fn open(&mut self, path: &str) -> io::Result<Box<dyn Read + '_>> {
        let span = *self
            .spans
            .get(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not in the tarball"))?;
        self.input.seek(SeekFrom::Start(span.at))?;
        Ok(Box::new(Read::take(&mut *self.input, span.size)))
    }
}

/// The files of an OCI image layout directory (`oci-layout`, `index.json`,
/// `blobs/<alg>/<hex>`): regular files only, never through a link.
pub struct Layout {
    dir: PathBuf,
}

impl Files for Layout {
    fn open(&mut self, path: &str) -> io::Result<Box<dyn Read + '_>> {
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // A FIFO opens at once and is refused below; a link is not followed.
            opts.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
        }
        let file = opts.open(self.dir.join(path))?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::other("not a regular file; not read"));
        }
        Ok(Box::new(file))
    }
}

/// The most of a manifest or index read (they are a few KB).
const MAX_JSON: u64 = 4 << 20;

/// A JSON file of an image, read whole (up to [`MAX_JSON`]).
fn json_of(files: &mut dyn Files, path: &str) -> Option<Value> {
    let mut text = Vec::new();
    files
        .open(path)
        .ok()?
        .take(MAX_JSON)
        .read_to_end(&mut text)
        .ok()?;
    serde_json::from_slice(&text).ok()
}

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

/// Splits `files` into the image's layers (in `paths`' order) and the
/// rest; None when a layer is not among them.
fn split(paths: Vec<String>, files: &[String]) -> Option<Image> {
    let have: HashSet<&str> = files.iter().map(String::as_str).collect();
    if !paths.iter().all(|p| have.contains(p.as_str())) {
        return None;
    }
    let layer_set: HashSet<&str> = paths.iter().map(String::as_str).collect();
    let others = files
        .iter()
        .filter(|p| !layer_set.contains(p.as_str()))
        .cloned()
        .collect();
    let layers = paths
        .into_iter()
        .map(|path| Layer {
            name: layer_name(&path),
            path,
        })
        .collect();
    Some(Image { layers, others })
}

/// The image in a tarball, and its files, or None when it is not one (no
/// `manifest.json` naming layers, and no OCI `index.json`).
pub fn read(tar: &mut dyn ReadSeek) -> Option<(Image, Tarball<'_>)> {
    let files = entries(tar)?;
    let spans: HashMap<String, Span> = files.iter().cloned().collect();
    if !spans.contains_key("manifest.json") && !spans.contains_key("index.json") {
        return None;
    }
    let mut tarball = Tarball { input: tar, spans };
    let paths = layer_paths(&mut |p: &str| json_of(&mut tarball, p))?;
    let names: Vec<String> = files.into_iter().map(|(p, _)| p).collect();
    let img = split(paths, &names)?;
    Some((img, tarball))
}

/// Whether `dir` is an OCI image layout: `oci-layout` and `index.json`
/// beside a `blobs` directory (none of them links).
pub fn is_layout(dir: &Path) -> bool {
    let is = |name: &str, want_dir: bool| {
        std::fs::symlink_metadata(dir.join(name)).is_ok_and(|m| {
            if want_dir {
                m.is_dir()
            } else {
                m.is_file()
            }
        })
    };
    is("oci-layout", false) && is("index.json", false) && is("blobs", true)
}

/// The image in an OCI image layout directory, its files, and the bytes
/// its blobs hold. Every blob (`blobs/<alg>/<hex>`, a regular file) is
/// among the image's files: when the index names no layers that are
/// there, each blob is an "other" file, so nothing goes unread.
pub fn layout(dir: &Path) -> (Image, Layout, u64) {
    let mut files = Layout {
        dir: dir.to_path_buf(),
    };
    let (mut blobs, mut total) = (Vec::new(), 0);
    for alg in std::fs::read_dir(dir.join("blobs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if !alg.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let alg_name = alg.file_name().to_string_lossy().into_owned();
        for blob in std::fs::read_dir(alg.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            // `DirEntry::metadata` does not follow a link.
            if let Some(m) = blob.metadata().ok().filter(|m| m.is_file()) {
                total += m.len();
                let name = blob.file_name().to_string_lossy().into_owned();
                blobs.push(format!("blobs/{alg_name}/{name}"));
            }
        }
    }
    blobs.sort();
    let img = layer_paths(&mut |p: &str| json_of(&mut files, p))
        .and_then(|paths| split(paths, &blobs))
        .unwrap_or(Image {
            layers: Vec::new(),
            others: blobs,
        });
    (img, files, total)
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

//! Inside archives and compressed files: zip and every format built on it
//! (jar, war, ear, apk, whl, nupkg, vsix, xpi, docx/xlsx/pptx), tar, gzip,
//! bzip2, xz and zstd, and their combinations (`.tar.gz`, a jar inside a war
//! inside a tar), found by their magic bytes, not their names. Receives an
//! input a source read whole (a file or a git blob) that [`detect`] calls an
//! archive; hands each member to the sink like any other input: text in
//! overlapping chunks, binary to the key-store check. A member's origin
//! path is `outer.tar.gz!inner/app.jar!BOOT-INF/application.properties`,
//! and its `container` lists the archives, outer to inner.
//!
//! Bounded, because archives are hostile: members stream through the
//! decoders (nothing is unpacked to disk, and only a nested zip, which
//! needs random access, is held in memory, up to a cap); nesting stops at a
//! depth; expansion stops past a total and past a compression ratio (a zip
//! bomb, a quine). What stops, and every member that is encrypted or
//! damaged, is reported as a problem of that input; the rest is scanned.
use std::cell::Cell;
use std::io::{self, Cursor, Read};
use std::sync::Arc;

use std::path::Path;

use super::image::{self, Hidden};
pub use super::magic::{detect, Kind};
use super::{Origin, ReadSeek, ScanError, Sink};

/// How far archives are opened.
#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    /// `--no-archives` turns it off.
    pub enabled: bool,
    /// Archives inside archives opened at most this deep (the outermost is 1).
    pub max_depth: usize,
    /// Bytes one outermost archive may expand to, all members together.
    pub max_expanded: u64,
    /// Past [`RATIO_FLOOR`] expanded bytes, at most this many bytes per
    /// byte of the outermost archive.
    pub max_ratio: u64,
    /// A nested zip is read into memory (it needs random access) up to this.
    pub max_in_memory: u64,
    /// Members are scanned in chunks of this size.
    pub chunk: u64,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        ArchiveOptions {
            enabled: true,
            max_depth: 4,
            max_expanded: 1 << 30,
            max_ratio: 100,
            max_in_memory: 32 << 20,
            chunk: 8 << 20,
        }
    }
}

/// Expansion below this is never called a bomb, whatever its ratio.
pub const RATIO_FLOOR: u64 = 64 << 20;
/// The dictionary an xz stream may ask for, in KiB.
const XZ_MEMORY_KIB: u32 = 64 * 1024;
/// Bytes read from a member to tell what it is (a tar header's magic
/// stands at 257).
const PEEK: usize = 512;

/// Opens the archive `input` (`len` bytes) of `origin` and hands its
/// members to `sink`.
pub fn expand<S: Sink>(
    origin: &Origin,
    kind: Kind,
    input: &mut dyn ReadSeek,
    len: u64,
    opts: &ArchiveOptions,
    sink: &mut S,
) {
    walk(origin, len, opts, sink, |walk, container| {
        walk.open(&origin.path, container, kind, Input::Seek(input), 1)
    });
}

/// Opens the OCI image layout directory of `origin` (at `dir`) as an image
/// tarball is opened: layer by layer, each file marked present or not in
/// the final image.
pub fn expand_layout<S: Sink>(origin: &Origin, dir: &Path, opts: &ArchiveOptions, sink: &mut S) {
    let (img, mut files, len) = image::layout(dir);
    walk(origin, len, opts, sink, |walk, container| {
        walk.image(&origin.path, container, &mut files, img, 1)
    });
}

/// Walks one outermost archive (`len` bytes) of `origin` with `f`, under
/// one budget, and reports where the budget stopped it.
fn walk<S: Sink>(
    origin: &Origin,
    len: u64,
    opts: &ArchiveOptions,
    sink: &mut S,
    f: impl FnOnce(&mut Walk<'_, S>, &[String]),
) {
    let budget = Budget {
        opts,
        outer: len,
        expanded: Cell::new(0),
        stopped: Cell::new(None),
    };
    let mut walk = Walk {
        opts,
        sink,
        budget: &budget,
        top: origin,
        buf: Vec::new(),
        present: true,
    };
    f(&mut walk, std::slice::from_ref(&origin.path));
    if let Some(why) = budget.stopped.get() {
        sink.problem(ScanError::warning(&origin.path, why));
    }
}

/// The expansion of one outermost archive, counted as its members are read.
struct Budget<'a> {
    opts: &'a ArchiveOptions,
    outer: u64,
    expanded: Cell<u64>,
    stopped: Cell<Option<&'static str>>,
}

impl Budget<'_> {
    fn add(&self, n: u64) -> io::Result<()> {
        let total = self.expanded.get() + n;
        self.expanded.set(total);
        let why = if total > self.opts.max_expanded {
            "expansion stopped: the archive expands past --max-archive-size; the rest was not scanned"
        } else if total > RATIO_FLOOR && total > self.outer.saturating_mul(self.opts.max_ratio) {
            "expansion stopped: the archive expands far past its own size (a zip bomb?); the rest was not scanned"
        } else {
            return Ok(());
        };
        self.stopped.set(Some(why));
        Err(io::Error::other(why))
    }

    fn stopped(&self) -> bool {
        self.stopped.get().is_some()
    }
}

/// A reader's bytes (a member's, a decoder's), counted against a budget.
struct Counted<'b, R> {
    inner: R,
    budget: &'b Budget<'b>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(why) = self.budget.stopped.get() {
            return Err(io::Error::other(why));
        }
        let n = self.inner.read(out)?;
        self.budget.add(n as u64)?;
        Ok(n)
    }
}

enum Input<'a> {
    /// Read from anywhere: the outermost input, or a nested zip in memory.
    Seek(&'a mut dyn ReadSeek),
    /// Read once, front to back: a member, a decoder's output.
    Stream(&'a mut dyn Read),
}

struct Walk<'a, S: Sink> {
    opts: &'a ArchiveOptions,
    sink: &'a mut S,
    budget: &'a Budget<'a>,
    top: &'a Origin,
    buf: Vec<u8>,
    /// False while walking a layer file that a later layer of its image
    /// deletes or replaces: not in the final image.
    present: bool,
}

/// The layer of an image being walked: what the layers above it hide,
/// and the paths it holds (for the layers below).
struct LayerWalk<'h> {
    hides: &'h dyn Fn(&str) -> bool,
    seen: Vec<String>,
}

impl<S: Sink> Walk<'_, S> {
    /// An origin inside the outermost input.
    fn origin(&self, path: String, container: &[String]) -> Origin {
        Origin {
            path,
            container: Some(Arc::from(container)),
            lines: None,
            at_head: self.top.at_head && self.present,
            ..self.top.clone()
        }
    }

    /// Opens an archive of `kind` whose members' paths start `prefix!`.
    fn open(&mut self, prefix: &str, container: &[String], kind: Kind, input: Input, depth: usize) {
        match (kind, input) {
            (Kind::Zip, Input::Seek(r)) => self.zip(prefix, container, r, depth),
            (Kind::Zip, Input::Stream(r)) => {
                // Random access: into memory, up to the cap.
                let mut data = Vec::new();
                let cap = self.opts.max_in_memory;
                let budget = self.budget;
                let mut counted = Counted { inner: r, budget };
                match counted.by_ref().take(cap + 1).read_to_end(&mut data) {
                    Ok(_) if data.len() as u64 > cap => self.sink.problem(ScanError::warning(
                        prefix,
                        format!(
                            "a zip inside an archive larger than {} MiB: not opened",
                            cap >> 20
                        ),
                    )),
                    Ok(_) => self.zip(prefix, container, &mut Cursor::new(data), depth),
                    Err(e) => self.broken(prefix, &e),
                }
            }
            (Kind::Tar, Input::Seek(r)) => match image::read(r) {
                Some((img, mut files)) => self.image(prefix, container, &mut files, img, depth),
                None => match r.rewind() {
                    Ok(()) => self.tar(prefix, container, r, depth, None),
                    Err(e) => self.broken(prefix, &e),
                },
            },
            (Kind::Tar, Input::Stream(r)) => self.tar(prefix, container, r, depth, None),
            (kind, input) => {
                let raw: &mut dyn Read = match input {
                    Input::Seek(r) => {
                        if self.compressed_image(prefix, container, kind, r, depth) {
                            return;
                        }
                        if let Err(e) = r.rewind() {
                            return self.broken(prefix, &e);
                        }
                        r
                    }
                    Input::Stream(r) => r,
                };
                let mut decoded = match decoder(kind, raw) {
                    Ok(d) => d,
                    Err(e) => return self.broken(prefix, &e),
                };
                // `name.gz` holds `name`; `name.tgz` holds `name.tar`.
                let last = prefix.rsplit(['!', '/']).next().unwrap_or(prefix);
                let name = inner_name(last);
                self.stream(prefix, container, &name, &mut *decoded, depth);
            }
        }
    }

    /// A compressed image tarball (`docker save | gzip`), read in three
    /// passes through the decoder, as a compressed stream allows no more:
    /// the manifest, then the paths each layer holds, then every file with
    /// what the layers above it do to it. False when it is no image.
    fn compressed_image(
        &mut self,
        prefix: &str,
        container: &[String],
        kind: Kind,
        input: &mut dyn ReadSeek,
        depth: usize,
    ) -> bool {
        // The first two passes read under budgets of their own (one each):
        // a bomb dressed as an image stops there as anywhere.
        let fresh = || Budget {
            opts: self.opts,
            outer: self.budget.outer,
            expanded: Cell::new(0),
            stopped: Cell::new(None),
        };
        let (first, listing) = (fresh(), fresh());
        /// The decoded tarball, from its start.
        fn pass<'r>(
            kind: Kind,
            input: &'r mut dyn ReadSeek,
            budget: Option<&'r Budget<'r>>,
        ) -> io::Result<Box<dyn Read + 'r>> {
            input.rewind()?;
            let d = decoder(kind, input)?;
            Ok(match budget {
                Some(budget) => Box::new(Counted { inner: d, budget }),
                None => d,
            })
        }
        let Some(layers) = pass(kind, input, Some(&first))
            .ok()
            .and_then(|mut d| image::layers_of_stream(&mut *d))
        else {
            return false;
        };
        let index: std::collections::HashMap<&str, usize> = layers
            .iter()
            .enumerate()
            .map(|(i, (_, p))| (p.as_str(), i))
            .collect();
        // Each layer, decoded (it may be compressed itself) into a tar.
        fn layer_tar<'e>(
            entry: &'e mut dyn Read,
            peek: &'e mut Vec<u8>,
        ) -> io::Result<Box<dyn Read + 'e>> {
            Read::take(&mut *entry, PEEK as u64).read_to_end(peek)?;
            let kind = detect(peek);
            let chained = Cursor::new(peek.as_slice()).chain(entry);
            match kind {
                Some(Kind::Tar) => Ok(Box::new(chained)),
                Some(k @ (Kind::Gzip | Kind::Zstd | Kind::Xz | Kind::Bzip2)) => decoder(k, chained),
                _ => Err(io::Error::other("an image layer that is not a tar")),
            }
        }
        // Pass 2: what each layer holds.
        let mut touches = image::Touches::default();
        let listed = (|| -> io::Result<()> {
            let mut outer = tar::Archive::new(pass(kind, input, Some(&listing))?);
            for e in outer.entries()? {
                let mut e = e?;
                let path = image::normal(&String::from_utf8_lossy(&e.path_bytes())).to_string();
                let Some(&i) = index.get(path.as_str()) else {
                    continue;
                };
                let mut peek = Vec::new();
                let mut layer = tar::Archive::new(layer_tar(&mut e, &mut peek)?);
                for f in layer.entries()? {
                    let f = f?;
                    touches.add(i, &String::from_utf8_lossy(&f.path_bytes()));
                }
            }
            Ok(())
        })();
        if let Err(e) = listed {
            match listing.stopped.get() {
                Some(why) => self.sink.problem(ScanError::warning(prefix, why)),
                None => self.broken(prefix, &e),
            }
            return true;
        }
        // Pass 3: every file.
        let scanned = (|| -> io::Result<()> {
            let mut outer = tar::Archive::new(pass(kind, input, None)?);
            for e in outer.entries()? {
                let mut e = e?;
                if !e.header().entry_type().is_file() {
                    continue;
                }
                let path = image::normal(&String::from_utf8_lossy(&e.path_bytes())).to_string();
                let Some(&i) = index.get(path.as_str()) else {
                    self.member(prefix, container, &path, &mut e, depth);
                    if self.budget.stopped() {
                        break;
                    }
                    continue;
                };
                if depth >= self.opts.max_depth {
                    continue;
                }
                let name = &layers[i].0;
                let mut inner = container.to_vec();
                inner.push(name.clone());
                let mut peek = Vec::new();
                let mut r = match layer_tar(&mut e, &mut peek) {
                    Ok(r) => r,
                    Err(err) => {
                        self.broken(&format!("{prefix}!{name}"), &err);
                        continue;
                    }
                };
                let hides = |p: &str| touches.hides(i, p);
                let mut walk = LayerWalk {
                    hides: &hides,
                    seen: Vec::new(),
                };
                self.tar(
                    &format!("{prefix}!{name}"),
                    &inner,
                    &mut *r,
                    depth + 1,
                    Some(&mut walk),
                );
                if self.budget.stopped() {
                    break;
                }
            }
            Ok(())
        })();
        if let Err(e) = scanned {
            self.broken(prefix, &e);
        }
        self.layers_too_deep(prefix, depth);
        true
    }

    /// Whether an image's layers at `depth` are past the depth limit; if so
    /// it says so as a warning of the image.
    fn layers_too_deep(&mut self, prefix: &str, depth: usize) -> bool {
        let deep = depth >= self.opts.max_depth;
        if deep {
            self.sink.problem(ScanError::warning(
                prefix,
                format!(
                    "image layers nested deeper than {}: not opened (--max-archive-depth)",
                    self.opts.max_depth
                ),
            ));
        }
        deep
    }

    /// A problem that ends the reading of an archive.
    fn broken(&mut self, path: &str, e: &io::Error) {
        if !self.budget.stopped() {
            self.sink.problem(ScanError::error(
                path,
                format!("damaged or unsupported archive: {e}; the rest of it was not scanned"),
            ));
        }
    }

    /// The content of a compressed stream: a tar (whose members are this
    /// archive's), or one member called `name`.
    fn stream(
        &mut self,
        prefix: &str,
        container: &[String],
        name: &str,
        r: &mut dyn Read,
        depth: usize,
    ) {
        let mut peek = Vec::with_capacity(PEEK);
        if let Err(e) = Read::take(&mut *r, PEEK as u64).read_to_end(&mut peek) {
            return self.broken(prefix, &e);
        }
        let mut chained = Cursor::new(peek.as_slice()).chain(r);
        if detect(&peek) == Some(Kind::Tar) {
            self.tar(prefix, container, &mut chained, depth, None);
        } else {
            self.member(prefix, container, name, &mut chained, depth);
        }
    }

    fn zip(&mut self, prefix: &str, container: &[String], r: &mut dyn ReadSeek, depth: usize) {
        let mut archive = match zip::ZipArchive::new(r) {
            Ok(a) => a,
            Err(e) => return self.broken(prefix, &io::Error::other(e)),
        };
        for i in 0..archive.len() {
            if self.budget.stopped() {
                break;
            }
            let name = archive
                .name_for_index(i)
                .and_then(Result::ok)
                .map_or_else(|| format!("#{i}"), |n| n.into_owned());
            let mut file = match archive.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    self.sink.problem(ScanError::error(
                        format!("{prefix}!{name}"),
                        format!("not scanned: {e}"),
                    ));
                    continue;
                }
            };
            if !file.is_file() {
                continue;
            }
            self.member(prefix, container, &name, &mut file, depth);
        }
    }

    /// A container image: its other files (the config's `Env` may hold a
    /// secret) as members, then its layers top to bottom, each file marked
    /// present or not in the final image by the layers above it.
    fn image(
        &mut self,
        prefix: &str,
        container: &[String],
        files: &mut dyn image::Files,
        img: image::Image,
        depth: usize,
    ) {
        for name in &img.others {
            if self.budget.stopped() {
                return;
            }
            match files.open(name) {
                Ok(mut r) => self.member(prefix, container, name, &mut r, depth),
                Err(e) => self.broken(&format!("{prefix}!{name}"), &e),
            }
        }
        if self.layers_too_deep(prefix, depth) {
            return;
        }
        let mut hidden = Hidden::default();
        for layer in img.layers.iter().rev() {
            if self.budget.stopped() {
                break;
            }
            let path = format!("{prefix}!{}", layer.name);
            let mut inner = container.to_vec();
            inner.push(layer.name.clone());
            let mut raw = match files.open(&layer.path) {
                Ok(r) => r,
                Err(e) => {
                    self.broken(&path, &e);
                    continue;
                }
            };
            let mut peek = Vec::with_capacity(PEEK);
            if let Err(e) = Read::take(&mut raw, PEEK as u64).read_to_end(&mut peek) {
                self.broken(&path, &e);
                continue;
            }
            let mut chained = Cursor::new(peek.as_slice()).chain(raw);
            let mut decoded;
            let r: &mut dyn Read = match detect(&peek) {
                Some(Kind::Tar) => &mut chained,
                Some(k @ (Kind::Gzip | Kind::Zstd | Kind::Xz | Kind::Bzip2)) => {
                    decoded = match decoder(k, &mut chained) {
                        Ok(d) => d,
                        Err(e) => {
                            self.broken(&path, &e);
                            continue;
                        }
                    };
                    &mut *decoded
                }
                _ => {
                    self.sink.problem(ScanError::error(
                        &path,
                        "an image layer that is not a tar: not scanned",
                    ));
                    continue;
                }
            };
            let hides = |p: &str| hidden.hides(p);
            let mut walk = LayerWalk {
                hides: &hides,
                seen: Vec::new(),
            };
            self.tar(&path, &inner, r, depth + 1, Some(&mut walk));
            let seen = walk.seen;
            for p in seen {
                hidden.add(&p);
            }
        }
    }

    fn tar(
        &mut self,
        prefix: &str,
        container: &[String],
        r: &mut dyn Read,
        depth: usize,
        mut layer: Option<&mut LayerWalk>,
    ) {
        let mut archive = tar::Archive::new(r);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => return self.broken(prefix, &e),
        };
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => return self.broken(prefix, &e),
            };
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if let Some(l) = layer.as_deref_mut() {
                let name = image::normal(&name).to_string();
                l.seen.push(name.clone());
                if image::is_whiteout(&name) {
                    continue;
                }
                self.present = !(l.hides)(&name);
                self.member(prefix, container, &name, &mut entry, depth);
                self.present = true;
            } else {
                self.member(prefix, container, &name, &mut entry, depth);
            }
            // Before the next entry: reaching it would read (and inflate)
            // the rest of this one.
            if self.budget.stopped() {
                break;
            }
        }
    }

    /// One member: an archive to open (within the depth), else content to
    /// scan.
    fn member(
        &mut self,
        prefix: &str,
        container: &[String],
        name: &str,
        r: &mut dyn Read,
        depth: usize,
    ) {
        let path = format!("{prefix}!{name}");
        let budget = self.budget;
        let mut counted = Counted { inner: r, budget };
        let mut peek = Vec::with_capacity(PEEK);
        if let Err(e) = counted.by_ref().take(PEEK as u64).read_to_end(&mut peek) {
            if !self.budget.stopped() {
                self.sink
                    .problem(ScanError::error(&path, format!("not scanned: {e}")));
            }
            return;
        }
        let mut chained = Cursor::new(peek.as_slice()).chain(counted);
        if let Some(kind) = detect(&peek) {
            if depth >= self.opts.max_depth {
                self.sink.problem(ScanError::warning(
                    &path,
                    format!(
                        "an archive nested deeper than {}: not opened (--max-archive-depth)",
                        self.opts.max_depth
                    ),
                ));
                return;
            }
            let mut inner = container.to_vec();
            inner.push(name.to_string());
            return self.open(&path, &inner, kind, Input::Stream(&mut chained), depth + 1);
        }
        let origin = self.origin(path, container);
        let mut buf = std::mem::take(&mut self.buf);
        super::fs::read_chunks(&mut chained, &origin, self.opts.chunk, &mut buf, self.sink);
        buf.clear();
        self.buf = buf;
    }
}

/// The decoder of a compressed stream.
fn decoder<'r, R: Read + 'r>(kind: Kind, r: R) -> io::Result<Box<dyn Read + 'r>> {
    Ok(match kind {
        Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        Kind::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(r, true, XZ_MEMORY_KIB)),
        Kind::Zstd => {
            Box::new(ruzstd::decoding::StreamingDecoder::new(r).map_err(io::Error::other)?)
        }
        Kind::Zip | Kind::Tar => unreachable!("not a compressed stream"),
    })
}

/// The name of what a compressed file holds: its name without the
/// compression's extension (`notes.txt.gz` → `notes.txt`, `chart.tgz` →
/// `chart.tar`).
fn inner_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for (ext, instead) in [
        (".tgz", ".tar"),
        (".tbz2", ".tar"),
        (".tbz", ".tar"),
        (".txz", ".tar"),
        (".tzst", ".tar"),
        (".gz", ""),
        (".bz2", ""),
        (".xz", ""),
        (".zst", ""),
    ] {
        if lower.ends_with(ext) && name.len() > ext.len() {
            return format!("{}{instead}", &name[..name.len() - ext.len()]);
        }
    }
    format!("{name}.content")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads of the input, counted.
    struct Metered<'a> {
        inner: Cursor<&'a [u8]>,
        read: u64,
    }

    impl Read for Metered<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(out)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl std::io::Seek for Metered<'_> {
        fn seek(&mut self, to: std::io::SeekFrom) -> io::Result<u64> {
            self.inner.seek(to)
        }
    }

    struct Problems(Vec<ScanError>);

    impl Sink for Problems {
        fn chunk(&mut self, _: super::super::Chunk<'_>) {}
        fn problem(&mut self, e: ScanError) {
            self.0.push(e);
        }
        fn binary(&mut self, _: &Origin, _: &[u8]) {}
        fn input_done(&mut self, _: &Origin, _: u64) {}
    }

    fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
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

    /// A bomb dressed as a compressed image: the passes that list it stop
    /// at the budget like any other read, rather than inflating it whole
    /// twice before the scan stops.
    #[test]
    fn a_bomb_dressed_as_an_image_is_not_read_through() {
        use std::io::Write;
        let zeros = tar_of(&[("zeros", &vec![0u8; 64 << 20])]);
        let image = tar_of(&[
            ("blobs/sha256/00", &zeros),
            ("index.json", br#"{"manifests":[{"digest":"sha256:01"}]}"#),
            ("blobs/sha256/01", br#"{"layers":[{"digest":"sha256:00"}]}"#),
        ]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&image).unwrap();
        let data = gz.finish().unwrap();
        let opts = ArchiveOptions {
            max_expanded: 4 << 20,
            ..ArchiveOptions::default()
        };
        let mut input = Metered {
            inner: Cursor::new(&data),
            read: 0,
        };
        let mut sink = Problems(Vec::new());
        let origin = Origin::file("image.tar.gz".into(), ".".into());
        expand(
            &origin,
            Kind::Gzip,
            &mut input,
            data.len() as u64,
            &opts,
            &mut sink,
        );
        assert!(sink
            .0
            .iter()
            .any(|e| e.message.contains("expansion stopped")));
        assert!(
            input.read < data.len() as u64,
            "read {} bytes of a {}-byte input",
            input.read,
            data.len()
        );
    }

    #[test]
    fn inner_names() {
        assert_eq!(inner_name("notes.txt.gz"), "notes.txt");
        assert_eq!(inner_name("chart.TGZ"), "chart.tar");
        assert_eq!(inner_name("blob"), "blob.content");
    }
}

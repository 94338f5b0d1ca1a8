//! Objects straight from a repository's pack files, for the history scan.
//! Planning reads every distinct tree of the history once and the workers
//! every distinct blob, and through libgit2 each read pays for an index
//! search, locks, a fresh inflate stream and a shared base cache: for the
//! small objects of a history, more than the inflating itself. Here the
//! packs are mapped once for all threads, an object is found by
//! interpolation in the sorted index, each thread resets one inflate stream
//! for each object, and keeps what its delta chains produce (up to a
//! budget) for the next version of the same file, usually a delta on it.
//!
//! Only what is certain is answered: an object in no pack (loose, in an
//! alternate), a delta on a base given by id, a damaged entry or one of
//! another type gives `None`, and the caller asks libgit2, which reports
//! the problem if there is one.
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use git2::Oid;
use memmap2::Mmap;
use zlib_rs::{Inflate, InflateFlush, Status};

/// Bytes of objects each thread keeps for the delta chains of later reads.
const CACHE_BYTES: usize = 16 << 20;
/// After each thread has read this much of the packs, it lets the mapped
/// pages go (they stay in the page cache): the resident set stays bounded
/// however large the packs are.
const RELEASE_BYTES: usize = 32 << 20;
/// Larger objects are not kept.
const CACHE_ONE: usize = 1 << 20;
/// Longer chains are left to libgit2 (git's own limit is far lower).
const MAX_CHAIN: usize = 10_000;

/// The object types of a pack entry.
pub const OBJ_COMMIT: u8 = 1;
pub const OBJ_TREE: u8 = 2;
pub const OBJ_BLOB: u8 = 3;
const OBJ_OFS_DELTA: u8 = 6;
const OBJ_REF_DELTA: u8 = 7;

struct Pack {
    idx: Mmap,
    data: Mmap,
    /// Objects in the index.
    count: usize,
    /// Every entry's offset, sorted, with the pack's end: an entry ends
    /// where the next begins. Made on the first lookup.
    ends: std::sync::OnceLock<Vec<u64>>,
}

impl Pack {
    fn open(idx_path: &Path) -> Option<Pack> {
        // SAFETY: git never rewrites a pack or index in place; a repack
        // writes new files and renames them, so the mapped bytes stay put.
        // Regular files only: a scanned tree may hold a repository whose
        // pack is a link to a device.
        let open = |p: &Path| {
            File::open(p)
                .ok()
                .filter(|f| f.metadata().is_ok_and(|m| m.is_file()))
        };
        let idx = unsafe { Mmap::map(&open(idx_path)?) }.ok()?;
        let data = unsafe { Mmap::map(&open(&idx_path.with_extension("pack"))?) }.ok()?;
        // Version 2 only: `\377tOc`, 2, 256 fan-out counts, then ids.
        if idx.len() < 8 + 256 * 4 || idx[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
            return None;
        }
        if data.len() < 32 || &data[..4] != b"PACK" || !matches!(be32(&data, 4), 2 | 3) {
            return None;
        }
        let count = be32(&idx, 8 + 255 * 4) as usize;
        // ids, CRCs and 4-byte offsets, then the trailer's two checksums.
        if idx.len() < 8 + 256 * 4 + count * 28 + 40 {
            return None;
        }
        // The index must be this pack's: the same object count, and the
        // pack's checksum where the index keeps it.
        let (d, i) = (data.len(), idx.len());
        if be32(&data, 8) as usize != count || data[d - 20..] != idx[i - 40..i - 20] {
            return None;
        }
        Some(Pack {
            idx,
            data,
            count,
            ends: std::sync::OnceLock::new(),
        })
    }

    /// Where the entry at `at` ends: where the next one (or the trailer)
    /// begins.
    fn entry_end(&self, at: u64) -> Option<usize> {
        let ends = self.ends.get_or_init(|| {
            let mut v: Vec<u64> = (0..self.count).map(|k| self.offset(k)).collect();
            v.push((self.data.len() - 20) as u64);
            v.sort_unstable();
            v
        });
        let next = ends.partition_point(|&o| o <= at);
        ends.get(next)
            .and_then(|&e| usize::try_from(e).ok())
            .filter(|&e| e <= self.data.len())
    }

    /// Whether the bytes of the entry at `at` are those the index records
    /// for object `i` (their CRC32). A damaged offset that lands on another
    /// object's entry would otherwise yield that object's content under
    /// this one's id; hashing every object would cost more than reading it.
    fn entry_is(&self, i: usize, at: u64) -> bool {
        let (Some(end), Ok(start)) = (self.entry_end(at), usize::try_from(at)) else {
            return false;
        };
        let Some(bytes) = self.data.get(start..end) else {
            return false;
        };
        let crc = be32(&self.idx, 8 + 256 * 4 + self.count * 20 + i * 4);
        crc32fast::hash(bytes) == crc
    }

    fn id(&self, i: usize) -> &[u8] {
        let at = 8 + 256 * 4 + i * 20;
        &self.idx[at..at + 20]
    }

    /// The offset of object `oid` in the pack, if the index lists it: the
    /// fan-out narrows the range by the first byte, and since ids are
    /// uniform, interpolating on the next eight bytes lands within a few
    /// entries of the place.
    fn find(&self, oid: &[u8]) -> Option<u64> {
        let first = usize::from(oid[0]);
        let mut lo = if first == 0 {
            0
        } else {
            be32(&self.idx, 8 + (first - 1) * 4) as usize
        };
        let mut hi = be32(&self.idx, 8 + first * 4) as usize; // exclusive
        if hi > self.count || lo > hi {
            return None;
        }
        let key = |id: &[u8]| u64::from_be_bytes(id[1..9].try_into().expect("8 bytes"));
        let want = key(oid);
        while lo < hi {
            let (a, b) = (key(self.id(lo)), key(self.id(hi - 1)));
            let mid = if want <= a {
                lo
            } else if want >= b {
                hi - 1
            } else {
                let span = (hi - 1 - lo) as u128;
                lo + (span * u128::from(want - a) / u128::from(b - a)) as usize
            };
            match self.id(mid).cmp(oid) {
                std::cmp::Ordering::Equal => {
                    let at = self.offset(mid);
                    return self.entry_is(mid, at).then_some(at);
                }
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    fn offset(&self, i: usize) -> u64 {
        let table = 8 + 256 * 4 + self.count * 24;
        let small = be32(&self.idx, table + i * 4);
        if small & 0x8000_0000 == 0 {
            return u64::from(small);
        }
        let large = table + self.count * 4 + (small & 0x7fff_ffff) as usize * 8;
        match self.idx.get(large..large + 8) {
            Some(b) => u64::from_be_bytes(b.try_into().expect("8 bytes")),
            None => u64::MAX, // damaged: no such place, found nowhere
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// One entry of a pack at an offset: its type, inflated size, where its
/// compressed bytes start, and for an offset delta its base's offset.
struct Entry {
    kind: u8,
    size: usize,
    body: usize,
    base: Option<u64>,
}

fn entry(data: &[u8], at: u64) -> Option<Entry> {
    let mut p = usize::try_from(at).ok()?;
    let mut c = *data.get(p)?;
    p += 1;
    let kind = (c >> 4) & 7;
    let mut size = usize::from(c & 15);
    let mut shift = 4;
    while c & 0x80 != 0 {
        c = *data.get(p)?;
        p += 1;
        if shift > 56 {
            return None;
        }
        size |= usize::from(c & 0x7f) << shift;
        shift += 7;
    }
    let base = match kind {
        OBJ_OFS_DELTA => {
            let mut c = *data.get(p)?;
            p += 1;
            let mut back = u64::from(c & 0x7f);
            while c & 0x80 != 0 {
                c = *data.get(p)?;
                p += 1;
                if back >= 1 << 56 {
                    return None; // no pack is that large
                }
                back = ((back + 1) << 7) | u64::from(c & 0x7f);
            }
            if back == 0 {
                return None; // a delta on itself
            }
            Some(at.checked_sub(back)?)
        }
        OBJ_REF_DELTA => return None, // a base by id: libgit2's to resolve
        1..=4 => None,
        _ => return None,
    };
    Some(Entry {
        kind,
        size,
        body: p,
        base,
    })
}

/// The mapped packs of one repository, shared by the threads that read it.
pub struct Packs {
    packs: Vec<Pack>,
}

impl Packs {
    /// The packs of the repository whose git directory is `git_dir`; `None`
    /// when it has none this reader understands.
    pub fn open(git_dir: &Path) -> Option<Arc<Packs>> {
        let mut idx: Vec<_> = std::fs::read_dir(git_dir.join("objects/pack"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "idx"))
            .collect();
        idx.sort();
        let packs: Vec<Pack> = idx.iter().filter_map(|p| Pack::open(p)).collect();
        (!packs.is_empty()).then(|| Arc::new(Packs { packs }))
    }

    /// Lets every mapped page go; the next read maps it again.
    fn release(&self) {
        #[cfg(unix)]
        for p in &self.packs {
            // SAFETY: read-only mappings of files git does not change in
            // place: a page dropped here reads back the same bytes.
            unsafe {
                let _ = p.data.unchecked_advise(memmap2::UncheckedAdvice::DontNeed);
                let _ = p.idx.unchecked_advise(memmap2::UncheckedAdvice::DontNeed);
            }
        }
    }
}

/// One thread's reader of the objects in [`Packs`].
pub struct Reader {
    packs: Arc<Packs>,
    inflate: Inflate,
    cache: Cache,
    /// Pack bytes read since the mapped pages were last let go.
    read: usize,
}

impl Reader {
    pub fn new(packs: Arc<Packs>) -> Reader {
        Reader {
            packs,
            inflate: Inflate::new(true, 15),
            cache: Cache::default(),
            read: 0,
        }
    }

    /// The raw content of tree `oid`, if it is in a pack and reads cleanly.
    /// Trees are kept: the directory's next version is a delta on this one,
    /// or this one on it.
    pub fn tree(&mut self, oid: Oid) -> Option<Arc<Vec<u8>>> {
        let (pack, at) = self.find(oid)?;
        let mut out = Vec::new();
        self.resolve(pack, at, OBJ_TREE, &mut out)?;
        let tree = Arc::new(out);
        self.cache.keep(pack, at, OBJ_TREE, &tree);
        Some(tree)
    }

    /// Reads object `oid` into `out` (its old content replaced) if it is of
    /// type `kind`, in a pack, and reads cleanly.
    pub fn read(&mut self, oid: Oid, kind: u8, out: &mut Vec<u8>) -> Option<()> {
        let (pack, at) = self.find(oid)?;
        self.resolve(pack, at, kind, out)
    }

    fn find(&mut self, oid: Oid) -> Option<(usize, u64)> {
        if self.read > RELEASE_BYTES {
            self.packs.release();
            self.read = 0;
        }
        let id = oid.as_bytes();
        self.packs
            .packs
            .iter()
            .enumerate()
            .find_map(|(i, p)| p.find(id).map(|at| (i, at)))
    }

    /// Writes the content of the object at `at` into `out`, its delta chain
    /// applied, when it is of type `want`. The objects the chain passes
    /// through are kept for later chains.
    fn resolve(&mut self, pack: usize, at: u64, want: u8, out: &mut Vec<u8>) -> Option<()> {
        let this = &self.packs.packs[pack];
        let data = &this.data;
        // An entry's own compressed bytes: the end of what inflating it may
        // read, and what bounds what it may claim to inflate to.
        let body = |e: &Entry, at: u64| -> Option<&[u8]> { data.get(e.body..this.entry_end(at)?) };
        // Down the chain to a kept object or a whole one.
        let mut chain: Vec<(u64, Entry)> = Vec::new();
        let mut here = at;
        let base = loop {
            if let Some((kind, b)) = self.cache.map.get(&(pack, here)) {
                if *kind != want {
                    return None;
                }
                break Ok(b.clone());
            }
            let e = entry(data, here)?;
            match e.base {
                Some(base) => {
                    if chain.len() == MAX_CHAIN {
                        return None;
                    }
                    chain.push((here, e));
                    here = base;
                }
                None if e.kind == want => break Err(e),
                None => return None,
            }
        };
        let mut below: Arc<Vec<u8>> = match base {
            Ok(kept) if chain.is_empty() => {
                out.clear();
                out.extend_from_slice(&kept);
                return Some(());
            }
            Ok(kept) => kept,
            Err(e) if chain.is_empty() => {
                self.read += e.size;
                return inflate(&mut self.inflate, body(&e, here)?, e.size, out);
            }
            Err(e) => {
                self.read += e.size;
                let mut whole = Vec::new();
                inflate(&mut self.inflate, body(&e, here)?, e.size, &mut whole)?;
                let whole = Arc::new(whole);
                self.cache.keep(pack, here, want, &whole);
                whole
            }
        };
        // Up again, each delta applied to what lies below it.
        let mut delta = Vec::new();
        while let Some((off, e)) = chain.pop() {
            self.read += e.size;
            inflate(&mut self.inflate, body(&e, off)?, e.size, &mut delta)?;
            if chain.is_empty() {
                return apply(&below, &delta, out);
            }
            let mut next = Vec::new();
            apply(&below, &delta, &mut next)?;
            below = Arc::new(next);
            self.cache.keep(pack, off, want, &below);
        }
        unreachable!("a non-empty chain returns from its last delta")
    }
}

/// Where an object lies: its pack's index in [`Packs`] and its offset.
type Place = (usize, u64);

/// Objects kept by where they lie, the oldest dropped first.
#[derive(Default)]
struct Cache {
    /// (pack, offset) → the type and content of the object there, its
    /// delta chain applied.
    map: HashMap<Place, (u8, Arc<Vec<u8>>), crate::base::hash::FnvState>,
    order: VecDeque<Place>,
    bytes: usize,
}

impl Cache {
    fn keep(&mut self, pack: usize, at: u64, kind: u8, body: &Arc<Vec<u8>>) {
        if body.len() > CACHE_ONE {
            return;
        }
        while self.bytes + body.len() > CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, b)) = self.map.remove(&old) {
                self.bytes -= b.len();
            }
        }
        if self.map.insert((pack, at), (kind, body.clone())).is_none() {
            self.order.push_back((pack, at));
            self.bytes += body.len();
        }
    }
}

/// Inflates into `out` exactly `size` bytes from the zlib stream at the
/// start of `input`.
fn inflate(z: &mut Inflate, input: &[u8], size: usize, out: &mut Vec<u8>) -> Option<()> {
    // Deflate expands by at most 1032 to 1: a header that claims more than
    // its bytes can hold is damage, not a reason to reserve gigabytes.
    if size > input.len().saturating_mul(1032).saturating_add(64) {
        return None;
    }
    z.reset(true);
    out.clear();
    // One spare byte: a stream longer than announced is damage, not data.
    // The size comes from an unchecked header: a failed reservation is
    // damage too, not the end of the process.
    out.try_reserve(size.checked_add(1)?).ok()?;
    let spare = &mut out.spare_capacity_mut()[..size + 1];
    match z.decompress_uninit(input, spare, InflateFlush::Finish) {
        Ok(Status::StreamEnd) if z.total_out() == size as u64 => {
            // SAFETY: inflate wrote the first `size` bytes of the spare
            // capacity, as its count says.
            unsafe { out.set_len(size) };
            Some(())
        }
        _ => None,
    }
}

/// `delta` applied to `base` (git's copy and insert instructions), into
/// `out` (its old content replaced).
fn apply(base: &[u8], delta: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut p = 0;
    let mut varint = || -> Option<usize> {
        let mut v = 0usize;
        let mut shift = 0;
        loop {
            let c = *delta.get(p)?;
            p += 1;
            if shift > 56 {
                return None;
            }
            v |= usize::from(c & 0x7f) << shift;
            shift += 7;
            if c & 0x80 == 0 {
                return Some(v);
            }
        }
    };
    let base_size = varint()?;
    let size = varint()?;
    if base_size != base.len() {
        return None;
    }
    out.clear();
    // Never more than a delta of this length could write: an instruction
    // of two or more bytes copies at most 16 MiB.
    if size > delta.len().saturating_mul(1 << 23) {
        return None;
    }
    out.try_reserve(size).ok()?;
    while p < delta.len() {
        let op = delta[p];
        p += 1;
        if op & 0x80 != 0 {
            let mut field = |bits: u8, n: usize| -> Option<usize> {
                let mut v = 0usize;
                for i in 0..n {
                    if bits & (1 << i) != 0 {
                        v |= usize::from(*delta.get(p)?) << (8 * i);
                        p += 1;
                    }
                }
                Some(v)
            };
            let offset = field(op & 0x0f, 4)?;
            let mut len = field((op >> 4) & 0x07, 3)?;
            if len == 0 {
                len = 0x10000;
            }
            if out.len() + len > size {
                return None;
            }
            out.extend_from_slice(base.get(offset..offset.checked_add(len)?)?);
        } else if op != 0 {
            let n = usize::from(op);
            if out.len() + n > size {
                return None;
            }
            out.extend_from_slice(delta.get(p..p + n)?);
            p += n;
        } else {
            return None; // reserved
        }
    }
    (out.len() == size).then_some(())
}

/// What the history walk needs of a commit.
#[derive(Debug, PartialEq, Eq)]
pub struct Commit<'a> {
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// The author's name and email, trimmed, as libgit2 reads them.
    pub name: &'a [u8],
    pub email: &'a [u8],
    pub author_time: i64,
    pub commit_time: i64,
}

/// The headers of raw commit content; `None` for anything not laid out as
/// git writes it (libgit2, which is stricter about the rest, decides then).
pub fn parse_commit(raw: &[u8]) -> Option<Commit<'_>> {
    // The headers end at a blank line; a committer line not ended by a
    // newline is one libgit2 rejects.
    let headers = &raw[..memchr::memmem::find(raw, b"\n\n").map_or(raw.len(), |i| i + 1)];
    let mut lines = headers.split(|&b| b == b'\n');
    // Exactly 40 hex digits: `Oid::from_str` would pad a short one.
    let hex = |h: &[u8]| {
        (h.len() == 40)
            .then(|| Oid::from_str(std::str::from_utf8(h).ok()?).ok())
            .flatten()
    };
    let tree = hex(lines.next()?.strip_prefix(b"tree ")?)?;
    let mut parents = Vec::new();
    let mut line = lines.next()?;
    while let Some(p) = line.strip_prefix(b"parent ") {
        parents.push(hex(p)?);
        line = lines.next()?;
    }
    let (name, email, author_time) = signature(line.strip_prefix(b"author ")?)?;
    let committer = lines.next()?;
    // The line must be ended: `split` yields a last piece after the final
    // newline, empty when there is one.
    lines.next()?;
    let (_, _, commit_time) = signature(committer.strip_prefix(b"committer ")?)?;
    Some(Commit {
        tree,
        parents,
        name,
        email,
        author_time,
        commit_time,
    })
}

/// Name, email and time of `Name <email> time zone`: the email between the
/// last `<` and the last `>`, both trimmed, as libgit2 splits them.
fn signature(s: &[u8]) -> Option<(&[u8], &[u8], i64)> {
    let lt = memchr::memrchr(b'<', s)?;
    let gt = memchr::memrchr(b'>', s)?;
    if gt <= lt {
        return None;
    }
    let rest = s.get(gt + 2..).unwrap_or_default();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let time = match digits {
        0 if rest.is_empty() => 0,
        0 => return None, // not a time: libgit2 says what is wrong
        _ => std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?,
    };
    Some((trim(&s[..lt]), trim(&s[lt + 1..gt]), time))
}

/// `b` as libgit2 keeps a name or email: without the "crud" it trims from
/// both ends (control bytes, spaces and `,:;<>"\'`), and up to a NUL, where
/// its C string ends.
fn trim(b: &[u8]) -> &[u8] {
    let crud = |c: &u8| *c <= b' ' || b",:;<>\"\\'".contains(c);
    let start = b.iter().position(|c| !crud(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !crud(c)).map_or(start, |e| e + 1);
    let kept = &b[start..end];
    &kept[..memchr::memchr(0, kept).unwrap_or(kept.len())]
}

/// What a tree entry is, by its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tree,
    Blob,
    /// A submodule's commit.
    Gitlink,
}

/// The entries of raw tree content: name, id and kind; `None` at the first
/// malformed entry.
pub fn entries(raw: &[u8]) -> impl Iterator<Item = Option<(&[u8], Oid, Kind)>> + '_ {
    let mut rest = raw;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let parsed = (|| {
            let sp = memchr::memchr(b' ', rest)?;
            let mode = &rest[..sp];
            let nul = sp + 1 + memchr::memchr(0, &rest[sp + 1..])?;
            let name = &rest[sp + 1..nul];
            if name.is_empty() || name.len() > 0xFFFF {
                return None; // libgit2 rejects these trees
            }
            let id = rest.get(nul + 1..nul + 21)?;
            let kind = match mode {
                b"40000" => Kind::Tree,
                b"160000" => Kind::Gitlink,
                b"100644" | b"100755" | b"120000" | b"100664" | b"100640" => Kind::Blob,
                _ => return None,
            };
            let oid = Oid::from_bytes(id).ok()?;
            rest = &rest[nul + 21..];
            Some((name, oid, kind))
        })();
        if parsed.is_none() {
            rest = &[];
        }
        Some(parsed)
    })
}

#[cfg(test)]
mod tests;

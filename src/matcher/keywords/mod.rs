//! The prefilter: where do any rule keywords occur, case-insensitively?
//!
//! Each keyword is found through one 3-byte *anchor* inside it, the least
//! common one by `trigrams.txt` (`ssw` in `password`, `e_a` in
//! `service_account`). Bits 0-4 and 6 of each of the 3 bytes at a position
//! (the case bit dropped) index a 2^18-bit table in which every anchor has
//! its bit set. A position whose bit is set is looked up among the anchors,
//! and each keyword holding that anchor is compared with the input there.
//! No step depends on the one before and the table stays in cache, so the
//! cost does not grow with the number of keywords. Three loops test the
//! positions: 64 at a time through four Bloom filters (AVX-512 VBMI, no
//! gathers) in front of the table, 8 at a time with AVX2 gathers, or one at
//! a time.
//!
//! The number of anchors sets how many positions pass: the Bloom filters
//! hold 2,048 bits each since the rules grew from 195 (222 anchors) to 541
//! (about 590), where 1,024 bits let 1 position in 27 of random text through.
//! Measured with the 195 built-in rules (276 keywords), one core: 0.1% of
//! the bench corpus's positions pass; the AVX-512 loop runs at about 7 GB/s,
//! the AVX2 one at 2 GB/s, an Aho-Corasick DFA over the same keywords at
//! 0.68 GB/s (it steps a state per byte). Teddy (`aho_corasick::packed`)
//! takes at most 64 patterns, and its nibble buckets pass most letter
//! triples once they hold more than a few anchors each: 0.2 GB/s with 115
//! anchors in two searchers. Keywords shorter than an anchor use the DFA.
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Length of an anchor.
const ANCHOR: usize = 3;
/// Bits in the gate's table index: 6 of each of the 3 bytes (32 KiB).
const TABLE_BITS: u32 = 18;

pub struct KeywordFinder {
    /// Lower-case keywords; a hit reports its index in this list.
    keywords: Vec<Vec<u8>>,
    imp: Imp,
}

/// Scratch space for [`KeywordFinder::for_each`].
#[derive(Default)]
pub struct Hits(Vec<(usize, usize, usize)>);

enum Imp {
    Gate(Gate),
    Automaton(AhoCorasick),
}

struct Gate {
    /// Bit `index(anchor)` is set for every anchor.
    table: Box<[u64; 1 << (TABLE_BITS - 6)]>,
    /// Anchors' indexes, sorted, each with the (keyword, offset of the
    /// anchor in it) pairs it stands for.
    anchors: Vec<(usize, Vec<(usize, usize)>)>,
    /// For each table word, how many anchors the words before it hold: an
    /// anchor's place in `anchors` is the rank of its bit in the table, so
    /// a passing position finds its keywords without a search.
    ranks: Box<[u16; 1 << (TABLE_BITS - 6)]>,
    /// The same anchors in Bloom filters, for the AVX-512 pass.
    #[cfg(target_arch = "x86_64")]
    bloom: Box<Bloom>,
}

/// Which loop runs the gate: the fastest the CPU has, or one forced by tests.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Level {
    Scalar,
    Avx2,
    Avx512,
}

fn level() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512bw") && has!("avx512vbmi") {
            return Level::Avx512;
        }
        if has!("avx2") {
            return Level::Avx2;
        }
    }
    Level::Scalar
}

/// The table index of the 3 bytes at the bottom of `x`: bits 0-4 and 6 of
/// each (what `pext` with mask `0x5F5F5F` gives). Bit 5 is the ASCII case
/// bit, so upper and lower case letters fold together; so do some bytes of
/// other classes (`_` and DEL, digits and `p`…`y`), which only costs a
/// lookup, since the comparison that follows a gate hit is exact.
#[inline(always)]
fn index(x: u32) -> usize {
    let y = (x & 0x001F_1F1F) | ((x >> 1) & 0x0020_2020);
    ((y & 0x3F) | ((y >> 2) & 0xFC0) | ((y >> 4) & 0x3_F000)) as usize
}

impl KeywordFinder {
    /// `keywords` must be distinct; they are matched ignoring ASCII case.
    pub fn new(keywords: &[Vec<u8>]) -> Result<KeywordFinder, String> {
        let keywords: Vec<Vec<u8>> = keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
        let imp = match Gate::new(&keywords) {
            Some(g) => Imp::Gate(g),
            None => automaton(&keywords)?,
        };
        Ok(KeywordFinder { keywords, imp })
    }

    /// Whether the hashed gate is in use (for tests and diagnostics).
    pub fn is_gate(&self) -> bool {
        matches!(self.imp, Imp::Gate(_))
    }

    /// One line saying which prefilter runs, for `keytrace rules list`.
    pub fn describe(&self) -> String {
        match &self.imp {
            Imp::Gate(g) => format!(
                "prefilter: hashed gate over {} anchors of {ANCHOR} bytes covering {} keywords ({})",
                g.anchors.len(),
                self.keywords.len(),
                match level() {
                    Level::Avx512 => "AVX-512 VBMI Bloom pass",
                    Level::Avx2 => "AVX2 gathers",
                    Level::Scalar => "scalar",
                }
            ),
            Imp::Automaton(_) => format!(
                "prefilter: Aho-Corasick DFA over {} keywords (some are shorter than {ANCHOR} bytes)",
                self.keywords.len()
            ),
        }
    }

    /// Calls `f(keyword, start, end)` for every occurrence of every keyword,
    /// overlapping ones included, in increasing order of `start` (gate) or
    /// `end` (automaton).
    pub fn for_each(&self, hay: &[u8], hits: &mut Hits, mut f: impl FnMut(usize, usize, usize)) {
        match &self.imp {
            Imp::Automaton(ac) => {
                for m in ac.find_overlapping_iter(hay) {
                    f(m.pattern().as_usize(), m.start(), m.end());
                }
            }
            Imp::Gate(g) => {
                let hits = &mut hits.0;
                hits.clear();
                g.find(hay, |p, idx| {
                    self.confirm(g, hay, p, idx, |k, s, e| hits.push((s, e, k)))
                });
                hits.sort_unstable();
                for &(s, e, k) in hits.iter() {
                    f(k, s, e);
                }
            }
        }
    }
}

impl KeywordFinder {
    /// The keywords whose anchor (table index `idx`) the gate passed at
    /// position `p`, compared with the input there: `hit(keyword, start,
    /// end)` for each that is really there.
    #[inline(always)]
    fn confirm(
        &self,
        g: &Gate,
        hay: &[u8],
        p: usize,
        idx: usize,
        mut hit: impl FnMut(usize, usize, usize),
    ) {
        // Every loop calls this only where the table holds `idx`.
        let (w, b) = (idx >> 6, idx & 63);
        let a = usize::from(g.ranks[w]) + (g.table[w] & ((1u64 << b) - 1)).count_ones() as usize;
        debug_assert_eq!(g.anchors[a].0, idx);
        for &(k, off) in &g.anchors[a].1 {
            let kw = &self.keywords[k];
            let Some(start) = p.checked_sub(off) else {
                continue;
            };
            if hay
                .get(start..start + kw.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(kw))
            {
                hit(k, start, start + kw.len());
            }
        }
    }
}

/// For tests: how many positions of `hay` pass the gate's table (each is
/// then compared with the keywords of its anchor), 0 for the automaton.
#[cfg(any(test, feature = "testkit"))]
impl KeywordFinder {
    pub fn gate_passes(&self, hay: &[u8]) -> usize {
        let mut n = 0;
        if let Imp::Gate(g) = &self.imp {
            g.find_at(Level::Scalar, hay, |_, _| n += 1);
        }
        n
    }
}

/// A hit as [`KeywordFinder::hits_at_each_level`] lists it: keyword, start, end.
#[cfg(any(test, feature = "testkit"))]
pub type LevelHit = (usize, usize, usize);

/// For the fuzz targets and tests: the hits of every gate loop this CPU can
/// run (each with the exact comparison [`KeywordFinder::for_each`] does),
/// and of `for_each` itself, each named and sorted as `(keyword, start,
/// end)`, for comparison with an automaton the caller builds once over the
/// same keywords. `for_each` itself is not changed by it.
#[cfg(any(test, feature = "testkit"))]
impl KeywordFinder {
    pub fn hits_at_each_level(&self, hay: &[u8]) -> Vec<(&'static str, Vec<LevelHit>)> {
        let mut out = Vec::new();
        if let Imp::Gate(g) = &self.imp {
            for (name, l) in [
                ("scalar", Level::Scalar),
                ("avx2", Level::Avx2),
                ("avx512", Level::Avx512),
            ] {
                if l > level() {
                    continue;
                }
                let mut hits = Vec::new();
                g.find_at(l, hay, |p, idx| {
                    self.confirm(g, hay, p, idx, |k, s, e| hits.push((k, s, e)))
                });
                hits.sort_unstable();
                out.push((name, hits));
            }
        }
        let mut hits = Vec::new();
        self.for_each(hay, &mut Hits::default(), |k, s, e| hits.push((k, s, e)));
        hits.sort_unstable();
        out.push(("for_each", hits));
        out
    }
}

impl Gate {
    fn new(keywords: &[Vec<u8>]) -> Option<Gate> {
        if keywords.is_empty() || keywords.iter().any(|k| k.len() < ANCHOR) {
            return None;
        }
        let mut anchors: Vec<(usize, Vec<(usize, usize)>)> = Vec::new();
        let mut table = Box::new([0u64; 1 << (TABLE_BITS - 6)]);
        for (k, kw) in keywords.iter().enumerate() {
            let off = (0..=kw.len() - ANCHOR)
                .min_by(|&a, &b| {
                    let (ca, cb) = (
                        commonness(&kw[a..a + ANCHOR]),
                        commonness(&kw[b..b + ANCHOR]),
                    );
                    ca.total_cmp(&cb)
                })
                .expect("a keyword holds an anchor");
            let a = &kw[off..off + ANCHOR];
            let h = index(u32::from_le_bytes([a[0], a[1], a[2], 0]));
            table[h >> 6] |= 1 << (h & 63);
            match anchors.iter_mut().find(|(x, _)| *x == h) {
                Some((_, members)) => members.push((k, off)),
                None => anchors.push((h, vec![(k, off)])),
            }
        }
        anchors.sort_unstable_by_key(|(x, _)| *x);
        let mut ranks = Box::new([0u16; 1 << (TABLE_BITS - 6)]);
        let mut before = 0u32;
        for (r, w) in ranks.iter_mut().zip(table.iter()) {
            *r = u16::try_from(before).ok()?;
            before += w.count_ones();
        }
        Some(Gate {
            #[cfg(target_arch = "x86_64")]
            bloom: Bloom::new(&anchors, keywords),
            table,
            anchors,
            ranks,
        })
    }

    /// Calls `hit(position, index of the 3 bytes there)` for every position
    /// whose bit is set in the table.
    #[inline]
    fn find(&self, hay: &[u8], hit: impl FnMut(usize, usize)) {
        self.find_at(level(), hay, hit)
    }

    #[inline]
    fn find_at(&self, level: Level, hay: &[u8], mut hit: impl FnMut(usize, usize)) {
        let table = &*self.table;
        let n = hay.len();
        if n < ANCHOR {
            return;
        }
        let mut i = 0;
        #[cfg(target_arch = "x86_64")]
        {
            if level >= Level::Avx512 {
                // SAFETY: `level()` found AVX-512 F, BW and VBMI.
                i = unsafe { self.find_avx512(hay, &mut hit) };
            }
            if level >= Level::Avx2 {
                // SAFETY: `level()` found AVX2.
                i += unsafe { self.find_avx2(&hay[i..], &mut |p, x| hit(i + p, x)) };
            }
        }
        // Eight positions per step, each read as a little-endian u32 whose
        // top byte `index` ignores, with one branch per step.
        while i + 11 <= n {
            let w: &[u8; 11] = hay[i..i + 11].try_into().expect("11 bytes");
            let mut any = 0u32;
            let mut idx = [0usize; 8];
            for j in 0..8 {
                let x = u32::from_le_bytes([w[j], w[j + 1], w[j + 2], w[j + 3]]);
                idx[j] = index(x);
                any |= u32::from(has(table, idx[j])) << j;
            }
            while any != 0 {
                let j = any.trailing_zeros() as usize;
                hit(i + j, idx[j]);
                any &= any - 1;
            }
            i += 8;
        }
        while i + ANCHOR <= n {
            let h = index(u32::from_le_bytes([hay[i], hay[i + 1], hay[i + 2], 0]));
            if has(table, h) {
                hit(i, h);
            }
            i += 1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl Gate {
    /// The gate for 32 positions a step: four unaligned loads, one byte
    /// apart, hold the u32 at every position; `index` runs on 8 lanes and a
    /// gather fetches their table words. Returns where the scalar loop goes
    /// on. Candidates come out of order (the caller sorts).
    #[target_feature(enable = "avx2")]
    unsafe fn find_avx2(&self, hay: &[u8], hit: &mut impl FnMut(usize, usize)) -> usize {
        use std::arch::x86_64::*;
        let n = hay.len();
        let words = self.table.as_ptr() as *const i32;
        let m1f = _mm256_set1_epi32(0x001F_1F1F);
        let m20 = _mm256_set1_epi32(0x0020_2020);
        let m3f = _mm256_set1_epi32(0x3F);
        let mfc0 = _mm256_set1_epi32(0xFC0);
        let m3f000 = _mm256_set1_epi32(0x3_F000);
        let m31 = _mm256_set1_epi32(31);
        let one = _mm256_set1_epi32(1);
        let mut i = 0;
        // The last load reads 32 bytes from i + 3.
        while i + 35 <= n {
            for k in 0..4 {
                // SAFETY: i + k + 32 <= n, and loadu takes any alignment.
                let x = unsafe { _mm256_loadu_si256(hay.as_ptr().add(i + k) as *const __m256i) };
                let y = _mm256_or_si256(
                    _mm256_and_si256(x, m1f),
                    _mm256_and_si256(_mm256_srli_epi32(x, 1), m20),
                );
                let idx = _mm256_or_si256(
                    _mm256_or_si256(
                        _mm256_and_si256(y, m3f),
                        _mm256_and_si256(_mm256_srli_epi32(y, 2), mfc0),
                    ),
                    _mm256_and_si256(_mm256_srli_epi32(y, 4), m3f000),
                );
                // SAFETY: every index is below 2^18, so idx >> 5 is a word
                // of the 2^13-word table.
                let w = unsafe { _mm256_i32gather_epi32::<4>(words, _mm256_srli_epi32(idx, 5)) };
                let bit = _mm256_and_si256(_mm256_srlv_epi32(w, _mm256_and_si256(idx, m31)), one);
                let mut mask = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(bit, 31)));
                if mask != 0 {
                    let mut lanes = [0u32; 8];
                    // SAFETY: lanes is 32 bytes.
                    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, idx) };
                    while mask != 0 {
                        let l = mask.trailing_zeros() as usize;
                        hit(i + k + 4 * l, lanes[l] as usize);
                        mask &= mask - 1;
                    }
                }
            }
            i += 32;
        }
        i
    }
}

/// Whether bit `idx` of the gate's table is set.
#[inline(always)]
fn has(table: &[u64; 1 << (TABLE_BITS - 6)], idx: usize) -> bool {
    table[idx >> 6] >> (idx & 63) & 1 != 0
}

/// The class of a byte that `index` keeps: bits 0-4 and 6.
fn class(b: u8) -> u8 {
    (b & 0x1F) | ((b >> 1) & 0x20)
}

/// Bloom filters per anchor, and hash bytes per position: one for each
/// filter (its byte and a bit), and one for each two filters (the rest of
/// the bit, and which half of the filter).
const FILTERS: usize = 4;
const HASHES: usize = FILTERS + FILTERS.div_ceil(2);
/// Bytes in each filter (2048 bits). With 650 anchors, each filter has
/// 27% of its bits set: 1 position in 2,400 of random text passes all six,
/// where four filters of 1024 bits (the design for 220 anchors) let 1 in
/// 20 by.
const FILTER_BYTES: usize = 256;

/// Six Bloom filters of 2048 bits over the anchors, for a pass that needs
/// no gathers: 64 positions a step, each byte turned into its 6-bit class,
/// nine tabulation hashes of the 3 classes (`vpermb` from 64-byte tables),
/// and in each filter a byte from one of two 128-byte halves (`vpermi2b`
/// into each, a spare hash bit choosing) and a bit of it. A position that passes all four goes on to the exact table. The
/// seed is the one of 16 that lets the fewest of the common trigrams in
/// `trigrams.txt` through.
#[cfg(target_arch = "x86_64")]
struct Bloom {
    /// `hash[k][p][class]`: hash `k`'s byte for `class` at position `p`.
    hash: [[[u8; 64]; 3]; HASHES],
    filters: [[u8; FILTER_BYTES]; FILTERS],
}

#[cfg(target_arch = "x86_64")]
impl Bloom {
    fn new(anchors: &[(usize, Vec<(usize, usize)>)], keywords: &[Vec<u8>]) -> Box<Bloom> {
        let anchor_bytes: Vec<[u8; 3]> = anchors
            .iter()
            .map(|(_, m)| {
                let (k, off) = m[0];
                [keywords[k][off], keywords[k][off + 1], keywords[k][off + 2]]
            })
            .collect();
        let exact: Vec<usize> = anchors.iter().map(|(x, _)| *x).collect();
        let mut best: Option<(usize, Box<Bloom>)> = None;
        for seed in 0..16u64 {
            let mut b = Box::new(Bloom::seeded(seed));
            for a in &anchor_bytes {
                b.insert(*a);
            }
            let leaks = common_trigrams()
                .iter()
                .filter(|(t, _)| {
                    b.passes(*t)
                        && exact
                            .binary_search(&index(u32::from_le_bytes([t[0], t[1], t[2], 0])))
                            .is_err()
                })
                .count();
            if best.as_ref().is_none_or(|(l, _)| leaks < *l) {
                best = Some((leaks, b));
            }
        }
        best.expect("16 seeds").1
    }

    fn seeded(seed: u64) -> Bloom {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x6B65_7974_7261_6365;
        let mut next = || {
            // splitmix64
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        };
        let mut hash = [[[0u8; 64]; 3]; HASHES];
        for table in hash.iter_mut().flatten() {
            for v in table.iter_mut() {
                *v = next();
            }
        }
        Bloom {
            hash,
            filters: [[0; FILTER_BYTES]; FILTERS],
        }
    }

    /// For each filter, its byte and bit for the 3 bytes `a`.
    fn slots(&self, a: [u8; 3]) -> [(usize, u8); FILTERS] {
        let c = a.map(class);
        let h: [u8; HASHES] = std::array::from_fn(|k| {
            self.hash[k][0][usize::from(c[0])]
                ^ self.hash[k][1][usize::from(c[1])]
                ^ self.hash[k][2][usize::from(c[2])]
        });
        std::array::from_fn(|f| {
            // As the AVX-512 pass reads the spare byte of filters 2j, 2j+1.
            let spare = h[FILTERS + f / 2];
            let bit = (h[f] >> 7) | ((spare >> (2 * (f % 2))) & 3) << 1;
            let half = usize::from((spare >> (4 + f % 2)) & 1);
            (usize::from(h[f] & 0x7F) | half << 7, bit)
        })
    }

    fn insert(&mut self, a: [u8; 3]) {
        for (f, (byte, bit)) in self.slots(a).into_iter().enumerate() {
            self.filters[f][byte] |= 1 << bit;
        }
    }

    fn passes(&self, a: [u8; 3]) -> bool {
        self.slots(a)
            .into_iter()
            .enumerate()
            .all(|(f, (byte, bit))| self.filters[f][byte] >> bit & 1 != 0)
    }
}

#[cfg(target_arch = "x86_64")]
impl Gate {
    /// The Bloom pass (see [`Bloom`]) over 64 positions a step; positions
    /// that pass go through the exact table. Returns where the next loop
    /// goes on.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    unsafe fn find_avx512(&self, hay: &[u8], hit: &mut impl FnMut(usize, usize)) -> usize {
        use std::arch::x86_64::*;
        let b = &*self.bloom;
        let n = hay.len();
        let table = &*self.table;
        // SAFETY (all loads below): each table is 64 or 128 bytes and
        // loadu takes any alignment.
        let load = |p: *const u8| unsafe { _mm512_loadu_si512(p as *const __m512i) };
        let hash: [[__m512i; 3]; HASHES] =
            std::array::from_fn(|k| std::array::from_fn(|p| load(b.hash[k][p].as_ptr())));
        let filters: [[__m512i; 4]; FILTERS] = std::array::from_fn(|f| {
            let t = b.filters[f].as_ptr();
            // SAFETY: the four quarters of a 256-byte table.
            std::array::from_fn(|q| load(unsafe { t.add(64 * q) }))
        });
        let m1f = _mm512_set1_epi8(0x1F);
        let m20 = _mm512_set1_epi8(0x20);
        let one = _mm512_set1_epi8(1);
        let six = _mm512_set1_epi8(6);
        let onehot = _mm512_broadcast_i32x4(_mm_setr_epi8(
            1, 2, 4, 8, 16, 32, 64, -128, 0, 0, 0, 0, 0, 0, 0, 0,
        ));
        let class = |v: __m512i| {
            _mm512_or_si512(
                _mm512_and_si512(v, m1f),
                _mm512_and_si512(_mm512_srli_epi16::<1>(v), m20),
            )
        };
        let mut i = 0;
        // The last load reads 64 bytes from i + 2; a candidate at i + 63
        // reads its u32 up to i + 67.
        while i + 67 <= n {
            // SAFETY: i + 2 + 64 <= n.
            let c: [__m512i; 3] =
                std::array::from_fn(|p| class(load(unsafe { hay.as_ptr().add(i + p) })));
            let h: [__m512i; HASHES] = std::array::from_fn(|k| {
                _mm512_ternarylogic_epi32::<0x96>(
                    _mm512_permutexvar_epi8(c[0], hash[k][0]),
                    _mm512_permutexvar_epi8(c[1], hash[k][1]),
                    _mm512_permutexvar_epi8(c[2], hash[k][2]),
                )
            });
            let mut mask = u64::MAX;
            for f in 0..FILTERS {
                // The spare byte of filters 2j and 2j+1: bits 0-1 and 2-3
                // finish their bit numbers, bits 4 and 5 pick their halves.
                let spare = h[FILTERS + f / 2];
                let (spare_bits, half) = if f % 2 == 0 {
                    (_mm512_add_epi8(spare, spare), 0x10)
                } else {
                    (_mm512_srli_epi16::<1>(spare), 0x20)
                };
                let low = _mm512_permutex2var_epi8(filters[f][0], h[f], filters[f][1]);
                let high = _mm512_permutex2var_epi8(filters[f][2], h[f], filters[f][3]);
                let upper = _mm512_test_epi8_mask(spare, _mm512_set1_epi8(half));
                let byte = _mm512_mask_blend_epi8(upper, low, high);
                let bit = _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16::<7>(h[f]), one),
                    _mm512_and_si512(spare_bits, six),
                );
                mask &= _mm512_test_epi8_mask(byte, _mm512_shuffle_epi8(onehot, bit));
            }
            while mask != 0 {
                let p = i + mask.trailing_zeros() as usize;
                let x = u32::from_le_bytes([hay[p], hay[p + 1], hay[p + 2], hay[p + 3]]);
                let idx = index(x);
                if has(table, idx) {
                    hit(p, idx);
                }
                mask &= mask - 1;
            }
            i += 64;
        }
        i
    }
}

/// How often a 3-byte string is expected in source and config text: its
/// count per 10 million positions in `trigrams.txt` (the most common 8,000
/// lower-cased trigrams of a sample of Rust, C, C++, Go, Java, shell,
/// Python, JavaScript, JSON, YAML, TOML and Markdown files), or for one not listed there a fraction
/// from rough per-byte frequencies. The anchor is the least common: `e_a`
/// and not `vic` in `service_account`, `ssk` and not `key` in `accesskey`.
fn commonness(a: &[u8]) -> f64 {
    let bytes: f64 = a
        .iter()
        .map(|&b| byte_frequency(b.to_ascii_lowercase()))
        .product();
    match common_trigrams().binary_search_by_key(&a, |(t, _)| &t[..]) {
        Ok(i) => f64::from(common_trigrams()[i].1),
        // Below 1, the least count listed, and ordered by the bytes.
        Err(_) => bytes / 1e7,
    }
}

/// `trigrams.txt`, parsed once and sorted.
fn common_trigrams() -> &'static [([u8; 3], u32)] {
    static TABLE: std::sync::OnceLock<Vec<([u8; 3], u32)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: Vec<([u8; 3], u32)> = include_str!("trigrams.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let (hex, count) = l.split_once(' ')?;
                let v = u32::from_str_radix(hex, 16).ok()?;
                Some((
                    [(v >> 16) as u8, (v >> 8) as u8, v as u8],
                    count.parse().ok()?,
                ))
            })
            .collect();
        t.sort_unstable();
        t
    })
}

/// Rough frequency in per mille of a lower-cased byte in code and config.
fn byte_frequency(b: u8) -> f64 {
    const LETTERS: [f64; 26] = [
        65.0, 12.0, 28.0, 34.0, 100.0, 18.0, 16.0, 40.0, 55.0, 2.0, 7.0, 40.0, 24.0, 57.0, 60.0,
        19.0, 1.0, 50.0, 52.0, 75.0, 24.0, 8.0, 15.0, 3.0, 14.0, 1.0,
    ];
    match b {
        b'a'..=b'z' => LETTERS[usize::from(b - b'a')],
        b' ' => 150.0,
        b'0'..=b'9' => 8.0,
        b'_' | b'.' | b'\n' => 20.0,
        b'-' | b'=' | b'"' | b'\'' | b'(' | b')' | b',' | b':' | b'/' => 10.0,
        _ => 2.0,
    }
}

/// The fallback: one case-insensitive DFA over all keywords.
fn automaton(keywords: &[Vec<u8>]) -> Result<Imp, String> {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(keywords)
        .map(Imp::Automaton)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;

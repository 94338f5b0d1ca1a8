//! The prefilter: where do any rule keywords occur, case-insensitively?
//!
//! Measured on this project's 128 MiB bench corpus (one core, AMD EPYC):
//! an Aho-Corasick DFA over the 69 built-in keywords runs at ~450 MB/s in any
//! match mode, since it must look at every byte. Teddy (SIMD, from
//! `aho_corasick::packed`) runs on a lower-cased copy of each 32 KiB block
//! and looks for a few 3-byte *anchors*, each inside one or more keywords;
//! every anchor hit is then checked against the keywords that contain it.
//! The anchors are a greedy set cover of the keywords (`key` alone covers 15):
//! for the first 44 rules, 30 anchors, under the 32 that "slim" Teddy takes:
//! 1.7 GB/s on the bench corpus, 1.0 GB/s on real crate sources, against 0.7
//! and 0.9 GB/s with one anchor per distinct keyword prefix (38, "fat").
//! Teddy takes at most 64 patterns and needs SSSE3/AVX2, so a rule set that
//! needs more anchors, or a CPU without them, falls back to the DFA.
use aho_corasick::packed;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind, Span};

/// Bytes lower-cased and searched at a time: small enough to stay in cache.
const BLOCK: usize = 32 * 1024;
/// Length of the prefix of each keyword that Teddy searches for.
const ANCHOR: usize = 3;

pub struct KeywordFinder {
    /// Lower-case keywords; a hit reports its index in this list.
    keywords: Vec<Vec<u8>>,
    imp: Imp,
}

enum Imp {
    Packed {
        searcher: packed::Searcher,
        /// Anchor pattern id → (keyword, offset of the anchor in it).
        by_anchor: Vec<Vec<(usize, usize)>>,
        longest: usize,
    },
    Automaton(AhoCorasick),
}

impl KeywordFinder {
    /// `keywords` must be distinct; they are matched ignoring ASCII case.
    pub fn new(keywords: &[Vec<u8>]) -> Result<KeywordFinder, String> {
        let keywords: Vec<Vec<u8>> = keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
        let imp = match packed_finder(&keywords) {
            Some(p) => p,
            None => automaton(&keywords)?,
        };
        Ok(KeywordFinder { keywords, imp })
    }

    /// Whether the SIMD path is in use (for benches and diagnostics).
    pub fn is_packed(&self) -> bool {
        matches!(self.imp, Imp::Packed { .. })
    }

    /// One line saying which prefilter runs, for `keytrace rules list`.
    pub fn describe(&self) -> String {
        match &self.imp {
            Imp::Packed { by_anchor, .. } => format!(
                "prefilter: Teddy (SIMD) over {} anchors covering {} keywords",
                by_anchor.len(),
                self.keywords.len()
            ),
            Imp::Automaton(_) => format!(
                "prefilter: Aho-Corasick DFA over {} keywords (Teddy needs at most 64 anchors of 3 bytes and SSSE3/AVX2)",
                self.keywords.len()
            ),
        }
    }

    /// Calls `f(keyword, start, end)` for every occurrence of every keyword,
    /// overlapping ones included, in increasing order of `start` (packed) or
    /// `end` (automaton). `lower` is scratch space.
    pub fn for_each(
        &self,
        hay: &[u8],
        lower: &mut Vec<u8>,
        mut f: impl FnMut(usize, usize, usize),
    ) {
        match &self.imp {
            Imp::Automaton(ac) => {
                for m in ac.find_overlapping_iter(hay) {
                    f(m.pattern().as_usize(), m.start(), m.end());
                }
            }
            Imp::Packed {
                searcher,
                by_anchor,
                longest,
            } => {
                let mut hits: Vec<(usize, usize, usize)> = Vec::new();
                let mut block = 0;
                while block < hay.len() {
                    let end = (block + BLOCK).min(hay.len());
                    // A keyword starting in this block has its anchor at most
                    // `longest` bytes on, and may itself run on that far.
                    let from = block.saturating_sub(*longest);
                    let to = (end + longest).min(hay.len());
                    lower.clear();
                    lower.extend_from_slice(&hay[from..to]);
                    lower.make_ascii_lowercase();
                    let mut at = 0;
                    while let Some(m) = searcher.find_in(&lower[..], Span::from(at..lower.len())) {
                        let p = m.start();
                        for &(k, off) in &by_anchor[m.pattern().as_usize()] {
                            let Some(start) = (from + p).checked_sub(off) else {
                                continue;
                            };
                            let kw = &self.keywords[k];
                            if start >= block
                                && start < end
                                && lower[start - from..].starts_with(kw)
                            {
                                hits.push((start, start + kw.len(), k));
                            }
                        }
                        // Anchors all have one length and are distinct, so
                        // the next can start one byte later at the earliest.
                        at = p + 1;
                    }
                    hits.sort_unstable();
                    for &(s, e, k) in &hits {
                        f(k, s, e);
                    }
                    hits.clear();
                    block = end;
                }
            }
        }
    }
}

/// Picks anchors greedily: each round takes the 3-byte string found in the
/// most keywords not yet covered (ties go to strings with a byte that is not
/// a lower-case letter, which are rarer in text).
/// An anchor and the (keyword, offset of the anchor in it) pairs it covers.
type Anchor = (Vec<u8>, Vec<(usize, usize)>);

fn anchors(keywords: &[Vec<u8>]) -> Option<Vec<Anchor>> {
    let mut left: Vec<usize> = (0..keywords.len()).collect();
    let mut chosen = Vec::new();
    while !left.is_empty() {
        let mut best: Option<(usize, usize, &[u8])> = None;
        for &k in &left {
            for a in keywords[k].windows(ANCHOR) {
                let covers = left
                    .iter()
                    .filter(|&&j| memchr::memmem::find(&keywords[j], a).is_some())
                    .count();
                let rare = a.iter().filter(|b| !b.is_ascii_lowercase()).count();
                if best.is_none_or(|(c, r, _)| (covers, rare) > (c, r)) {
                    best = Some((covers, rare, a));
                }
            }
        }
        let (_, _, a) = best?; // None: a keyword shorter than an anchor
        let mut members = Vec::new();
        left.retain(|&j| match memchr::memmem::find(&keywords[j], a) {
            Some(off) => {
                members.push((j, off));
                false
            }
            None => true,
        });
        // A keyword may hold the anchor twice: the first offset is enough,
        // since the anchor is searched at every position.
        chosen.push((a.to_vec(), members));
    }
    Some(chosen)
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

/// Teddy takes at most this many patterns. Past it the DFA is used: with
/// the 180 built-in rules (115 anchors), two "fat" Teddy searchers of 58
/// ran the matcher at 184-200 MB/s against the DFA's 300 MB/s on the bench
/// corpus, so no attempt is made to split the anchors.
const TEDDY_MAX: usize = 64;

fn packed_finder(keywords: &[Vec<u8>]) -> Option<Imp> {
    let chosen = anchors(keywords)?;
    if chosen.is_empty() || chosen.len() > TEDDY_MAX {
        return None;
    }
    let searcher = packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(chosen.iter().map(|(a, _)| a))
        .build()?;
    Some(Imp::Packed {
        searcher,
        by_anchor: chosen.into_iter().map(|(_, m)| m).collect(),
        longest: keywords.iter().map(Vec::len).max().unwrap_or(ANCHOR),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(f: &KeywordFinder, hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        f.for_each(hay, &mut Vec::new(), |k, s, e| out.push((k, s, e)));
        out.sort();
        out
    }

    /// Both paths find the same occurrences, overlapping ones and ones that
    /// straddle a block boundary included.
    #[test]
    fn packed_and_automaton_agree() {
        let kws: Vec<Vec<u8>> = [
            "secret",
            "aws_secret",
            "token",
            "ghp_",
            "sk-ant-",
            "sec",
            "api_key",
            "accesskey",
        ]
        .iter()
        .map(|k| k.as_bytes().to_vec())
        .collect();
        let packed = KeywordFinder::new(&kws).unwrap();
        assert!(packed.is_packed(), "this CPU has no SIMD Teddy");
        let auto = KeywordFinder {
            keywords: kws.clone(),
            imp: automaton(&kws).unwrap(),
        };
        let mut hay = b"AWS_SECRET=1 Token: x; sK-AnT-y ghp_ API_KEY".to_vec();
        hay.resize(BLOCK - 3, b'.');
        hay.extend(b"SECRET and TOKEN again ghP_ AccessKey");
        hay.resize(2 * BLOCK - 5, b'.');
        hay.extend(b"accessKEY");
        let want = hits(&auto, &hay);
        assert_eq!(hits(&packed, &hay), want);
        assert_eq!(want.len(), 13, "{want:?}");
    }

    #[test]
    fn many_anchors_fall_back_to_the_automaton() {
        let mut f = crate::fakes::Fakes::new(3);
        let kws: Vec<Vec<u8>> = (0..100)
            .map(|_| f.chars(b"abcdefghijklmnopqrstuvwxyz_-", 7).into_bytes())
            .collect();
        let finder = KeywordFinder::new(&kws).unwrap();
        assert!(!finder.is_packed(), "{}", finder.describe());
        let mut hay = Vec::new();
        for (i, k) in kws.iter().enumerate() {
            hay.extend(f.chars(b"abcdefghijklmnopqrstuvwxyz ", 70 + i).into_bytes());
            hay.extend(if i % 2 == 0 {
                k.to_ascii_uppercase()
            } else {
                k.clone()
            });
        }
        assert!(hits(&finder, &hay).len() >= 100);
    }

    #[test]
    fn short_keywords_use_the_automaton() {
        let f = KeywordFinder::new(&[b"ab".to_vec(), b"xyz".to_vec()]).unwrap();
        assert!(!f.is_packed());
        assert_eq!(hits(&f, b"zzABxyz").len(), 2);
    }
}

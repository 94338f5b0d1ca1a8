//! The keyword prefilter: every gate loop the CPU has (AVX-512, AVX2,
//! scalar) and `for_each` itself report exactly the hits of an
//! Aho-Corasick automaton over the same keywords, with the built-in rules'
//! keywords (listed as `Matcher::new` lists them; the automaton is built
//! once) and with keywords taken from the input.
//!
//! Input: byte 0 picks the mode. Even: the rest is a haystack for the
//! built-in keywords (checked at a few starting alignments). Odd: the rest
//! is `kw1 \n kw2 \n ... \x00 haystack` with up to 24 keywords, and the
//! haystack is also searched with the keywords spliced in.
#![no_main]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use keytrace::matcher::decode::Context;
use keytrace::matcher::keywords::KeywordFinder;
use keytrace_fuzz::{builtin_matcher, builtin_rules};
use libfuzzer_sys::fuzz_target;

/// The oracle: a case-insensitive automaton, every overlapping match.
fn oracle(kws: &[Vec<u8>]) -> AhoCorasick {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(kws)
        .expect("an automaton over the keywords")
}

/// The built-in keywords in the prefilter's order: each rule's, lower
/// case, first occurrence first, then the context keywords not among them
/// (as `Matcher::new` builds them).
fn builtin_oracle() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        let mut kws: Vec<Vec<u8>> = Vec::new();
        for rule in builtin_rules().rules() {
            for k in &rule.spec.keywords {
                let k = k.to_ascii_lowercase().into_bytes();
                if !kws.contains(&k) {
                    kws.push(k);
                }
            }
        }
        for (k, _) in Context::KEYWORDS {
            if !kws.iter().any(|x| x == k.as_bytes()) {
                kws.push(k.as_bytes().to_vec());
            }
        }
        oracle(&kws)
    })
}

fn agree(f: &KeywordFinder, ac: &AhoCorasick, hay: &[u8], what: &str) {
    let mut want: Vec<(usize, usize, usize)> = ac
        .find_overlapping_iter(hay)
        .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
        .collect();
    want.sort_unstable();
    let all = f.hits_at_each_level(hay);
    assert!(all.len() >= 2 || !f.is_gate(), "{}", f.describe());
    for (name, got) in &all {
        if *got != want {
            panic!(
                "{what}: {name} differs from the automaton ({}):\n{name}: {got:?}\nautomaton: {want:?}",
                f.describe()
            );
        }
    }
}

type Finders = HashMap<Vec<Vec<u8>>, Option<Rc<(KeywordFinder, AhoCorasick)>>>;

thread_local! {
    static FINDERS: RefCell<Finders> = RefCell::new(HashMap::new());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let f = builtin_matcher().keywords();
        assert!(f.is_gate(), "{}", f.describe());
        agree(f, builtin_oracle(), rest, "built-in keywords");
        return;
    }
    let (spec, hay) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    let mut kws: Vec<Vec<u8>> = Vec::new();
    for k in spec.split(|&b| b == b'\n').take(24) {
        // Distinct ignoring case, as `KeywordFinder::new` asks.
        if k.is_empty() || k.len() > 32 || kws.iter().any(|x| x.eq_ignore_ascii_case(k)) {
            continue;
        }
        kws.push(k.to_vec());
    }
    if kws.is_empty() {
        return;
    }
    // Building a gate (its Bloom filters try 16 seeds) costs more than
    // searching: keep the last sets, since most mutations change the
    // haystack only.
    let cached = FINDERS.with(|c| {
        let mut c = c.borrow_mut();
        if !c.contains_key(&kws) {
            if c.len() >= 256 {
                c.clear();
            }
            let f = KeywordFinder::new(&kws)
                .ok()
                .map(|f| Rc::new((f, oracle(&kws))));
            c.insert(kws.clone(), f);
        }
        c[&kws].clone()
    });
    let Some(pair) = cached else {
        return;
    };
    let (f, ac) = &*pair;
    agree(f, ac, hay, "input keywords");
    // The same haystack with the keywords in it, in both cases and at
    // every alignment the loops step by.
    let mut spliced = Vec::with_capacity(hay.len() + 64 * kws.len());
    for (i, k) in kws.iter().enumerate() {
        let cut = if hay.is_empty() {
            0
        } else {
            (i * 37) % (hay.len() + 1)
        };
        spliced.extend_from_slice(&hay[..cut.min(hay.len())]);
        spliced.extend(if mode & 2 == 0 {
            k.to_ascii_uppercase()
        } else {
            k.clone()
        });
        spliced.extend_from_slice(&hay[cut.min(hay.len())..]);
        if spliced.len() > 1 << 16 {
            break;
        }
    }
    agree(f, ac, &spliced, "input keywords, spliced");
});

//! The shape of a rule's secret, read from the rule's own pattern: the
//! literal prefix, and the *runs*, stretches of eight or more characters
//! drawn from one alphabet (`[A-Za-z0-9]{36}`), where a real credential
//! carries its randomness.
//!
//! The matcher asks a shape whether a candidate's runs look random (a
//! placeholder that passes the regex, `ab12ab12…`, `ABCDEFG…`, or all digits
//! where the format draws from letters and digits, is not a credential); the
//! test kit's accuracy corpus samples fresh values of every format from it. Nothing
//! here knows about files or findings.
use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::{Capture, Class, Hir, HirKind, Repetition};

use crate::validate::filters::{alternating_fabrication, entropy, longest_repeat};

/// A run is a repetition of one class at least this long...
const RUN_MIN: u32 = 8;
/// ...whose checks apply once the matched text is at least this long.
const CHECK_LEN: usize = 12;
/// At least this many characters, each the next (or previous) of the
/// alphabet, make a sequence; more where the alphabet is small.
const SEQUENCE: usize = 7;
/// The entropy test needs this many characters to say anything.
const ENTROPY_LEN: usize = 16;
/// Below this chance of a uniformly random run falling in one character
/// category, a run that does is taken for a stand-in.
const ONE_CLASS_CHANCE: f64 = 1e-6;

/// Words that test data spells out in the random part of a value.
const TEST_WORDS: &[&str] = &[
    "test", "fake", "mock", "sample", "demo", "fixture", "dummy", "invalid", "notreal", "foobar",
];

/// The characters a run draws from, with what the checks ask of them
/// worked out once.
#[derive(Debug, Clone)]
struct Alphabet {
    /// In byte order.
    bytes: Vec<u8>,
    /// Each byte's place in `bytes`, or `u16::MAX`.
    place: [u16; 256],
    /// How many of `bytes` are digits, upper-case and lower-case letters.
    categories: [usize; 3],
}

impl Alphabet {
    fn new(mut bytes: Vec<u8>) -> Alphabet {
        bytes.sort_unstable();
        bytes.dedup();
        let mut place = [u16::MAX; 256];
        for (i, &b) in bytes.iter().enumerate() {
            place[usize::from(b)] = i as u16;
        }
        let categories = CATEGORIES.map(|in_cat| bytes.iter().filter(|b| in_cat(b)).count());
        Alphabet {
            bytes,
            place,
            categories,
        }
    }

    fn len(&self) -> usize {
        self.bytes.len()
    }
}

#[derive(Debug, Clone)]
pub struct Shape {
    /// The secret group of the pattern, for the test kit to sample from.
    #[cfg(any(test, feature = "testkit"))]
    hir: Hir,
    prefix: Vec<u8>,
    /// The secret group, anchored, with one capture group per run.
    runs: Regex,
    /// The alphabet of each run, in group order.
    alphabets: Vec<Alphabet>,
    /// The secret is one run (`[A-Za-z0-9]{36}`): no need to find it.
    whole: bool,
    /// Bits of the longest value's runs: how many values the format holds.
    capacity: f64,
}

impl Shape {
    /// The shape of the `secret` group of `pattern`; `None` when the pattern
    /// has no such group (or the regex parser rejects it).
    pub fn of(pattern: &str) -> Option<Shape> {
        Shape::of_group(pattern, "secret")
    }

    /// The shape of the named group `name` of `pattern`.
    pub fn of_group(pattern: &str, name: &str) -> Option<Shape> {
        let hir = super::pattern::parse_hir(pattern).ok()?;
        let hir = find_group(&hir, name)?.clone();
        let mut prefix = Vec::new();
        literal_prefix(&hir, &mut prefix);
        let mut alphabets = Vec::new();
        let marked = mark_runs(&hir, &mut alphabets);
        let capacity = alphabets
            .iter()
            .map(|(bytes, max)| {
                f64::from(max.unwrap_or(u32::MAX)) * (bytes.len().max(2) as f64).log2()
            })
            .sum();
        let alphabets: Vec<Alphabet> = alphabets
            .into_iter()
            .map(|(bytes, _)| Alphabet::new(bytes))
            .collect();
        let runs = RegexBuilder::new(&format!("^(?:{marked})$"))
            .unicode(false)
            .size_limit(8 << 20)
            .build()
            .ok()?;
        let whole = alphabets.len() == 1
            && matches!(hir.kind(), HirKind::Repetition(r) if matches!(r.sub.kind(), HirKind::Class(_)));
        Some(Shape {
            #[cfg(any(test, feature = "testkit"))]
            hir,
            prefix,
            runs,
            alphabets,
            whole,
            capacity,
        })
    }

    /// Bits of randomness the longest value of this shape carries in its
    /// runs. Between two formats that both take a value, the one of smaller
    /// capacity is the likelier (`sk_live_` + 40 hex against `sk_live_` +
    /// up to 247 base62).
    pub fn capacity(&self) -> f64 {
        self.capacity
    }

    /// The literal bytes every value of this shape starts with.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The secret group's syntax tree (the test kit samples values from it).
    #[cfg(any(test, feature = "testkit"))]
    pub(crate) fn hir(&self) -> &Hir {
        &self.hir
    }

    /// Whether the shape has any run to check.
    pub fn has_runs(&self) -> bool {
        !self.alphabets.is_empty()
    }

    /// Why the runs of `secret` do not look like a credential's, if they do
    /// not: a repeated unit, a sequence, one character category where the
    /// format mixes several, or too little entropy for the alphabet. Each
    /// test is set to reject a random run less than once in a million
    /// (measured: 2 of 18.3 million random values of the built-in formats).
    pub fn doubt(&self, secret: &[u8]) -> Option<&'static str> {
        if self.whole {
            return run_doubt(secret, &self.alphabets[0]);
        }
        self.runs(secret)
            .into_iter()
            .find_map(|(range, alphabet)| run_doubt(&secret[range], alphabet))
    }

    /// Where each run of `secret` lies in it, with its alphabet, in order;
    /// none if `secret` does not have this shape. A shape that is one run
    /// takes the whole of `secret`, which the caller took from a match.
    fn runs(&self, secret: &[u8]) -> Vec<(std::ops::Range<usize>, &Alphabet)> {
        if self.whole {
            return vec![(0..secret.len(), &self.alphabets[0])];
        }
        if self.alphabets.is_empty() {
            return Vec::new();
        }
        let Some(caps) = self.runs.captures(secret) else {
            return Vec::new();
        };
        self.alphabets
            .iter()
            .enumerate()
            .filter_map(|(i, a)| caps.get(i + 1).map(|m| (m.range(), a)))
            .collect()
    }

    /// Where the runs of `secret` lie in it, in order.
    pub fn runs_in(&self, secret: &[u8]) -> Vec<std::ops::Range<usize>> {
        self.runs(secret).into_iter().map(|(r, _)| r).collect()
    }

    /// Why `secret`, which passed the matcher, still looks made up, if it
    /// does: a word of test data (`test`, `fake`, `mock`, `sample`, …) inside
    /// a run, or a run with less entropy than most random ones of its
    /// alphabet. Shapes without runs look at the whole value for the words.
    /// Only test and example paths make this count ([`crate::finding`]).
    pub fn made_up(&self, secret: &[u8]) -> Option<&'static str> {
        let mut runs: Vec<(&[u8], usize)> = self
            .runs(secret)
            .into_iter()
            .map(|(r, a)| (&secret[r], a.len()))
            .collect();
        if runs.is_empty() {
            runs.push((secret, 0));
        }
        for (run, alphabet) in runs {
            let lower = run.to_ascii_lowercase();
            if TEST_WORDS
                .iter()
                .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
            {
                return Some("a word of test data in its random part");
            }
            // A bar one random run in 10,000 falls under (sampled): runs of
            // at least 16, and a lower one for hex, where 0.7 of the most
            // took one random 16-hex run in 30 (and one 12-hex UUID group
            // in 35) for a made-up one.
            if alphabet > 0 && run.len() >= ENTROPY_LEN {
                let most = (run.len().min(alphabet) as f64).log2();
                let bar = if alphabet <= 16 { 0.55 } else { 0.7 };
                if entropy(run) < most * bar {
                    return Some("less entropy than a random value of its format");
                }
            }
        }
        None
    }
}

fn find_group<'h>(h: &'h Hir, name: &str) -> Option<&'h Hir> {
    match h.kind() {
        HirKind::Capture(c) if c.name.as_deref() == Some(name) => Some(&c.sub),
        HirKind::Capture(c) => find_group(&c.sub, name),
        HirKind::Repetition(r) => find_group(&r.sub, name),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().find_map(|h| find_group(h, name)),
        _ => None,
    }
}

/// Appends the literal start of `h`; true if all of `h` is literal.
fn literal_prefix(h: &Hir, out: &mut Vec<u8>) -> bool {
    match h.kind() {
        HirKind::Literal(l) => {
            out.extend_from_slice(&l.0);
            true
        }
        HirKind::Capture(c) => literal_prefix(&c.sub, out),
        HirKind::Concat(v) => v.iter().all(|h| literal_prefix(h, out)),
        HirKind::Empty | HirKind::Look(_) => true,
        _ => false,
    }
}

/// The printable bytes of a class (all its bytes if none is printable).
pub(crate) fn members(c: &Class) -> Vec<u8> {
    let mut all = Vec::new();
    match c {
        Class::Bytes(b) => {
            for r in b.ranges() {
                all.extend(r.start()..=r.end());
            }
        }
        Class::Unicode(u) => {
            for r in u.ranges() {
                let (s, e) = (r.start() as u32, (r.end() as u32).min(255));
                if s <= e {
                    all.extend((s as u8)..=(e as u8));
                }
            }
        }
    }
    let printable: Vec<u8> = all
        .iter()
        .copied()
        .filter(|b| b.is_ascii_graphic())
        .collect();
    if printable.is_empty() {
        all
    } else {
        printable
    }
}

pub(crate) fn run_class(r: &Repetition) -> Option<&Class> {
    match r.sub.kind() {
        HirKind::Class(c) if r.min >= RUN_MIN && r.max.is_none_or(|m| m >= CHECK_LEN as u32) => {
            Some(c)
        }
        _ => None,
    }
}

/// `h` with every run wrapped in a capture group and every other group
/// made non-capturing, so that group `i + 1` is run `i`.
fn mark_runs(h: &Hir, alphabets: &mut Vec<(Vec<u8>, Option<u32>)>) -> Hir {
    match h.kind() {
        HirKind::Repetition(r) => {
            if let Some(c) = run_class(r) {
                alphabets.push((members(c), r.max));
                return Hir::capture(Capture {
                    index: alphabets.len() as u32,
                    name: None,
                    sub: Box::new(h.clone()),
                });
            }
            Hir::repetition(Repetition {
                sub: Box::new(mark_runs(&r.sub, alphabets)),
                ..r.clone()
            })
        }
        HirKind::Capture(c) => mark_runs(&c.sub, alphabets),
        HirKind::Concat(v) => Hir::concat(v.iter().map(|h| mark_runs(h, alphabets)).collect()),
        HirKind::Alternation(v) => {
            Hir::alternation(v.iter().map(|h| mark_runs(h, alphabets)).collect())
        }
        _ => h.clone(),
    }
}

/// Why one run does not look random, if it does not (see [`Shape::doubt`]).
fn run_doubt(run: &[u8], alphabet: &Alphabet) -> Option<&'static str> {
    if repeats_too_long(run, alphabet) {
        return Some("a run of one character");
    }
    if run.len() < CHECK_LEN {
        return None;
    }
    if alternating_fabrication(run) {
        return Some("alternates two sequences, or one in alternating case");
    }
    if periodic(run) {
        return Some("repeats a short unit");
    }
    if sequential(run, alphabet) {
        return Some("a sequence of consecutive characters");
    }
    if camel_case_words(run, alphabet) {
        return Some("words in camel case (an identifier), no digit");
    }
    // A class that takes nearly any printable byte (the generic rule's
    // value) is no format's alphabet: what its values draw from says nothing.
    let open = alphabet.len() > 66;
    if !open && one_category(run, alphabet) {
        return Some("one character class where the format mixes several");
    }

    let most = (run.len().min(alphabet.len()) as f64).log2();
    if run.len() >= ENTROPY_LEN && entropy(run) < most / 2.0 {
        return Some("too little entropy for its alphabet");
    }
    None
}

/// One character repeated more often in a row than a random run of this
/// length and alphabet does once in a million (positions × (1/n)^(len-1)),
/// and at least six times: `000000` in a base62 run, eight of one digit
/// in 64 hex.
fn repeats_too_long(run: &[u8], alphabet: &Alphabet) -> bool {
    let most = longest_repeat(run);
    if most < 6 {
        return false;
    }
    let n = alphabet.len().max(2) as f64;
    let need = 1.0 + (run.len() as f64 / 1e-6).ln() / n.ln();
    most >= (need.ceil() as usize).max(6)
}

fn periodic(run: &[u8]) -> bool {
    (1..=4).any(|p| run.len() >= 3 * p && (p..run.len()).all(|i| run[i] == run[i - p]))
}

/// Seven or more characters, each the next (or previous) of the alphabet
/// in byte order, round from its end to its start (`…XYZ234…` in base32).
fn sequential(run: &[u8], alphabet: &Alphabet) -> bool {
    let n = alphabet.len();
    // Long enough that a random run holds one less than once in a million:
    // 2 directions × positions × (1/n)^(len-1) < 1e-6.
    let need = 1.0 + ((2 * run.len()) as f64 / 1e-6).ln() / (n.max(2) as f64).ln();
    let need = (need.ceil() as usize).max(SEQUENCE);
    let place = |b: u8| alphabet.place[usize::from(b)];
    let (mut up, mut down) = (1, 1);
    for w in run.windows(2) {
        let (a, b) = (place(w[0]), place(w[1]));
        if a == u16::MAX || b == u16::MAX {
            (up, down) = (1, 1);
            continue;
        }
        let (a, b) = (usize::from(a), usize::from(b));
        up = if b == (a + 1) % n { up + 1 } else { 1 };
        down = if a == (b + 1) % n { down + 1 } else { 1 };
        if up >= need || down >= need {
            return true;
        }
    }
    false
}

/// A run of at least 24 letters that reads as words in camel case
/// (`MacOSXGetCGContextForDrawable`): no digit where the alphabet has them,
/// and at least four words, each one to four capitals and then at least two
/// lower-case letters with a vowel among them. Random letters break case and
/// go without vowels far more often: of 3,000,000 random 24-character base62
/// runs, 16 read so (sampled; fewer the longer the run).
fn camel_case_words(run: &[u8], alphabet: &Alphabet) -> bool {
    if run.len() < 24 || alphabet.categories.contains(&0) || !run[0].is_ascii_uppercase() {
        return false;
    }
    let (mut i, mut words) = (0, 0);
    while i < run.len() {
        let upper = run[i..]
            .iter()
            .take_while(|b| b.is_ascii_uppercase())
            .count();
        let lower = &run[i + upper..];
        let lower = &lower[..lower.iter().take_while(|b| b.is_ascii_lowercase()).count()];
        if !(1..=4).contains(&upper)
            || lower.len() < 2
            || !lower.iter().any(|b| b"aeiouy".contains(b))
        {
            return false;
        }
        i += upper + lower.len();
        words += 1;
    }
    words >= 4
}

pub(crate) const CATEGORIES: [fn(&u8) -> bool; 3] = [
    u8::is_ascii_digit,
    u8::is_ascii_uppercase,
    u8::is_ascii_lowercase,
];

/// All of `run` in one category that holds only part of `alphabet`, when a
/// random run would almost never be.
fn one_category(run: &[u8], alphabet: &Alphabet) -> bool {
    CATEGORIES
        .iter()
        .zip(alphabet.categories)
        .any(|(in_cat, k)| {
            k < alphabet.len()
                && run.iter().all(in_cat)
                && (k as f64 / alphabet.len() as f64).powi(run.len() as i32) < ONE_CLASS_CHANCE
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use crate::testkit::fakes::Fakes;
    use crate::testkit::sample::{Fill, SampleShape};

    #[test]
    fn prefix_and_runs() {
        let s = Shape::of(r"(?:^|\W)(?P<secret>shpat_[a-fA-F0-9]{32})(?:\W|$)").unwrap();
        assert_eq!(s.prefix(), b"shpat_");
        let mut f = Fakes::new(1);
        let v = s.sample(&mut f, Fill::Random);
        assert!(v.starts_with(b"shpat_") && v.len() == 38);
        assert_eq!(s.doubt(&v), None);
        for fill in [
            Fill::Repeat,
            Fill::Sequential,
            Fill::OneClass,
            Fill::Placeholder,
        ] {
            let v = s.sample(&mut f, fill);
            assert!(
                s.doubt(&v).is_some(),
                "{fill:?}: {}",
                String::from_utf8_lossy(&v)
            );
        }
    }

    /// An identifier in camel case after a token's prefix is not a token;
    /// random values of the format almost never read so.
    #[test]
    fn camel_case_identifiers_are_doubted() {
        let s = Shape::of(r"(?P<secret>tk_[A-Za-z0-9]{29})").unwrap();
        assert!(s.doubt(b"tk_MacOSXGetCGContextForDrawable").is_some());
        let mut f = Fakes::new(6);
        for _ in 0..20_000 {
            let v = s.sample(&mut f, Fill::Random);
            assert_eq!(s.doubt(&v), None, "{}", String::from_utf8_lossy(&v));
        }
        // Letters only is no identifier where the format has no digits.
        let letters = Shape::of(r"(?P<secret>xk_[A-Za-z]{29})").unwrap();
        assert_eq!(letters.doubt(b"xk_MacOSXGetCGContextForDrawable"), None);
    }

    /// Random values of a format are not taken for made-up ones in test
    /// paths: of 20,000 UUID-shaped tokens and 20,000 16-hex runs, none
    /// (the bar used to take about 3% of either).
    #[test]
    fn random_hex_runs_are_not_made_up() {
        let uuid = Shape::of(
            r"(?P<secret>access-sandbox-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
        )
        .unwrap();
        let hex16 = Shape::of(r"(?P<secret>key-[0-9a-f]{16})").unwrap();
        let mut f = Fakes::new(5);
        for _ in 0..20_000 {
            let v = uuid.sample(&mut f, Fill::Random);
            assert_eq!(uuid.made_up(&v), None, "{}", String::from_utf8_lossy(&v));
            let v = hex16.sample(&mut f, Fill::Random);
            assert_eq!(hex16.made_up(&v), None, "{}", String::from_utf8_lossy(&v));
        }
        assert!(hex16.made_up(b"key-aaaa1111bbbb2222").is_some());
    }

    #[test]
    fn one_class_only_where_a_random_value_would_not_be() {
        // 52 characters of [a-z2-7] are all letters about once in 50,000.
        let s = Shape::of(r"(?P<secret>[a-z2-7]{52})").unwrap();
        assert_eq!(
            s.doubt(b"hhgivpbetkqhvlyzepplggqsrdoawdxwknmorwcirbcwutnvjaqm"),
            None
        );
        let hex = Shape::of(r"(?P<secret>[0-9a-f]{32})").unwrap();
        assert!(hex.doubt(b"12345098712345609871234560987123").is_some());
    }

    /// Random values of every built-in format pass the shape checks, the
    /// rule's entropy floor turns away at most one in four hundred (the
    /// generic rule excepted: its floor is a choice about short values), and
    /// the examples' secrets pass the shape checks too (their runs are
    /// random): what `examples/shapecheck.rs` asks of a draft.
    #[test]
    fn random_values_and_examples_of_every_format_pass() {
        let set = RuleSet::builtin().unwrap();
        let mut f = Fakes::new(11);
        let problems: Vec<String> = set
            .rules()
            .iter()
            .flat_map(|r| crate::testkit::sample::shape_problems(r, &mut f, 100))
            .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Every sample of every built-in rule matches its own runs.
    #[test]
    fn builtin_samples_match_their_runs() {
        let set = RuleSet::builtin().unwrap();
        let mut f = Fakes::new(5);
        for rule in set.rules().iter().filter(|r| r.spec.binary.is_none()) {
            let shape = Shape::of(&rule.spec.pattern).expect(&rule.spec.id);
            for _ in 0..20 {
                let v = shape.sample(&mut f, Fill::Random);
                assert!(
                    shape.runs.is_match(&v),
                    "{}: {}",
                    rule.spec.id,
                    String::from_utf8_lossy(&v)
                );
            }
        }
    }
}

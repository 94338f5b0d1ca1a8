//! Fresh values of a rule's format, sampled from its shape: random ones
//! (credentials of the format, for the accuracy corpus and the benches) and
//! the stand-ins the shape checks must turn away (a repeated unit, a
//! sequence, one character class, a placeholder).
use regex_syntax::hir::{Hir, HirKind};

use super::fakes::Fakes;
use crate::rules::shape::{members, run_class, Shape, CATEGORIES};

/// How [`SampleShape::sample`] fills the runs of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Random characters of the run's alphabet: a credential of the format.
    Random,
    /// A short unit repeated (`a1Xa1Xa1X…`).
    Repeat,
    /// Characters in alphabet order (`0123456789ABCD…`).
    Sequential,
    /// Only the largest character category of the alphabet (all letters of
    /// one case, or all digits), where the format mixes several.
    OneClass,
    /// `xxxx…`, or the alphabet's first character repeated.
    Placeholder,
}

/// Sampling, for [`Shape`]s.
pub trait SampleShape {
    /// A value of this shape, its runs filled as `fill` says.
    fn sample(&self, f: &mut Fakes, fill: Fill) -> Vec<u8>;
}

impl SampleShape for Shape {
    fn sample(&self, f: &mut Fakes, fill: Fill) -> Vec<u8> {
        let mut out = Vec::new();
        sample(self.hir(), f, fill, &mut out);
        out
    }
}

fn sample(h: &Hir, f: &mut Fakes, fill: Fill, out: &mut Vec<u8>) {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(l) => out.extend_from_slice(&l.0),
        HirKind::Class(c) => {
            let m = members(c);
            out.push(m[f.below(m.len())]);
        }
        HirKind::Capture(c) => sample(&c.sub, f, fill, out),
        HirKind::Concat(v) => v.iter().for_each(|h| sample(h, f, fill, out)),
        HirKind::Alternation(v) => sample(&v[f.below(v.len())], f, fill, out),
        HirKind::Repetition(r) => {
            // Formats name their current length as the minimum and leave
            // room to grow: mostly the minimum, sometimes a little more.
            let cap = r.max.unwrap_or(r.min + 16);
            let hi = cap.min(r.min + (r.min / 4).max(8));
            let n = if f.below(2) == 0 || hi == r.min {
                r.min
            } else {
                r.min + f.below((hi - r.min + 1) as usize) as u32
            } as usize;
            match run_class(r) {
                Some(c) => out.extend(fill_run(&members(c), n, f, fill)),
                None => (0..n).for_each(|_| sample(&r.sub, f, fill, out)),
            }
        }
    }
}

fn fill_run(alphabet: &[u8], n: usize, f: &mut Fakes, fill: Fill) -> Vec<u8> {
    match fill {
        Fill::Random => f.chars(alphabet, n).into_bytes(),
        Fill::Repeat => {
            let len = 2 + f.below(2);
            let unit = f.chars(alphabet, len).into_bytes();
            unit.iter().copied().cycle().take(n).collect()
        }
        Fill::Sequential => {
            let mut sorted = alphabet.to_vec();
            sorted.sort_unstable();
            let start = f.below(sorted.len());
            (0..n).map(|i| sorted[(start + i) % sorted.len()]).collect()
        }
        Fill::OneClass => {
            let part = CATEGORIES
                .iter()
                .map(|c| alphabet.iter().copied().filter(c).collect::<Vec<u8>>())
                .filter(|p| !p.is_empty() && p.len() < alphabet.len())
                .max_by_key(Vec::len);
            match part {
                Some(p) => f.chars(&p, n).into_bytes(),
                None => fill_run(alphabet, n, f, Fill::Repeat),
            }
        }
        Fill::Placeholder => {
            let c = [b'x', b'X', b'0']
                .into_iter()
                .find(|c| alphabet.contains(c))
                .unwrap_or(alphabet[0]);
            vec![c; n]
        }
    }
}

/// What the tests ask of a rule's shape, for built-in rules and for drafts
/// alike (`examples/shapecheck.rs`): a readable `secret` group; example
/// secrets that pass the shape checks; `samples` random values that pass
/// them; and, but for the generic rule, whose floor is a choice about short
/// values, an entropy floor that turns away at most 1 random value in 400.
pub fn shape_problems(rule: &crate::rules::Rule, f: &mut Fakes, samples: usize) -> Vec<String> {
    use crate::validate::{filters::entropy, Validator};
    let id = &rule.spec.id;
    if rule.spec.binary.is_some() {
        return Vec::new(); // no pattern: found by structure
    }
    let Some(shape) = Shape::of(&rule.spec.pattern) else {
        return vec![format!("{id}: the pattern has no readable `secret` group")];
    };
    let mut out = Vec::new();
    for ex in &rule.spec.examples {
        for caps in rule.regex().captures_iter(ex.as_bytes()) {
            if let Some(why) = caps.name("secret").and_then(|m| shape.doubt(m.as_bytes())) {
                out.push(format!(
                    "{id}: an example's secret fails the shape check ({why}): {ex}"
                ));
            }
        }
    }
    if let Some(v) = (0..samples)
        .map(|_| shape.sample(f, Fill::Random))
        .find(|v| shape.doubt(v).is_some())
    {
        out.push(format!(
            "{id}: a random value fails the shape check ({}): {}",
            shape.doubt(&v).unwrap_or_default(),
            String::from_utf8_lossy(&v)
        ));
    }
    if let (Some(min), false) = (
        rule.spec.min_entropy,
        rule.spec.validator == Some(Validator::Generic),
    ) {
        let n = 2000;
        let low = (0..n)
            .filter(|_| entropy(&shape.sample(f, Fill::Random)) < min)
            .count();
        if low * 400 > n {
            out.push(format!(
                "{id}: {low} of {n} random values are under min_entropy {min}"
            ));
        }
    }
    out
}

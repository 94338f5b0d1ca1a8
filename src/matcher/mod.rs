//! The matcher: the [`keywords`] prefilter finds where any rule's keywords
//! occur; each rule's regex then runs only in a bounded window around hits
//! of its own keywords, never over whole inputs. Candidates pass, cheapest
//! first, through entropy, placeholder rejection, context filters and the
//! rule's [validator](crate::validate). Where a context keyword opens an
//! encoded value (a Kubernetes Secret's `data:`, a basic-auth header), the
//! value is [decoded](decode) one level and its text scanned too; the name a
//! secret is assigned to is read by [`binding`]. [`rulecheck`] runs every
//! rule's examples through all of this.
//!
//! Receives a byte slice (a file, a chunk of one, a git blob) and the
//! [`RuleSet`]; hands on [`Match`]es with line and column. It knows nothing
//! about paths or reports.
pub mod binding;
pub mod decode;
pub mod keystore;
pub mod keywords;
pub mod rulecheck;

use std::collections::HashSet;
use std::ops::Range;

use regex::bytes::Regex;

use crate::base::kinds::{Checksum, Encoding, Lifetime};
use crate::error::{Error, Result};
use crate::rules::shape::Shape;
use crate::rules::{Rule, RuleSet};
use crate::validate::filters::{entropy, placeholder, repeats_one_character};
use crate::validate::generic::{generic_groups, may_assign};
use crate::validate::{self, Facts, Validator};
use binding::binding_before;
use decode::Context;
use keywords::KeywordFinder;

/// How far before a keyword hit the window reaches (to the line start, at most).
const BACK: usize = 512;
/// How far after a keyword hit the window reaches (to the line end, at most).
const FORWARD: usize = 1024;
/// Lines within which a `key_id_from` partner pairs with a secret.
const PAIR_LINES: u32 = 5;
/// Matches on either side of a secret that pairing looks at.
const PAIR_CANDIDATES: usize = 64;
/// Matches one input (a file, a chunk, a blob) may yield: memory stays
/// bounded whatever a rule matches.
pub const MAX_MATCHES: usize = 100_000;
/// Candidates (regex matches before the checks) one input may yield.
pub const MAX_CANDIDATES: usize = 2_000_000;
/// The marker that suppresses every finding on its line.
pub const ALLOW_MARKER: &[u8] = b"keytrace:allow";

/// Matcher settings that do not come from rules.
#[derive(Debug, Clone, Default)]
pub struct MatchOptions {
    /// Keep tokens whose checksum fails (marked `checksum: invalid`).
    pub include_invalid: bool,
    /// Secrets matching any of these are not reported (`.keytrace.toml`).
    pub allow_values: Vec<Regex>,
    /// Do not honour `keytrace:allow` comments (a sweep that does not
    /// trust the repositories it reads).
    pub ignore_allow_comments: bool,
    /// Keep the matches an allow comment or an allow value would drop,
    /// marked in [`Match::suppressed`], instead of dropping them: a range
    /// scan reports the suppressions the range adds.
    pub keep_suppressed: bool,
}

/// What would suppress a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppressed {
    /// A `keytrace:allow` comment on its line.
    AllowComment,
    /// The allow value of this index in [`MatchOptions::allow_values`].
    AllowValue(usize),
}

/// One secret value found by one rule at one place in a haystack.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Index of the rule in the matcher's [`RuleSet`].
    pub rule: usize,
    pub secret: Vec<u8>,
    pub key_id: Option<String>,
    /// The variable or key the secret is assigned to, where the line says so.
    pub binding: Option<String>,
    /// Byte offset of the secret in the haystack.
    pub offset: usize,
    /// 1-based line of the secret's first byte.
    pub line: u32,
    /// 1-based column, in Unicode code points (bytes of invalid UTF-8 count one each).
    pub column: u32,
    pub lifetime: Lifetime,
    pub facts: Facts,
    /// Set when the secret was found by decoding the text at `offset`.
    pub encoding: Option<Encoding>,
    /// Set (with [`MatchOptions::keep_suppressed`]) when something would
    /// suppress it.
    pub suppressed: Option<Suppressed>,
}

/// Per-thread scratch space, reused across inputs to avoid allocation.
#[derive(Default)]
pub struct Scratch {
    open: Vec<Option<(usize, usize)>>,
    windows: Vec<(usize, usize, usize)>,
    seen: HashSet<(usize, usize)>,
    /// Secret spans a rule's regex matched, with the rule's rank.
    claimed: Vec<(usize, usize, u8)>,
    /// Lower-cased block for the keyword prefilter.
    hits: keywords::Hits,
    /// Offsets of context keywords (`kind: Secret`, `Basic `, `"auth"`).
    contexts: Vec<(usize, Context)>,
    /// For the text inside encoded values.
    inner: Option<Box<Scratch>>,
    /// The last input held more matches or candidates than a scan keeps.
    truncated: bool,
    /// Rules that read the whole input, by its file name ([`Matcher::scan_named`]).
    named: Vec<usize>,
    globs: Vec<usize>,
}

impl Scratch {
    /// Whether the last input scanned was cut short: it held more than
    /// [`MAX_MATCHES`] matches or [`MAX_CANDIDATES`] candidates (a rule that
    /// matches nearly everywhere), and the rest of it was not examined.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

pub struct Matcher {
    rules: RuleSet,
    keywords: KeywordFinder,
    /// Keyword pattern id → the rules that keyword feeds, each with whether
    /// the keyword is context the value may follow on the next line.
    keyword_rules: Vec<Vec<(usize, bool)>>,
    /// Keyword pattern id → the encoded context it opens, if any.
    keyword_contexts: Vec<Option<Context>>,
    /// The file-name globs of rules with `files`, and the rule of each.
    file_globs: Option<(globset::GlobSet, Vec<usize>)>,
    /// The rules with `binary`, each with its format and, if it names
    /// files, the globs of their names ([`Matcher::scan_binary`]).
    binary_rules: Vec<(
        crate::base::kinds::BinaryFormat,
        usize,
        Option<globset::GlobSet>,
    )>,
    opts: MatchOptions,
}

impl Matcher {
    pub fn new(rules: RuleSet, opts: MatchOptions) -> Result<Matcher> {
        let mut keywords: Vec<Vec<u8>> = Vec::new();
        let mut keyword_rules: Vec<Vec<(usize, bool)>> = Vec::new();
        for (i, rule) in rules.rules().iter().enumerate() {
            // A keyword is context when the pattern does not spell it out
            // (Discord's `discord`, not GitHub's `ghp_`), and a name the
            // pattern captures (`binding`) is not in play: then the value
            // may stand on the line after it (a Kubernetes `- name:` above
            // its `value:`).
            let literal = rule.spec.pattern.replace('\\', "").to_ascii_lowercase();
            for k in &rule.spec.keywords {
                let k = k.to_ascii_lowercase();
                let next_line = rule.binding_group.is_none() && !literal.contains(&k);
                let k = k.into_bytes();
                match keywords.iter().position(|x| *x == k) {
                    Some(p) => {
                        if !keyword_rules[p].iter().any(|&(r, _)| r == i) {
                            keyword_rules[p].push((i, next_line))
                        }
                    }
                    None => {
                        keywords.push(k);
                        keyword_rules.push(vec![(i, next_line)]);
                    }
                }
            }
        }
        // Context keywords ride on the same automaton: an input without
        // them costs nothing more.
        let mut keyword_contexts = vec![None; keywords.len()];
        for (k, ctx) in Context::KEYWORDS {
            match keywords.iter().position(|x| *x == k.as_bytes()) {
                Some(p) => keyword_contexts[p] = Some(ctx),
                None => {
                    keywords.push(k.as_bytes().to_vec());
                    keyword_rules.push(Vec::new());
                    keyword_contexts.push(Some(ctx));
                }
            }
        }
        let keywords = KeywordFinder::new(&keywords).map_err(|message| Error::Rules {
            file: "<keywords>".into(),
            message,
        })?;
        let mut globs = globset::GlobSetBuilder::new();
        let mut glob_rules = Vec::new();
        for (i, rule) in rules.rules().iter().enumerate() {
            if rule.spec.binary.is_some() {
                continue; // its files are read by `scan_binary`
            }
            for f in &rule.spec.files {
                let glob = globset::Glob::new(f).map_err(|e| Error::Rules {
                    file: rule.origin.clone(),
                    message: format!("{}: files: {e}", rule.spec.id),
                })?;
                globs.add(glob);
                glob_rules.push(i);
            }
        }
        let file_globs = match glob_rules.is_empty() {
            true => None,
            false => Some((
                globs.build().map_err(|e| Error::Rules {
                    file: "<files>".into(),
                    message: e.to_string(),
                })?,
                glob_rules,
            )),
        };
        let mut binary_rules = Vec::new();
        for (i, rule) in rules.rules().iter().enumerate() {
            let Some(format) = rule.spec.binary else {
                continue;
            };
            let files = match rule.spec.files.is_empty() {
                true => None,
                false => {
                    let mut set = globset::GlobSetBuilder::new();
                    for f in &rule.spec.files {
                        set.add(globset::Glob::new(f).map_err(|e| Error::Rules {
                            file: rule.origin.clone(),
                            message: format!("{}: files: {e}", rule.spec.id),
                        })?);
                    }
                    Some(set.build().map_err(|e| Error::Rules {
                        file: rule.origin.clone(),
                        message: e.to_string(),
                    })?)
                }
            };
            binary_rules.push((format, i, files));
        }
        Ok(Matcher {
            rules,
            keywords,
            keyword_rules,
            keyword_contexts,
            file_globs,
            binary_rules,
            opts,
        })
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn keywords(&self) -> &KeywordFinder {
        &self.keywords
    }

    /// [`Matcher::scan`] of the content of a file called `name` (its last
    /// path component): the rules whose `files` name it also read all of it.
    pub fn scan_named(&self, hay: &[u8], name: &str, scratch: &mut Scratch) -> Vec<Match> {
        scratch.named.clear();
        if let Some((globs, rules)) = &self.file_globs {
            let mut hits = std::mem::take(&mut scratch.globs);
            globs.matches_candidate_into(&globset::Candidate::new(name), &mut hits);
            for &g in &hits {
                if !scratch.named.contains(&rules[g]) {
                    scratch.named.push(rules[g]);
                }
            }
            scratch.globs = hits;
        }
        let found = self.scan(hay, scratch);
        scratch.named.clear();
        found
    }

    /// Every match in `hay`, sorted by offset, with line and column; those
    /// inside base64-encoded values at the offset of the encoded text.
    pub fn scan(&self, hay: &[u8], scratch: &mut Scratch) -> Vec<Match> {
        scratch.truncated = false;
        let mut found = self.matches(hay, scratch);
        if !scratch.contexts.is_empty() {
            self.decoded(hay, scratch, &mut found);
        }
        set_lines(hay, &mut found);
        self.pair_key_ids(&mut found);
        found
    }

    /// The matches in `hay` itself, sorted by offset, lines not yet known.
    fn matches(&self, hay: &[u8], scratch: &mut Scratch) -> Vec<Match> {
        let windows = self.windows(hay, scratch);
        if windows.is_empty() {
            scratch.windows = windows;
            return Vec::new();
        }
        let mut found = Vec::new();
        scratch.seen.clear();
        scratch.claimed.clear();
        let rules = self.rules.rules();
        for &(r, ws, we) in windows.iter() {
            if found.len() >= MAX_MATCHES || scratch.seen.len() >= MAX_CANDIDATES {
                scratch.truncated = true;
                break;
            }
            let rule = &rules[r];
            let rank = rank(rule);
            let window = &hay[ws..we];
            // `may_assign` is held to the built-in generic pattern, not to
            // any rule that uses the generic validator.
            if rule.fast_generic && !may_assign(window) {
                continue;
            }
            // A candidate: the secret's, key id's and name's places in the
            // window. False once the input has yielded all a scan keeps.
            let mut take = |secret: Range<usize>,
                            key_id: Option<Range<usize>>,
                            binding: Option<Range<usize>>|
             -> bool {
                if found.len() >= MAX_MATCHES || scratch.seen.len() >= MAX_CANDIDATES {
                    scratch.truncated = true;
                    return false;
                }
                let offset = ws + secret.start;
                if secret.is_empty() || !scratch.seen.insert((r, offset)) {
                    return true;
                }
                if rank > 0 {
                    // A more specific rule's verdict on this span stands,
                    // even a rejection: a fallback may not report it instead.
                    scratch.claimed.push((offset, offset + secret.len(), rank));
                }
                let m = self.confirm(
                    hay,
                    r,
                    &window[secret],
                    offset,
                    key_id.map(|k| &window[k]),
                    binding.map(|b| &window[b]),
                );
                if let Some(m) = m {
                    found.push(m);
                }
                true
            };
            if rule.fast_generic {
                // The DFA finds the match; its groups are worked out by hand,
                // and the capture engine runs only where that cannot.
                for m in rule.regex().find_iter(window) {
                    let more = match generic_groups(window, m.start(), m.end()) {
                        Some((binding, secret)) => take(secret, None, Some(binding)),
                        None => match rule.regex().captures_at(window, m.start()) {
                            Some(caps) => match caps.get(rule.secret_group) {
                                Some(s) => {
                                    let b = caps.get(rule.binding_group.unwrap_or(usize::MAX));
                                    take(s.range(), None, b.map(|b| b.range()))
                                }
                                None => true,
                            },
                            None => true,
                        },
                    };
                    if !more {
                        break;
                    }
                }
                continue;
            }
            for caps in rule.regex().captures_iter(window) {
                let Some(s) = caps.get(rule.secret_group) else {
                    continue;
                };
                let group = |g: Option<usize>| caps.get(g.unwrap_or(usize::MAX)).map(|g| g.range());
                if !take(
                    s.range(),
                    group(rule.key_id_group),
                    group(rule.binding_group),
                ) {
                    break;
                }
            }
        }
        scratch.windows = windows;
        found.sort_by_key(|m| (m.offset, m.rule));
        if !scratch.claimed.is_empty() {
            // By start, with the furthest end so far among the spans of each
            // rank: a match overlaps a span of a higher rank exactly when
            // some span of that rank starting before the match's end reaches
            // past its start. A lookup a match, however many spans.
            let claimed = &mut scratch.claimed;
            claimed.sort_unstable();
            let mut reach = [Vec::new(), Vec::new()];
            for (r, reach) in reach.iter_mut().enumerate() {
                let mut far = 0;
                reach.extend(claimed.iter().map(|&(_, e, by)| {
                    if usize::from(by) > r {
                        far = far.max(e);
                    }
                    far
                }));
            }
            found.retain(|m| {
                let r = rank(&rules[m.rule]);
                if r == PROVIDER {
                    return true;
                }
                let end = m.offset + m.secret.len();
                let n = claimed.partition_point(|&(s, _, _)| s < end);
                n == 0 || reach[usize::from(r)][n - 1] <= m.offset
            });
        }
        self.drop_shadowed(&mut found);
        found
    }

    /// Decodes the values in the contexts the prefilter found, one level,
    /// and adds the matches of the decoded text at the encoded text's
    /// offset. The decoded text decides: a fallback rule's match on the
    /// encoded text itself (a generic `token: <base64>`) is dropped.
    fn decoded(&self, hay: &[u8], scratch: &mut Scratch, found: &mut Vec<Match>) {
        let mut contexts = std::mem::take(&mut scratch.contexts);
        contexts.sort_unstable();
        contexts.dedup();
        let mut encoded = Vec::new();
        decode::find_all(hay, &contexts, &mut encoded);
        contexts.clear();
        scratch.contexts = contexts;
        if encoded.is_empty() {
            return;
        }
        encoded.sort_by_key(|e| e.offset);
        encoded.dedup_by_key(|e| e.offset);
        let rules = self.rules.rules();
        // The furthest end of the encoded values so far, by offset: a match
        // overlaps one exactly when a value starting before its end reaches
        // past its start.
        let mut far = 0;
        let reach: Vec<usize> = encoded
            .iter()
            .map(|e| {
                far = far.max(e.offset + e.len);
                far
            })
            .collect();
        found.retain(|m| {
            let n = encoded.partition_point(|e| e.offset < m.offset + m.secret.len());
            rank(&rules[m.rule]) == PROVIDER || n == 0 || reach[n - 1] <= m.offset
        });
        let inner = scratch.inner.get_or_insert_with(Box::default);
        for e in &encoded {
            let line = &hay[line_start(hay, e.offset, 4096)..line_end(hay, e.offset, 4096)];
            let marked = self.allow_comment_on(line);
            if marked && !self.opts.keep_suppressed {
                continue;
            }
            for mut m in self.matches(&e.text, inner) {
                m.offset = e.offset;
                m.encoding = Some(Encoding::Base64);
                if marked {
                    m.suppressed = Some(Suppressed::AllowComment);
                }
                found.push(m);
            }
            // One level: what the decoded text encodes again stays encoded.
            inner.contexts.clear();
        }
        found.sort_by_key(|m| (m.offset, m.rule));
    }

    /// Per-rule windows around keyword hits, merged where they overlap.
    fn windows(&self, hay: &[u8], scratch: &mut Scratch) -> Vec<(usize, usize, usize)> {
        let mut windows = std::mem::take(&mut scratch.windows);
        windows.clear();
        let open = &mut scratch.open;
        let contexts = &mut scratch.contexts;
        contexts.clear();
        open.clear();
        open.resize(self.rules.len(), None);
        let rules = self.rules.rules();
        let keyword_rules = &self.keyword_rules;
        let keyword_contexts = &self.keyword_contexts;
        self.keywords
            .for_each(hay, &mut scratch.hits, |keyword, start, end| {
                if let Some(ctx) = keyword_contexts[keyword] {
                    contexts.push((start, ctx));
                }
                for &(r, next_line) in &keyword_rules[keyword] {
                    let ws = line_start(hay, start, BACK);
                    // Multi-line rules (key blocks) reach `window` bytes past the
                    // keyword, then to that line's end; others stop at their line.
                    let reach = rules[r].spec.window;
                    let mut we = line_end(hay, (end + reach).min(hay.len()), FORWARD);
                    if next_line && we < hay.len() {
                        we = line_end(hay, we + 1, FORWARD);
                    }
                    match &mut open[r] {
                        Some((_, e)) if ws <= *e => *e = (*e).max(we),
                        slot => {
                            if let Some((s, e)) = slot.take() {
                                windows.push((r, s, e));
                            }
                            *slot = Some((ws, we));
                        }
                    }
                }
            });
        for (r, w) in open.iter().enumerate() {
            if let Some((s, e)) = w {
                windows.push((r, *s, *e));
            }
        }
        // A rule of this file's name reads all of it.
        windows.extend(scratch.named.iter().map(|&r| (r, 0, hay.len())));
        windows
    }

    /// The filters a regex match must pass, cheapest first.
    fn confirm(
        &self,
        hay: &[u8],
        r: usize,
        secret: &[u8],
        offset: usize,
        key_id: Option<&[u8]>,
        binding: Option<&[u8]>,
    ) -> Option<Match> {
        let rule = &self.rules.rules()[r];
        let spec = &rule.spec;
        if let Some(min) = spec.min_entropy {
            if entropy(secret) < min {
                return None;
            }
        }
        let is_key_block = spec.validator == Some(Validator::PrivateKey);
        if !is_key_block
            && (placeholder(secret).is_some()
                // Shaped rules ask this of their random runs only.
                || (!rule.shape().is_some_and(Shape::has_runs) && repeats_one_character(secret)))
        {
            return None;
        }
        let ls = line_start(hay, offset, 4096);
        let le = line_end(hay, offset, 4096);
        let line = &hay[ls..le];
        let marked = self.allow_comment_on(line);
        if marked && !self.opts.keep_suppressed {
            return None;
        }
        let before = &hay[ls..offset];
        if !is_key_block && memchr::memmem::find(before, b";base64,").is_some() {
            return None; // inside a data: URI (an inline image or font)
        }
        if let Some(k) = key_id {
            if placeholder(k).is_some() || repeats_one_character(k) {
                return None;
            }
        }
        let mut facts = match spec.validator {
            Some(v) => {
                let around = validate::Around {
                    key_id,
                    binding,
                    line,
                    at: offset - ls,
                    hay,
                    hay_at: offset,
                };
                validate::run(v, secret, &around).ok()?
            }
            None => Facts::default(),
        };
        if facts.checksum == Some(Checksum::Invalid) && !self.opts.include_invalid {
            return None;
        }
        // A checksum that holds settles it; otherwise the random parts must
        // look random (not `ab12ab12…`, `ABCDEFG…`, or all digits where the
        // format mixes letters and digits).
        if facts.checksum != Some(Checksum::Valid)
            && !is_key_block
            && rule.shape().is_some_and(|s| s.doubt(secret).is_some())
        {
            return None;
        }
        let allowed = self
            .opts
            .allow_values
            .iter()
            .position(|re| re.is_match(secret));
        if allowed.is_some() && !self.opts.keep_suppressed {
            return None;
        }
        let suppressed = if marked {
            Some(Suppressed::AllowComment)
        } else {
            allowed.map(Suppressed::AllowValue)
        };
        let binding = match binding {
            Some(b) => Some(String::from_utf8_lossy(b).into_owned()),
            None => binding_before(before),
        };
        let lifetime = facts.lifetime.take().unwrap_or(spec.lifetime);
        Some(Match {
            rule: r,
            secret: secret.to_vec(),
            key_id: key_id.map(|k| String::from_utf8_lossy(k).into_owned()),
            binding,
            offset,
            line: 0,
            column: 0,
            lifetime,
            facts,
            encoding: None,
            suppressed,
        })
    }

    /// Whether `line` carries a `keytrace:allow` comment this matcher honours.
    fn allow_comment_on(&self, line: &[u8]) -> bool {
        !self.opts.ignore_allow_comments && memchr::memmem::find(line, ALLOW_MARKER).is_some()
    }

    /// Where one rule's secret lies inside another's (a JWT inside a
    /// `ghs_<app>_<JWT>` token, a generic assignment of a provider key), only
    /// the more specific finding is kept: the longer span, or on a tie the
    /// more specific rule (a provider's over a connection string's or the
    /// generic one).
    fn drop_shadowed(&self, found: &mut Vec<Match>) {
        if found.len() < 2 {
            return;
        }
        let rules = self.rules.rules();
        // Between provider rules on one span, the one whose checksum holds
        // says more (an identifiable storage key inside `AccountKey=`).
        let rank = |m: &Match| {
            rank(&rules[m.rule]) * 2 + u8::from(m.facts.checksum == Some(Checksum::Valid))
        };
        let capacity = |m: &Match| rules[m.rule].shape().map_or(f64::INFINITY, Shape::capacity);
        let mut drop = vec![false; found.len()];
        for i in 0..found.len() {
            let (si, ei) = (found[i].offset, found[i].offset + found[i].secret.len());
            for j in i + 1..found.len() {
                let (sj, ej) = (found[j].offset, found[j].offset + found[j].secret.len());
                if sj >= ei {
                    break; // sorted by start: no later match overlaps i
                }
                if found[i].rule == found[j].rule {
                    continue;
                }
                let (li, lj) = (ei - si, ej - sj);
                if sj >= si && ej <= ei && (lj < li || rank(&found[j]) < rank(&found[i])) {
                    drop[j] = true;
                } else if si == sj && ei <= ej && (li < lj || rank(&found[i]) < rank(&found[j])) {
                    drop[i] = true;
                } else if si == sj && ei == ej && rank(&found[i]) == rank(&found[j]) {
                    // One value, two provider formats that both take it:
                    // the narrower format is the likelier.
                    let (ci, cj) = (capacity(&found[i]), capacity(&found[j]));
                    if ci < cj {
                        drop[j] = true;
                    } else if cj < ci {
                        drop[i] = true;
                    }
                }
            }
        }
        let mut k = 0;
        found.retain(|_| {
            k += 1;
            !drop[k - 1]
        });
    }

    /// A secret whose rule names `key_id_from` partners takes the key id of
    /// the nearest partner match within a few lines (the earliest of the
    /// nearest); the partner is then part of this finding and not reported
    /// on its own. Each secret looks at most [`PAIR_CANDIDATES`] matches on
    /// either side, so that a line of thousands of matches costs no more
    /// than it is long.
    fn pair_key_ids(&self, found: &mut Vec<Match>) {
        let rules = self.rules.rules();
        if !found.iter().any(|m| !rules[m.rule].key_id_from.is_empty()) {
            return;
        }
        let mut consumed = vec![false; found.len()];
        for i in 0..found.len() {
            let partners = &rules[found[i].rule].key_id_from;
            if partners.is_empty() || found[i].key_id.is_some() {
                continue;
            }
            let line = found[i].line;
            // Sorted by offset, so by line too: the matches within reach
            // are one run of indices around `i`.
            let lo = i.saturating_sub(PAIR_CANDIDATES);
            let hi = (i + PAIR_CANDIDATES + 1).min(found.len());
            let mut best: Option<(u32, usize)> = None;
            for j in lo..hi {
                crate::base::work::add(1);
                let d = found[j].line.abs_diff(line);
                if d > PAIR_LINES || consumed[j] || !partners.contains(&found[j].rule) {
                    continue;
                }
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, j));
                }
            }
            if let Some((_, j)) = best {
                consumed[j] = true;
                let partner = found[j].clone();
                let m = &mut found[i];
                m.key_id = partner
                    .key_id
                    .or_else(|| Some(String::from_utf8_lossy(&partner.secret).into_owned()));
                if partner.lifetime == Lifetime::Short {
                    m.lifetime = Lifetime::Short;
                }
                for (k, v) in partner.facts.decoded {
                    m.facts.decoded.entry(k).or_insert(v);
                }
            }
        }
        let mut i = 0;
        found.retain(|_| {
            i += 1;
            !consumed[i - 1]
        });
    }
}

/// How specific a rule is: the generic rule takes any value assigned to a
/// secret-like name, a connection string any password in a URI; a provider
/// rule knows its format. Where several match one span, the most specific
/// decides.
const PROVIDER: u8 = 2;

fn rank(rule: &Rule) -> u8 {
    match rule.spec.validator {
        Some(Validator::Generic) => 0,
        Some(Validator::ConnectionString) => 1,
        _ => PROVIDER,
    }
}

/// Start of the line holding `pos`, looking back at most `limit` bytes.
fn line_start(hay: &[u8], pos: usize, limit: usize) -> usize {
    let from = pos.saturating_sub(limit);
    match memchr::memrchr(b'\n', &hay[from..pos]) {
        Some(i) => from + i + 1,
        None => from,
    }
}

/// End of the line holding `pos`, looking ahead at most `limit` bytes.
fn line_end(hay: &[u8], pos: usize, limit: usize) -> usize {
    let to = (pos + limit).min(hay.len());
    match memchr::memchr(b'\n', &hay[pos..to]) {
        Some(i) => pos + i,
        None => to,
    }
}

/// Fills in line and column for matches sorted by offset, in one pass: each
/// byte is counted once, however many matches share a line.
fn set_lines(hay: &[u8], found: &mut [Match]) {
    // Columns count code points: every byte but UTF-8 continuation bytes.
    let chars = |b: &[u8]| b.iter().filter(|&&b| (b as i8) >= -0x40).count() as u32;
    let (mut line, mut pos, mut column) = (1u32, 0usize, 1u32);
    for m in found.iter_mut() {
        // memchr's count is vectorised, unlike a loop over every newline.
        let between = &hay[pos..m.offset];
        crate::base::work::add(between.len());
        match memchr::memrchr(b'\n', between) {
            Some(last) => {
                line += memchr::memchr_iter(b'\n', between).count() as u32;
                column = 1 + chars(&between[last + 1..]);
            }
            None => column += chars(between),
        }
        pos = m.offset;
        m.line = line;
        m.column = column;
    }
}

#[cfg(test)]
mod tests;

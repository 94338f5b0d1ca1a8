//! The human format: one block per finding (grouped by owner and identity
//! when there is an inventory), redacted unless `--show-secrets`, then the
//! inventory's problems, the scan's problems and a summary; colour only when
//! writing to a terminal.
use std::io::{self, Write};

use super::model::{ReportOptions, Reporter, ScanReport};
use crate::base::kinds::Lifetime;
use crate::base::text::terminal_safe as t;
use crate::finding::Finding;
use crate::source::Severity;

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold_red(&self, s: &str) -> String {
        self.wrap("1;31", s)
    }
    fn cyan(&self, s: &str) -> String {
        self.wrap("36", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn identity_name(i: &serde_json::Value) -> String {
    match i {
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.as_str().unwrap_or_default().to_string(),
    }
}

/// A JSON value as text, strings without their quotes.
fn value_text(v: &serde_json::Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// Text for a person at a terminal: each finding with its locations, owner
/// and risks, then the inventory's problems, the scan's problems and a
/// summary; colour only when `opts` says so.
pub struct Human {
    pub opts: ReportOptions,
}

impl Reporter for Human {
    fn write(&self, report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
        write(report, self.opts, out)
    }
}

/// Findings per owner, most first, the unowned last: who has work to do.
fn owner_rollup(report: &ScanReport, p: &Paint, out: &mut dyn Write) -> io::Result<()> {
    let mut by: std::collections::BTreeMap<Option<&str>, (usize, usize)> = Default::default();
    for f in &report.findings {
        let owner = f.owner.as_deref().filter(|_| f.identity.is_some());
        let e = by.entry(owner).or_default();
        e.0 += 1;
        e.1 += usize::from(f.lifetime == Lifetime::Long);
    }
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by_key(|(o, (n, _))| (o.is_none(), std::cmp::Reverse(*n), *o));
    writeln!(out, "Per owner:")?;
    for (owner, (n, long)) in rows {
        let name = match owner {
            Some(o) => format!("{:<24}", t(o)),
            None => p.yellow(&format!("{:<24}", "unowned")),
        };
        writeln!(out, "  {name} {} ({long} long-lived)", plural(n, "finding"))?;
    }
    writeln!(out)
}

/// A line of a finding's locations in human output.
enum Shown<'a> {
    /// A location, and how its commit is introduced (`introduced in`, `in`).
    At(&'a crate::finding::Location, &'static str),
    /// Later versions of a file that carry the secret, counted.
    More(usize),
}

/// The locations a person reads: per path, where the secret was introduced
/// (the commit that brought it), where it is now (the working tree, or the
/// version at HEAD), and a count of the versions in between. `all` lists
/// every location, as JSON keeps them.
fn shown_locations(locations: &[crate::finding::Location], all: bool) -> Vec<Shown<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < locations.len() {
        let key = (&locations[i].repo, &locations[i].path);
        let end = locations[i..]
            .iter()
            .position(|l| (&l.repo, &l.path) != key)
            .map_or(locations.len(), |n| i + n);
        let group = &locations[i..end];
        i = end;
        let history = group.iter().filter(|l| l.commit.is_some()).count();
        if all {
            out.extend(group.iter().map(|l| Shown::At(l, "in")));
            continue;
        }
        let introduced: Vec<&crate::finding::Location> = group
            .iter()
            .filter(|l| l.introduced == Some(true) || (history == 1 && l.commit.is_some()))
            .collect();
        out.extend(introduced.iter().map(|l| Shown::At(l, "introduced in")));
        // Now: the working tree's copy (unless it stands where the secret
        // was introduced: that line says it), else the version at HEAD.
        let now: Vec<&crate::finding::Location> = group
            .iter()
            .filter(|l| l.commit.is_none())
            .filter(|l| {
                !introduced
                    .iter()
                    .any(|i| (i.line, i.column, i.at_head) == (l.line, l.column, true))
            })
            .collect();
        let head = group
            .iter()
            .find(|l| l.commit.is_some() && l.introduced != Some(true) && l.at_head);
        let mut listed = introduced.len();
        let worktree = group.iter().any(|l| l.commit.is_none());
        if !worktree {
            if let Some(h) = head {
                out.push(Shown::At(h, "still at HEAD in"));
                listed += 1;
            }
        }
        out.extend(now.iter().map(|l| Shown::At(l, "")));
        let more = history.saturating_sub(listed);
        if more > 0 {
            out.push(Shown::More(more));
        }
    }
    out
}

/// With an inventory, findings are grouped by owner, then identity, with the
/// unowned ones last; without one, they are listed in path order.
fn write(report: &ScanReport, opts: ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let p = Paint(opts.color);
    let grouped = !report.identities.is_empty();
    let mut order: Vec<&Finding> = report.findings.iter().collect();
    if grouped {
        order.sort_by_key(|f| {
            (
                f.identity.is_none(),
                f.owner.clone().unwrap_or_default(),
                f.identity.as_ref().map(identity_name).unwrap_or_default(),
            )
        });
    }
    let mut last_group: Option<(Option<String>, Option<String>)> = None;
    for f in order {
        if grouped {
            let group = (f.owner.clone(), f.identity.as_ref().map(identity_name));
            if last_group.as_ref() != Some(&group) {
                match &group {
                    (_, None) => writeln!(
                        out,
                        "{}",
                        p.yellow("== Unowned: no identity in the inventory claims these")
                    )?,
                    (owner, Some(id)) => writeln!(
                        out,
                        "== {} / {}",
                        p.cyan(&t(owner.as_deref().unwrap_or("no owner"))),
                        t(id)
                    )?,
                }
                writeln!(out)?;
                last_group = Some(group);
            }
        }
        writeln!(out, "{}  {}", p.bold_red(&t(&f.rule)), t(&f.name))?;
        let mut facts = vec![format!("{}-lived", f.lifetime.as_str())];
        if let Some(c) = f.checksum {
            facts.push(format!(
                "checksum {}",
                if c == crate::base::kinds::Checksum::Valid {
                    "valid"
                } else {
                    "INVALID"
                }
            ));
        }
        let shown = f.secret.as_deref().unwrap_or(&f.redacted);
        writeln!(out, "  secret       {}  ({})", t(shown), facts.join(", "))?;
        writeln!(out, "  fingerprint  {}", p.dim(&f.fingerprint))?;
        if let Some(k) = &f.key_id {
            writeln!(out, "  key id       {}", t(k))?;
        }
        for (k, v) in &f.decoded {
            let key = k.replace('_', " ");
            writeln!(out, "  {:<12} {}", t(&key), t(&value_text(v)))?;
        }
        if let Some(b) = &f.binding {
            writeln!(out, "  binding      {}", t(b))?;
        }
        match (f.confidence, f.doubt) {
            (crate::finding::Confidence::High, _) => {}
            (crate::finding::Confidence::Low, Some(why)) => writeln!(
                out,
                "  confidence   {}",
                p.dim(&format!("low: only in test or example paths, and {why}"))
            )?,
            (crate::finding::Confidence::Low, None) => writeln!(
                out,
                "  confidence   {}",
                p.dim("low: the rule rates its kind as weak evidence of a usable credential")
            )?,
            (crate::finding::Confidence::Medium, _) => writeln!(
                out,
                "  confidence   {}",
                p.dim("medium: the format has no prefix of its own; the name beside it says which provider")
            )?,
        }
        if let Some(v) = &f.verification {
            let mut text = match &v.host {
                Some(h) => format!("{} ({}, asked {})", v.state.as_str(), t(&v.reason), t(h)),
                None => format!("{} ({})", v.state.as_str(), t(&v.reason)),
            };
            if !v.identity.is_empty() {
                let who: Vec<String> = v
                    .identity
                    .iter()
                    .map(|(k, x)| format!("{} {}", t(k), t(x)))
                    .collect();
                text.push_str(&format!("; {}", who.join(", ")));
            }
            if !v.scopes.is_empty() {
                text.push_str(&format!("; scopes {}", t(&v.scopes.join(", "))));
            }
            if let Some(e) = &v.expires_at {
                text.push_str(&format!("; expires {}", t(e)));
            }
            let text = match v.state {
                crate::rules::verify::State::Live => p.bold_red(&text),
                crate::rules::verify::State::Dead => p.dim(&text),
                _ => p.yellow(&text),
            };
            writeln!(out, "  verified     {text}")?;
        }
        if let Some(d) = &f.first_seen {
            writeln!(out, "  first seen   {}", t(d))?;
        }
        if !f.at_head {
            writeln!(
                out,
                "  {}",
                p.yellow("removed from HEAD, still exposed in git history: rotate it")
            )?;
        }
        let name = identity_name;
        let owner = match (&f.identity, &f.owner) {
            (Some(i), Some(o)) => format!("{} (identity {})", t(o), t(&name(i))),
            (Some(i), None) => format!("no owner (identity {})", t(&name(i))),
            _ => p.yellow("unowned: no identity in the inventory claims it"),
        };
        writeln!(out, "  owner        {owner}")?;
        if !f.code_owners.is_empty() {
            let named: Vec<String> = f
                .code_owners
                .iter()
                .map(|c| format!("{} ({})", t(&c.owner), t(&c.source)))
                .collect();
            writeln!(out, "  code owners  {}", named.join(", "))?;
        }
        let risks: Vec<String> = f
            .risks
            .iter()
            .map(|r| format!("{} {}", r.id, r.title))
            .collect();
        writeln!(out, "  risks        {}", risks.join("; "))?;
        let shown = shown_locations(&f.locations, opts.all_locations);
        for (i, line) in shown.iter().enumerate() {
            let head = if i == 0 {
                "  found at     "
            } else {
                "               "
            };
            let text = match line {
                Shown::At(l, note) => {
                    let mut at = p.cyan(&format!("{}:{}:{}", t(&l.path), l.line, l.column));
                    if l.encoding.is_some() {
                        at.push_str(" (base64-encoded)");
                    }
                    if let Some(c) = &l.commit {
                        let short: String = c.chars().take(12).collect();
                        at.push_str(&format!(" {note} {}", t(&short)));
                        if let Some(a) = &l.author {
                            at.push_str(&format!(" by {}", t(a)));
                        }
                        if let Some(d) = &l.date {
                            let day: String = d.chars().take(10).collect();
                            at.push_str(&format!(" on {}", t(&day)));
                        }
                    }
                    at
                }
                Shown::More(n) => p.dim(&format!(
                    "+{n} later version{} of the file carrying it (--all-locations lists them)",
                    if *n == 1 { "" } else { "s" }
                )),
            };
            writeln!(out, "{head}{text}")?;
        }
        writeln!(out)?;
    }
    let flagged: Vec<_> = report
        .identities
        .iter()
        .filter(|i| !i.problems.is_empty())
        .collect();
    if !flagged.is_empty() {
        writeln!(out, "Identity issues:")?;
        for i in flagged {
            for p in &i.problems {
                let risk = p.risk.map(|r| format!(" ({r})")).unwrap_or_default();
                writeln!(out, "  {}: {} — {}{risk}", t(&i.agent), p.id, t(&p.message))?;
            }
        }
        writeln!(out)?;
    }
    if !report.findings.is_empty() {
        for (id, title) in crate::identity::risks::TITLES {
            let n = report
                .findings
                .iter()
                .filter(|f| f.risks.iter().any(|r| r.id == id))
                .count();
            if n > 0 {
                writeln!(out, "{id:<6} {title:<42} {}", plural(n, "finding"))?;
            }
        }
        writeln!(out)?;
    }
    if grouped && !report.findings.is_empty() {
        owner_rollup(report, &p, out)?;
    }
    let s = &report.stats;
    let locations: usize = report.findings.iter().map(|f| f.locations.len()).sum();
    let long = report
        .findings
        .iter()
        .filter(|f| f.lifetime == Lifetime::Long)
        .count();
    let history = if s.commits > 0 || s.blobs > 0 {
        format!(
            " and {} of {}",
            plural(s.blobs as usize, "blob"),
            plural(s.commits as usize, "commit")
        )
    } else {
        String::new()
    };
    let summary = format!(
        "{} ({} long-lived, {}) in {}{history}, {}, {:.2} s",
        plural(report.findings.len(), "finding"),
        long,
        plural(locations, "location"),
        plural(s.files as usize, "file"),
        human_bytes(s.bytes),
        s.seconds
    );
    writeln!(
        out,
        "{}",
        if report.findings.is_empty() {
            summary
        } else {
            p.bold_red(&summary)
        }
    )?;
    if s.suppressed > 0 {
        writeln!(
            out,
            "{} accepted in the baseline, not shown",
            plural(s.suppressed as usize, "finding")
        )?;
    }
    if !s.intended.is_empty() {
        let n: u64 = s.intended.iter().map(|c| c.findings).sum();
        writeln!(
            out,
            "{} held on purpose ([[intended]] in .keytrace.toml), not shown:",
            plural(n as usize, "finding")
        )?;
        for c in &s.intended {
            writeln!(out, "  {:>6}  {}", c.findings, t(&c.reason))?;
        }
    }
    if s.skipped_binary > 0 {
        writeln!(
            out,
            "{} binary: read for key stores only",
            plural(s.skipped_binary as usize, "file")
        )?;
    }
    if !report.errors.is_empty() {
        writeln!(out, "{}:", plural(report.errors.len(), "problem"))?;
        for e in &report.errors {
            let tag = match e.severity {
                Severity::Error => p.bold_red("error"),
                Severity::Warning => p.yellow("warning"),
            };
            writeln!(out, "  {tag} {}: {}", t(&e.path), t(&e.message))?;
        }
    }
    Ok(())
}

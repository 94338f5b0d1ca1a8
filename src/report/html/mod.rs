//! The sweep report as one self-contained HTML page for people who would
//! rather look than read: inline CSS and SVG, no script, nothing fetched (a
//! CSP forbids it). Secrets appear only in their redacted form;
//! `Finding::secret` is never read here.
use std::collections::BTreeSet;
use std::io::{self, Write};

use super::sweep::{SweepReport, SweptFinding};
use crate::finding::Finding;
use crate::identity::risks::TITLES;

/// Fill of the owner bars. Public so the browser test can count its pixels.
pub const BAR: [u8; 3] = [0x25, 0x63, 0xeb];
/// Fill of the unowned bar: a warning colour.
pub const UNOWNED_BAR: [u8; 3] = [0xd9, 0x77, 0x06];
/// Fill of the age histogram bars.
pub const AGE_BAR: [u8; 3] = [0x0d, 0x94, 0x88];
/// Heat map cell with no finding.
const CELL_EMPTY: [u8; 3] = [0xf1, 0xf3, 0xf5];
/// Heat map cells shade from this (fewest) to `CELL_HIGH` (the largest count).
const CELL_LOW: [u8; 3] = [0xfe, 0xe2, 0xe2];
/// The largest count's cell. Public so the browser test can count its pixels.
pub const CELL_HIGH: [u8; 3] = [0xb9, 0x1c, 0x1c];

/// The page's sections, in order, by their `id` (tests and links find them so).
pub const SECTIONS: [&str; 9] = [
    "totals",
    "fix-first",
    "owners",
    "unowned",
    "risk-matrix",
    "age",
    "new",
    "failed",
    "findings",
];

fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// Writes the page for `report`.
pub fn write(report: &SweepReport, out: &mut dyn Write) -> io::Result<()> {
    let mut w = io::BufWriter::new(out);
    head(&mut w, report)?;
    totals(&mut w, report)?;
    fix_first(&mut w, report)?;
    owners(&mut w, report)?;
    unowned(&mut w, report)?;
    risk_matrix(&mut w, report)?;
    age(&mut w, report)?;
    new_findings(&mut w, report)?;
    failed(&mut w, report)?;
    all_findings(&mut w, report)?;
    writeln!(w, "</main>\n</body>\n</html>")?;
    w.flush()
}

fn head(w: &mut impl Write, r: &SweepReport) -> io::Result<()> {
    let css = CSS
        .replace("{BAR}", &hex(BAR))
        .replace("{UNOWNED_BAR}", &hex(UNOWNED_BAR))
        .replace("{AGE_BAR}", &hex(AGE_BAR));
    write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>keytrace sweep report</title>\n<style>{css}</style>\n</head>\n<body>\n\
         <header><h1>keytrace sweep report</h1><p>Generated {} · report version {}</p></header>\n<main>\n",
        escape(&r.generated),
        r.version
    )
}

fn totals(w: &mut impl Write, r: &SweepReport) -> io::Result<()> {
    let t = &r.totals;
    let cards = [
        ("Repositories", t.repositories, false),
        ("Failed", t.failed, t.failed > 0),
        ("Findings", t.findings, false),
        ("Unowned", t.unowned, t.unowned > 0),
        ("New since previous sweep", t.new, t.new > 0),
        ("At HEAD", t.at_head, false),
    ];
    // Live counts only where the sweep checked (`--verify`).
    let live = [("Live at last check", t.live, t.live > 0)];
    // Listing changes only where a sweep listed an organisation twice.
    let listing = [
        ("Added to the listing", t.added, false),
        ("Gone from the listing", t.removed, t.removed > 0),
    ];
    let cards = cards
        .into_iter()
        .chain(live.into_iter().filter(|_| t.verified > 0))
        .chain(listing.into_iter().filter(|_| t.added + t.removed > 0));
    writeln!(
        w,
        "<section id=\"totals\"><h2>Totals</h2><div class=\"cards\">"
    )?;
    for (k, n, warn) in cards {
        writeln!(
            w,
            "<div class=\"card{}\"><div class=\"n\">{n}</div><div class=\"k\">{k}</div></div>",
            if warn { " warn" } else { "" }
        )?;
    }
    writeln!(w, "</div></section>")
}

fn owners(w: &mut impl Write, r: &SweepReport) -> io::Result<()> {
    writeln!(w, "<section id=\"owners\"><h2>Findings per owner</h2>")?;
    let mut rows: Vec<_> = r.owners.iter().filter(|o| o.findings > 0).collect();
    rows.sort_by(|a, b| b.findings.cmp(&a.findings).then(a.owner.cmp(&b.owner)));
    let max = rows.iter().map(|o| o.findings).max().unwrap_or(0);
    if max == 0 {
        none(w)?;
    } else {
        const LABEL: usize = 220;
        const BARS: usize = 760;
        const ROW: usize = 30;
        const HEIGHT: usize = 20;
        let width = LABEL + BARS + 60;
        let height = rows.len() * ROW + 8;
        writeln!(
            w,
            "<div class=\"chart\"><svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Findings per owner\">"
        )?;
        for (i, o) in rows.iter().enumerate() {
            let name = owner_label(o.owner.as_deref());
            let y = 4 + i * ROW;
            let mid = y + HEIGHT / 2;
            let len = (o.findings * BARS).div_ceil(max).max(1);
            let class = if o.owner.is_some() {
                "bar"
            } else {
                "bar unowned"
            };
            writeln!(
                w,
                "<text x=\"{}\" y=\"{mid}\" text-anchor=\"end\" dominant-baseline=\"middle\"{}><title>{}</title>{}</text>\
                 <rect class=\"{class}\" x=\"{LABEL}\" y=\"{y}\" width=\"{len}\" height=\"{HEIGHT}\"><title>{}: {}</title></rect>\
                 <text x=\"{}\" y=\"{mid}\" dominant-baseline=\"middle\">{}</text>",
                LABEL - 10,
                if o.owner.is_none() {
                    " class=\"warn\""
                } else {
                    ""
                },
                escape(name),
                escape(&truncate(name, 30)),
                escape(name),
                o.findings,
                LABEL + len + 6,
                o.findings
            )?;
        }
        writeln!(w, "</svg></div>")?;
    }
    let checked = r.totals.verified > 0;
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|o| {
            let ids = if o.identities.is_empty() {
                dash()
            } else {
                o.identities
                    .iter()
                    .map(|(agent, n)| format!("<code>{}</code> {n}", escape(agent)))
                    .collect::<Vec<_>>()
                    .join("<br>")
            };
            let mut row = vec![td_html(owner_html(o.owner.as_deref())), td_num(o.findings)];
            if checked {
                row.push(td_num(o.live));
            }
            row.push(td_html(ids));
            row
        })
        .collect();
    if !table_rows.is_empty() {
        let mut headers = vec!["Owner", "#Findings"];
        if checked {
            headers.push("#Live");
        }
        headers.push("Identities (agent, findings)");
        table(w, &headers, &table_rows)?;
    }
    writeln!(w, "</section>")
}

/// Rows the "fix first" list shows at most; the rest are counted.
const FIX_FIRST: usize = 50;

/// Why a finding is among the first to fix, most urgent first: live at its
/// last check, an administrative key, a long-lived key of an offboarded
/// identity, a long-lived key nobody owns. None: not urgent.
fn urgency(f: &crate::finding::Finding) -> Option<(u8, &'static str)> {
    let live = f
        .verification
        .as_ref()
        .is_some_and(|v| v.state == crate::rules::verify::State::Live);
    let long = f.lifetime == crate::base::kinds::Lifetime::Long;
    let offboarded = f.risks.iter().any(|r| r.id == "NHI1") && f.identity.is_some();
    if live {
        Some((0, "live at its last check"))
    } else if f.privilege.as_deref() == Some("admin") {
        Some((1, "an administrative key"))
    } else if long && offboarded {
        Some((
            2,
            "long-lived, held by an offboarded or unreviewed identity",
        ))
    } else if long && f.owner.is_none() {
        Some((3, "long-lived and nobody owns it"))
    } else {
        None
    }
}

/// The findings to fix first, with why, before the charts.
fn fix_first(w: &mut impl Write, r: &SweepReport) -> io::Result<()> {
    writeln!(w, "<section id=\"fix-first\"><h2>Fix first</h2>")?;
    let mut urgent: Vec<(u8, &str, &crate::finding::Finding)> = r
        .findings
        .iter()
        .filter_map(|s| urgency(&s.finding).map(|(n, why)| (n, why, &s.finding)))
        .collect();
    urgent.sort_by(|a, b| (a.0, &a.2.first_seen).cmp(&(b.0, &b.2.first_seen)));
    let rows: Vec<Vec<String>> = urgent
        .iter()
        .take(FIX_FIRST)
        .map(|(_, why, f)| {
            vec![
                td(why),
                td(&f.rule),
                td_code(&f.redacted),
                td(owner_label(f.owner.as_deref())),
                td_html(locations_html(f)),
            ]
        })
        .collect();
    table(w, &["Why", "Rule", "Secret", "Owner", "Locations"], &rows)?;
    if urgent.len() > FIX_FIRST {
        writeln!(
            w,
            "<p class=\"muted\">and {} more of these below.</p>",
            urgent.len() - FIX_FIRST
        )?;
    }
    writeln!(w, "</section>")
}

/// Rows the unowned and the new tables show at most; every finding is in
/// the grouped view below (a flat table of 14,000 rows took Chromium 14 s).
const FIRST_ROWS: usize = 100;

/// Keeps the `n` findings to look at first: urgent, then at HEAD, then the
/// oldest; stable, so the report's order breaks ties.
fn first_to_look_at<T>(all: &mut Vec<T>, n: usize, finding: impl Fn(&T) -> &Finding) {
    all.sort_by_cached_key(|t| {
        let f = finding(t);
        (
            urgency(f).map_or(u8::MAX, |u| u.0),
            !f.at_head,
            // Undated last.
            f.first_seen.is_none(),
            f.first_seen.clone(),
        )
    });
    all.truncate(n);
}

fn unowned(w: &mut impl Write, r: &SweepReport) -> io::Result<()> {
    writeln!(w, "<section id=\"unowned\"><h2>Unowned credentials</h2>")?;
    let mut all: Vec<&Finding> = r
        .findings
        .iter()
        .map(|s| &s.finding)
        .filter(|f| f.owner.is_none())
        .collect();
    if all.len() > FIRST_ROWS {
        let at_head = all.iter().filter(|f| f.at_head).count();
        let in_repos: BTreeSet<&str> = all.iter().flat_map(|f| repos(f)).collect();
        writeln!(
            w,
            "<p>{} unowned credentials, {at_head} of them still at HEAD, in {} repositories. \
             The {FIRST_ROWS} to look at first: urgent, then at HEAD, then the oldest. \
             Every one is under <a href=\"#findings-unowned\">All findings → Unowned</a>.</p>",
            all.len(),
            in_repos.len()
        )?;
        first_to_look_at(&mut all, FIRST_ROWS, |f| f);
    }
    let rows: Vec<Vec<String>> = all
        .into_iter()
        .map(|f| {
            vec![
                td(&f.rule),
                td(&f.provider),
                td_code(&f.redacted),
                td_html(locations_html(f)),
                td_html(first_seen_html(f)),
                td_html(risks_html(f)),
            ]
        })
        .collect();
    table(
        w,
        &[
            "Rule",
            "Provider",
            "Secret",
            "Locations",
            "First commit",
            "Risks",
        ],
        &rows,
    )?;
    writeln!(w, "</section>")
}

/// The fill of a heat map cell: lighter for fewer, darker for more.
fn shade(count: usize, max: usize) -> [u8; 3] {
    if count == 0 || max == 0 {
        return CELL_EMPTY;
    }
    let t = 0.15 + 0.85 * (count.min(max) as f64 / max as f64);
    let mix = |i: usize| {
        (CELL_LOW[i] as f64 + (CELL_HIGH[i] as f64 - CELL_LOW[i] as f64) * t).round() as u8
    };
    [mix(0), mix(1), mix(2)]
}

fn risk_matrix(w: &mut impl Write, r: &SweepReport) -> io::Result<()> {
    writeln!(
        w,
        "<section id=\"risk-matrix\"><h2>OWASP NHI risks per owner</h2>"
    )?;
    let m = &r.risk_matrix;
    if m.owners.is_empty() {
        none(w)?;
        return writeln!(w, "</section>");
    }
    // Every risk of the Top 10 in its order, then any the model adds.
    let mut rows: Vec<(&str, &str)> = TITLES.to_vec();
    for id in &m.risks {
        if !rows.iter().any(|(i, _)| i == id) {
            rows.push((id.as_str(), ""));
        }
    }
    let count = |id: &str, o: usize| -> usize {
        m.risks
            .iter()
            .position(|r| r == id)
            .and_then(|i| m.counts.get(i))
            .and_then(|row| row.get(o))
            .copied()
            .unwrap_or(0)
    };
    let max = rows
        .iter()
        .flat_map(|(id, _)| (0..m.owners.len()).map(move |o| (id, o)))
        .map(|(id, o)| count(id, o))
        .max()
        .unwrap_or(0);
    const LABEL: usize = 330;
    const CELL_W: usize = 96;
    const CELL_H: usize = 28;
    const TOP: usize = 34;
    let width = LABEL + m.owners.len() * CELL_W;
    let height = TOP + rows.len() * CELL_H + 4;
    writeln!(
        w,
        "<div class=\"chart\"><svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Risks per owner\">"
    )?;
    for (o, owner) in m.owners.iter().enumerate() {
        let name = owner_label(owner.as_deref());
        writeln!(
            w,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"600\"{}><title>{}</title>{}</text>",
            LABEL + o * CELL_W + CELL_W / 2,
            TOP - 12,
            if owner.is_none() { " class=\"warn\"" } else { "" },
            escape(name),
            escape(&truncate(name, 13))
        )?;
    }
    for (ri, (id, title)) in rows.iter().enumerate() {
        let y = TOP + ri * CELL_H;
        let mid = y + CELL_H / 2;
        writeln!(
            w,
            "<text x=\"0\" y=\"{mid}\" dominant-baseline=\"middle\"><tspan font-weight=\"600\">{}</tspan> {}</text>",
            escape(id),
            escape(&truncate(title, 44))
        )?;
        for o in 0..m.owners.len() {
            let n = count(id, o);
            let fill = shade(n, max);
            // Dark cells take white text.
            let light = n > 0 && n * 2 > max;
            let x = LABEL + o * CELL_W;
            writeln!(
                w,
                "<rect class=\"cell\" x=\"{x}\" y=\"{y}\" width=\"{CELL_W}\" height=\"{CELL_H}\" fill=\"{}\"><title>{} × {}: {n}</title></rect>\
                 <text x=\"{}\" y=\"{mid}\" text-anchor=\"middle\" dominant-baseline=\"middle\"{}>{n}</text>",
                hex(fill),
                escape(id),
                escape(owner_label(m.owners[o].as_deref())),
                x + CELL_W / 2,
                if light { " class=\"light\"" } else { "" }
            )?;
        }
    }
    writeln!(w, "</svg></div>")?;
    writeln!(
        w,
        "<p class=\"muted\">Findings showing each risk; darker cells hold more (largest: {max}).</p></section>"
    )
}

fn age(w: &mut impl Write, r: &SweepReport) -> io::Result<()> {
    writeln!(
        w,
        "<section id=\"age\"><h2>Secrets by first commit date</h2>"
    )?;
    let buckets = &r.age_histogram;
    let max = buckets.iter().map(|b| b.count).max().unwrap_or(0);
    if max == 0 {
        none(w)?;
        return writeln!(w, "</section>");
    }
    const PAD: usize = 20;
    const BAR_W: usize = 100;
    const GAP: usize = 28;
    const TOP: usize = 24;
    const CHART: usize = 180;
    const BOTTOM: usize = 30;
    let width = 2 * PAD + buckets.len() * (BAR_W + GAP) - GAP;
    let height = TOP + CHART + BOTTOM;
    let base = TOP + CHART;
    writeln!(
        w,
        "<div class=\"chart\"><svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Secrets by age\">"
    )?;
    writeln!(
        w,
        "<line class=\"axis\" x1=\"{}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>",
        PAD - 6,
        width - PAD + 6
    )?;
    for (i, b) in buckets.iter().enumerate() {
        let x = PAD + i * (BAR_W + GAP);
        let h = (b.count * CHART).div_ceil(max);
        let mid = x + BAR_W / 2;
        writeln!(
            w,
            "<rect class=\"age-bar\" x=\"{x}\" y=\"{}\" width=\"{BAR_W}\" height=\"{h}\"><title>{}: {}</title></rect>\
             <text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"600\">{}</text>\
             <text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            base - h,
            escape(&b.label),
            b.count,
            base - h - 6,
            b.count,
            base + 18,
            escape(&truncate(&b.label, 16))
        )?;
    }
    writeln!(w, "</svg></div></section>")
}

fn new_findings(w: &mut impl Write, r: &SweepReport) -> io::Result<()> {
    writeln!(
        w,
        "<section id=\"new\"><h2>New since the previous sweep</h2>"
    )?;
    let mut all: Vec<&SweptFinding> = r.findings.iter().filter(|s| s.sweep.new).collect();
    if all.len() > FIRST_ROWS {
        writeln!(
            w,
            "<p>{} findings are new. The {FIRST_ROWS} to look at first: urgent, \
             then at HEAD, then the oldest. Every one is under \
             <a href=\"#findings\">All findings</a>.</p>",
            all.len(),
        )?;
        first_to_look_at(&mut all, FIRST_ROWS, |s| &s.finding);
    }
    let rows: Vec<Vec<String>> = all
        .into_iter()
        .map(|s: &SweptFinding| {
            let f = &s.finding;
            vec![
                td(&f.rule),
                td(&f.provider),
                td_code(&f.redacted),
                td_html(owner_html(f.owner.as_deref())),
                td_html(repos_html(f)),
                td(date(&s.sweep.first_seen)),
            ]
        })
        .collect();
    table(
        w,
        &[
            "Rule",
            "Provider",
            "Secret",
            "Owner",
            "Repositories",
            "First swept",
        ],
        &rows,
    )?;
    writeln!(w, "</section>")
}

fn failed(w: &mut impl Write, r: &SweepReport) -> io::Result<()> {
    writeln!(w, "<section id=\"failed\"><h2>Failed repositories</h2>")?;
    let rows: Vec<Vec<String>> = r
        .repositories
        .iter()
        .filter_map(|repo| {
            let e = repo.error.as_deref()?;
            Some(vec![
                td(&repo.name),
                repo.last_sweep
                    .as_deref()
                    .map_or_else(|| td_html(dash()), td),
                td(e),
            ])
        })
        .collect();
    table(w, &["Repository", "Last sweep", "Error"], &rows)?;
    writeln!(w, "</section>")
}

/// Every finding, grouped owner → repository → identity in collapsible
/// sections (`<details>`: no script), each with its count; the unowned
/// last. A finding in several repositories is under each.
fn all_findings(w: &mut impl Write, r: &SweepReport) -> io::Result<()> {
    use std::collections::BTreeMap;
    writeln!(w, "<section id=\"findings\"><h2>All findings</h2>")?;
    if r.findings.is_empty() {
        none(w)?;
        return writeln!(w, "</section>");
    }
    type Ids<'a> = BTreeMap<String, Vec<&'a Finding>>;
    let mut tree: BTreeMap<(bool, String), (usize, BTreeMap<String, Ids>)> = BTreeMap::new();
    for s in &r.findings {
        let f = &s.finding;
        let owner = (
            f.owner.is_none(),
            owner_label(f.owner.as_deref()).to_string(),
        );
        let node = tree.entry(owner).or_default();
        node.0 += 1;
        let identity = identity_text(f).unwrap_or_else(|| "no identity".into());
        let mut in_repos: Vec<&str> = repos(f).into_iter().collect();
        if in_repos.is_empty() {
            in_repos.push("(no repository)");
        }
        for repo in in_repos {
            let ids = node.1.entry(repo.to_string()).or_default();
            ids.entry(identity.clone()).or_default().push(f);
        }
    }
    let count = |n: usize| format!("<span class=\"count\">{n}</span>");
    for ((unowned, owner), (n, by_repo)) in &tree {
        let (class, id) = if *unowned {
            (" class=\"warn-text\"", " id=\"findings-unowned\"")
        } else {
            ("", "")
        };
        writeln!(
            w,
            "<details{id}><summary><b{class}>{}</b> {}</summary>",
            escape(owner),
            count(*n)
        )?;
        for (repo, ids) in by_repo {
            let k: usize = ids.values().map(Vec::len).sum();
            writeln!(
                w,
                "<details><summary>{} {}</summary>",
                escape(repo),
                count(k)
            )?;
            for (identity, fs) in ids {
                writeln!(
                    w,
                    "<details><summary>{} {}</summary>",
                    escape(identity),
                    count(fs.len())
                )?;
                // Written lean (end tags of cells and rows are optional in
                // HTML): 100,000 rows live here.
                writeln!(
                    w,
                    "<table><thead><tr><th>Rule<th>Secret<th>Risks\
                     <th class=num>Locations<th>At HEAD<tbody>"
                )?;
                for f in fs {
                    let risks: Vec<&str> = f.risks.iter().map(|r| r.id).collect();
                    writeln!(
                        w,
                        "<tr><td>{}<td><code>{}</code><td>{}<td class=num>{}{}",
                        escape(&f.rule),
                        escape(&f.redacted),
                        risks.join(" "),
                        f.locations.len(),
                        if f.at_head {
                            "<td class=warn-text>yes"
                        } else {
                            "<td>no"
                        }
                    )?;
                }
                writeln!(w, "</table>")?;
                writeln!(w, "</details>")?;
            }
            writeln!(w, "</details>")?;
        }
        writeln!(w, "</details>")?;
    }
    writeln!(w, "</section>")
}

mod cells;
mod style;
pub use cells::escape;
use cells::*;
use style::CSS;

#[cfg(test)]
mod tests;

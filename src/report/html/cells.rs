//! The cells and small tables the page's sections are made of: escaped
//! text, owners, risks, repositories and locations of a finding.
use std::collections::BTreeSet;
use std::io::{self, Write};

use crate::finding::Finding;

/// How many locations the unowned table lists before "+N more".
pub(super) const FIRST_LOCATIONS: usize = 3;

/// Escapes text for HTML content and quoted attributes alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub(super) fn owner_label(o: Option<&str>) -> &str {
    match o {
        None => "Unowned",
        // An identity claims it, but its `owner:` is empty.
        Some(s) if s.trim().is_empty() => "(owner not named)",
        Some(s) => s,
    }
}

/// At most `n` characters, with an ellipsis when cut: SVG text does not wrap.
pub(super) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The date part of an RFC 3339 time.
pub(super) fn date(s: &str) -> &str {
    s.get(..10).unwrap_or(s)
}

pub(super) fn none(w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "<p class=\"none\">none</p>")
}

/// A table of pre-rendered cells, or "none" without rows.
pub(super) fn table(w: &mut impl Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    if rows.is_empty() {
        return none(w);
    }
    write!(w, "<table><thead><tr>")?;
    for h in headers {
        // A leading '#' marks a numeric column.
        match h.strip_prefix('#') {
            Some(h) => write!(w, "<th class=\"num\">{}</th>", escape(h))?,
            None => write!(w, "<th>{}</th>", escape(h))?,
        }
    }
    writeln!(w, "</tr></thead><tbody>")?;
    for row in rows {
        writeln!(w, "<tr>{}</tr>", row.concat())?;
    }
    writeln!(w, "</tbody></table>")
}

pub(super) fn td(text: &str) -> String {
    format!("<td>{}</td>", escape(text))
}

pub(super) fn td_num(n: usize) -> String {
    format!("<td class=\"num\">{n}</td>")
}

pub(super) fn td_code(text: &str) -> String {
    format!("<td><code>{}</code></td>", escape(text))
}

/// A cell holding HTML the caller already escaped.
pub(super) fn td_html(html: String) -> String {
    format!("<td>{html}</td>")
}

pub(super) fn dash() -> String {
    "<span class=\"muted\">—</span>".to_string()
}

pub(super) fn owner_html(o: Option<&str>) -> String {
    match o {
        Some(o) => escape(o),
        None => "<span class=\"warn-text\">Unowned</span>".to_string(),
    }
}

pub(super) fn risks_html(f: &Finding) -> String {
    if f.risks.is_empty() {
        return dash();
    }
    f.risks
        .iter()
        .map(|r| {
            format!(
                "<span class=\"tag\" title=\"{}\">{}</span>",
                escape(&format!("{}: {}", r.title, r.reason)),
                escape(r.id)
            )
        })
        .collect()
}

pub(super) fn identity_text(f: &Finding) -> Option<String> {
    let v = f.identity.as_ref()?;
    Some(match v {
        serde_json::Value::Null => return None,
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    })
}

pub(super) fn repos(f: &Finding) -> BTreeSet<&str> {
    f.locations
        .iter()
        .filter_map(|l| l.repo.as_deref())
        .collect()
}

pub(super) fn repos_html(f: &Finding) -> String {
    let r = repos(f);
    if r.is_empty() {
        return dash();
    }
    r.iter().map(|s| escape(s)).collect::<Vec<_>>().join("<br>")
}

pub(super) fn locations_html(f: &Finding) -> String {
    let mut parts: Vec<String> = f
        .locations
        .iter()
        .take(FIRST_LOCATIONS)
        .map(|l| {
            let repo = l
                .repo
                .as_deref()
                .map(|r| format!("{} ", escape(r)))
                .unwrap_or_default();
            format!("{repo}<code>{}:{}</code>", escape(&l.path), l.line)
        })
        .collect();
    if f.locations.len() > FIRST_LOCATIONS {
        parts.push(format!(
            "<span class=\"muted\">+{} more</span>",
            f.locations.len() - FIRST_LOCATIONS
        ));
    }
    if parts.is_empty() {
        dash()
    } else {
        parts.join("<br>")
    }
}

pub(super) fn first_seen_html(f: &Finding) -> String {
    match &f.first_seen {
        Some(d) => format!("<span title=\"{}\">{}</span>", escape(d), escape(date(d))),
        None => dash(),
    }
}

//! Reporters: a scan's result as text for people ([`human`]) or as a
//! documented contract for machines ([`json`], [`sarif`]), each behind the
//! [`Reporter`] trait; and the report of a sweep over many repositories
//! ([`sweep`], drawn for people by [`html`]). Reporters see findings and
//! locations, never where bytes came from beyond that.
pub mod html;
pub mod human;
pub mod json;
pub mod model;
pub mod sarif;
pub mod sweep;

use std::io::{self, Write};
use std::str::FromStr;

use crate::rules::RuleSet;
pub use crate::source::{ScanError, Severity};
pub use model::{IntendedCount, ReportOptions, Reporter, ScanReport, Stats};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Jsonl,
    Sarif,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "human" => Format::Human,
            "json" => Format::Json,
            "jsonl" => Format::Jsonl,
            "sarif" => Format::Sarif,
            _ => return Err(format!("unknown format {s:?} (human, json, jsonl, sarif)")),
        })
    }
}

impl Format {
    /// The reporter of this format.
    pub fn reporter<'a>(self, rules: &'a RuleSet, opts: ReportOptions) -> Box<dyn Reporter + 'a> {
        match self {
            Format::Human => Box::new(human::Human { opts }),
            Format::Json => Box::new(json::Json {
                threads: opts.threads,
            }),
            Format::Jsonl => Box::new(json::Jsonl),
            Format::Sarif => Box::new(sarif::Sarif { rules }),
        }
    }
}

/// Writes `report` in `format`.
pub fn write(
    format: Format,
    report: &ScanReport,
    rules: &RuleSet,
    opts: ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    format.reporter(rules, opts).write(report, out)
}

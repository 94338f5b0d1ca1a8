//! Reporters: the scan's result as text for people (`human`) or as a
//! documented contract for machines (`json`, `jsonl`, `sarif`). Reporters see
//! findings and locations, never where bytes came from beyond that.
pub mod html;
mod human;
mod sarif;
pub mod sweep;

use std::io::{self, Write};
use std::str::FromStr;

use crate::finding::Finding;
use crate::identity::IdentitySummary;
use crate::rules::RuleSet;
pub use crate::source::{ScanError, Severity};
use serde::Serialize;

/// What a scan counted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub files: u64,
    pub blobs: u64,
    pub commits: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// Files passed over because their content is binary.
    pub skipped_binary: u64,
    /// Findings a baseline accepted, and so not reported.
    pub suppressed: u64,
    pub rules: usize,
}

/// Everything a scan hands to a reporter.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    pub version: u32,
    pub findings: Vec<Finding>,
    pub identities: Vec<IdentitySummary>,
    pub stats: Stats,
    pub errors: Vec<ScanError>,
}

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

#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    /// ANSI colour in the human format.
    pub color: bool,
}

/// Writes `report` in `format`. The findings already hold the full secret
/// only if the user asked for it; reporters never add it.
pub fn write(
    format: Format,
    report: &ScanReport,
    rules: &RuleSet,
    opts: ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Human => human::write(report, opts, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)
        }
        Format::Jsonl => {
            for f in &report.findings {
                serde_json::to_writer(&mut *out, f)?;
                writeln!(out)?;
            }
            Ok(())
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &sarif::document(report, rules))?;
            writeln!(out)
        }
    }
}

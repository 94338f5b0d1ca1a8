//! What a scan hands to its reporters: the [`ScanReport`] (findings,
//! identities, counts, per-input problems), the options reporters share,
//! and the [`Reporter`] trait each output format implements.
use std::io::{self, Write};

use serde::Serialize;

use crate::finding::Finding;
use crate::identity::IdentitySummary;
use crate::source::ScanError;

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
    /// Findings the scanned tree's `[[intended]]` entries cover, by
    /// reason: found, not reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intended: Vec<IntendedCount>,
}

/// How many findings one reason of `[[intended]]` covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IntendedCount {
    pub reason: String,
    pub findings: u64,
}

/// Everything a scan hands to a reporter.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    pub version: u32,
    pub findings: Vec<Finding>,
    pub identities: Vec<IdentitySummary>,
    pub stats: Stats,
    pub errors: Vec<ScanError>,
    /// Why the scan as a whole failed though it produced a report (nothing
    /// could be read, a repository's history could not be read, a range
    /// could not be resolved): the exit code is 2. Never written.
    #[serde(skip)]
    pub fatal: Option<String>,
    /// With `--verify`: how many credentials were live, dead,
    /// indeterminate or skipped, and the requests sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<crate::verify::Tally>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    /// ANSI colour in the human format.
    pub color: bool,
    /// Threads that may serialise findings (0 or 1: the calling thread).
    pub threads: usize,
    /// Human output: every location, not the introducing commit, the
    /// current place and a count of the versions between.
    pub all_locations: bool,
}

/// One output format. The findings already hold the full secret only if the
/// user asked for it; a reporter never adds it.
pub trait Reporter {
    /// Writes the whole of `report` to `out`.
    fn write(&self, report: &ScanReport, out: &mut dyn Write) -> io::Result<()>;
}

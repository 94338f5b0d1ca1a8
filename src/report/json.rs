//! The machine-readable forms of a scan report: JSON (the whole report,
//! pretty-printed, SPEC.md's contract) and JSONL (one finding a line).
use std::io::{self, Write};

use serde::Serialize;

use super::model::{Reporter, ScanReport};
use crate::finding::Finding;

/// The report as one pretty-printed JSON document, findings serialised on
/// up to `threads` threads and written as they are, a batch at a time: the
/// document is never whole in memory.
pub struct Json {
    pub threads: usize,
}

impl Reporter for Json {
    fn write(&self, report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
        write_pretty(report, self.threads, out)?;
        out.write_all(b"\n")
    }
}

/// One finding per line, compact.
pub struct Jsonl;

impl Reporter for Jsonl {
    fn write(&self, report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 16);
        for f in &report.findings {
            serde_json::to_writer(&mut buf, f)?;
            buf.push(b'\n');
            if buf.len() >= 1 << 16 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        out.write_all(&buf)
    }
}

/// Findings serialised per batch: the memory a JSON report needs beyond
/// the findings themselves.
const BATCH: usize = if cfg!(test) { 64 } else { 4096 };

/// `serde_json::to_vec_pretty(report)`, byte for byte, written to `out`:
/// the report without its findings is serialised once, and the findings
/// (nearly all of a large report) are spliced in, a batch at a time, each
/// batch on up to `threads` threads at the depth a finding has in the
/// report ([`Pretty`]).
fn write_pretty(report: &ScanReport, threads: usize, out: &mut dyn Write) -> io::Result<()> {
    let shell = ScanReport {
        version: report.version,
        findings: Vec::new(),
        identities: report.identities.clone(),
        stats: report.stats.clone(),
        errors: report.errors.clone(),
        fatal: None,
        verified: report.verified.clone(),
    };
    let shell = serde_json::to_vec_pretty(&shell)?;
    if report.findings.is_empty() {
        return out.write_all(&shell);
    }
    let empty = b"\"findings\": [],";
    let at = memchr::memmem::find(&shell, empty).expect("the findings field");
    out.write_all(&shell[..at])?;
    out.write_all(b"\"findings\": [")?;
    let threads = threads.clamp(1, 16);
    let mut first = true;
    for batch in report.findings.chunks(BATCH * threads) {
        let parts = if threads == 1 || batch.len() < 512 {
            vec![serialize(batch)]
        } else {
            let chunks: Vec<&[Finding]> = batch.chunks(batch.len().div_ceil(threads)).collect();
            crate::base::parallel::map(chunks, serialize)
        };
        for part in parts {
            let part = part?;
            // The first finding follows `[` with a newline, not a comma.
            out.write_all(&part[usize::from(first)..])?;
            first = false;
        }
    }
    out.write_all(b"\n  ],")?;
    out.write_all(&shell[at + empty.len()..])
}

/// Findings as they stand in the report's `findings` array, each after a
/// `,` and a new line.
fn serialize(chunk: &[Finding]) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(chunk.len() * 1024);
    for f in chunk {
        out.extend_from_slice(b",\n    ");
        // A finding sits two levels deep: in the report, in `findings`.
        let pretty = Pretty {
            depth: 2,
            has_value: false,
        };
        f.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out, pretty,
        ))?;
    }
    Ok(out)
}

/// serde_json's pretty layout (two spaces a level, `": "` after keys)
/// starting `depth` levels in.
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        const SPACES: &[u8] = &[b' '; 64];
        w.write_all(b"\n")?;
        let mut n = self.depth * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            w.write_all(&SPACES[..k])?;
            n -= k;
        }
        Ok(())
    }
    fn open<W: ?Sized + Write>(&mut self, w: &mut W, b: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b)
    }
    fn close<W: ?Sized + Write>(&mut self, w: &mut W, b: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(b)
    }
    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The threaded writer gives exactly what serde_json gives.
    #[test]
    fn threaded_json_is_serde_json_pretty() {
        let set = crate::rules::RuleSet::builtin().unwrap();
        let m = crate::matcher::Matcher::new(set, Default::default()).unwrap();
        let mut f = crate::testkit::fakes::Fakes::new(5);
        let mut text = String::new();
        for i in 0..700 {
            text.push_str(&format!("GITHUB_TOKEN_{i}={}\n", f.github("ghp_")));
        }
        let origin = crate::source::Origin::file("a/b.env".into(), ".".into());
        let found = m.scan(text.as_bytes(), &mut Default::default());
        assert_eq!(found.len(), 700);
        let matches = found.into_iter().map(|x| (origin.clone(), x)).collect();
        let report = ScanReport {
            version: 1,
            findings: crate::finding::collect::collect(m.rules(), matches, false, 2),
            errors: vec![crate::source::ScanError::warning(
                "x\ny",
                "a \"quoted\"\nmessage",
            )],
            ..Default::default()
        };
        let empty = ScanReport::default();
        let mut got = Vec::new();
        write_pretty(&empty, 2, &mut got).unwrap();
        assert_eq!(got, serde_json::to_vec_pretty(&empty).unwrap());
        let want = serde_json::to_vec_pretty(&report).unwrap();
        for threads in [1, 2, 3, 8] {
            let mut got = Vec::new();
            write_pretty(&report, threads, &mut got).unwrap();
            assert!(
                got == want,
                "{threads} threads:\n{}",
                String::from_utf8_lossy(&got[..2000])
            );
        }
    }
}

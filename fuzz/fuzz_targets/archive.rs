//! Archive expansion over arbitrary bytes (zip, tar, gzip, bzip2, xz,
//! zstd and their nesting): no panic, no hang (libFuzzer's `-timeout`), and
//! the limits hold: every member's path lies inside the outer input's, no
//! deeper than the depth limit, and the bytes handed on stay under the
//! expansion limit (plus one chunk, the read that crossed it).
#![no_main]

use keytrace::source::archive::{self, ArchiveOptions};
use keytrace::source::{Chunk, Origin, ScanError, Sink};
use libfuzzer_sys::fuzz_target;

struct Check {
    opts: ArchiveOptions,
    bytes: u64,
}

impl Sink for Check {
    fn chunk(&mut self, c: Chunk<'_>) {
        self.member(c.origin);
        assert!(c.keep_before <= c.data.len());
        assert!(c.data.len() as u64 <= self.opts.chunk.max(2 * 64 * 1024));
        self.bytes += c.keep_before as u64;
        assert!(self.bytes <= self.opts.max_expanded + self.opts.chunk, "{}", self.bytes);
    }
    fn problem(&mut self, e: ScanError) {
        assert!(e.path.starts_with("in.bin"), "{}", e.path);
    }
    fn binary(&mut self, origin: &Origin, _data: &[u8]) {
        self.member(origin);
    }
    fn input_done(&mut self, origin: &Origin, _bytes: u64) {
        self.member(origin);
    }
}

impl Check {
    fn member(&self, o: &Origin) {
        assert!(o.path.starts_with("in.bin!"), "{}", o.path);
        let c = o.container.as_ref().expect("a member has its containers");
        assert!(!c.is_empty() && c.len() <= self.opts.max_depth);
        assert_eq!(c[0], "in.bin");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(kind) = archive::detect(data) else {
        return;
    };
    let opts = ArchiveOptions {
        max_expanded: 8 << 20,
        max_in_memory: 1 << 20,
        chunk: 256 << 10,
        ..ArchiveOptions::default()
    };
    let origin = Origin::file("in.bin".into(), std::path::PathBuf::from("."));
    let mut sink = Check { opts: opts.clone(), bytes: 0 };
    let mut input = std::io::Cursor::new(data);
    archive::expand(&origin, kind, &mut input, data.len() as u64, &opts, &mut sink);
});

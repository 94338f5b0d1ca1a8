//! Standard input as one input (`keytrace scan -`), named [`NAME`] in
//! locations, with lines and columns as a file's. It is read as a file of
//! its length would be by [`super::fs::read_file`]: up to the size limit
//! whole, and handed to the sink as text, or as binary (a NUL in its first
//! bytes, or an archive's magic bytes: the sink opens archives); past the
//! limit, in overlapping chunks through [`super::fs::read_chunks`], so that
//! a stream of any length is scanned in bounded memory (the limit plus one
//! chunk). A large archive needs random access (a zip's directory stands at
//! its end; an image is read in passes): it is spooled to an unnamed
//! temporary file and handed to [`Sink::seekable`] as a large archive on
//! disk is; without archives it is read in chunks like any large input.
use std::io::{self, Cursor, Read, Seek, Write};
use std::path::PathBuf;

use super::fs::MAX_CHUNK;
use super::{Origin, ScanError, Sink};

/// The path of standard input in locations and errors.
pub const NAME: &str = "<stdin>";

/// The origin of standard input: no scan root, present now.
pub fn origin() -> Origin {
    Origin::file(NAME.to_string(), PathBuf::new())
}

/// Reads `input` to its end and hands it to `sink`: whole up to
/// `max_file_size`, else in overlapping chunks. `spool_archives`: a large
/// input that starts as an archive is spooled to a temporary file and
/// opened as one (the sink opens archives).
pub fn read<R: Read, S: Sink>(
    input: &mut R,
    origin: &Origin,
    max_file_size: u64,
    spool_archives: bool,
    sink: &mut S,
) {
    let mut head = Vec::new();
    if let Err(e) = read_head(input, max_file_size.saturating_add(1), &mut head) {
        // What was read before the error is still scanned.
        sink.problem(ScanError::error(
            &origin.path,
            format!(
                "could not be read to its end: {e} (after {} bytes)",
                head.len()
            ),
        ));
        return super::fs::whole(origin, &head, sink);
    }
    if head.len() as u64 <= max_file_size {
        return super::fs::whole(origin, &head, sink);
    }
    let chunk = max_file_size.min(MAX_CHUNK);
    if spool_archives && super::magic::detect(&head).is_some() {
        return spooled(head, input, origin, chunk, sink);
    }
    let mut rest = Rest {
        head: Some(Cursor::new(head)),
        input,
    };
    super::fs::read_chunks(&mut rest, origin, chunk, &mut Vec::new(), sink);
}

/// Reads at most `limit` bytes of `input` into `buf`, doubling its room
/// as it fills but never past `limit` (`read_to_end` alone may reserve
/// twice what it reads).
fn read_head<R: Read>(input: &mut R, limit: u64, buf: &mut Vec<u8>) -> io::Result<()> {
    loop {
        let room = limit.saturating_sub(buf.len() as u64);
        if room == 0 {
            return Ok(());
        }
        let grow = (buf.capacity().max(64 << 10) as u64).min(room);
        buf.reserve_exact(grow as usize);
        let want = ((buf.capacity() - buf.len()) as u64).min(room);
        if (input.by_ref().take(want).read_to_end(buf)? as u64) < want {
            return Ok(()); // its end
        }
    }
}

/// A large archive: `head`, then the rest of `input`, into an unnamed
/// temporary file, opened from there.
fn spooled<R: Read, S: Sink>(
    head: Vec<u8>,
    input: &mut R,
    origin: &Origin,
    chunk: u64,
    sink: &mut S,
) {
    let spool = (|| -> io::Result<(std::fs::File, u64)> {
        let mut file = tempfile::tempfile()?;
        file.write_all(&head)?;
        let len = head.len() as u64;
        drop(head);
        let len = len + io::copy(input, &mut file)?;
        file.rewind()?;
        Ok((file, len))
    })();
    let (mut file, len) = match spool {
        Ok(spooled) => spooled,
        Err(e) => {
            return sink.problem(ScanError::error(
                &origin.path,
                format!("an archive larger than --max-file-size that could not be spooled to a temporary file ({e}); not scanned"),
            ))
        }
    };
    if sink.seekable(origin, &mut file, len) {
        return;
    }
    if let Err(e) = file.rewind() {
        return sink.problem(ScanError::error(&origin.path, e.to_string()));
    }
    super::fs::read_chunks(&mut file, origin, chunk, &mut Vec::new(), sink);
}

/// The bytes read to tell whole from chunked, then the rest of the input;
/// their memory is given back once they have been read.
struct Rest<'a, R> {
    head: Option<Cursor<Vec<u8>>>,
    input: &'a mut R,
}

impl<R: Read> Read for Rest<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(head) = &mut self.head {
            let n = head.read(out)?;
            if n > 0 || out.is_empty() {
                return Ok(n);
            }
            self.head = None;
        }
        self.input.read(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Chunk;

    /// What a sink was handed.
    #[derive(Default)]
    struct Seen {
        chunks: Vec<(Vec<u8>, u32, u32, usize)>,
        binary: Vec<usize>,
        done: Vec<u64>,
        problems: Vec<ScanError>,
        spooled: Vec<Vec<u8>>,
    }

    impl Sink for Seen {
        fn chunk(&mut self, c: Chunk<'_>) {
            assert_eq!(c.origin.path, NAME);
            self.chunks
                .push((c.data.to_vec(), c.line_base, c.column_base, c.keep_before));
        }
        fn problem(&mut self, error: ScanError) {
            self.problems.push(error);
        }
        fn binary(&mut self, _origin: &Origin, data: &[u8]) {
            self.binary.push(data.len());
        }
        fn input_done(&mut self, _origin: &Origin, bytes: u64) {
            self.done.push(bytes);
        }
        fn seekable(
            &mut self,
            _: &Origin,
            input: &mut dyn super::super::ReadSeek,
            len: u64,
        ) -> bool {
            let mut all = Vec::new();
            input.read_to_end(&mut all).unwrap();
            assert_eq!(all.len() as u64, len);
            self.spooled.push(all);
            true
        }
    }

    fn read_all(data: &[u8], max: u64) -> Seen {
        let mut seen = Seen::default();
        read(&mut Cursor::new(data), &origin(), max, true, &mut seen);
        seen
    }

    #[test]
    fn small_input_is_one_chunk() {
        let seen = read_all(b"a=1\nb=2\n", 1 << 20);
        assert_eq!(seen.chunks.len(), 1);
        assert_eq!(seen.chunks[0].0, b"a=1\nb=2\n");
        assert_eq!(seen.done, [8]);
        assert!(seen.problems.is_empty() && seen.binary.is_empty());
    }

    #[test]
    fn empty_input_is_an_empty_file() {
        let seen = read_all(b"", 1 << 20);
        assert_eq!(seen.chunks.len(), 1);
        assert_eq!(seen.done, [0]);
        assert!(seen.problems.is_empty());
    }

    #[test]
    fn large_input_comes_in_overlapping_chunks() {
        // 300 KiB of numbered lines, limit 128 KiB (chunks overlap by 64 KiB).
        let text: String = (0..30_000).map(|i| format!("line {i:05}\n")).collect();
        let seen = read_all(text.as_bytes(), 128 << 10);
        assert!(seen.chunks.len() >= 3, "{}", seen.chunks.len());
        assert!(seen.chunks.iter().all(|c| c.0.len() <= 128 << 10));
        assert_eq!(seen.done, [text.len() as u64]);
        // Each chunk's kept part, joined, is the input; line numbers follow.
        let mut joined = Vec::new();
        for (data, line_base, _, keep) in &seen.chunks {
            let lines = memchr::memchr_iter(b'\n', &joined).count() as u32;
            assert_eq!(*line_base, lines);
            joined.extend_from_slice(&data[..*keep]);
        }
        assert_eq!(joined, text.as_bytes());
    }

    #[test]
    fn large_archive_is_spooled_whole() {
        let mut gz = vec![0x1f, 0x8b, 0x08];
        gz.extend((0..200_000u32).map(|i| (i % 251) as u8));
        let seen = read_all(&gz, 64 << 10);
        assert_eq!(seen.spooled, [gz.clone()]);
        assert!(seen.chunks.is_empty() && seen.binary.is_empty());
        // Without archives: its first chunk, as binary.
        let mut seen = Seen::default();
        read(&mut Cursor::new(&gz), &origin(), 64 << 10, false, &mut seen);
        assert!(seen.spooled.is_empty());
        assert_eq!(seen.binary, [128 << 10]);
    }

    #[test]
    fn the_head_is_read_without_room_to_spare() {
        let data = vec![b'x'; 300_000];
        let mut buf = Vec::new();
        read_head(&mut Cursor::new(&data), 200_001, &mut buf).unwrap();
        assert_eq!(buf.len(), 200_001);
        assert!(buf.capacity() < 210_000, "{}", buf.capacity());
        let mut buf = Vec::new();
        read_head(&mut Cursor::new(&data), 1 << 20, &mut buf).unwrap();
        assert_eq!(buf, data);
    }

    #[test]
    fn binary_and_invalid_utf8() {
        assert_eq!(read_all(b"ab\0cd", 1 << 20).binary, [5]);
        // zstd's magic, no NUL: binary by its magic bytes.
        assert_eq!(
            read_all(&[0x28, 0xb5, 0x2f, 0xfd, 1, 2], 1 << 20).binary,
            [6]
        );
        let seen = read_all(b"ok \xff\n", 1 << 20);
        assert_eq!(seen.chunks.len(), 1);
        assert!(seen.problems[0].message.contains("invalid UTF-8 at byte 3"));
    }
}

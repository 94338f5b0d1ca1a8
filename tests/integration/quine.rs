//! A zip quine: a zip file whose only member, `r.zip`, is the zip file
//! itself, built here from the format facts (RFC 1951 DEFLATE, the PKWARE
//! APPNOTE layout, CRC-32) after Russ Cox's "Zip Files All The Way Down".
//! Opening it never bottoms out, so the scan must stop at the archive depth
//! and say so.
//!
//! The member's DEFLATE data `Q` must inflate to `P Q S`, where `P` is the
//! local header and `S` the central directory and end record. It is written
//! with two instructions of the same size, `U` bytes each:
//!
//! * `L(n)`, "literal": a stored block of `n` bytes (the next `n` bytes of
//!   the stream are copied to the output);
//! * `R(n)`, "repeat": a fixed-Huffman block copying the last `n` bytes of
//!   output (length `n`, distance `n`).
//!
//! Both are byte-aligned and padded to `U` with empty blocks, so any
//! sequence of them (and of literal data) can itself be printed by a
//! literal and copied by a repeat. The program (see [`program`]) prints `P`,
//! then prints and repeats its own pieces in turn, then prints `S`.
//!
//! The CRC-32 of the file is written into the file (twice in `P`, `S`, and
//! again in their copies inside `Q`). Over GF(2), the file's CRC as a
//! function of the 32-bit value `c` written there is affine,
//! `f(c) = f(0) ^ M c`, so the fixed point `f(c) = c` is the solution of
//! the 32x32 linear system `(M + I) c = f(0)`.
use std::io::{Cursor, Read};
use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use super::run;

/// The size of every instruction, in bytes.
const U: usize = 10;
/// The member's name (the quine contains itself under this name).
const NAME: &[u8] = b"r.zip";
/// Local header: 30 fixed bytes and the name.
const P_LEN: usize = 30 + NAME.len();
/// Central directory entry (46 fixed bytes and the name) and the 22-byte
/// end of central directory record.
const S_LEN: usize = 46 + NAME.len() + 22;

/// DEFLATE bits, least significant first (RFC 1951, 3.1.1).
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    /// `len` bits of `v`, low bit first (header fields, extra bits).
    fn put(&mut self, v: u32, len: u32) {
        for i in 0..len {
            self.acc |= ((v >> i) & 1) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                (self.acc, self.n) = (0, 0);
            }
        }
    }

    /// A Huffman code of `len` bits, high bit first.
    fn code(&mut self, c: u32, len: u32) {
        for i in (0..len).rev() {
            self.put((c >> i) & 1, 1);
        }
    }

    /// A fixed-Huffman literal/length symbol (RFC 1951, 3.2.6).
    fn sym(&mut self, s: u32) {
        match s {
            256..=279 => self.code(s - 256, 7),
            280..=287 => self.code(0xc0 + s - 280, 8),
            _ => unreachable!("only lengths and end of block here"),
        }
    }

    /// An empty stored block: 3 header bits, padding to a byte, LEN 0 and
    /// NLEN 0xffff. Ends byte-aligned.
    fn empty_stored(&mut self, last: bool) {
        self.put(last as u32, 1);
        self.put(0, 2);
        if self.n > 0 {
            self.put(0, 8 - self.n);
        }
        self.out.extend_from_slice(&[0, 0, 0xff, 0xff]);
    }
}

/// (symbol or code, extra bit count, extra value) of a length (3..=258)
/// or, with `dist`, of a distance (RFC 1951, 3.2.5).
fn len_dist_code(v: u32, dist: bool) -> (u32, u32, u32) {
    if !dist && v == 258 {
        return (285, 0, 0);
    }
    let (mut base, first, flat) = if dist { (1, 0, 4) } else { (3, 257, 8) };
    for code in 0.. {
        let extra = if code < flat {
            0
        } else if dist {
            code / 2 - 1
        } else {
            code / 4 - 1
        };
        if v < base + (1 << extra) {
            return (first + code, extra, v - base);
        }
        base += 1 << extra;
    }
    unreachable!()
}

/// `L(n)`: an empty stored block, then the header of one of `n` bytes.
fn literal(n: usize) -> Vec<u8> {
    let n = u16::try_from(n).expect("a stored block holds at most 65535 bytes");
    let mut v = vec![0, 0, 0, 0xff, 0xff, 0];
    v.extend_from_slice(&n.to_le_bytes());
    v.extend_from_slice(&(!n).to_le_bytes());
    assert_eq!(v.len(), U);
    v
}

/// `R(n)`: a fixed-Huffman block copying `n` bytes from `n` back, `pad`
/// empty fixed-Huffman blocks (10 bits each, chosen so the whole is `U`
/// bytes), then an empty stored block (final for the last instruction) to
/// come back to a byte boundary.
fn repeat(n: usize, last: bool) -> Vec<u8> {
    (0..8)
        .map(|pad| {
            let mut b = Bits::default();
            b.put(0, 1); // BFINAL
            b.put(1, 2); // BTYPE 01: fixed Huffman codes
            let (sym, extra, value) = len_dist_code(n as u32, false);
            b.sym(sym);
            b.put(value, extra);
            let (code, extra, value) = len_dist_code(n as u32, true);
            b.code(code, 5);
            b.put(value, extra);
            b.sym(256);
            for _ in 0..pad {
                b.put(0b010, 3);
                b.sym(256);
            }
            b.empty_stored(last);
            b.out
        })
        .find(|v| v.len() == U)
        .unwrap_or_else(|| panic!("no padding makes R({n}) {U} bytes"))
}

/// Cox's self-printing program: its output is `p Q s` where `Q` is the
/// program's own bytes, the member's DEFLATE data. In the comments, `L(p)`
/// and `R(p)` stand for `L(|p| + U)` and `R(|p| + U)` (the same for `s`),
/// `L1`, `L4` and `R4` for `L(U)`, `L(4U)` and `R(4U)`.
fn program(p: &[u8], s: &[u8]) -> Vec<u8> {
    let (lp, ls, l1, l4, l0) = (
        literal(p.len() + U),
        literal(s.len() + U),
        literal(U),
        literal(4 * U),
        literal(0),
    );
    let (rp, rs, r4) = (
        repeat(p.len() + U, false),
        repeat(s.len() + U, true),
        repeat(4 * U, false),
    );
    let steps: [&[&[u8]]; 14] = [
        &[&lp, p, &lp],             // prints p L(p)
        &[&rp],                     // prints p L(p) again
        &[&l1, &rp],                // prints R(p)
        &[&l1, &l1],                // prints L1
        &[&l4, &rp, &l1, &l1, &l4], // prints R(p) L1 L1 L4
        &[&r4],                     // ... again
        &[&l4, &r4, &l4, &r4, &l4], // prints R4 L4 R4 L4
        &[&r4],                     // ... again
        &[&l4, &r4, &l0, &l0, &ls], // prints R4 L0 L0 L(s)
        &[&r4],                     // ... again
        &[&l0],                     // prints nothing
        &[&l0],                     // prints nothing
        &[&ls, &rs, s],             // prints R(s) s
        &[&rs],                     // ... again, and ends the stream
    ];
    steps
        .iter()
        .flat_map(|s| s.iter())
        .flat_map(|b| b.iter())
        .copied()
        .collect()
}

/// The whole file, with `crc` written as the member's CRC-32 and `time`
/// as its DOS modification time.
fn zip_file(crc: u32, time: u16) -> Vec<u8> {
    let q_len = 30 * U + P_LEN + S_LEN;
    let size = (P_LEN + q_len + S_LEN) as u32;
    // Fields shared by both headers from "version needed" to the name.
    let mut common = Vec::new();
    for half in [20u16, 0, 8, time, 0x0021] {
        // version 2.0, no flags, deflate, the time, 1980-01-01
        common.extend_from_slice(&half.to_le_bytes());
    }
    for word in [crc, q_len as u32, size] {
        common.extend_from_slice(&word.to_le_bytes());
    }
    common.extend_from_slice(&(NAME.len() as u16).to_le_bytes());
    common.extend_from_slice(&0u16.to_le_bytes()); // no extra field

    let mut p = b"PK\x03\x04".to_vec();
    p.extend_from_slice(&common);
    p.extend_from_slice(NAME);
    assert_eq!(p.len(), P_LEN);

    let mut s = b"PK\x01\x02".to_vec();
    s.extend_from_slice(&20u16.to_le_bytes()); // made by: MS-DOS, 2.0
    s.extend_from_slice(&common);
    // comment length, disk, internal attributes; external; header offset
    s.extend_from_slice(&[0; 6]);
    s.extend_from_slice(&[0; 8]);
    s.extend_from_slice(NAME);
    let cd_len = s.len() as u32;
    s.extend_from_slice(b"PK\x05\x06");
    for half in [0u16, 0, 1, 1] {
        // this disk, the directory's disk, entries here, entries in all
        s.extend_from_slice(&half.to_le_bytes());
    }
    s.extend_from_slice(&cd_len.to_le_bytes());
    s.extend_from_slice(&((P_LEN + q_len) as u32).to_le_bytes());
    s.extend_from_slice(&0u16.to_le_bytes()); // no comment
    assert_eq!(s.len(), S_LEN);

    let q = program(&p, &s);
    assert_eq!(q.len(), q_len);
    [p, q, s].concat()
}

/// A `c` with `crc32(zip_file(c, time)) == c`, if there is one.
fn fixed_point(time: u16) -> Option<u32> {
    let f = |c: u32| crc32fast::hash(&zip_file(c, time));
    let f0 = f(0);
    // Column i of M + I: what bit i of c changes in f(c) ^ c.
    let cols: Vec<u32> = (0..32).map(|i| f(1 << i) ^ f0 ^ (1 << i)).collect();
    // Row j: (the coefficients of c's bits in bit j, bit j of f(0)).
    let mut rows: Vec<(u32, u32)> = (0..32)
        .map(|j| {
            let coef = (0..32).fold(0, |a, i| a | ((cols[i] >> j) & 1) << i);
            (coef, (f0 >> j) & 1)
        })
        .collect();
    // Gauss-Jordan elimination over GF(2); free variables are left 0.
    let mut pivots = Vec::new();
    for col in 0..32 {
        let rank = pivots.len();
        let Some(r) = (rank..32).find(|&r| rows[r].0 >> col & 1 == 1) else {
            continue;
        };
        rows.swap(rank, r);
        let pivot = rows[rank];
        for (k, row) in rows.iter_mut().enumerate() {
            if k != rank && row.0 >> col & 1 == 1 {
                *row = (row.0 ^ pivot.0, row.1 ^ pivot.1);
            }
        }
        pivots.push(col);
    }
    if rows[pivots.len()..].iter().any(|r| r.1 == 1) {
        return None;
    }
    let c = pivots
        .iter()
        .enumerate()
        .fold(0, |c, (row, col)| c | rows[row].1 << col);
    assert_eq!(f(c), c);
    Some(c)
}

/// The zip quine: its member `r.zip` is the whole file.
fn zip_quine() -> Vec<u8> {
    // Should M + I be singular with no solution, another modification time
    // changes the file and so f(0).
    let time = (0..=u16::MAX)
        .find(|&t| fixed_point(t).is_some())
        .expect("some modification time has a CRC fixed point");
    zip_file(fixed_point(time).unwrap(), time)
}

/// `keytrace scan --format json` over `dir` with `extra` arguments: the
/// exit code and the report's `errors` as "path: message" (the directory
/// stripped).
fn scan(dir: &Path, extra: &[&str]) -> (i32, Vec<String>) {
    let d = dir.to_str().unwrap();
    let mut args = vec!["scan", "--no-history", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(d);
    let r = run(&args, None);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("exit {}, not JSON ({e}): {}{}", r.code, r.stdout, r.stderr));
    assert!(v["findings"].as_array().unwrap().is_empty(), "{v}");
    let errors = v["errors"].as_array().unwrap().iter().map(|e| {
        let path = e["path"].as_str().unwrap();
        let path = path.strip_prefix(&format!("{d}/")).unwrap_or(path);
        format!("{path}: {}", e["message"].as_str().unwrap())
    });
    (r.code, errors.collect())
}

#[test]
fn zip_quine_contains_itself_and_the_scan_stops_at_the_depth() {
    let start = Instant::now();
    let quine = zip_quine();
    let built = start.elapsed();

    // A quine by the zip crate's reading: its one member is the file, and
    // reading it to the end checks the CRC-32.
    let mut archive = zip::ZipArchive::new(Cursor::new(&quine)).unwrap();
    assert_eq!(archive.len(), 1);
    let mut member = archive.by_index(0).unwrap();
    assert_eq!(member.name().unwrap(), "r.zip");
    assert_eq!(member.compression(), zip::CompressionMethod::Deflated);
    let mut inner = Vec::new();
    member.read_to_end(&mut inner).unwrap();
    assert_eq!(inner, quine);
    drop(member);
    // And by flate2's inflating the member's raw DEFLATE data.
    let mut raw = Vec::new();
    archive
        .by_index_raw(0)
        .unwrap()
        .read_to_end(&mut raw)
        .unwrap();
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(raw.as_slice())
        .read_to_end(&mut inflated)
        .unwrap();
    assert_eq!(inflated, quine);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.zip"), &quine).unwrap();
    std::fs::write(dir.path().join("note.txt"), "nothing to see here\n").unwrap();
    let (code, errors) = scan(dir.path(), &[]);
    let (code2, errors2) = scan(dir.path(), &["--max-archive-depth", "2"]);
    eprintln!(
        "quine: {} bytes, built in {built:?}; default depth: exit {code}, {errors:#?}; \
         depth 2: exit {code2}, {errors2:#?}; total {:?}",
        quine.len(),
        start.elapsed()
    );
    assert_eq!(
        (code, code2),
        (0, 0),
        "no findings, and warnings do not fail"
    );
    assert_eq!(
        errors,
        ["r.zip!r.zip!r.zip!r.zip!r.zip: \
          an archive nested deeper than 4: not opened (--max-archive-depth)"]
    );
    assert_eq!(
        errors2,
        ["r.zip!r.zip!r.zip: an archive nested deeper than 2: not opened (--max-archive-depth)"]
    );
}

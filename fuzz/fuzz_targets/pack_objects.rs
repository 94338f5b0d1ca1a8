//! The pack reader's parsers on raw bytes: `parse_commit` and `entries`
//! never panic, `entries` never yields a name or id outside the input and
//! stops for good at the first malformed entry, and a parsed commit's
//! name and email lie inside the input.
#![no_main]

use keytrace::source::git::pack::{entries, parse_commit};
use libfuzzer_sys::fuzz_target;

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

fuzz_target!(|data: &[u8]| {
    if let Some(c) = parse_commit(data) {
        assert!(inside(data, c.name) && inside(data, c.email));
        assert!(c.parents.len() <= data.len() / 48);
    }
    let mut end = 0usize;
    let mut done = false;
    let mut n = 0usize;
    for e in entries(data) {
        assert!(!done, "an entry after a malformed one");
        n += 1;
        assert!(n <= data.len(), "more entries than bytes");
        match e {
            Some((name, _oid, _kind)) => {
                assert!(inside(data, name), "a name outside the input");
                let at = name.as_ptr() as usize - data.as_ptr() as usize;
                assert!(at >= end, "entries out of order");
                // NUL and a 20-byte id follow the name, inside the input.
                end = at + name.len() + 21;
                assert!(end <= data.len(), "an entry past the input");
                assert!(!name.contains(&0));
            }
            None => done = true,
        }
    }
});

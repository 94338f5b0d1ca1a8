//! `Matcher::scan_named` with the built-in rules over arbitrary bytes, as
//! the content of a file of no special name or of one the rules of `files`
//! read whole (the first byte picks it): no panic; every match inside the
//! input at the line and column of its offset; the same matches with a
//! reused scratch and a fresh one. Time is held by libFuzzer's `-timeout`
//! (the work counter counts only in unit tests).
#![no_main]

use std::cell::RefCell;

use keytrace::matcher::Scratch;
use keytrace_fuzz::{builtin_matcher, check_place};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Names of no rule, and names rules of `files` read whole.
const NAMES: [&str; 6] = [
    "notes.txt",
    ".env",
    ".git-credentials",
    ".pgpass",
    "master.key",
    "pgpass.conf",
];

fuzz_target!(|data: &[u8]| {
    let m = builtin_matcher();
    let name = NAMES[usize::from(data.first().copied().unwrap_or(0)) % NAMES.len()];
    let found = SCRATCH.with(|s| m.scan_named(data, name, &mut s.borrow_mut()));
    for w in found.windows(2) {
        assert!(w[0].offset <= w[1].offset, "matches not sorted by offset");
    }
    for f in &found {
        check_place(data, f);
        assert!(f.rule < m.rules().len());
    }
    let fresh = m.scan_named(data, name, &mut Scratch::default());
    assert_eq!(found, fresh, "a reused scratch changed the matches");
});

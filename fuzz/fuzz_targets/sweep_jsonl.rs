//! A sweep store's JSONL export read back: `sweep::merge::load_jsonl` on
//! arbitrary bytes (through a temporary file), then `combine` and `report`
//! on what it read: no panic.
#![no_main]

use std::io::Write;

use keytrace::sweep::merge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(data).unwrap();
    f.flush().unwrap();
    match merge::load_jsonl(f.path()) {
        Ok(c) => {
            let mut out = Vec::new();
            let _ = merge::export(&c, false, &mut out);
            let _ = merge::combine(vec![c]);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});

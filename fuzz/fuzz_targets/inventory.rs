//! The identity inventory: `inventory::parse` on arbitrary text (invalid
//! UTF-8 replaced) and `lint` on what it parsed, on two dates: no panic,
//! and bounded time (libFuzzer's `-timeout`).
#![no_main]

use keytrace::base::time::Date;
use keytrace::identity::{inventory, lint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match inventory::parse(&text, "fuzz.yaml") {
        Ok(ids) => {
            for today in ["2026-01-01", "1970-01-01"] {
                let issues = lint::lint(&ids, Date::parse(today).unwrap());
                for i in &issues {
                    assert!(!i.id.is_empty());
                }
            }
            for id in &ids {
                let _ = id.status();
                let _ = lint::review_due(id);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});

//! Rule files: `parse_rule_file` on arbitrary TOML text, then
//! `RuleSet::from_specs`, and where a set builds, `Matcher::new`, a scan
//! of each rule's examples and `rulecheck::check` (strict and not): no
//! panic.
#![no_main]

use keytrace::matcher::{rulecheck, Matcher, Scratch};
use keytrace::rules::{parse_rule_file, RuleSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(specs) = parse_rule_file("f.toml", &text) else {
        return;
    };
    let Ok(set) = RuleSet::from_specs(specs) else {
        return;
    };
    let _ = set.digest();
    for strict in [false, true] {
        for p in rulecheck::check(&set, strict) {
            assert!(!p.rule.is_empty() || !p.message.is_empty());
        }
    }
    let Ok(m) = Matcher::new(set, Default::default()) else {
        return;
    };
    let mut scratch = Scratch::default();
    for r in m.rules().rules() {
        for ex in r.spec.examples.iter().chain(&r.spec.negative_examples) {
            for found in m.scan(ex.as_bytes(), &mut scratch) {
                keytrace_fuzz::check_place(ex.as_bytes(), &found);
            }
        }
    }
    let _ = m.scan(data, &mut scratch);
});

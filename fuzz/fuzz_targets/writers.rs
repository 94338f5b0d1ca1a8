//! The reporters on findings whose text comes from the input: paths,
//! authors, refs, bindings, decoded values, owners, identity names, code
//! owners, inventory problems and error messages. Human output (without
//! and with colour) holds no control character but `\n`, only
//! `ESC [ digits;… m` sequences with colour, and none of the bidi and
//! invisible characters `base::text` escapes (U+202A–U+202E and
//! U+2066–U+2069 among them). JSON, JSONL and SARIF parse back as JSON;
//! SARIF says version 2.1.0.
#![no_main]

use std::collections::BTreeMap;

use keytrace::base::kinds::{Checksum, Encoding, IdentityClass, Lifetime};
use keytrace::base::secret::{fingerprint, redact, Secret};
use keytrace::finding::{CodeOwner, Confidence, Finding, Location, Risk};
use keytrace::identity::lint::Issue;
use keytrace::identity::IdentitySummary;
use keytrace::report::{self, Format, ReportOptions, ScanError, ScanReport};
use keytrace::rules::verify::{State, Verification};
use keytrace_fuzz::{builtin_rules, pieces};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

/// Characters a terminal must not get from scanned content.
fn forbidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\x1b')
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

fn check_human(out: &[u8], color: bool) {
    let text = std::str::from_utf8(out).expect("human output is UTF-8");
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\x1b' {
            assert!(color, "ESC without colour at char {i}: {text:?}");
            // ESC [ digits/; m
            let mut j = i + 1;
            assert_eq!(
                chars.get(j),
                Some(&'['),
                "ESC not followed by [ at char {i}: {text:?}"
            );
            j += 1;
            while chars
                .get(j)
                .is_some_and(|c| c.is_ascii_digit() || *c == ';')
            {
                j += 1;
            }
            assert_eq!(
                chars.get(j),
                Some(&'m'),
                "an escape sequence that is not SGR at char {i}: {text:?}"
            );
            i = j + 1;
            continue;
        }
        assert!(
            !forbidden(c),
            "human output (colour {color}) holds {:?} at char {i}: {text:?}",
            c
        );
        i += 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let p = pieces(data, 64);
    let mut it = p.iter().cycle();
    let mut s = || it.next().cloned().unwrap_or_default();
    let rules = builtin_rules();
    let flags = data.first().copied().unwrap_or(0);
    let n = 1 + usize::from(flags % 3);
    let mut findings = Vec::new();
    for k in 0..n {
        let rule = if flags & 8 != 0 && k == 0 {
            s()
        } else {
            rules.rules()[(usize::from(flags) + k * 7) % rules.len()]
                .id()
                .to_string()
        };
        let secret = s().into_bytes();
        let mut decoded = BTreeMap::new();
        decoded.insert(s(), Value::String(s()));
        decoded.insert("sub".to_string(), json!({ "name": s(), "list": [s(), 1] }));
        let locations = (0..1 + k)
            .map(|l| Location {
                repo: (flags & 16 != 0).then(&mut s),
                path: s(),
                line: 1 + l as u32,
                column: 1 + (flags as u32),
                commit: Some(s()),
                author: Some(s()),
                date: Some(s()),
                at_head: l == 0,
                refs: vec![s(), s()],
                blob: Some(s()),
                binding: Some(s()),
                encoding: (flags & 32 != 0).then_some(Encoding::Base64),
                suppression: (flags & 64 != 0).then(&mut s),
                container: if flags & 8 != 0 { vec![s(), s()] } else { Vec::new() },
                introduced: (flags & 4 != 0).then_some(l == 0),
                relative: s(),
            })
            .collect();
        let identity = match flags >> 6 {
            0 => None,
            1 => Some(Value::String(s())),
            2 => Some(json!([s(), s()])),
            _ => Some(json!({ "agent": s() })),
        };
        findings.push(Finding {
            rule,
            name: s(),
            provider: s(),
            fingerprint: fingerprint(&secret),
            key_id: Some(s()),
            redacted: redact(&secret),
            secret: (flags & 4 != 0).then(|| String::from_utf8_lossy(&secret).into_owned()),
            binding: Some(s()),
            lifetime: [Lifetime::Long, Lifetime::Short, Lifetime::Unknown][k % 3],
            checksum: [None, Some(Checksum::Valid), Some(Checksum::Invalid)][k % 3],
            confidence: [Confidence::High, Confidence::Medium, Confidence::Low][k % 3],
            identity_class: [
                IdentityClass::User,
                IdentityClass::Bot,
                IdentityClass::Service,
                IdentityClass::App,
            ][k % 4],
            privilege: Some(s()),
            decoded,
            first_seen: Some(s()),
            at_head: k == 0,
            locations,
            identity,
            owner: Some(s()),
            code_owners: vec![CodeOwner {
                owner: s(),
                source: s(),
            }],
            risks: vec![Risk {
                id: "NHI2",
                title: "Secret Leakage",
                reason: s(),
            }],
            // A live check's text comes from a provider's reply: hostile too.
            verification: (flags & 8 != 0).then(|| {
                Box::new(Verification {
                    state: [State::Live, State::Dead, State::Indeterminate, State::Skipped][k % 4],
                    checked_at: s(),
                    reason: s(),
                    identity: [(s(), s()), (s(), s())].into_iter().collect(),
                    scopes: vec![s(), s()],
                    expires_at: Some(s()),
                    host: Some(s()),
                })
            }),
            raw: Secret::new(secret.clone()),
            doubt: None,
            companion: None,
        });
    }
    let identities = if flags & 2 != 0 {
        vec![IdentitySummary {
            agent: s(),
            owner: Some(s()),
            status: s(),
            issues: vec!["review-overdue"],
            findings: 1,
            problems: vec![Issue {
                id: "review-overdue",
                agent: s(),
                message: s(),
                risk: Some("NHI7"),
                warning: flags & 1 != 0,
                source: s(),
            }],
        }]
    } else {
        Vec::new()
    };
    let report = ScanReport {
        version: 1,
        findings,
        identities,
        stats: Default::default(),
        errors: vec![ScanError::error(s(), s()), ScanError::warning(s(), s())],
        fatal: None,
        verified: (flags & 8 != 0).then(Default::default),
    };
    for color in [false, true] {
        let mut out = Vec::new();
        let opts = ReportOptions {
            color,
            threads: 1,
            all_locations: flags & 2 != 0,
        };
        report::write(Format::Human, &report, rules, opts, &mut out).expect("human writes");
        check_human(&out, color);
    }
    let opts = ReportOptions::default();
    let mut out = Vec::new();
    report::write(Format::Json, &report, rules, opts, &mut out).expect("json writes");
    serde_json::from_slice::<Value>(&out).expect("JSON output parses");
    let mut out = Vec::new();
    report::write(Format::Jsonl, &report, rules, opts, &mut out).expect("jsonl writes");
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        serde_json::from_slice::<Value>(line).expect("each JSONL line parses");
    }
    let mut out = Vec::new();
    report::write(Format::Sarif, &report, rules, opts, &mut out).expect("sarif writes");
    let v: Value = serde_json::from_slice(&out).expect("SARIF output parses");
    assert_eq!(v["version"], "2.1.0");
});

//! Encoded secrets. Byte 0 picks the mode.
//!
//! Even: `decode::find_all` on the input with the contexts the matcher's
//! prefilter would report (every case-insensitive occurrence of
//! `Context::KEYWORDS`, sorted), then the whole matcher: no panic, every
//! `Encoded` inside the input, and every match at its place.
//!
//! Odd: the rest drives a small grammar of Kubernetes Secrets (alone, in a
//! `kind: List`, `data:` before or after `kind:`, several documents),
//! `Authorization: Basic` headers and docker `"auth"` entries whose values
//! are base64 of input bytes or of fake credentials from the test kit;
//! the same checks on the text built.
#![no_main]

use base64::Engine as _;
use keytrace::matcher::decode::{find_all, Context, Encoded};
use keytrace::matcher::Scratch;
use keytrace::testkit::fakes::Fakes;
use keytrace_fuzz::{builtin_matcher, check_place};
use libfuzzer_sys::fuzz_target;

fn contexts(hay: &[u8]) -> Vec<(usize, Context)> {
    let mut out = Vec::new();
    for (k, ctx) in Context::KEYWORDS {
        let k = k.as_bytes();
        if hay.len() < k.len() {
            continue;
        }
        for at in 0..=hay.len() - k.len() {
            if hay[at..at + k.len()].eq_ignore_ascii_case(k) {
                out.push((at, ctx));
            }
        }
    }
    out.sort();
    out
}

fn check(hay: &[u8]) {
    let mut out: Vec<Encoded> = Vec::new();
    find_all(hay, &contexts(hay), &mut out);
    for e in &out {
        assert!(
            e.len > 0
                && e.offset
                    .checked_add(e.len)
                    .is_some_and(|end| end <= hay.len()),
            "encoded value {}+{} outside the input ({} bytes)",
            e.offset,
            e.len,
            hay.len()
        );
        assert!(!e.text.is_empty());
    }
    let m = builtin_matcher();
    for found in m.scan(hay, &mut Scratch::default()) {
        check_place(hay, &found);
    }
}

/// The input, read a byte or a slice at a time.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }
    fn bytes(&mut self) -> &[u8] {
        let n = usize::from(self.byte()).min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        b
    }
}

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(v)
}

/// A value to encode: input bytes, or a fake credential.
fn value(inp: &mut Input, fakes: &mut Fakes) -> Vec<u8> {
    let fake = match inp.byte() % 10 {
        0 => fakes.github("ghp"),
        1 => fakes.slack_bot(),
        2 => fakes.aws_key_id("AKIA"),
        3 => fakes.npm(),
        4 => fakes.stripe("sk"),
        5 => fakes.openai("proj"),
        _ => return inp.bytes().to_vec(),
    };
    fake.into_bytes()
}

fn pair(inp: &mut Input, fakes: &mut Fakes) -> Vec<u8> {
    let mut user = inp.bytes().to_vec();
    if user.is_empty() {
        user = b"deploy".to_vec();
    }
    user.push(b':');
    user.extend(value(inp, fakes));
    user
}

fn grammar(data: &[u8]) -> Vec<u8> {
    let mut inp = Input(data);
    let mut fakes = Fakes::new(u64::from(inp.byte()));
    let mut out = String::new();
    while !inp.0.is_empty() && out.len() < 1 << 16 {
        let op = inp.byte();
        let kind = [
            "kind: Secret",
            "kind: secret",
            "KIND: SECRET",
            "kind: SecretStore",
        ][usize::from(op >> 6)];
        match op % 8 {
            0 | 1 => {
                let key = String::from_utf8_lossy(inp.bytes()).replace(['\n', ':'], "_");
                let v = b64(&value(&mut inp, &mut fakes));
                let data = format!(
                    "data:\n  {}: {v}\n",
                    if key.is_empty() { "token" } else { &key }
                );
                let meta = "metadata:\n  name: app\ntype: Opaque\n";
                if op % 2 == 0 {
                    out.push_str(&format!("apiVersion: v1\n{kind}\n{meta}{data}"));
                } else {
                    out.push_str(&format!("apiVersion: v1\n{data}{kind}\n{meta}"));
                }
            }
            2 => {
                out.push_str("apiVersion: v1\nkind: List\nitems:\n");
                for _ in 0..1 + inp.byte() % 4 {
                    let v = b64(&value(&mut inp, &mut fakes));
                    out.push_str(&format!(
                        "- apiVersion: v1\n  {kind}\n  data:\n    password: {v}\n    extra: {}\n",
                        b64(inp.bytes())
                    ));
                }
            }
            3 => out.push_str("---\n"),
            4 => {
                let header = ["Authorization: Basic ", "authorization: basic ", "Basic "]
                    [usize::from(op >> 6) % 3];
                out.push_str(&format!("{header}{}\n", b64(&pair(&mut inp, &mut fakes))));
            }
            5 => {
                let p = b64(&pair(&mut inp, &mut fakes));
                out.push_str(&format!(
                    "{{\"auths\": {{\"registry.example\": {{\"auth\" : \"{p}\"}}}}}}\n"
                ));
            }
            6 => {
                // Raw input text between the structures.
                out.push_str(&String::from_utf8_lossy(inp.bytes()));
                out.push('\n');
            }
            _ => {
                let pad = " ".repeat(usize::from(inp.byte() % 8));
                out.push_str(&format!(
                    "{pad}data:\n{pad}  {}: {}\n",
                    "key",
                    b64(inp.bytes())
                ));
            }
        }
    }
    out.into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        check(rest);
    } else {
        check(&grammar(rest));
    }
});

//! The layout of `src/` holds its design: every import points one way (no
//! cycle among modules, nor among the top-level stages), and no file grows
//! past what a reader takes in at once. Read from the code's own imports:
//! `crate::`, `super::` and `self::` paths and the names of child modules,
//! with comments, strings and `#[cfg(test)]` modules left out (tests may
//! reach anywhere).
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines a source file may have. Split a file that holds two ideas long
/// before this.
const MAX_LINES: usize = 800;

/// A module of the crate: the code that counts.
struct Module {
    code: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `src/lib.rs` is the root.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The code with comments, string and character literals blanked out.
fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if (c == b'r' || c == b'b')
            && !b
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_ascii_alphanumeric() || *p == b'_')
            && raw_string_start(&b[i..]).is_some()
        {
            let (hashes, skip) = raw_string_start(&b[i..]).unwrap();
            i += skip;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' && is_char_literal(&b[i..]) {
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    out
}

/// `r"`, `r#"`, `br##"`: how many `#` and how many bytes open it.
fn raw_string_start(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = usize::from(b.first() == Some(&b'b'));
    if b.get(i) != Some(&b'r') {
        return None;
    }
    i += 1;
    let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
    i += hashes;
    (b.get(i) == Some(&b'"')).then_some((hashes, i + 1))
}

/// A character literal (`'a'`, `'\n'`, `'\u{7f}'`), not a lifetime (`'a`).
fn is_char_literal(b: &[u8]) -> bool {
    match b.get(1) {
        Some(b'\\') => true,
        Some(_) => {
            let ch = std::str::from_utf8(&b[1..b.len().min(6)])
                .ok()
                .or_else(|| std::str::from_utf8(&b[1..b.len().min(5)]).ok())
                .or_else(|| std::str::from_utf8(&b[1..b.len().min(4)]).ok())
                .or_else(|| std::str::from_utf8(&b[1..b.len().min(3)]).ok())
                .and_then(|s| s.chars().next());
            ch.is_some_and(|c| b.get(1 + c.len_utf8()) == Some(&b'\''))
        }
        None => false,
    }
}

/// `code` without its `#[cfg(test)]` modules.
fn without_tests(code: &str) -> String {
    let mut out = code.to_string();
    while let Some(at) = out.find("#[cfg(test)]") {
        let rest = &out[at..];
        let end = match (rest.find(';'), rest.find('{')) {
            (Some(semi), Some(brace)) if semi < brace => at + semi + 1,
            (_, Some(brace)) => {
                let mut depth = 0;
                let mut end = out.len();
                for (k, ch) in out[at + brace..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = at + brace + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (Some(semi), None) => at + semi + 1,
            (None, None) => out.len(),
        };
        out.replace_range(at..end, "");
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path the code names that starts with `crate`, `super`, `self` or
/// one of the module's own child modules, with `use` groups expanded.
fn paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_ident(chars[i]) || (i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        let first: String = chars[start..i].iter().collect();
        let anchored = matches!(first.as_str(), "crate" | "super" | "self");
        if !(anchored || children.contains(&first)) || !chars[i..].starts_with(&[':', ':']) {
            continue;
        }
        let (trees, next) = use_tree(&chars, start);
        out.extend(trees);
        i = next;
    }
    out
}

/// The paths of a path or `use` tree starting at `i`, and where it ends.
fn use_tree(chars: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if chars.get(i) == Some(&'{') {
            let mut all = Vec::new();
            i += 1;
            loop {
                while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                    i += 1;
                }
                if i >= chars.len() || chars[i] == '}' {
                    return (all, i + 1);
                }
                let (subs, next) = use_tree(chars, i);
                for s in subs {
                    all.push(prefix.iter().cloned().chain(s).collect());
                }
                i = next;
            }
        }
        let start = i;
        while i < chars.len() && (is_ident(chars[i]) || chars[i] == '*') {
            i += 1;
        }
        if i == start {
            return (vec![prefix], i);
        }
        prefix.push(chars[start..i].iter().collect());
        if chars[i..].starts_with(&[':', ':']) {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// The modules of `src/` (the library's; the binary's `main.rs` is a crate
/// of its own) and the module each one's code depends on.
fn graph() -> (BTreeMap<String, Module>, BTreeMap<String, BTreeSet<String>>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules = BTreeMap::new();
    for f in files {
        if f.file_name()
            .is_some_and(|n| n == "main.rs" || n == "tests.rs")
        {
            continue;
        }
        let path = module_path(&src, &f).join("::");
        let code = without_tests(&strip(&std::fs::read_to_string(&f).unwrap()));
        modules.insert(path, Module { code });
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, m) in &modules {
        let here: Vec<String> = if name.is_empty() {
            Vec::new()
        } else {
            name.split("::").map(str::to_string).collect()
        };
        let children: BTreeSet<String> = names
            .iter()
            .filter_map(|n| {
                let rest = if here.is_empty() {
                    n.as_str()
                } else {
                    n.strip_prefix(name.as_str())?.strip_prefix("::")?
                };
                (!rest.is_empty() && !rest.contains("::")).then(|| rest.to_string())
            })
            .collect();
        let deps = edges.entry(name.clone()).or_default();
        for p in paths(&m.code, &children) {
            let mut abs: Vec<String> = match p[0].as_str() {
                "crate" => Vec::new(),
                "self" => here.clone(),
                "super" => here[..here.len().saturating_sub(1)].to_vec(),
                _ => here.clone(),
            };
            let mut rest = if matches!(p[0].as_str(), "crate" | "self" | "super") {
                &p[1..]
            } else {
                &p[..]
            };
            while rest.first().is_some_and(|s| s == "super") {
                abs.pop();
                rest = &rest[1..];
            }
            abs.extend(rest.iter().cloned());
            // The longest prefix that is a module is what the path reaches.
            let target = (0..=abs.len())
                .rev()
                .map(|k| abs[..k].join("::"))
                .find(|t| names.contains(t))
                .unwrap_or_default();
            if target != *name {
                deps.insert(target);
            }
        }
    }
    (modules, edges)
}

/// The strongly connected components with more than one member (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        let edges = t.edges;
        for w in edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn describe(comps: &[Vec<String>], edges: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut s = String::new();
    for c in comps {
        s.push_str(&format!("cycle among {c:?}:\n"));
        for a in c {
            for b in edges.get(a).into_iter().flatten().filter(|b| c.contains(b)) {
                s.push_str(&format!("  {a} -> {b}\n"));
            }
        }
    }
    s
}

#[test]
fn no_import_cycle_among_modules() {
    let (modules, edges) = graph();
    assert!(modules.len() > 30, "found only {} modules", modules.len());
    let comps = cycles(&edges);
    assert!(comps.is_empty(), "{}", describe(&comps, &edges));
}

#[test]
fn no_import_cycle_among_stages() {
    let (_, edges) = graph();
    let top = |m: &str| m.split("::").next().unwrap_or("").to_string();
    let mut stages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in &edges {
        let deps = stages.entry(top(from)).or_default();
        deps.extend(to.iter().map(|t| top(t)).filter(|t| *t != top(from)));
    }
    // The crate root only declares the stages.
    stages.remove("");
    let comps = cycles(&stages);
    assert!(comps.is_empty(), "{}", describe(&comps, &stages));
    // The pipeline's order: no stage reaches one after it.
    let order = [
        "base", "source", "validate", "rules", "matcher", "finding", "identity", "report",
    ];
    for (i, a) in order.iter().enumerate() {
        for b in &order[i + 1..] {
            assert!(
                !stages.get(*a).is_some_and(|d| d.contains(*b)),
                "{a} depends on {b}, a later stage"
            );
        }
    }
}

#[test]
fn the_checker_sees_imports() {
    // Its own parts, on a small module: groups, `super`, child modules;
    // nothing from comments, strings or tests.
    let code = without_tests(&strip(
        "use crate::{a::b, c::{d, e::F}};\nuse super::g::H;\n// crate::no::comment\nlet s = \"crate::no::string\";\nlet c = '\"'; use child::X;\n#[cfg(test)]\nmod tests { use crate::no::test; }\n",
    ));
    let children = BTreeSet::from(["child".to_string()]);
    let got: Vec<String> = paths(&code, &children)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        got,
        [
            "crate::a::b",
            "crate::c::d",
            "crate::c::e::F",
            "super::g::H",
            "child::X"
        ]
    );
    let (modules, edges) = graph();
    assert!(modules.contains_key("matcher::keywords"));
    assert!(
        edges["matcher"].contains("matcher::keywords"),
        "{:?}",
        edges["matcher"]
    );
    assert!(
        edges["finding::collect"].contains("matcher"),
        "{:?}",
        edges["finding::collect"]
    );
}

#[test]
fn no_file_is_too_long() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut long = Vec::new();
    for f in files {
        let n = std::fs::read_to_string(&f).unwrap().lines().count();
        if n > MAX_LINES {
            long.push(format!("{} ({n} lines)", f.display()));
        }
    }
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}

//! The prefilter's tests: each gate loop against the others and against an
//! Aho-Corasick automaton over the same keywords, on random and real text.
use super::*;

/// A matcher over the built-in rules, and its gate.
fn builtin() -> crate::matcher::Matcher {
    let set = crate::rules::RuleSet::builtin().unwrap();
    crate::matcher::Matcher::new(set, Default::default()).unwrap()
}

fn gate(m: &crate::matcher::Matcher) -> &Gate {
    match &m.keywords().imp {
        Imp::Gate(g) => g,
        Imp::Automaton(_) => panic!("{}", m.keywords().describe()),
    }
}

fn hits(f: &KeywordFinder, hay: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    f.for_each(hay, &mut Hits::default(), |k, s, e| out.push((k, s, e)));
    out.sort();
    out
}

fn oracle(kws: &[Vec<u8>]) -> KeywordFinder {
    KeywordFinder {
        keywords: kws.iter().map(|k| k.to_ascii_lowercase()).collect(),
        imp: automaton(kws).unwrap(),
    }
}

/// Both paths find the same occurrences: overlapping ones, ones in any
/// case, at the very start and end, and near bytes the fold merges.
#[test]
fn gate_and_automaton_agree() {
    let kws: Vec<Vec<u8>> = [
        "secret",
        "aws_secret",
        "token",
        "ghp_",
        "sk-ant-",
        "sec",
        "api_key",
        "accesskey",
        "8q~",
        "[ab",
    ]
    .iter()
    .map(|k| k.as_bytes().to_vec())
    .collect();
    let gate = KeywordFinder::new(&kws).unwrap();
    assert!(gate.is_gate(), "{}", gate.describe());
    let hay = b"secAWS_SECRET=1 Token: x; sK-AnT-y ghp_ API_KEY 8Q^ 8q~ {AB [Ab\x7fab\xff\xc3SECRET and TOKEN ghP_ AccessKEYsec";
    let want = hits(&oracle(&kws), hay);
    assert_eq!(hits(&gate, hay), want);
    assert_eq!(want.len(), 16, "{want:?}");
    // Every prefix and suffix of the input: the 8-wide steps and the tail.
    for cut in 0..hay.len() {
        assert_eq!(
            hits(&gate, &hay[cut..]),
            hits(&oracle(&kws), &hay[cut..]),
            "from {cut}"
        );
        assert_eq!(
            hits(&gate, &hay[..cut]),
            hits(&oracle(&kws), &hay[..cut]),
            "to {cut}"
        );
    }
}

/// The built-in keywords over random text with keywords spliced in.
#[test]
fn gate_agrees_on_many_keywords() {
    let mut f = crate::testkit::fakes::Fakes::new(3);
    let kws: Vec<Vec<u8>> = (0..400)
        .map(|i| {
            f.chars(b"abcdefghijklmnopqrstuvwxyz_-.0123456789", 3 + i % 9)
                .into_bytes()
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let finder = KeywordFinder::new(&kws).unwrap();
    assert!(finder.is_gate(), "{}", finder.describe());
    let mut hay = Vec::new();
    for (i, k) in kws.iter().enumerate() {
        hay.extend(
            f.chars(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ _-.\n", i % 50)
                .into_bytes(),
        );
        hay.extend(if i % 2 == 0 {
            k.to_ascii_uppercase()
        } else {
            k.clone()
        });
    }
    let want = hits(&oracle(&kws), &hay);
    assert!(want.len() >= kws.len(), "{}", want.len());
    assert_eq!(hits(&finder, &hay), want);
}

/// Every loop the CPU can run finds the same positions, the last bytes
/// of the input included.
#[test]
fn every_level_agrees() {
    let m = builtin();
    let g = gate(&m);
    let mut f = crate::testkit::fakes::Fakes::new(9);
    let mut hay = Vec::new();
    for i in 0..3000 {
        hay.extend(
            f.chars(b"abcdefghijklmnopqrstuvwxyzTOKENSECRT_-.:/ \n\"=", i % 40)
                .into_bytes(),
        );
        hay.extend(
            [
                &b"token"[..],
                b"SECRET",
                b"ghp_x",
                b"sk-ant",
                b"\xff\xfe\x00",
            ][i % 5],
        );
    }
    let at = |level: Level, hay: &[u8]| {
        let mut out = Vec::new();
        g.find_at(level, hay, |p, x| out.push((p, x)));
        out.sort();
        out
    };
    let levels: Vec<Level> = [Level::Scalar, Level::Avx2, Level::Avx512]
        .into_iter()
        .filter(|&l| l <= level())
        .collect();
    for cut in [0, 1, 7, 65, 66, 67, 130, 500] {
        let part = &hay[..hay.len() - cut];
        let want = at(Level::Scalar, part);
        assert!(want.len() > 1000, "{}", want.len());
        for &l in &levels[1..] {
            assert_eq!(at(l, part), want, "{l:?}, cut {cut}");
        }
    }
}

/// The Bloom filters hold every anchor, in either case.
#[cfg(target_arch = "x86_64")]
#[test]
fn bloom_holds_the_anchors() {
    let m = builtin();
    let g = gate(&m);
    let kws = &m.keywords().keywords;
    for (_, members) in &g.anchors {
        for &(k, off) in members {
            let a = [kws[k][off], kws[k][off + 1], kws[k][off + 2]];
            assert!(g.bloom.passes(a) && g.bloom.passes(a.map(|b| b.to_ascii_uppercase())));
        }
    }
    let through = common_trigrams()
        .iter()
        .filter(|(t, _)| g.bloom.passes(*t))
        .count();
    assert!(through < common_trigrams().len() / 20, "{through}");
}

#[test]
fn short_keywords_use_the_automaton() {
    let f = KeywordFinder::new(&[b"ab".to_vec(), b"xyz".to_vec()]).unwrap();
    assert!(!f.is_gate());
    assert_eq!(hits(&f, b"zzABxyz").len(), 2);
}

#[test]
fn anchors_are_the_rare_bytes() {
    let f = KeywordFinder::new(&[b"password".to_vec(), b"api_key".to_vec()]).unwrap();
    let Imp::Gate(g) = &f.imp else { panic!() };
    let mut got: Vec<(usize, usize)> = g.anchors.iter().flat_map(|(_, m)| m.clone()).collect();
    got.sort();
    assert_eq!(got, [(0, 2), (1, 2)], "pa[ssw]ord, ap[i_k]ey");
}

/// Writes `src/matcher/keywords/trigrams.txt` from the files under the directories in
/// `KEYTRACE_TRIGRAM_SOURCES` (colon-separated): up to 24 MiB of each
/// kind of text, lower-cased, counted per 10 million positions.
/// `KEYTRACE_TRIGRAM_SOURCES=~/.cargo/registry/src:/usr/lib/python3 \
///  cargo test --release --lib regenerate_trigrams -- --ignored`
#[test]
#[ignore]
fn regenerate_trigrams() {
    const KINDS: [&[&str]; 10] = [
        &["rs"],
        &["c", "h", "cc", "cpp", "hpp"],
        &["go", "java", "kt", "cs"],
        &["sh", "bash", "ps1", "tf", "dockerfile"],
        &["py"],
        &["js", "ts", "mjs"],
        &["json"],
        &["yaml", "yml"],
        &["toml", "ini", "cfg", "env"],
        &["md", "rst", "txt"],
    ];
    const PER_KIND: usize = 24 << 20;
    let dirs = std::env::var("KEYTRACE_TRIGRAM_SOURCES").expect("KEYTRACE_TRIGRAM_SOURCES");
    let mut taken = [0usize; KINDS.len()];
    let mut counts = vec![0u64; 1 << 24];
    let mut total = 0u64;
    for dir in dirs.split(':') {
        let mut paths: Vec<std::path::PathBuf> = ignore::WalkBuilder::new(dir)
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
            .map(|e| e.into_path())
            .collect();
        paths.sort();
        for p in paths {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            let Some(kind) = KINDS.iter().position(|k| k.contains(&ext)) else {
                continue;
            };
            if taken[kind] >= PER_KIND {
                continue;
            }
            let Ok(data) = std::fs::read(&p) else {
                continue;
            };
            if data.len() > 1 << 20 || data.contains(&0) {
                continue;
            }
            taken[kind] += data.len();
            let data = data.to_ascii_lowercase();
            for w in data.windows(3) {
                counts[usize::from(w[0]) << 16 | usize::from(w[1]) << 8 | usize::from(w[2])] += 1;
                total += 1;
            }
        }
    }
    let mut top: Vec<(u64, usize)> = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(t, &c)| (c, t))
        .collect();
    top.sort_unstable_by(|a, b| b.cmp(a));
    top.truncate(8000);
    let mut out = format!(
        "# The 8,000 most common lower-cased byte trigrams of a sample of source and\n\
         # config text, as hex and count per 10 million positions ({} positions;\n\
         # MiB per kind rs, c/c++, go/java/c#, shell/tf, py, js/ts, json, yaml,\n\
         # toml/ini, md/txt: {:?}).\n\
         # Regenerate with the ignored test keywords::tests::regenerate_trigrams.\n",
        total,
        taken.map(|t| t >> 20)
    );
    for (c, t) in top {
        out.push_str(&format!("{t:06x} {}\n", (c * 10_000_000 / total).max(1)));
    }
    std::fs::write(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/matcher/keywords/trigrams.txt"
        ),
        out,
    )
    .unwrap();
}
/// How many positions of the files under `KEYTRACE_GATE_DIR` pass the
/// gate, and for the anchors that pass most (`KEYTRACE_GATE_TOP`, default
/// 30), how many positions each passed, how many of those held one of its
/// keywords, and the keywords (a diagnostic for anchor and keyword choice):
/// `KEYTRACE_GATE_DIR=DIR cargo test --release --lib gate_candidates -- --ignored --nocapture`
#[test]
#[ignore]
fn gate_candidates() {
    let m = builtin();
    let (f, g) = (m.keywords(), gate(&m));
    let (mut bytes, mut passed, mut hits, mut bloom) = (0usize, 0usize, 0usize, 0usize);
    // Per anchor: positions passed, keyword hits there.
    let mut by_anchor = vec![(0usize, 0usize); g.anchors.len()];
    let dir = std::env::var("KEYTRACE_GATE_DIR").expect("KEYTRACE_GATE_DIR");
    let top = std::env::var("KEYTRACE_GATE_TOP").map_or(30, |t| t.parse().unwrap());
    for e in ignore::WalkBuilder::new(dir).build().filter_map(Result::ok) {
        if !e.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(d) = std::fs::read(e.path()) else {
            continue;
        };
        bytes += d.len();
        bloom += d
            .windows(3)
            .filter(|w| g.bloom.passes([w[0], w[1], w[2]]))
            .count();
        g.find(&d, |p, i| {
            passed += 1;
            let a = g.anchors.partition_point(|(x, _)| *x < i);
            by_anchor[a].0 += 1;
            f.confirm(g, &d, p, i, |_, _, _| by_anchor[a].1 += 1);
        });
        f.for_each(&d, &mut Hits::default(), |_, _, _| hits += 1);
    }
    let mut v: Vec<_> = by_anchor.iter().enumerate().collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.1 .0));
    for (a, (c, confirmed)) in v.iter().take(top) {
        let members = &g.anchors[*a].1;
        let (k, off) = members[0];
        let kw = |k: usize| String::from_utf8_lossy(&f.keywords[k]).into_owned();
        let all: Vec<String> = members.iter().map(|&(k, _)| kw(k)).collect();
        eprintln!(
            "{c:9} {confirmed:9} {:?}: {}",
            &kw(k)[off..off + ANCHOR],
            all.join(" ")
        );
    }
    let pct = passed as f64 * 100.0 / bytes as f64;
    eprintln!(
        "{bytes} bytes, {bloom} pass the Bloom filters, {passed} the gate ({pct:.3}%), {hits} keyword hits"
    );
    assert!(hits <= passed && passed <= bloom);
}

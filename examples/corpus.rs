//! Writes the accuracy corpus of one seed to a directory, to look at or to
//! scan by hand: `cargo run --example corpus -- 1 /tmp/corpus`. The labels
//! (rule, path, line; no secrets) go to stdout, one a line. Rule files named
//! after DIR are added to the built-in rules, to try new rules before they
//! are built in: `corpus 1 /tmp/corpus rules/new.toml`.
use keytrace::rules::RuleSet;
use keytrace::testkit::corpus::Corpus;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(seed), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: corpus SEED DIR [RULE-FILE...]");
        std::process::exit(2);
    };
    let seed: u64 = seed.parse().expect("SEED is a number");
    let custom: Vec<String> = args.collect();
    let rules = RuleSet::load(true, &custom).expect("rules load");
    let corpus = Corpus::generate(&rules, seed);
    corpus
        .write(std::path::Path::new(&dir))
        .expect("write corpus");
    for l in &corpus.labels {
        let enc = if l.encoded { "\tbase64" } else { "" };
        println!("{}\t{}:{}{enc}", l.rule, l.path, l.line);
    }
    eprintln!(
        "{} files, {} credentials, {} decoys",
        corpus.files.len(),
        corpus.labels.len(),
        corpus.decoys
    );
}

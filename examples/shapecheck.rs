//! Checks new rule files the way the unit tests check built-in rules,
//! before they are built in: every rule's secret has a shape, random values
//! of it pass the shape checks and its entropy floor (at most 1 in 400
//! under it), and the secrets of its examples pass the shape checks.
//! `cargo run --example shapecheck -- rules/new.toml`; exit 1 on a problem.
use keytrace::rules::RuleSet;
use keytrace::testkit::fakes::Fakes;
use keytrace::testkit::sample::shape_problems;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let set = RuleSet::load(false, &files).expect("rules load");
    let mut f = Fakes::new(11);
    let mut bad = 0;
    for rule in set.rules() {
        let problems = shape_problems(rule, &mut f, 200);
        for p in &problems {
            println!("{p}");
        }
        bad += problems.len();
    }
    if bad > 0 {
        std::process::exit(1);
    }
    println!("shapes: {} rules ok", set.len());
}

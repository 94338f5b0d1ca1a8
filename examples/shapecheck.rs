//! Checks new rule files the way the unit tests check built-in rules,
//! before they are built in: every rule's secret has a shape, random values
//! of it pass the shape checks and its entropy floor (at most 1 in 400
//! under it), and the secrets of its examples pass the shape checks.
//! `cargo run --example shapecheck -- rules/new.toml`; exit 1 on a problem.
use keytrace::rules::shape::Shape;
use keytrace::rules::RuleSet;
use keytrace::testkit::fakes::Fakes;
use keytrace::testkit::sample::{Fill, SampleShape};
use keytrace::validate::filters::entropy;
use keytrace::validate::Validator;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let set = RuleSet::load(false, &files).expect("rules load");
    let mut f = Fakes::new(11);
    let mut bad = 0;
    for rule in set.rules() {
        let id = &rule.spec.id;
        let Some(shape) = Shape::of(&rule.spec.pattern) else {
            println!("{id}: the pattern has no readable `secret` group");
            bad += 1;
            continue;
        };
        for ex in &rule.spec.examples {
            for caps in rule.regex().captures_iter(ex.as_bytes()) {
                let Some(secret) = caps.name("secret") else {
                    continue;
                };
                if let Some(why) = shape.doubt(secret.as_bytes()) {
                    println!("{id}: an example's secret fails the shape check ({why}): {ex}");
                    bad += 1;
                }
            }
        }
        let mut doubted = 0;
        for _ in 0..200 {
            let v = shape.sample(&mut f, Fill::Random);
            if let Some(why) = shape.doubt(&v) {
                if doubted == 0 {
                    println!(
                        "{id}: a random value fails the shape check ({why}): {}",
                        String::from_utf8_lossy(&v)
                    );
                }
                doubted += 1;
            }
        }
        bad += usize::from(doubted > 0);
        if let (Some(min), false) = (
            rule.spec.min_entropy,
            rule.spec.validator == Some(Validator::Generic),
        ) {
            let n = 2000;
            let low = (0..n)
                .filter(|_| entropy(&shape.sample(&mut f, Fill::Random)) < min)
                .count();
            if low * 400 > n {
                println!("{id}: {low} of {n} random values are under min_entropy {min}: lower it");
                bad += 1;
            }
        }
    }
    if bad > 0 {
        std::process::exit(1);
    }
    println!("shapes: {} rules ok", set.len());
}

//! Throughput of the matcher and of a whole-directory scan, in MB/s, on a
//! generated corpus of realistic source and config text with planted fake
//! credentials. Every run also checks the finding count, so a fast but wrong
//! matcher cannot look good.
//!
//! `cargo bench --bench scan` (corpus size: KEYTRACE_BENCH_MB, default 128;
//! the corpus is generated once under target/ and reused).
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use keytrace::cli::{Cli, Command};
use keytrace::config::Config;
use keytrace::fakes::Fakes;
use keytrace::matcher::Scratch;

const IDENTS: &[&str] = &[
    "user", "account", "order", "invoice", "payload", "request", "response", "config", "cache",
    "session", "handler", "client", "server", "metrics", "logger", "retry", "timeout", "buffer",
    "parser", "record", "schedule", "report", "index", "cursor",
];

fn ident(f: &mut Fakes) -> &'static str {
    IDENTS[f.below(IDENTS.len())]
}

/// Lines that mention credentials without holding one: they hit keywords and
/// make the matcher run its regexes, as real auth code does.
fn keyword_line(f: &mut Fakes, lang: usize) -> String {
    let (a, b) = (ident(f), ident(f));
    let n = f.below(10_000);
    match (lang, f.below(4)) {
        (0, 0) => format!("    if not {a}.token:  # refresh the token when the session expires"),
        (0, 1) => format!("    password_field = forms.CharField(max_length={n}, label=\"{b}\")"),
        (0, 2) => format!("    secret = os.environ.get(\"{a}_SECRET\")"),
        (0, _) => format!("    api_key = settings.{a}_api_key or None"),
        (1, 0) => format!("  const token = req.headers['authorization'] ?? {a}.token;"),
        (1, 1) => format!("  const secret = process.env.{b}_SECRET;"),
        (1, _) => format!("  if (!{a}.password) throw new Error('missing password for {b}');"),
        (2, 0) => format!("\tsecret, err := vault.Read(ctx, \"kv/{a}/{b}\")"),
        (2, _) => format!("\ttoken, err := {a}.Token(ctx) // {n}"),
        (3, 0) => format!("  secretRef: {{ name: {a}-credentials, key: {b} }}"),
        (3, _) => format!("  tokenFile: /var/run/secrets/{a}/token"),
        (_, _) => format!("Set `{a}` to rotate the API key every {n} days; see the token docs."),
    }
}

/// One line of ordinary code or config, in the style of `lang`. About one
/// line in 60 mentions a credential: real code (the crates in a cargo
/// registry) hits a keyword once per 3.5 KB, this corpus once per ~1.5 KB.
fn filler(f: &mut Fakes, lang: usize) -> String {
    if f.below(60) == 0 {
        return keyword_line(f, lang);
    }
    let (a, b, c) = (ident(f), ident(f), ident(f));
    let n = f.below(10_000);
    match (lang, f.below(6)) {
        (0, 0) => format!("def get_{a}(self, {b}, timeout={n}):"),
        (0, 1) => format!("    {a} = self.{b}.fetch({c}, retries={n})"),
        (0, 2) => format!("    logger.info(\"loaded %s rows for %s\", len({a}), {b})"),
        (0, _) => format!("    return {{\"{a}\": {b}, \"{c}\": {n}}}"),
        (1, 0) => format!("export async function {a}To{b}({c}) {{"),
        (1, 1) => format!("  const {a} = await fetch(`/api/v{n}/{b}`, {{ headers }});"),
        (1, 2) => format!("  if ({a}.length > {n}) throw new Error('invalid {b}');"),
        (1, _) => format!("  return {{ {a}, {b}: {c}.map((x) => x * {n}) }};"),
        (2, 0) => format!("func ({a} *{b}) Handle(ctx context.Context, {c} int) error {{"),
        (2, 1) => format!("\tif err := {a}.Validate({n}); err != nil {{ return err }}"),
        (2, _) => format!("\t{a} := make([]byte, {n}) // {b} buffer"),
        (3, 0) => format!("{a}:"),
        (3, 1) => format!("  {b}: {n}"),
        (3, 2) => format!("  image: registry.internal/{a}/{b}:v{n}"),
        (3, _) => format!("  - name: {c}\n    value: \"{n}\""),
        (_, 0) => format!("## {a} and {b}"),
        (_, _) => format!("The {a} service reads {b} from {c} ({n} ms budget)."),
    }
}

/// A fake credential line and its secret (what the finding must capture).
fn plant(f: &mut Fakes) -> String {
    match f.below(12) {
        0 => format!("GITHUB_TOKEN={}", f.github("ghp")),
        1 => format!("NPM_TOKEN={}", f.npm()),
        2 => format!("OPENAI_API_KEY={}", f.openai("proj")),
        3 => format!("anthropic_key = \"{}\"", f.anthropic("api03")),
        4 => format!("  slack_token: {}", f.slack_bot()),
        5 => format!("STRIPE_KEY={}", f.stripe("sk")),
        6 => format!("GOOGLE_API_KEY=\"{}\"", f.google_api_key()),
        7 => format!(
            "DATABASE_URL=postgres://svc:{}@db.internal/app",
            f.password()
        ),
        8 => format!("HF_TOKEN={}", f.huggingface()),
        9 => format!("token := \"{}\"", f.github("gho")),
        10 => format!("DOCKER_PAT={}", f.docker_pat()),
        _ => format!("SECRET_KEY = \"{}\"", f.generic_value()),
    }
}

const EXT: [&str; 5] = ["py", "ts", "go", "yaml", "md"];

/// Writes ~`mb` MiB of files; returns the number of planted secrets.
fn generate(dir: &Path, mb: usize) -> usize {
    let mut f = Fakes::new(2024);
    let (mut planted, mut total, mut i) = (0, 0usize, 0);
    while total < mb << 20 {
        let lang = i % 5;
        let size = 20_000 + f.below(180_000);
        let mut text = String::with_capacity(size + 200);
        while text.len() < size {
            if f.below(2000) == 0 {
                text.push_str(&plant(&mut f));
                planted += 1;
            } else {
                text.push_str(&filler(&mut f, lang));
            }
            text.push('\n');
        }
        let sub = dir.join(format!("pkg{:03}", i / 50));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("file{i:05}.{}", EXT[lang])), &text).unwrap();
        total += text.len();
        i += 1;
    }
    planted
}

fn corpus(mb: usize) -> (PathBuf, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-corpus-v2-{mb}"));
    let done = dir.with_extension("planted");
    if let Ok(n) = fs::read_to_string(&done) {
        return (dir, n.trim().parse().unwrap());
    }
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let n = generate(&dir, mb);
    fs::write(&done, n.to_string()).unwrap();
    (dir, n)
}

fn config(dir: &Path, threads: usize) -> Config {
    let cli = Cli::parse_from([
        "keytrace",
        "scan",
        "--no-progress",
        "--no-history",
        "--threads",
        &threads.to_string(),
        dir.to_str().unwrap(),
    ]);
    let Command::Scan(args) = cli.command else {
        unreachable!()
    };
    Config::from_scan_args(&args).unwrap()
}

fn mbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / (1 << 20) as f64 / secs
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: then
    // only check that the bench runs, on a tiny corpus.
    let quick = !std::env::args().any(|a| a == "--bench");
    let mb: usize = std::env::var("KEYTRACE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 4 } else { 128 });
    let reps = if quick { 1 } else { 3 };
    let (dir, planted) = corpus(mb);

    // Matcher alone, on files held in memory, one thread.
    let cfg = config(&dir, 1);
    let mut files = Vec::new();
    for e in ignore::Walk::new(&dir).flatten() {
        if e.file_type().is_some_and(|t| t.is_file()) {
            files.push(fs::read(e.path()).unwrap());
        }
    }
    let bytes: u64 = files.iter().map(|f| f.len() as u64).sum();
    let mut best = f64::MAX;
    for _ in 0..reps {
        let mut scratch = Scratch::default();
        let start = Instant::now();
        let mut found = 0;
        for data in &files {
            found += cfg.matcher.scan(data, &mut scratch).len();
        }
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(found, planted, "matcher found {found}, planted {planted}");
    }
    println!(
        "matcher        1 thread : {:8.1} MB/s  ({} MiB, {} files, {} secrets)",
        mbps(bytes, best),
        bytes >> 20,
        files.len(),
        planted
    );
    drop(files);

    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads = vec![1];
    if all > 1 {
        threads.push(all);
    }
    for t in threads {
        let cfg = config(&dir, t);
        let mut best = f64::MAX;
        for _ in 0..reps {
            let report = keytrace::scan::run(&cfg).unwrap();
            assert_eq!(report.findings.len(), planted, "scan findings");
            assert!(report.errors.is_empty(), "{:?}", report.errors);
            best = best.min(report.stats.seconds);
            assert_eq!(report.stats.bytes, bytes);
        }
        println!(
            "directory scan {t} thread{}: {:8.1} MB/s",
            if t == 1 { " " } else { "s" },
            mbps(bytes, best)
        );
    }
}

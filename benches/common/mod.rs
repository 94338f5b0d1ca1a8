//! Realistic source and config text with planted fake credentials, shared
//! by the benches.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use keytrace::testkit::fakes::Fakes;

/// `cargo bench` passes `--bench`; `cargo test --benches` (CI) does not:
/// then a bench only proves it runs, on a small input.
pub fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

/// The input size: `$var` if set, else the quick or the full default.
pub fn size(var: &str, quick_default: usize, full_default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick() { quick_default } else { full_default })
}

/// Runs git in `dir` as a bench identity; panics if it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args([
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.org",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

/// Starts this process's peak resident set over from its current one
/// (Linux: `5` into `clear_refs`); false where that is not possible.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// This process's peak resident set (VmHWM), in MiB.
pub fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// A new repository in `dir` (emptied first), filled by the stream that
/// `write` sends to `git fast-import`.
pub fn fast_import(dir: &Path, bare: bool, write: impl FnOnce(&mut dyn Write)) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let init: &[&str] = if bare {
        &["init", "-q", "--bare", "-b", "main"]
    } else {
        &["init", "-q", "-b", "main"]
    };
    git(dir, init);
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufWriter::new(child.stdin.take().unwrap());
    write(&mut out);
    out.flush().unwrap();
    drop(out);
    assert!(child.wait().unwrap().success(), "git fast-import failed");
}

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
pub fn filler(f: &mut Fakes, lang: usize) -> String {
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
pub fn plant(f: &mut Fakes) -> String {
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

/// About `size` bytes of code or config in the style of `lang`, with a fake
/// credential on one line in `one_in`; returns the text and how many it holds.
pub fn text(f: &mut Fakes, lang: usize, size: usize, one_in: usize) -> (String, usize) {
    let (mut text, mut planted) = (String::new(), 0);
    while text.len() < size {
        if f.below(one_in) == 0 {
            text.push_str(&plant(f));
            planted += 1;
        } else {
            text.push_str(&filler(f, lang));
        }
        text.push('\n');
    }
    (text, planted)
}

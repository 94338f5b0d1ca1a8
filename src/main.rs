//! The `keytrace` binary: parses arguments, calls the library, and maps the
//! outcome to an exit code (0 clean, 1 findings, 2 error).
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Parser;

use keytrace::base::secret::fingerprint;
use keytrace::base::text::terminal_safe;
use keytrace::base::time::Date;
use keytrace::cli::{AgentsCommand, Cli, Command, ListFormat, RulesCommand, RulesFormat};
use keytrace::config::Config;
use keytrace::identity::Inventory;
use keytrace::matcher::rulecheck;
use keytrace::report::{self, ReportOptions};
use keytrace::rules::{self, RuleSet};
use keytrace::scan;

const CLEAN: u8 = 0;
const FOUND: u8 = 1;
const FAILED: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(CLEAN),
        Err(e) => {
            eprintln!("keytrace: {}", terminal_safe(&format!("{e:#}")));
            ExitCode::from(FAILED)
        }
    }
}

/// A write's result, where a reader that went away (`| head`) is no error:
/// the exit code stays the one the findings decide.
fn unless_pipe_closed(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Ci(mut args) => {
            if args.since.is_none() && !args.staged {
                let env: std::collections::HashMap<String, String> = std::env::vars().collect();
                match keytrace::ci::detect(&env, |p| {
                    keytrace::base::files::read_capped_text(p.as_ref(), keytrace::base::files::cap::CI_EVENT).ok()
                }) {
                    Some(r) => {
                        eprintln!(
                            "keytrace: {}: scanning {}..{}",
                            r.source,
                            r.since,
                            r.until.as_deref().unwrap_or("HEAD")
                        );
                        args.since = Some(r.since);
                        args.until = r.until;
                    }
                    None => eprintln!(
                        "keytrace: no CI range in the environment (GitHub push/pull_request, GitLab, KEYTRACE_SINCE): scanning everything"
                    ),
                }
            }
            run(Cli {
                command: Command::Scan(args),
            })
        }
        Command::Scan(args) => {
            keytrace::source::git::init_offline();
            let config = Config::from_scan_args(&args)?;
            // A report that could not be written is known before the scan.
            if let Some(dir) = config.output.as_deref().and_then(|o| o.parent()) {
                if !dir.as_os_str().is_empty() && !dir.is_dir() {
                    anyhow::bail!(
                        "--output: {} is not a directory: the report could not be written",
                        dir.display()
                    );
                }
            }
            if config.progress {
                clear_progress_on_interrupt();
            }
            if config.stdin && io::stdin().is_terminal() {
                eprintln!("keytrace: reading standard input to scan (end it with Ctrl-D)");
            }
            let report = scan::run(&config)?;
            if config.verify_plan {
                let v = config.verify.clone().unwrap_or_default();
                let plan = keytrace::verify::plan(&report.findings, config.matcher.rules(), &v);
                let json = matches!(config.format, keytrace::report::Format::Json);
                let mut w = BufWriter::new(io::stdout().lock());
                unless_pipe_closed(
                    keytrace::verify::write_plan(&plan, json, &mut w).and_then(|()| w.flush()),
                )?;
                return Ok(if report.fatal.is_some() {
                    FAILED
                } else {
                    CLEAN
                });
            }
            let opts = ReportOptions {
                color: config.color,
                threads: config.fs.threads,
                all_locations: config.all_locations,
            };
            let rules = config.matcher.rules();
            // Decided before writing: a reader that stops early (`| head`)
            // must not turn findings into success.
            let failing = report.findings.iter().any(|f| config.fail_on.fails(f));
            let written = match &config.output {
                Some(path) => {
                    let file = File::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    let mut w = BufWriter::with_capacity(1 << 16, file);
                    report::write(config.format, &report, rules, opts, &mut w)
                        .and_then(|()| w.flush())
                }
                None => {
                    let mut w = BufWriter::new(io::stdout().lock());
                    report::write(config.format, &report, rules, opts, &mut w)
                        .and_then(|()| w.flush())
                }
            };
            unless_pipe_closed(written)?;
            if let Some(why) = &report.fatal {
                eprintln!("keytrace: {}", terminal_safe(why));
                return Ok(FAILED);
            }
            // The process ends here: freeing every finding one by one (tens
            // of milliseconds for a large report) would only delay the exit.
            std::mem::forget(report);
            Ok(if failing { FOUND } else { CLEAN })
        }
        Command::Baseline(args) => {
            let Some(path) = args.scan.output.clone() else {
                bail!("keytrace baseline needs -o FILE: where to write the baseline");
            };
            keytrace::source::git::init_offline();
            let mut scan_args = args.scan;
            scan_args.baseline = None;
            let config = Config::from_scan_args(&scan_args)?;
            let report = scan::run(&config)?;
            let previous = if path.is_file() {
                Some(keytrace::baseline::Baseline::read(&path)?)
            } else {
                None
            };
            let b = keytrace::baseline::Baseline::record(
                &report.findings,
                previous.as_ref(),
                args.prune,
            );
            b.write(&path)?;
            eprintln!(
                "keytrace: {} findings recorded in {} ({} entries)",
                report.findings.len(),
                path.display(),
                b.findings.len()
            );
            Ok(CLEAN)
        }
        Command::Rules(RulesCommand::List { format, rules }) => {
            let set = RuleSet::load(true, &rules)?;
            let mut w = BufWriter::new(io::stdout().lock());
            match format {
                RulesFormat::Markdown => write!(w, "{}", rules::markdown_table(&set))?,
                RulesFormat::Json => {
                    let specs: Vec<_> = set.rules().iter().map(|r| &r.spec).collect();
                    serde_json::to_writer_pretty(&mut w, &specs)?;
                    writeln!(w)?;
                }
                RulesFormat::Human => {
                    for r in set.rules() {
                        let s = &r.spec;
                        writeln!(
                            w,
                            "{:<36} {:<14} {:<6} {:<8} {:<6} {}",
                            s.id,
                            s.provider,
                            s.lifetime.as_str(),
                            format!("{:?}", s.identity).to_lowercase(),
                            if s.verify.is_some() { "live" } else { "-" },
                            s.name
                        )?;
                    }
                    let matcher = keytrace::matcher::Matcher::new(set.clone(), Default::default())?;
                    let verifying: Vec<&str> = set
                        .rules()
                        .iter()
                        .filter(|r| r.spec.verify.is_some())
                        .map(|r| r.spec.provider.as_str())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    let checks = set
                        .rules()
                        .iter()
                        .filter(|r| r.spec.verify.is_some())
                        .count();
                    writeln!(w, "{} rules ({checks} with a live check, over {} providers; `live` column); {}", set.len(), verifying.len(), matcher.keywords().describe())?;
                }
            }
            w.flush()?;
            Ok(CLEAN)
        }
        Command::Sweep(args) => sweep(&args),
        Command::Report(args) => sweep_report(&args),
        Command::Rules(RulesCommand::Check { files }) => check_rules(&files),
        Command::Verify(args) => verify_one(&args),
        Command::Agents(AgentsCommand::Check { paths, format }) => check_agents(&paths, format),
        Command::Agents(AgentsCommand::Init {
            paths,
            output,
            agents,
            no_history,
        }) => init_agents(&paths, output.as_deref(), &agents, no_history),
        Command::Fingerprint => {
            println!("{}", fingerprint(&read_secret()?));
            Ok(CLEAN)
        }
        Command::Completions { shell } => {
            print_all(&keytrace::cli::completions(shell))?;
            Ok(CLEAN)
        }
        Command::Man { subcommand } => {
            let page = keytrace::cli::man_page(&subcommand).map_err(|e| anyhow::anyhow!(e))?;
            print_all(&page)?;
            Ok(CLEAN)
        }
    }
}

/// Writes generated text (a completion script, a man page) to stdout.
fn print_all(text: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    unless_pipe_closed(out.write_all(text).and_then(|()| out.flush()))
}

/// Ctrl-C while a progress line is drawn on the terminal: the line is
/// cleared, then keytrace ends as SIGINT's default would (which would leave
/// the line on screen). The line is cleared under the standard error lock,
/// through which the progress line is drawn, so that no frame comes after.
fn clear_progress_on_interrupt() {
    // Without the handler (one is set already), Ctrl-C still stops
    // keytrace: the default.
    let _ = ctrlc::set_handler(|| {
        // Another thread may hold standard error for long (a terminal
        // paused with Ctrl-S): Ctrl-C stops keytrace all the same.
        std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(300));
            die_of_interrupt();
        });
        let mut e = io::stderr().lock();
        let _ = e.write_all(b"\r\x1b[2K");
        let _ = e.flush();
        die_of_interrupt();
    });
}

/// Ends keytrace killed by SIGINT, as without a handler: a shell loop
/// around it stops too (an exit status of 130 would tell the shell that
/// keytrace handled the interrupt itself), and no exit handlers run while
/// other threads work.
fn die_of_interrupt() -> ! {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition and raising a signal have
    // no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::raise(libc::SIGINT);
    }
    std::process::exit(130)
}

/// `keytrace sweep`: a bar per repository on a terminal, else one JSON line
/// per repository on stderr; the summary as JSON on stdout. Exits 0 once the
/// sweep ran, whatever it found or failed to reach: both are in the store.
fn sweep(args: &keytrace::cli::SweepArgs) -> anyhow::Result<u8> {
    let mut config = keytrace::sweep::SweepConfig::from_args(args)?;
    config.list(&mut |message| eprintln!("keytrace: {message}"))?;
    let total = keytrace::sweep::selected(&config).len() as u64;
    let bar = (!args.no_progress && io::stderr().is_terminal()).then(|| {
        clear_progress_on_interrupt();
        let pb = indicatif::ProgressBar::new(total);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} repositories  {msg}  {elapsed}",
            )
            .expect("valid template"),
        );
        pb
    });
    let summary = keytrace::sweep::run(
        &config,
        |_, name| {
            if let Some(pb) = &bar {
                pb.set_message(name.to_string());
            }
        },
        |log| match &bar {
            Some(pb) => {
                if let Some(e) = &log.error {
                    pb.println(format!(
                        "{}: {}",
                        terminal_safe(&log.repo),
                        terminal_safe(e)
                    ));
                }
                pb.inc(1);
            }
            None => {
                let mut err = io::stderr().lock();
                let _ = serde_json::to_writer(&mut err, log);
                let _ = writeln!(err);
            }
        },
    )?;
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, &summary)?;
    writeln!(out)?;
    Ok(CLEAN)
}

/// `keytrace report`: stores and exports merged into one report.
fn sweep_report(args: &keytrace::cli::ReportArgs) -> anyhow::Result<u8> {
    use keytrace::cli::ReportFormat;
    use keytrace::sweep::merge;
    if args.store.is_empty() && args.input.is_empty() {
        bail!("keytrace report needs --store PATH or --input FILE (repeatable)");
    }
    if args.max_age < 0 {
        bail!("--max-age takes a number of days");
    }
    let fail_on = args
        .fail_on
        .as_deref()
        .map(keytrace::config::FailOn::parse)
        .transpose()?;
    let mut inputs = Vec::new();
    for s in &args.store {
        inputs.push(merge::load_store(s)?);
    }
    for i in &args.input {
        inputs.push(merge::load_jsonl(i)?);
    }
    let contents = merge::combine(inputs);
    let mut sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    if args.format == ReportFormat::Jsonl {
        merge::export(&contents, args.show_secrets, &mut sink)?;
        sink.flush()?;
        return Ok(CLEAN);
    }
    let today = Date::today();
    let inventory = if args.agents.is_empty() {
        None
    } else {
        Some(Inventory::load(&args.agents, today)?)
    };
    let settings = merge::ReportSettings {
        inventory: inventory.as_ref(),
        risk: keytrace::identity::RiskOptions {
            today,
            max_age_days: args.max_age,
        },
        show_secrets: args.show_secrets,
        generated: keytrace::base::time::now(),
    };
    let report = merge::report(contents, &settings);
    let failing = fail_on.is_some_and(|p| report.findings.iter().any(|f| p.fails(&f.finding)));
    let written = (|| {
        match args.format {
            ReportFormat::Json => {
                serde_json::to_writer_pretty(&mut sink, &report)?;
                writeln!(sink)?;
            }
            ReportFormat::Html => keytrace::report::html::write(&report, &mut sink)?,
            ReportFormat::Human => keytrace::report::sweep::write_human(&report, &mut sink)?,
            ReportFormat::Jsonl => unreachable!("exported above"),
        }
        sink.flush()
    })();
    unless_pipe_closed(written)?;
    Ok(if failing { FOUND } else { CLEAN })
}

/// Reads stdin; on a terminal, without echoing what is typed.
/// `keytrace verify`: one secret from stdin, checked live by one rule.
/// Exit 1 live (as a scan's finding fails it), 0 dead, 2 anything else
/// (indeterminate, skipped, an error).
fn verify_one(args: &keytrace::cli::VerifyOneArgs) -> anyhow::Result<u8> {
    let set = RuleSet::load(true, &args.rules)?;
    let input = read_secret()?;
    let mut v = args.verify.clone();
    v.verify = true;
    let opts = v.options().expect("verify is set");
    let result = keytrace::verify::one(&set, &args.rule, &input, args.key_id.as_deref(), &opts)
        .map_err(|e| anyhow::anyhow!(e))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!(
            "{}: {}",
            result.state.as_str(),
            terminal_safe(&result.reason)
        );
        for (k, x) in &result.identity {
            println!("  {k}: {}", terminal_safe(x));
        }
        if !result.scopes.is_empty() {
            println!("  scopes: {}", terminal_safe(&result.scopes.join(", ")));
        }
        if let Some(e) = &result.expires_at {
            println!("  expires: {}", terminal_safe(e));
        }
    }
    Ok(match result.state {
        keytrace::rules::verify::State::Live => FOUND,
        keytrace::rules::verify::State::Dead => CLEAN,
        _ => FAILED,
    })
}

/// One secret from stdin (a prompt without echo on a terminal), without
/// the one newline `echo` and here-strings add; an empty one is an error.
fn read_secret() -> anyhow::Result<Vec<u8>> {
    let mut input = Vec::new();
    read_stdin(&mut input)?;
    if input.ends_with(b"\n") {
        input.pop();
        if input.ends_with(b"\r") {
            input.pop();
        }
    }
    if input.is_empty() {
        bail!("no secret on standard input");
    }
    Ok(input)
}

fn read_stdin(input: &mut Vec<u8>) -> io::Result<()> {
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        stdin.lock().read_to_end(input)?;
        return Ok(());
    }
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success())
    };
    eprint!("secret (not echoed, end with Enter): ");
    let hidden = stty("-echo");
    let mut line = String::new();
    let read = stdin.read_line(&mut line);
    if hidden {
        stty("echo");
    }
    eprintln!();
    read?;
    input.extend_from_slice(line.as_bytes());
    Ok(())
}

/// `keytrace agents init`: scans as `keytrace scan` would, and drafts the
/// identities its unclaimed findings need.
fn init_agents(
    paths: &[std::path::PathBuf],
    output: Option<&std::path::Path>,
    agents: &[std::path::PathBuf],
    no_history: bool,
) -> anyhow::Result<u8> {
    let mut argv: Vec<std::ffi::OsString> =
        vec!["keytrace".into(), "scan".into(), "--no-progress".into()];
    if no_history {
        argv.push("--no-history".into());
    }
    for a in agents {
        argv.push("--agents".into());
        argv.push(a.into());
    }
    // Paths last, after `--`, so that a path starting with `-` stays one.
    argv.push("--".into());
    argv.extend(paths.iter().map(Into::into));
    let Command::Scan(args) = Cli::try_parse_from(argv)?.command else {
        unreachable!("a scan")
    };
    keytrace::source::git::init_offline();
    let config = Config::from_scan_args(&args)?;
    let report = scan::run(&config)?;
    if let Some(f) = &report.fatal {
        anyhow::bail!("{f}");
    }
    let taken: std::collections::BTreeSet<String> = config
        .inventory
        .iter()
        .flat_map(|i| i.identities.iter().map(|id| id.agent.clone()))
        .collect();
    let yaml = keytrace::identity::draft::draft(&report.findings, &taken);
    let unclaimed = report
        .findings
        .iter()
        .filter(|f| f.identity.is_none())
        .count();
    match output {
        Some(path) => std::fs::write(path, &yaml)?,
        None => io::stdout().lock().write_all(yaml.as_bytes())?,
    }
    eprintln!(
        "keytrace: {} identities drafted for {unclaimed} unclaimed findings ({} already claimed)",
        yaml.lines().filter(|l| l.starts_with("agent: ")).count(),
        report.findings.len() - unclaimed
    );
    Ok(CLEAN)
}

fn check_agents(paths: &[std::path::PathBuf], format: ListFormat) -> anyhow::Result<u8> {
    let inv = Inventory::load(paths, Date::today())?;
    let mut w = BufWriter::new(io::stdout().lock());
    let failing = inv.issues.iter().filter(|i| !i.warning).count();
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut w, &inv.issues)?;
            writeln!(w)?;
        }
        ListFormat::Human => {
            for i in &inv.issues {
                let source = i.source.as_str();
                let risk = i.risk.map(|r| format!(" ({r})")).unwrap_or_default();
                let kind = if i.warning { "warning" } else { "issue" };
                writeln!(
                    w,
                    "{}: {}: {kind} {}: {}{risk}",
                    terminal_safe(source),
                    terminal_safe(&i.agent),
                    i.id,
                    terminal_safe(&i.message)
                )?;
            }
            writeln!(
                w,
                "{} identities, {failing} issues, {} warnings",
                inv.identities.len(),
                inv.issues.len() - failing
            )?;
        }
    }
    w.flush()?;
    Ok(if failing > 0 { FOUND } else { CLEAN })
}

fn check_rules(files: &[std::path::PathBuf]) -> anyhow::Result<u8> {
    let builtin = RuleSet::builtin()?;
    let mut failed = false;
    for file in files {
        let specs = match rules::read_rule_file(file) {
            Ok(s) => s,
            Err(keytrace::Error::Io { path, source }) => {
                bail!("cannot read {}: {source}", path.display())
            }
            Err(e) => {
                println!("{e}");
                failed = true;
                continue;
            }
        };
        let clashes: Vec<String> = specs
            .iter()
            .filter(|(_, s)| builtin.get(&s.id).is_some())
            .map(|(_, s)| s.id.clone())
            .collect();
        for id in &clashes {
            println!(
                "{}: rule {id:?}: id clashes with a built-in rule",
                file.display()
            );
            failed = true;
        }
        let n = specs.len();
        match RuleSet::from_specs(specs) {
            Ok(set) => {
                let problems = rulecheck::check(&set, false);
                for p in &problems {
                    println!("{}: rule {:?}: {}", p.origin, p.rule, p.message);
                }
                if problems.is_empty() && clashes.is_empty() {
                    println!("{}: {n} rules ok", file.display());
                } else {
                    failed = true;
                }
            }
            Err(e) => {
                println!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { FOUND } else { CLEAN })
}

//! Live verification (`--verify`): asks each provider whether a finding's
//! credential still works, and whose it is. Between findings and identity
//! correlation: receives the grouped findings and the rules' `verify`
//! blocks ([`crate::rules::verify`]), sends each (rule, secret) once through
//! the one [`Client`], and sets each finding's [`Verification`].
//!
//! What is never sent: a value that rules of several providers matched
//! (it would go to all of them), a pair without its other half, a request
//! to a host outside `--verify-allow-host` / inside `--verify-deny-host`, a
//! mutating probe without `--verify-allow-mutating`, anything past the
//! budget. Those are `skipped`, with the reason. A host that failed to
//! answer three times running is not tried again in the run. Nothing here
//! writes a secret anywhere: reasons are fixed texts and status codes.
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

pub mod signed;

use crate::base::secret::Secret;
use crate::finding::Finding;
use crate::net::{Client, NetError, NetOptions};
pub use crate::rules::verify::Verification;
use crate::rules::verify::{State, VerifySpec};
use crate::rules::RuleSet;

/// The limits and policy of a run.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub net: NetOptions,
    /// All verification of a run ends by then; what is left is skipped.
    pub budget: Duration,
    /// Requests in flight to one host.
    pub per_host: usize,
    /// Requests started per second to one host (not positive: no limit).
    pub rate: f64,
    /// Requests a run sends at most.
    pub max_requests: usize,
    /// Requests in flight in all.
    pub threads: usize,
    /// When not empty, the only hosts asked.
    pub allow_hosts: Vec<String>,
    pub deny_hosts: Vec<String>,
    /// Send the rules' documented mutating probes.
    pub allow_mutating: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            net: NetOptions::default(),
            budget: Duration::from_secs(300),
            per_host: 4,
            rate: 10.0,
            max_requests: 10_000,
            threads: 8,
            allow_hosts: Vec::new(),
            deny_hosts: Vec::new(),
            allow_mutating: false,
        }
    }
}

/// One line of `--verify-plan`: what would be sent to a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanLine {
    pub host: String,
    pub method: String,
    pub path: String,
    pub rule: String,
    /// Distinct credentials that would be sent.
    pub requests: usize,
    /// Credentials of this rule that would not be sent, and why.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<String, usize>,
}

/// What a run did, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub live: usize,
    pub dead: usize,
    pub indeterminate: usize,
    pub skipped: usize,
    pub requests: usize,
}

/// One (rule, secret, key id) to check, and the findings it answers for.
struct Job<'a> {
    spec: &'a VerifySpec,
    rule: String,
    secret: Vec<u8>,
    key_id: Option<String>,
    /// What the finding's validator found beside the secret.
    companion: Option<Secret>,
    facts: BTreeMap<String, serde_json::Value>,
    findings: Vec<usize>,
    /// Set when the job will not be sent.
    skip: Option<String>,
}

impl Job<'_> {
    fn input(&self) -> signed::Input<'_> {
        signed::Input {
            secret: &self.secret,
            key_id: self.key_id.as_deref(),
            companion: self.companion.as_ref().map(Secret::expose),
            facts: &self.facts,
        }
    }

    fn request(&self) -> Result<crate::rules::verify::Request, &'static str> {
        signed::request(self.spec, &self.input(), crate::base::time::unix_now())
    }
}

/// Works out what each verifiable finding would need: the jobs, deduplicated.
fn jobs<'a>(findings: &[Finding], rules: &'a RuleSet, opts: &VerifyOptions) -> Vec<Job<'a>> {
    let specs: HashMap<&str, &VerifySpec> = rules
        .rules()
        .iter()
        .filter_map(|r| Some((r.id(), r.spec.verify.as_ref()?)))
        .collect();
    // Hosts of the verifying rules each value was found by.
    let mut hosts_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for f in findings {
        if let Some(s) = specs.get(f.rule.as_str()) {
            let hosts = hosts_of.entry(f.fingerprint.as_str()).or_default();
            if !hosts.contains(&s.host.as_str()) {
                hosts.push(&s.host);
            }
        }
    }
    let mut out: Vec<Job> = Vec::new();
    let mut index: HashMap<(String, String, Option<String>), usize> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        let Some(spec) = specs.get(f.rule.as_str()) else {
            continue;
        };
        let key = (f.rule.clone(), f.fingerprint.clone(), f.key_id.clone());
        if let Some(&j) = index.get(&key) {
            out[j].findings.push(i);
            continue;
        }
        let mut job = Job {
            spec,
            rule: f.rule.clone(),
            secret: f.raw.expose().to_vec(),
            key_id: f.key_id.clone(),
            companion: f.companion.clone(),
            facts: f.decoded.clone(),
            findings: vec![i],
            skip: None,
        };
        job.skip = if hosts_of[f.fingerprint.as_str()].len() > 1 {
            Some("the value matched rules of several providers: sent to none".to_string())
        } else {
            jobs_policy(&job, opts)
        };
        index.insert(key, out.len());
        out.push(job);
    }
    out
}

/// Why the user's policy keeps a job from being sent, if it does.
fn jobs_policy(job: &Job, opts: &VerifyOptions) -> Option<String> {
    let host = &job.spec.host;
    if opts.deny_hosts.iter().any(|h| h == host)
        || !opts.allow_hosts.is_empty() && !opts.allow_hosts.iter().any(|h| h == host)
    {
        Some(format!("{host} is outside the allowed hosts"))
    } else if job.spec.mutating && !opts.allow_mutating {
        Some("a mutating probe: sent only with --verify-allow-mutating".to_string())
    } else {
        job.request().err().map(str::to_string)
    }
}

/// What `--verify` would send, without sending anything.
pub fn plan(findings: &[Finding], rules: &RuleSet, opts: &VerifyOptions) -> Vec<PlanLine> {
    let mut lines: BTreeMap<(String, String), PlanLine> = BTreeMap::new();
    for j in jobs(findings, rules, opts) {
        let line = lines
            .entry((j.spec.host.clone(), j.rule.clone()))
            .or_insert_with(|| PlanLine {
                host: j.spec.host.clone(),
                method: j.spec.method.clone(),
                // The path as written: templates, not values.
                path: j.spec.path.clone(),
                rule: j.rule.clone(),
                requests: 0,
                skipped: BTreeMap::new(),
            });
        match j.skip {
            Some(why) => *line.skipped.entry(why).or_default() += 1,
            None => line.requests += 1,
        }
    }
    lines.into_values().collect()
}

/// Per-host slots and pace, and hosts given up on.
#[derive(Default)]
struct Hosts {
    busy: HashMap<String, usize>,
    /// When the next request to the host may start.
    next: HashMap<String, Instant>,
    /// Failures to get any reply, in a row.
    failures: HashMap<String, (usize, NetError)>,
}

/// A host that failed to answer this many times in a row is not tried again.
const GIVE_UP_AFTER: usize = 3;
/// The longest a `Retry-After` holds a host back.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

impl Hosts {
    /// Books the host's next start under the rate: when this one may go.
    fn book(&mut self, host: &str, rate: f64) -> Instant {
        let now = Instant::now();
        let at = self.next.get(host).copied().unwrap_or(now).max(now);
        let gap = if rate > 0.0 && rate.is_finite() {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        self.next.insert(host.to_string(), at + gap);
        at
    }

    /// A 429's `Retry-After` (seconds) holds the host back.
    fn hold(&mut self, host: &str, retry_after: Option<&str>) {
        let Some(secs) = retry_after.and_then(|v| v.trim().parse::<u64>().ok()) else {
            return;
        };
        let until = Instant::now() + Duration::from_secs(secs).min(MAX_RETRY_AFTER);
        let next = self.next.entry(host.to_string()).or_insert(until);
        *next = (*next).max(until);
    }
}

/// Checks every verifiable finding and sets its `verification`.
pub fn run(
    findings: &mut [Finding],
    rules: &RuleSet,
    opts: &VerifyOptions,
    client: &Client,
) -> Tally {
    let jobs = jobs(findings, rules, opts);
    let deadline = Instant::now() + opts.budget;
    let next = AtomicUsize::new(0);
    let sent = AtomicUsize::new(0);
    let hosts = (Mutex::new(Hosts::default()), Condvar::new());
    let results: Mutex<Vec<Option<Verification>>> = Mutex::new(vec![None; jobs.len()]);
    let threads = opts.threads.clamp(1, 64).min(jobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let v = check(job, opts, client, &hosts, &sent, deadline);
                results.lock().expect("no panic holding it")[i] = Some(v);
            });
        }
    });
    let results = results.into_inner().expect("threads done");
    let mut tally = Tally {
        requests: sent.into_inner(),
        ..Tally::default()
    };
    for (job, v) in jobs.iter().zip(results) {
        let v = v.expect("every job ran");
        match v.state {
            State::Live => tally.live += 1,
            State::Dead => tally.dead += 1,
            State::Indeterminate => tally.indeterminate += 1,
            State::Skipped => tally.skipped += 1,
        }
        for &i in &job.findings {
            findings[i].verification = Some(Box::new(v.clone()));
        }
    }
    tally
}

fn verdict(state: State, reason: String, host: Option<&str>) -> Verification {
    Verification {
        state,
        checked_at: crate::base::time::now(),
        reason,
        identity: BTreeMap::new(),
        scopes: Vec::new(),
        expires_at: None,
        host: host.map(str::to_string),
    }
}

/// One job: wait for a slot on its host, send, read the reply.
fn check(
    job: &Job,
    opts: &VerifyOptions,
    client: &Client,
    hosts: &(Mutex<Hosts>, Condvar),
    sent: &AtomicUsize,
    deadline: Instant,
) -> Verification {
    if let Some(why) = &job.skip {
        return verdict(State::Skipped, why.clone(), None);
    }
    let host = job.spec.host.as_str();
    let spent = || {
        verdict(
            State::Skipped,
            "the verification budget was spent".into(),
            None,
        )
    };
    let (lock, cv) = hosts;
    {
        let mut h = lock.lock().expect("no panic holding it");
        loop {
            if let Some((n, e)) = h.failures.get(host) {
                if *n >= GIVE_UP_AFTER {
                    return verdict(
                        State::Indeterminate,
                        format!("{e} (the host failed {n} times in a row: not tried again)"),
                        Some(host),
                    );
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return spent();
            }
            if h.busy.get(host).copied().unwrap_or(0) < opts.per_host.max(1) {
                break;
            }
            h = cv
                .wait_timeout(h, deadline - now)
                .expect("no panic holding it")
                .0;
        }
        *h.busy.entry(host.to_string()).or_default() += 1;
    }
    let mut v = None;
    for attempt in 0..2 {
        // The host's pace: wait for this request's turn, within the budget.
        let at = lock
            .lock()
            .expect("no panic holding it")
            .book(host, opts.rate);
        if at >= deadline {
            v = v.or_else(|| Some(spent()));
            break;
        }
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        if sent.fetch_add(1, Ordering::Relaxed) >= opts.max_requests {
            sent.fetch_sub(1, Ordering::Relaxed);
            v = Some(verdict(
                State::Skipped,
                "--verify-max-requests reached".into(),
                None,
            ));
            break;
        }
        let req = match job.request() {
            Ok(r) => r,
            Err(why) => {
                v = Some(verdict(State::Skipped, why.into(), None));
                break;
            }
        };
        let reply = client.send(&req.method, &req.url, &req.headers, req.body.as_deref());
        let mut h = lock.lock().expect("no panic holding it");
        match reply {
            Ok(reply) => {
                h.failures.remove(host);
                if reply.status == 429 {
                    h.hold(host, reply.header("retry-after"));
                }
                drop(h);
                // One more try for a gateway's passing failure.
                let again = matches!(reply.status, 502..=504) && attempt == 0;
                let r = job.spec.evaluate(&reply);
                let mut out = verdict(
                    r.state.unwrap_or(State::Indeterminate),
                    r.reason,
                    Some(host),
                );
                out.identity = r.identity;
                if out.state == State::Live {
                    for (k, v) in signed::asked_identity(job.spec.kind, &job.input()) {
                        out.identity.entry(k).or_insert(v);
                    }
                }
                out.scopes = r.scopes;
                out.expires_at = r.expires_at;
                v = Some(out);
                if !again || Instant::now() + Duration::from_secs(1) >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => {
                let n = h.failures.get(host).map_or(0, |f| f.0) + 1;
                h.failures.insert(host.to_string(), (n, e));
                drop(h);
                v = Some(verdict(State::Indeterminate, e.to_string(), Some(host)));
                // Only a refused or reset connection is worth a second try.
                if e != NetError::Connect || attempt == 1 || Instant::now() >= deadline {
                    break;
                }
            }
        }
    }
    let mut h = lock.lock().expect("no panic holding it");
    if let Some(n) = h.busy.get_mut(host) {
        *n -= 1;
    }
    cv.notify_all();
    v.expect("one attempt at least")
}

/// Writes a `--verify-plan`: as JSON, or a table for a person.
pub fn write_plan(
    plan: &[PlanLine],
    json: bool,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *w, plan)?;
        return writeln!(w);
    }
    if plan.is_empty() {
        return writeln!(
            w,
            "--verify would send nothing: no finding of a rule with a live check"
        );
    }
    writeln!(
        w,
        "{:<34} {:<6} {:>8}  {:<34} path",
        "host", "method", "requests", "rule"
    )?;
    for l in plan {
        writeln!(
            w,
            "{:<34} {:<6} {:>8}  {:<34} {}",
            l.host, l.method, l.requests, l.rule, l.path
        )?;
        for (why, n) in &l.skipped {
            writeln!(w, "{:<34} {:<6} {:>8}  not sent: {why}", "", "", n)?;
        }
    }
    let total: usize = plan.iter().map(|l| l.requests).sum();
    let hosts: std::collections::BTreeSet<&str> = plan.iter().map(|l| l.host.as_str()).collect();
    writeln!(
        w,
        "{total} requests to {} hosts; nothing was sent",
        hosts.len()
    )
}

/// Checks one secret by the rule `rule_id` (`keytrace verify`).
pub fn one(
    rules: &RuleSet,
    rule_id: &str,
    secret: &[u8],
    key_id: Option<&str>,
    opts: &VerifyOptions,
) -> Result<Verification, String> {
    let rule = rules
        .rules()
        .iter()
        .find(|r| r.id() == rule_id)
        .ok_or_else(|| format!("no rule {rule_id:?}"))?;
    let Some(spec) = &rule.spec.verify else {
        return Err(format!("rule {rule_id:?} has no live check"));
    };
    let client = Client::new(&opts.net)?;
    let mut job = Job {
        spec,
        rule: rule_id.to_string(),
        secret: secret.to_vec(),
        key_id: key_id.map(str::to_string),
        companion: None,
        facts: BTreeMap::new(),
        findings: Vec::new(),
        skip: None,
    };
    if spec.kind == crate::rules::verify::VerifyKind::GcpServiceAccount {
        // The whole key file: its key id is the secret, its private key
        // and account go beside it.
        let file: serde_json::Value = serde_json::from_slice(secret)
            .map_err(|_| "give the service-account key file (JSON) on stdin".to_string())?;
        let field = |k: &str| file.get(k).and_then(serde_json::Value::as_str);
        job.secret = field("private_key_id")
            .ok_or("the key file has no private_key_id")?
            .as_bytes()
            .to_vec();
        job.companion = field("private_key").map(|p| Secret::new(p.as_bytes().to_vec()));
        for k in ["client_email", "project_id"] {
            if let Some(v) = field(k) {
                job.facts.insert(k.into(), v.into());
            }
        }
    }
    job.skip = jobs_policy(&job, opts);
    let hosts = (Mutex::new(Hosts::default()), Condvar::new());
    Ok(check(
        &job,
        opts,
        &client,
        &hosts,
        &AtomicUsize::new(0),
        Instant::now() + opts.budget,
    ))
}

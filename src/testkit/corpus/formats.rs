//! The kinds of file the corpus writes and what each holds: which kind a
//! kept line belongs in, which kinds an assignment fits, and each kind's
//! header, filler and footer around the items.
use crate::testkit::fakes::Fakes;

/// The kind of file a kept line belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Host {
    Shell,
    Yaml,
    Json,
    Python,
    Ts,
    Doc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Format {
    Env,
    Shell,
    Yaml,
    Json,
    Python,
    Ts,
    Go,
    Java,
    Terraform,
    Docker,
    Markdown,
    K8sSecret,
    K8sDeployment,
}

pub(super) const SERVICES: &[&str] = &[
    "billing",
    "search",
    "ingest",
    "notify",
    "reports",
    "gateway",
    "auth",
    "ledger",
    "media",
    "sync",
    "export",
    "scheduler",
    "catalog",
    "orders",
    "metrics",
    "chat",
];

pub(super) fn host_of(line: &str) -> Host {
    let t = line.trim_start();
    let first = t.split_whitespace().next().unwrap_or("");
    if t.starts_with('"') && t.contains("\":") {
        Host::Json
    } else if t.starts_with("const ")
        || t.starts_with("export const")
        || t.contains("new ")
        || t.ends_with(';')
        || t.contains("({")
    {
        Host::Ts
    } else if t.contains(" = ") || t.contains("(") && t.contains("=\"") {
        Host::Python
    } else if first.ends_with(':') && !t.starts_with("http") {
        Host::Yaml
    } else if first
        .chars()
        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '.')
        && !first.is_empty()
    {
        Host::Shell
    } else {
        Host::Doc
    }
}

pub(super) fn host_formats(host: Host) -> &'static [Format] {
    match host {
        Host::Shell => &[Format::Shell, Format::Markdown],
        Host::Yaml => &[Format::Yaml],
        Host::Json => &[Format::Json],
        Host::Python => &[Format::Python],
        Host::Ts => &[Format::Ts],
        Host::Doc => &[Format::Markdown, Format::Shell],
    }
}

pub(super) fn is_identifier(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.bytes().next().is_some_and(|b| !b.is_ascii_digit())
}

/// The formats an assignment can be written in. Weak formats need their
/// name on the same line, which a Deployment's `- name:`/`value:` pair
/// does not give.
pub(super) fn fitting_formats(name: &str, value: &str, weak: bool) -> Vec<Format> {
    let mut v = vec![
        Format::Env,
        Format::Shell,
        Format::Yaml,
        Format::Json,
        Format::Terraform,
        Format::Docker,
        Format::Markdown,
        Format::K8sSecret,
    ];
    if is_identifier(name) {
        v.extend([Format::Python, Format::Ts, Format::Go, Format::Java]);
    }
    if !weak && !value.starts_with('$') && !value.starts_with('{') {
        v.push(Format::K8sDeployment);
    }
    v
}

pub(super) fn header(format: Format, svc: &str) -> String {
    match format {
        Format::Env => format!("# {svc} service settings\nAPP_ENV=production\n"),
        Format::Shell => format!("#!/usr/bin/env bash\nset -euo pipefail\n# deploy {svc}\n"),
        Format::Yaml => format!("service: {svc}\nsettings:\n"),
        Format::Json => format!("{{\n  \"service\": \"{svc}\",\n"),
        Format::Python => format!("\"\"\"Settings for {svc}.\"\"\"\nimport os\n\n"),
        Format::Ts => format!("// {svc} client configuration\nimport {{ createClient }} from \"./client\";\n\n"),
        Format::Go => format!("package {svc}\n\nimport \"time\"\n\nconst (\n"),
        Format::Java => format!("package com.acme.{svc};\n\npublic final class Config {{\n"),
        Format::Terraform => format!("# {svc}\nlocals {{\n  service = \"{svc}\"\n"),
        Format::Docker => "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n".to_string(),
        Format::Markdown => format!("# Running {svc}\n\nSet these before starting the service:\n\n```sh\n"),
        Format::K8sSecret => format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {svc}-env\ntype: Opaque\nstringData:\n"),
        Format::K8sDeployment => format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {svc}\nspec:\n  template:\n    spec:\n      containers:\n        - name: {svc}\n          image: registry.internal/{svc}:1.4.2\n          env:\n"),
    }
}

pub(super) fn footer(format: Format) -> &'static str {
    match format {
        Format::Json => "  \"version\": 2\n}\n",
        Format::Go => "\n\tTimeout = 30 * time.Second\n)\n",
        Format::Java => "}\n",
        Format::Terraform => "}\n",
        Format::Docker => "CMD [\"python\", \"-m\", \"app\"]\n",
        Format::Markdown => "```\n\nThen run `make start`.\n",
        Format::Ts => "export const client = createClient();\n",
        _ => "",
    }
}

pub(super) fn filler(format: Format, f: &mut Fakes) -> String {
    let n = 1 + f.below(64);
    match format {
        Format::Env => [
            "LOG_LEVEL=info",
            "PORT=8080",
            "TZ=UTC",
            "FEATURE_FLAGS=search,billing",
        ][f.below(4)]
        .into(),
        Format::Shell => format!("echo \"step {n}\""),
        Format::Yaml => [
            "  replicas: 3",
            "  region: eu-west-1",
            "  timeout: 30s",
            "  log_level: info",
        ][f.below(4)]
        .into(),
        Format::Json => format!("  \"retries\": {n},"),
        Format::Python => format!("TIMEOUT_SECONDS = {n}"),
        Format::Ts => format!("export const RETRIES = {n};"),
        Format::Go => format!("\tMaxRetries{n} = {n}"),
        Format::Java => format!("    static final int RETRIES_{n} = {n};"),
        Format::Terraform => format!("  replicas_{n} = {n}"),
        Format::Docker => "RUN pip install --no-cache-dir -r requirements.txt".into(),
        Format::Markdown => format!("export REPLICAS={n}"),
        Format::K8sSecret => format!("  REPLICAS: \"{n}\""),
        Format::K8sDeployment => {
            format!("            - name: WORKERS\n              value: \"{n}\"")
        }
    }
}

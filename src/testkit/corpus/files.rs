//! Laying the corpus out in files: where each file lies (some under test
//! and example paths), how items are grouped a few to a file of a kind they
//! fit ([`super::formats`]), and each item rendered in its file's syntax.
//! Labels get the line each credential lands on.
use std::collections::BTreeMap;

use super::formats::{filler, fitting_formats, footer, header, host_formats, Format, SERVICES};
use super::generator::Generator;
use super::model::{b64, Body, Item, Label, Wrapping};

impl Generator<'_> {
    /// A fresh path for a file of `format`, and the service it is for.
    fn path(&mut self, format: Format, test: bool) -> (String, &'static str) {
        loop {
            let svc = SERVICES[self.f.below(SERVICES.len())];
            let n = self.f.below(100);
            let cap = {
                let mut c = svc.to_string();
                c[..1].make_ascii_uppercase();
                c
            };
            let p = match (format, test) {
                (Format::Env, false) => format!("services/{svc}{n}/.env"),
                (Format::Env, true) => format!("tests/fixtures/{svc}{n}.env"),
                (Format::Shell, false) => format!("scripts/{svc}{n}-deploy.sh"),
                (Format::Shell, true) => format!("test/{svc}{n}_setup.sh"),
                (Format::Yaml, false) => format!("config/{svc}{n}.yaml"),
                (Format::Yaml, true) => format!("spec/fixtures/{svc}{n}.yml"),
                (Format::Json, false) => format!("config/{svc}{n}.json"),
                (Format::Json, true) => format!("__tests__/fixtures/{svc}{n}.json"),
                (Format::Python, false) => format!("app/{svc}{n}/settings.py"),
                (Format::Python, true) => format!("tests/test_{svc}{n}.py"),
                (Format::Ts, false) => format!("web/src/{svc}{n}.ts"),
                (Format::Ts, true) => format!("web/src/__tests__/{svc}{n}.test.ts"),
                (Format::Go, false) => format!("internal/{svc}{n}/config.go"),
                (Format::Go, true) => format!("internal/{svc}{n}/config_test.go"),
                (Format::Java, false) => format!("src/main/java/com/acme/{cap}{n}Config.java"),
                (Format::Java, true) => format!("src/test/java/com/acme/{cap}{n}ConfigTest.java"),
                (Format::Terraform, false) => format!("infra/{svc}{n}.tf"),
                (Format::Terraform, true) => format!("examples/{svc}{n}/main.tf"),
                (Format::Docker, false) => format!("docker/{svc}{n}/Dockerfile"),
                (Format::Docker, true) => format!("examples/{svc}{n}/Dockerfile"),
                (Format::Markdown, false) => format!("docs/{svc}{n}.md"),
                (Format::Markdown, true) => format!("examples/{svc}{n}/README.md"),
                (Format::K8sSecret, false) => format!("k8s/{svc}{n}/secret.yaml"),
                (Format::K8sSecret, true) => format!("test/k8s/{svc}{n}-secret.yaml"),
                (Format::K8sDeployment, false) => format!("k8s/{svc}{n}/deployment.yaml"),
                (Format::K8sDeployment, true) => format!("test/k8s/{svc}{n}-deployment.yaml"),
            };
            if self.paths.insert(p.clone()) {
                return (p, svc);
            }
        }
    }

    /// Groups the items into files of the formats they fit, a few to a file.
    pub(super) fn lay_out(&mut self) {
        let items = std::mem::take(&mut self.items);
        let mut open: BTreeMap<Format, Vec<Item>> = BTreeMap::new();
        let mut want: BTreeMap<Format, usize> = BTreeMap::new();
        for item in items {
            if matches!(item.body, Body::File { .. }) {
                self.own_file(item);
                continue;
            }
            let format = match &item.body {
                Body::File { .. } => unreachable!("written above"),
                Body::Assign { name, value, .. } => {
                    let fits =
                        fitting_formats(name, value, item.rule.is_some() && self.is_weak(&item));
                    fits[self.f.below(fits.len())]
                }
                Body::Line { host, .. } => {
                    let fits = host_formats(*host);
                    fits[self.f.below(fits.len())]
                }
            };
            // Two credentials a rule pairs (an AWS key id and a secret key)
            // would become one finding: not in one file.
            let batch = open.entry(format).or_default();
            if batch.iter().any(|b| self.pairs(b, &item)) {
                let full = std::mem::take(batch);
                want.remove(&format);
                self.emit(format, full);
            }
            let batch = open.entry(format).or_default();
            batch.push(item);
            let limit = *want.entry(format).or_insert_with(|| 2 + self.f.below(6));
            if batch.len() >= limit {
                let batch = std::mem::take(batch);
                want.remove(&format);
                self.emit(format, batch);
            }
        }
        for (format, batch) in open {
            if !batch.is_empty() {
                self.emit(format, batch);
            }
        }
    }

    /// Whether one item's rule takes its key id from the other's.
    fn pairs(&self, a: &Item, b: &Item) -> bool {
        let index = |i: &Item| {
            let id = i.rule.as_deref()?;
            self.rules.rules().iter().position(|r| r.spec.id == id)
        };
        let (Some(x), Some(y)) = (index(a), index(b)) else {
            return false;
        };
        let r = self.rules.rules();
        r[x].key_id_from.contains(&y) || r[y].key_id_from.contains(&x)
    }

    /// Whether an assignment's rule needs its name on the same line.
    fn is_weak(&self, item: &Item) -> bool {
        item.rule.as_ref().is_some_and(|id| {
            self.rules
                .get(id)
                .is_some_and(|r| r.regex().capture_names().any(|n| n == Some("binding")))
        })
    }

    fn emit(&mut self, format: Format, batch: Vec<Item>) {
        let test = self.f.below(8) == 0;
        let (path, svc) = self.path(format, test);
        let mut text = header(format, svc);
        let mut line = text.matches('\n').count() as u32 + 1;
        for item in batch {
            if self.f.below(2) == 0 {
                let filler = filler(format, &mut self.f);
                line += filler.matches('\n').count() as u32 + 1;
                text.push_str(&filler);
                text.push('\n');
            }
            let (rendered, at) = render(format, &item.body);
            let secret_line = line + rendered[..at].matches('\n').count() as u32;
            match item.rule {
                Some(rule) => self.labels.push(Label {
                    rule,
                    path: path.clone(),
                    line: secret_line,
                    encoded: false,
                }),
                None => self.decoys += 1,
            }
            line += rendered.matches('\n').count() as u32 + 1;
            text.push_str(&rendered);
            text.push('\n');
        }
        text.push_str(footer(format));
        self.files.push((path, text));
    }

    /// A multi-line example (a key file, a credentials file, a JSON key)
    /// is a file of its own.
    fn own_file(&mut self, item: Item) {
        let Body::File { text, at } = &item.body else {
            return;
        };
        let test = self.f.below(8) == 0;
        let svc = SERVICES[self.f.below(SERVICES.len())];
        let n = self.f.below(1000);
        let dir = if test { "tests/fixtures" } else { "deploy" };
        let trimmed = text.trim_start();
        let named = item
            .rule
            .as_deref()
            .and_then(|id| self.rules.get(id))
            .and_then(|r| r.spec.files.first());
        let name = if let Some(file) = named {
            format!("{svc}{n}/{file}")
        } else if trimmed.starts_with("[default]") {
            format!("aws-{n}/credentials")
        } else if trimmed.starts_with("[pypi]") || trimmed.starts_with("[testpypi]") {
            format!("{svc}{n}/.pypirc")
        } else if trimmed.starts_with('{') {
            format!("{svc}{n}-service-account.json")
        } else if trimmed.starts_with("-----BEGIN") {
            format!("keys/{svc}{n}.pem")
        } else if trimmed.contains(": |") {
            format!("{svc}{n}-tls.yaml")
        } else {
            format!("{svc}{n}.txt")
        };
        let path = format!("{dir}/{name}");
        if !self.paths.insert(path.clone()) {
            return self.own_file(item);
        }
        let line = 1 + text[..*at].matches('\n').count() as u32;
        match item.rule {
            Some(rule) => self.labels.push(Label {
                rule,
                path: path.clone(),
                line,
                encoded: false,
            }),
            None => self.decoys += 1,
        }
        self.files.push((path, format!("{text}\n")));
    }

    pub(super) fn lay_out_encoded(&mut self) {
        let items = std::mem::take(&mut self.encoded);
        let mut k8s: Vec<Item> = Vec::new();
        for (enc, item) in items {
            match enc {
                Wrapping::K8sData => k8s.push(item),
                other => self.encoded_file(other, item),
            }
        }
        let mut batch: Vec<Item> = Vec::new();
        let mut limit = 1 + self.f.below(4);
        for item in k8s {
            if batch.len() >= limit || batch.iter().any(|b| self.pairs(b, &item)) {
                self.k8s_data_file(std::mem::take(&mut batch));
                limit = 1 + self.f.below(4);
            }
            batch.push(item);
        }
        if !batch.is_empty() {
            self.k8s_data_file(batch);
        }
    }

    fn k8s_data_file(&mut self, batch: Vec<Item>) {
        let test = self.f.below(8) == 0;
        let (path, svc) = self.path(Format::K8sSecret, test);
        // `kubectl get -o yaml` puts data before kind; hand-written ones after.
        let data_first = self.f.below(2) == 0;
        let mut text = String::from("apiVersion: v1\n");
        let head = format!("kind: Secret\nmetadata:\n  name: {svc}-credentials\n  namespace: {svc}\ntype: Opaque\n");
        if !data_first {
            text.push_str(&head);
        }
        text.push_str("data:\n");
        for item in batch {
            let Body::Assign { name, value, .. } = &item.body else {
                continue;
            };
            let line = text.matches('\n').count() as u32 + 1;
            text.push_str(&format!("  {name}: {}\n", b64(value)));
            self.record(item.rule, &path, line);
        }
        if data_first {
            text.push_str(&head);
        }
        self.files.push((path, text));
    }

    fn record(&mut self, rule: Option<String>, path: &str, line: u32) {
        match rule {
            Some(rule) => self.labels.push(Label {
                rule,
                path: path.to_string(),
                line,
                encoded: true,
            }),
            None => self.decoys += 1,
        }
    }

    fn encoded_file(&mut self, enc: Wrapping, item: Item) {
        let Body::Assign { value, .. } = &item.body else {
            return;
        };
        let user = ["x-access-token", "ci-bot", "deploy", "oauth2", "api"][self.f.below(5)];
        let svc = SERVICES[self.f.below(SERVICES.len())];
        let n = self.f.below(1000);
        let (path, text, line) = match enc {
            Wrapping::BasicAuth => {
                let auth = b64(&format!("{user}:{value}"));
                if self.f.below(2) == 0 {
                    let text = format!(
                        "#!/bin/sh\nset -eu\n# fetch the {svc} release\ncurl -fsSL \\\n  -H \"Authorization: Basic {auth}\" \\\n  https://{svc}.internal/api/releases/latest\n"
                    );
                    (format!("scripts/fetch-{svc}{n}.sh"), text, 5)
                } else {
                    let text = format!(
                        "### {svc} health\nGET https://{svc}.internal/health\nAccept: application/json\nAuthorization: Basic {auth}\n"
                    );
                    (format!("http/{svc}{n}.http"), text, 4)
                }
            }
            Wrapping::DockerAuth => {
                let auth = b64(&format!("{user}:{value}"));
                let text = format!(
                    "{{\n  \"auths\": {{\n    \"registry.{svc}.internal\": {{\n      \"auth\": \"{auth}\"\n    }}\n  }},\n  \"credsStore\": \"\"\n}}\n"
                );
                (format!("ci/{svc}{n}/docker/config.json"), text, 4)
            }
            Wrapping::DockerConfigJson => {
                let json = format!(
                    "{{\"auths\":{{\"registry.{svc}.internal\":{{\"username\":\"{user}\",\"password\":\"{value}\",\"auth\":\"{}\"}}}}}}",
                    b64(&format!("{user}:{value}"))
                );
                let text = format!(
                    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {svc}-registry\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n",
                    b64(&json)
                );
                (format!("k8s/{svc}{n}/registry-secret.yaml"), text, 7)
            }
            Wrapping::K8sData => unreachable!("laid out in batches"),
        };
        if !self.paths.insert(path.clone()) {
            return self.encoded_file(enc, item);
        }
        self.record(item.rule.clone(), &path, line);
        self.files.push((path, text));
    }
}

/// The kind of file an example line kept as written belongs in.
/// The item written in `format`, and the offset of its secret in the text.
fn render(format: Format, body: &Body) -> (String, usize) {
    match body {
        Body::Line { text, at, .. } => (text.clone(), *at),
        Body::File { text, at } => (text.clone(), *at),
        Body::Assign { name, value, at } => {
            let (pre, post) = match format {
                Format::Env => (format!("{name}="), String::new()),
                Format::Shell => (format!("export {name}=\""), "\"".into()),
                Format::Yaml => (format!("  {name}: "), String::new()),
                Format::Json => (format!("  \"{name}\": \""), "\",".into()),
                Format::Python => (format!("{name} = \""), "\"".into()),
                Format::Ts => (format!("export const {name} = \""), "\";".into()),
                Format::Go => (format!("\t{name} = \""), "\"".into()),
                Format::Java => (
                    format!("    public static final String {name} = \""),
                    "\";".into(),
                ),
                Format::Terraform => (format!("  {name} = \""), "\"".into()),
                Format::Docker => (format!("ENV {name}="), String::new()),
                Format::Markdown => (format!("export {name}='"), "'".into()),
                Format::K8sSecret => (format!("  {name}: \""), "\"".into()),
                Format::K8sDeployment => (
                    format!("            - name: {name}\n              value: \""),
                    "\"".into(),
                ),
            };
            (format!("{pre}{value}{post}"), pre.len() + at)
        }
    }
}

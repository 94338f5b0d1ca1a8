//! `keytrace ci`: which commits a CI run should scan, read from the CI
//! system's own variables, so that a pipeline needs no range arithmetic.
//!
//! - GitHub Actions: a `push` scans `before..after` from the event payload
//!   (`$GITHUB_EVENT_PATH`); a `pull_request` scans `base.sha..head.sha`.
//! - GitLab CI: a merge request scans `$CI_MERGE_REQUEST_DIFF_BASE_SHA..$CI_COMMIT_SHA`;
//!   a push `$CI_COMMIT_BEFORE_SHA..$CI_COMMIT_SHA`.
//! - Anywhere: `$KEYTRACE_SINCE` (and `$KEYTRACE_UNTIL`).
//!
//! The "before" of a new branch's first push is all zeros, and after a force
//! push it may not be an ancestor or not be in the clone at all: the history
//! source handles both (it then scans the commits no other branch has).
use std::collections::HashMap;

/// A range to scan and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiRange {
    pub since: String,
    pub until: Option<String>,
    /// `github push`, `gitlab merge request`, ...: said in the report.
    pub source: String,
}

fn nonempty(v: Option<&String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().to_string())
}

/// The range for this CI run, if the environment says one. `read` reads a
/// file (the GitHub event payload).
pub fn detect(
    env: &HashMap<String, String>,
    read: impl Fn(&str) -> Option<String>,
) -> Option<CiRange> {
    if let Some(since) = nonempty(env.get("KEYTRACE_SINCE")) {
        return Some(CiRange {
            since,
            until: nonempty(env.get("KEYTRACE_UNTIL")),
            source: "KEYTRACE_SINCE".into(),
        });
    }
    if env.get("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        let event = env.get("GITHUB_EVENT_NAME").cloned().unwrap_or_default();
        let payload: serde_json::Value = env
            .get("GITHUB_EVENT_PATH")
            .and_then(|p| read(p))
            .and_then(|t| serde_json::from_str(&t).ok())?;
        let s = |v: &serde_json::Value| v.as_str().map(str::to_string).filter(|x| !x.is_empty());
        return match event.as_str() {
            "pull_request" | "pull_request_target" => Some(CiRange {
                since: s(&payload["pull_request"]["base"]["sha"])?,
                until: s(&payload["pull_request"]["head"]["sha"]),
                source: format!("github {event}"),
            }),
            "push" => Some(CiRange {
                since: s(&payload["before"])?,
                until: s(&payload["after"]),
                source: "github push".into(),
            }),
            _ => None,
        };
    }
    if env.get("GITLAB_CI").is_some_and(|v| v == "true") {
        let until = nonempty(env.get("CI_COMMIT_SHA"));
        if let Some(base) = nonempty(env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA")) {
            return Some(CiRange {
                since: base,
                until,
                source: "gitlab merge request".into(),
            });
        }
        return nonempty(env.get("CI_COMMIT_BEFORE_SHA")).map(|since| CiRange {
            since,
            until,
            source: "gitlab push".into(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn github_push_and_pull_request() {
        let push = r#"{"before":"aaa","after":"bbb"}"#;
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_EVENT_PATH", "/e.json"),
        ]);
        let r = detect(&e, |_| Some(push.into())).unwrap();
        assert_eq!((r.since.as_str(), r.until.as_deref()), ("aaa", Some("bbb")));
        let pr = r#"{"pull_request":{"base":{"sha":"b1"},"head":{"sha":"h1"}}}"#;
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", "/e.json"),
        ]);
        let r = detect(&e, |_| Some(pr.into())).unwrap();
        assert_eq!((r.since.as_str(), r.until.as_deref()), ("b1", Some("h1")));
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "schedule"),
            ("GITHUB_EVENT_PATH", "/e.json"),
        ]);
        assert_eq!(detect(&e, |_| Some("{}".into())), None);
    }

    #[test]
    fn gitlab_and_generic() {
        let e = env(&[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_SHA", "c"),
            (
                "CI_COMMIT_BEFORE_SHA",
                "0000000000000000000000000000000000000000",
            ),
        ]);
        let r = detect(&e, |_| None).unwrap();
        assert_eq!(r.since, "0000000000000000000000000000000000000000");
        let e = env(&[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_SHA", "c"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", "m"),
            ("CI_COMMIT_BEFORE_SHA", "p"),
        ]);
        assert_eq!(detect(&e, |_| None).unwrap().since, "m");
        let e = env(&[("KEYTRACE_SINCE", "v1.0"), ("GITLAB_CI", "true")]);
        assert_eq!(detect(&e, |_| None).unwrap().source, "KEYTRACE_SINCE");
        assert_eq!(detect(&env(&[]), |_| None), None);
    }
}

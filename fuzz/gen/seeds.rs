//! Writes generated seeds into `fuzz/corpus/<target>/` (gitignored):
//! realistic inputs holding fake credentials from keytrace's test kit
//! (`testkit::fakes`), which committed seeds must not hold. Run from the
//! repository root:
//!
//! ```sh
//! cargo +nightly run --manifest-path fuzz/Cargo.toml --example seeds
//! ```
//!
//! then give the folder to a run next to the committed seeds:
//! `cargo +nightly fuzz run matcher fuzz/corpus/matcher fuzz/seeds/matcher`.
use std::path::Path;

use base64::Engine as _;
use keytrace::testkit::fakes::Fakes;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut written = 0;
    for seed in 0..8u64 {
        let mut f = Fakes::new(seed);
        let texts = [
            format!("GITHUB_TOKEN={}\nnpm_token: {}\n", f.github("ghp"), f.npm()),
            format!(
                "aws_access_key_id = {}\naws_secret_access_key = {}\n",
                f.aws_key_id("AKIA"),
                f.aws_secret()
            ),
            format!(
                "SLACK_BOT_TOKEN=\"{}\"\nstripe: {}\n",
                f.slack_bot(),
                f.stripe("sk")
            ),
            format!("export OPENAI_API_KEY={}\n", f.openai("proj")),
            format!(
                "{{\"api_key\": \"{}\", \"token\": \"{}\"}}\n",
                f.anthropic("api03"),
                f.huggingface()
            ),
            format!("{}\n", f.pem("RSA PRIVATE KEY")),
            format!("pypi_token = {}\n", f.pypi()),
            format!("database_password: {}\n", f.alnum(24)),
        ];
        let encoded = [
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\ndata:\n  GITHUB_TOKEN: {}\n",
                b64(&f.github("ghp"))
            ),
            format!(
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  data:\n    token: {}\n  kind: Secret\n",
                b64(&f.slack_bot())
            ),
            format!(
                "GET / HTTP/1.1\nAuthorization: Basic {}\n",
                b64(&format!("deploy:{}", f.npm()))
            ),
            format!(
                "{{\"auths\": {{\"registry.example\": {{\"auth\": \"{}\"}}}}}}\n",
                b64(&format!("bot:{}", f.docker_pat()))
            ),
        ];
        for (target, prefix) in [("matcher", &b""[..]), ("keywords_differential", b"\x00")] {
            for (i, t) in texts.iter().chain(&encoded).enumerate() {
                let dir = root.join(target);
                std::fs::create_dir_all(&dir)?;
                let mut bytes = prefix.to_vec();
                bytes.extend_from_slice(t.as_bytes());
                std::fs::write(dir.join(format!("gen-{seed}-{i}")), bytes)?;
                written += 1;
            }
        }
        // decode: mode 0 is the raw text.
        for (i, t) in encoded.iter().enumerate() {
            let dir = root.join("decode");
            std::fs::create_dir_all(&dir)?;
            let mut bytes = vec![0u8];
            bytes.extend_from_slice(t.as_bytes());
            std::fs::write(dir.join(format!("gen-{seed}-{i}")), bytes)?;
            written += 1;
        }
        // tokens: the values alone.
        let dir = root.join("tokens");
        std::fs::create_dir_all(&dir)?;
        let values = [
            f.github("ghp"),
            f.npm(),
            f.gitlab_routable(7, 42),
            f.pypi(),
            f.pypi_macaroon(&[]),
            f.aws_key_id("AKIA"),
            f.pem("PRIVATE KEY"),
            f.openssh(),
        ];
        for (i, v) in values.iter().enumerate() {
            std::fs::write(dir.join(format!("gen-{seed}-{i}")), v)?;
            written += 1;
        }
    }
    println!("wrote {written} seeds under {}", root.display());
    Ok(())
}

//! Text from scanned content made safe to print on a terminal. File names,
//! commit authors, JWT claims, inventory entries and git's own messages
//! come from whoever committed them: an escape sequence among them could
//! recolour or clear the screen, set the window title, or, with a newline
//! or a right-to-left override, forge a line keytrace did not write. Such
//! characters are shown escaped instead (`\u{1b}`, `\n`, `\u{202e}`).
use std::borrow::Cow;

/// Whether `c` must not reach a terminal as itself: control characters
/// (C0, DEL, C1) and the invisible formatting characters that reorder or
/// hide text (bidirectional overrides and isolates, zero-width ones).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

/// `s` with every character a terminal would act on escaped.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Values longer than this, echoed in a message (an inventory's unknown
/// status, a library's `invalid type: string "…"`), are shown redacted:
/// whoever wrote them may have pasted a secret there.
const SHOWN_WHOLE: usize = 12;

/// A value from a file, for a message: whole if short, else redacted like
/// a secret.
pub fn shown_value(v: &str) -> Cow<'_, str> {
    if v.chars().count() <= SHOWN_WHOLE {
        Cow::Borrowed(v)
    } else {
        Cow::Owned(crate::base::secret::redact(v.as_bytes()))
    }
}

/// [`shown_value`], quoted.
pub fn quoted_value(v: &str) -> String {
    format!("{:?}", shown_value(v))
}

/// `message` (a parser's error, which may quote what it read) with every
/// double-quoted string in it shown as [`quoted_value`] shows values.
pub fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..open]);
        let body = &rest[open + 1..];
        // The closing quote: the first one not escaped by a backslash.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        match end {
            Some(e) => {
                out.push_str(&quoted_value(&body[..e]));
                rest = &body[e + 1..];
            }
            None => {
                // An unclosed quote: the rest is a value too.
                out.push_str(&quoted_value(body));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A TOML error as one line, `line L, column C: message`, without the
/// lines of the file that the library's own form quotes (a settings or
/// rule file handed to keytrace may be any file, secrets and all), and
/// with the values it quotes redacted.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = redact_quoted(e.message().trim_end());
    match e.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = 1 + memchr::memchr_iter(b'\n', before).count();
            let start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
            let column = 1 + String::from_utf8_lossy(&before[start..]).chars().count();
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::{quoted_value, redact_quoted, terminal_safe, toml_error};

    #[test]
    fn toml_errors_quote_no_line_of_the_file() {
        let tok = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
        for text in [
            format!("a = 1\n{tok}\n"),
            format!("[allow]\npaths = \"{tok}\"\n"),
        ] {
            #[derive(serde::Deserialize, Debug)]
            #[allow(dead_code)]
            struct T {
                a: Option<i64>,
                allow: Option<std::collections::BTreeMap<String, Vec<String>>>,
            }
            let e = toml::from_str::<T>(&text).unwrap_err();
            let m = toml_error(&text, &e);
            assert!(!m.contains("C3d4E5") && !m.contains('\n'), "{m}");
            assert!(m.starts_with("line 2, column "), "{m}");
        }
    }

    #[test]
    fn values_in_messages_are_redacted_when_long() {
        let tok = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
        assert_eq!(quoted_value("monthly2"), "\"monthly2\"");
        assert!(!quoted_value(tok).contains("C3d4E5"));
        let m = redact_quoted(&format!(
            "invalid type: string \"{tok}\", expected a sequence"
        ));
        assert!(
            !m.contains("C3d4E5") && m.ends_with(", expected a sequence"),
            "{m}"
        );
        let m = redact_quoted("unknown field `foo`, expected one of `a`");
        assert_eq!(m, "unknown field `foo`, expected one of `a`");
        let m = redact_quoted(&format!("bad \"{tok}\\\"x\" and \"{tok}"));
        assert!(!m.contains("C3d4E5"), "{m}");
    }

    #[test]
    fn escapes_what_a_terminal_acts_on() {
        assert_eq!(terminal_safe("src/main.rs"), "src/main.rs");
        assert_eq!(terminal_safe("café/日本.txt"), "café/日本.txt");
        assert_eq!(
            terminal_safe("a\x1b[2J\x1b]0;pwned\x07b"),
            "a\\u{1b}[2J\\u{1b}]0;pwned\\u{7}b"
        );
        assert_eq!(terminal_safe("x\n  found at  y"), "x\\n  found at  y");
        assert_eq!(terminal_safe("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(terminal_safe("\u{9b}31m"), "\\u{9b}31m");
        for s in ["\r", "\t", "\u{7f}", "\u{200b}", "\u{2066}", "\u{feff}"] {
            assert!(!terminal_safe(s)
                .chars()
                .any(|c| c.is_control() || c as u32 > 0x7f));
        }
    }
}

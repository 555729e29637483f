//! The file's surface syntax: `[section]` / `[section argument]` headers,
//! `key = value` lines, `#` comments, blank lines. Nothing here knows what
//! the sections mean; [`crate::parse`] does that.
//!
//! Rules (documented in CONFIG.md):
//! - A line is at most [`MAX_LINE_LEN`] bytes; the file at most
//!   [`MAX_FILE_LEN`] bytes (bounded before anything is allocated per line).
//! - `#` starts a comment at the beginning of a line or after whitespace, so
//!   values such as `{PLAIN}a#b` keep their `#`.
//! - A line starting with a space or tab continues the value of the entry
//!   above it (joined with one space), as in Postfix's `main.cf`.
//! - The key is everything before the first `=`, the value everything after
//!   it; both are trimmed. Keys are case-insensitive (stored lowercase).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::{Error, ErrorKind};

/// Longest accepted line, in bytes, without its line ending.
pub const MAX_LINE_LEN: usize = 4096;
/// Largest accepted config file, in bytes.
pub const MAX_FILE_LEN: usize = 4 * 1024 * 1024;

/// One `key = value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: u32,
}

/// One section: its header and the entries up to the next header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Lowercased section name (`user`, `server`, …).
    pub name: String,
    /// The argument after the name, if any (`alice@example.org`).
    pub arg: Option<String>,
    pub line: u32,
    pub entries: Vec<Entry>,
}

/// Strip a trailing comment: `#` at the start or after whitespace.
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') {
            return &line[..i];
        }
    }
    line
}

/// Split `text` into sections, collecting every syntax error.
pub fn split(file: &str, text: &str, errors: &mut Vec<Error>) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    if text.len() > MAX_FILE_LEN {
        errors.push(Error::new(file, None, ErrorKind::FileTooLarge { limit: MAX_FILE_LEN }));
        return sections;
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = (idx + 1) as u32;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.len() > MAX_LINE_LEN {
            errors.push(Error::new(file, Some(line_no), ErrorKind::LineTooLong { limit: MAX_LINE_LEN }));
            continue;
        }
        let stripped = strip_comment(raw);
        let line = stripped.trim();
        if line.is_empty() {
            continue;
        }
        // A line that starts with whitespace continues the previous entry's
        // value (as in Postfix's main.cf), so long lists can span lines.
        if stripped.starts_with([' ', '\t']) {
            match sections.last_mut().and_then(|s| s.entries.last_mut()) {
                Some(prev) if prev.value.len() + line.len() < MAX_FILE_LEN => {
                    if !prev.value.is_empty() {
                        prev.value.push(' ');
                    }
                    prev.value.push_str(line);
                }
                _ => errors.push(Error::new(
                    file,
                    Some(line_no),
                    ErrorKind::Syntax("indented line (a continuation) without a `key = value` line before it"),
                )),
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(inner) = rest.strip_suffix(']') else {
                errors.push(Error::new(file, Some(line_no), ErrorKind::Syntax("section header without closing ']'")));
                continue;
            };
            let inner = inner.trim();
            let (name, arg) = match inner.split_once([' ', '\t']) {
                Some((n, a)) => (n, Some(a.trim().to_string())),
                None => (inner, None),
            };
            if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-') {
                errors.push(Error::new(file, Some(line_no), ErrorKind::Syntax("bad section name")));
                // Keep a placeholder so the following entries are not
                // blamed on the previous section.
                sections.push(Section { name: String::new(), arg: None, line: line_no, entries: Vec::new() });
                continue;
            }
            sections.push(Section { name: name.to_ascii_lowercase(), arg, line: line_no, entries: Vec::new() });
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            errors.push(Error::new(file, Some(line_no), ErrorKind::Syntax("expected `key = value` or `[section]`")));
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            errors.push(Error::new(file, Some(line_no), ErrorKind::Syntax("empty key before '='")));
            continue;
        }
        let entry = Entry { key: key.to_string(), value: value.trim().to_string(), line: line_no };
        match sections.last_mut() {
            Some(s) => s.entries.push(entry),
            None => {
                errors.push(Error::new(file, Some(line_no), ErrorKind::Syntax("`key = value` before any [section]")))
            }
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_entries_comments() {
        let mut e = Vec::new();
        let s = split(
            "f",
            "# top\r\n[server]\nhostname = mx.example.org # c\n\n[user a@b.c]\npassword = {PLAIN}a#b\nx=y=z\n",
            &mut e,
        );
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "server");
        assert_eq!(s[0].entries[0].value, "mx.example.org");
        assert_eq!(s[0].entries[0].line, 3);
        assert_eq!(s[1].arg.as_deref(), Some("a@b.c"));
        assert_eq!(s[1].entries[0].value, "{PLAIN}a#b");
        assert_eq!(s[1].entries[1].key, "x");
        assert_eq!(s[1].entries[1].value, "y=z");
    }

    #[test]
    fn continuation_lines() {
        let mut e = Vec::new();
        let s = split("f", "[aliases]\nteam@x.org = a@x.org,\n  b@x.org # c\n\n\tc@x.org\nk = v\n", &mut e);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(s[0].entries[0].value, "a@x.org, b@x.org c@x.org");
        assert_eq!(s[0].entries[0].line, 2);
        assert_eq!(s[0].entries[1].line, 6);
        split("f", "[server]\n  indented = x\n", &mut e);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, Some(2));
    }

    #[test]
    fn syntax_errors_have_lines() {
        let mut e = Vec::new();
        let long = "a".repeat(MAX_LINE_LEN + 1);
        let text = alloc::format!("k = v\n[server\nnokey\n[b@d x]\n = v\n{long}\n");
        split("f.conf", &text, &mut e);
        let lines: Vec<_> = e.iter().map(|e| e.line).collect();
        assert_eq!(lines, [Some(1), Some(2), Some(3), Some(4), Some(5), Some(6)]);
        assert!(e[5].to_string().starts_with("f.conf:6: "));
    }
}

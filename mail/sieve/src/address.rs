//! A tolerant RFC 5322 3.4 address-list reader for the `address` test and
//! vacation checks: enough to find each mailbox's local part and domain.

use alloc::string::String;
use alloc::vec::Vec;

/// One address found in a header: `local@domain` split at the last '@'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub local: String,
    pub domain: String,
}

impl Addr {
    pub fn full(&self) -> String {
        if self.domain.is_empty() {
            self.local.clone()
        } else {
            alloc::format!("{}@{}", self.local, self.domain)
        }
    }
}

/// Removes RFC 5322 comments `( ... )` outside quoted strings.
fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0u32;
    let mut quoted = false;
    let mut esc = false;
    for c in s.chars() {
        if esc {
            esc = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                esc = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Splits at `sep` outside quotes and angle brackets.
fn split_top(s: &str, seps: &[char]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut angle, mut esc) = (false, false, false);
    for c in s.chars() {
        if esc {
            esc = false;
            cur.push(c);
            continue;
        }
        match c {
            '\\' if quoted => {
                esc = true;
                cur.push(c);
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            '<' if !quoted => {
                angle = true;
                cur.push(c);
            }
            '>' if !quoted => {
                angle = false;
                cur.push(c);
            }
            c if !quoted && !angle && seps.contains(&c) => {
                out.push(core::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Unquotes a local part written as a quoted-string.
fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        let mut out = String::new();
        let mut esc = false;
        for c in s[1..s.len() - 1].chars() {
            if esc {
                out.push(c);
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else {
                out.push(c);
            }
        }
        out
    } else {
        String::from(s)
    }
}

fn addr_spec(s: &str) -> Option<Addr> {
    let s = s.trim();
    // RFC 5322 4.4: obsolete route "@a,@b:" before the addr-spec.
    let s = match (s.starts_with('@'), s.find(':')) {
        (true, Some(i)) => &s[i + 1..],
        _ => s,
    };
    let at = s.rfind('@')?;
    let (l, d) = (&s[..at], &s[at + 1..]);
    let local = unquote(l);
    let domain = String::from(d.trim());
    if local.is_empty() || domain.is_empty() || domain.contains(|c: char| c.is_whitespace() || c == '<' || c == '>') {
        return None;
    }
    if !l.trim().starts_with('"') && local.contains(|c: char| c.is_whitespace() || c == '<' || c == '>') {
        return None;
    }
    Some(Addr { local, domain })
}

/// One mailbox: `addr-spec` or `[display-name] <addr-spec>`.
pub fn parse_mailbox(s: &str) -> Option<Addr> {
    let s = strip_comments(s);
    let s = s.trim();
    if let (Some(a), Some(b)) = (s.rfind('<'), s.rfind('>')) {
        if a < b {
            return addr_spec(&s[a + 1..b]);
        }
        return None;
    }
    addr_spec(s)
}

/// Result of reading one element of an address header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Ok(Addr),
    /// Not a valid address: only `:all` may match it (RFC 5228 5.1).
    Invalid(String),
}

/// Reads an address-list header value (RFC 5322 3.4), flattening groups.
pub fn parse_list(value: &str, max: usize) -> Vec<Item> {
    let clean = strip_comments(value);
    let mut out = Vec::new();
    // Groups: "name: a, b;" — treat ':' (outside quotes/angles) and ';' as separators
    // after dropping the display name before ':'.
    for part in split_top(&clean, &[',', ';']) {
        if out.len() >= max {
            break;
        }
        let mut p = part.trim();
        if p.is_empty() {
            continue;
        }
        if let Some(i) = group_colon(p) {
            p = p[i + 1..].trim();
            if p.is_empty() {
                continue;
            }
        }
        match parse_mailbox(p) {
            Some(a) => out.push(Item::Ok(a)),
            None => out.push(Item::Invalid(String::from(p))),
        }
    }
    // Like Pigeonhole: a non-empty value without any address (an empty
    // group such as "undisclosed-recipients:;") is one invalid item, so
    // `:all` and `:count` still see it.
    if out.is_empty() && !value.trim().is_empty() {
        out.push(Item::Invalid(String::from(value.trim())));
    }
    out
}

/// Position of a group's ':' (outside quotes and angle brackets, before any '@').
fn group_colon(s: &str) -> Option<usize> {
    let (mut quoted, mut esc) = (false, false);
    for (i, c) in s.char_indices() {
        if esc {
            esc = false;
            continue;
        }
        match c {
            '\\' if quoted => esc = true,
            '"' => quoted = !quoted,
            '<' | '@' if !quoted => return None,
            ':' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(l: &str, d: &str) -> Item {
        Item::Ok(Addr { local: l.into(), domain: d.into() })
    }

    #[test]
    fn lists() {
        assert_eq!(parse_list("Alice <alice@example.org>", 10), alloc::vec![a("alice", "example.org")]);
        assert_eq!(
            parse_list("\"Doe, John\" <j@x.org>, bob@y.org (Bob), group: c@z.org, d@w.org;", 10),
            alloc::vec![a("j", "x.org"), a("bob", "y.org"), a("c", "z.org"), a("d", "w.org")]
        );
        assert_eq!(
            parse_list("undisclosed-recipients:;", 10),
            alloc::vec![Item::Invalid("undisclosed-recipients:;".into())]
        );
        assert_eq!(parse_list("<@r.org:x@y.org>", 10), alloc::vec![a("x", "y.org")]);
        assert_eq!(parse_list("\"a b\"@q.org", 10), alloc::vec![a("a b", "q.org")]);
        assert_eq!(parse_list("garbage", 10), alloc::vec![Item::Invalid("garbage".into())]);
        assert_eq!(parse_list("a@b, c@d, e@f", 2).len(), 2);
    }

    #[test]
    fn mailbox() {
        assert!(parse_mailbox("x@y.org").is_some());
        assert!(parse_mailbox("Name <x@y.org>").is_some());
        assert!(parse_mailbox("nope").is_none());
        assert!(parse_mailbox("a b@c").is_none());
    }
}

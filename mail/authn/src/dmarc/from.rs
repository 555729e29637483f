//! RFC 7489 6.6.1: the RFC5322.From domain DMARC evaluates.

use alloc::string::String;
use alloc::vec::Vec;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FromError {
    /// No From field, or more than one (RFC 5322 3.6 allows exactly one).
    NotExactlyOne,
    /// No domain could be found in it.
    NoDomain,
    /// Several mailboxes with different domains (RFC 7489 6.6.1 lets the
    /// receiver reject such messages).
    MultipleDomains,
}

/// Split a header value at top-level commas, skipping quoted strings,
/// comments and angle-addresses.
fn mailboxes(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quote, mut depth, mut angle, mut esc) = (false, 0u32, false, false);
    for c in v.chars() {
        if esc {
            esc = false;
            if depth == 0 {
                cur.push(c);
            }
            continue;
        }
        match c {
            '\\' if quote || depth > 0 => esc = true,
            '"' if depth == 0 => quote = !quote,
            '(' if !quote => depth += 1,
            ')' if !quote && depth > 0 => depth -= 1,
            '<' if !quote && depth == 0 => {
                angle = true;
                cur.push(c);
            }
            '>' if !quote && depth == 0 => {
                angle = false;
                cur.push(c);
            }
            ',' if !quote && depth == 0 && !angle => out.push(core::mem::take(&mut cur)),
            ':' if !quote && depth == 0 && !angle => cur.clear(), // group display name
            ';' if !quote && depth == 0 && !angle => {}
            _ if depth > 0 => {}
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| String::from(s.trim())).filter(|s| !s.is_empty()).collect()
}

fn domain_of(mailbox: &str) -> Option<String> {
    let addr = match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(a), Some(b)) if b > a => &mailbox[a + 1..b],
        _ => mailbox,
    };
    let d = addr.rsplit_once('@')?.1.trim().trim_end_matches('.');
    if d.is_empty() || d.contains(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>') {
        return None;
    }
    Some(d.to_ascii_lowercase())
}

/// The From domain of a message's header block (raw bytes, folded lines
/// allowed).
pub fn from_domain(header: &[u8]) -> Result<String, FromError> {
    let (fields, _) = crate::dkim::canon::split_headers(header).map_err(|_| FromError::NotExactlyOne)?;
    let mut froms = fields.iter().filter(|h| h.name.eq_ignore_ascii_case(b"from"));
    let f = froms.next().ok_or(FromError::NotExactlyOne)?;
    if froms.next().is_some() {
        return Err(FromError::NotExactlyOne);
    }
    let raw = String::from_utf8_lossy(&f.raw[f.name.len()..]);
    let value = raw.trim_start().strip_prefix(':').unwrap_or(&raw).replace(['\r', '\n'], "");
    let mut domain: Option<String> = None;
    for mb in mailboxes(&value) {
        let d = domain_of(&mb).ok_or(FromError::NoDomain)?;
        match &domain {
            Some(prev) if *prev != d => return Err(FromError::MultipleDomains),
            _ => domain = Some(d),
        }
    }
    domain.ok_or(FromError::NoDomain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_domains() {
        let ok = |h: &str| from_domain(h.as_bytes());
        assert_eq!(ok("From: Ada <ada@Example.COM>\r\n\r\n").unwrap(), "example.com");
        assert_eq!(ok("From: ada@example.com\r\n").unwrap(), "example.com");
        assert_eq!(ok("From: \"Doe, John @ home\" <j@example.org> (comment, @x.y)\r\n").unwrap(), "example.org");
        assert_eq!(ok("From: a@example.com,\r\n b@example.com\r\n").unwrap(), "example.com");
        assert_eq!(ok("From: Team: a@example.com, b@example.com;\r\n").unwrap(), "example.com");
        assert_eq!(ok("Subject: x\r\nFrom:\r\n\t<x@sub.example.net>\r\n").unwrap(), "sub.example.net");
        assert_eq!(ok("From: a@example.com, b@example.net\r\n"), Err(FromError::MultipleDomains));
        assert_eq!(ok("From: a@example.com\r\nFrom: b@example.com\r\n"), Err(FromError::NotExactlyOne));
        assert_eq!(ok("To: a@example.com\r\n"), Err(FromError::NotExactlyOne));
        assert_eq!(ok("From: undisclosed\r\n"), Err(FromError::NoDomain));
    }
}

//! Envelope addresses: RFC 5321 4.1.2 `Path`, `Mailbox`, `Local-part`,
//! `Domain` and `address-literal`, with the RFC 6531 3.3 UTF-8 extension.
//!
//! The parser works on the bytes between `<` and `>` (the caller found them)
//! and returns owned, validated values: a `Mailbox` can only be built through
//! the parser, so code downstream never sees an address with CR, LF, spaces
//! outside quotes or an over-long part.

use alloc::string::String;
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

/// RFC 5321 4.5.3.1.1: local-part at most 64 octets.
pub const MAX_LOCAL_PART: usize = 64;
/// RFC 5321 4.5.3.1.2: domain at most 255 octets.
pub const MAX_DOMAIN: usize = 255;
/// RFC 5321 4.5.3.1.3: path at most 256 octets including the brackets.
pub const MAX_PATH: usize = 256;

/// The part after `@`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// A domain name (may hold U-labels when SMTPUTF8 is in use).
    Domain(String),
    /// `[1.2.3.4]`
    Ipv4(Ipv4Addr),
    /// `[IPv6:...]`
    Ipv6(Ipv6Addr),
    /// `[tag:content]` (RFC 5321 4.1.3 General-address-literal), kept verbatim.
    General(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "[{}]", a),
            Host::Ipv6(a) => write!(f, "[IPv6:{}]", a),
            Host::General(g) => write!(f, "[{}]", g),
        }
    }
}

/// A validated mailbox `local@host`, or the special `Postmaster` recipient
/// (RFC 5321 4.1.1.3: `RCPT TO:<Postmaster>` without a domain MUST be accepted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    /// The local part exactly as sent (quotes kept if it was quoted).
    pub local: String,
    /// `None` only for the bare `Postmaster` recipient.
    pub host: Option<Host>,
}

impl Mailbox {
    /// True when any octet is outside ASCII (needs SMTPUTF8).
    pub fn is_utf8(&self) -> bool {
        !self.local.is_ascii() || matches!(&self.host, Some(Host::Domain(d)) if !d.is_ascii())
    }
    /// The domain part as text, if any.
    pub fn domain(&self) -> Option<String> {
        self.host.as_ref().map(|h| alloc::format!("{}", h))
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Some(h) => write!(f, "{}@{}", self.local, h),
            None => f.write_str(&self.local),
        }
    }
}

/// RFC 5321 4.1.2 `Reverse-path = Path / "<>"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReversePath {
    /// `<>`: bounces and other notifications (RFC 5321 4.5.5).
    Null,
    /// A sender mailbox.
    Mailbox(Mailbox),
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => Ok(()),
            ReversePath::Mailbox(m) => m.fmt(f),
        }
    }
}

/// Why an address was refused (all map to 501 / 553 replies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressError {
    /// Not `<...>` or a grammar violation.
    Syntax,
    /// A part exceeds the RFC 5321 4.5.3.1 size limits.
    TooLong,
    /// Non-ASCII octets but the transaction did not declare SMTPUTF8
    /// (RFC 6531 3.7.4.1: 553 5.6.7).
    Utf8NotAllowed,
}

/// Parse `<...>` (brackets included) as a reverse-path.
pub fn parse_reverse_path(s: &[u8], utf8: bool) -> Result<ReversePath, AddressError> {
    if s == b"<>" {
        return Ok(ReversePath::Null);
    }
    parse_path(s, utf8, false).map(ReversePath::Mailbox)
}

/// Parse `<...>` (brackets included) as a forward-path. `<Postmaster>` is
/// accepted (case-insensitively) without a domain.
pub fn parse_forward_path(s: &[u8], utf8: bool) -> Result<Mailbox, AddressError> {
    parse_path(s, utf8, true)
}

fn parse_path(s: &[u8], utf8: bool, allow_postmaster: bool) -> Result<Mailbox, AddressError> {
    if s.len() > MAX_PATH {
        return Err(AddressError::TooLong);
    }
    if s.len() < 2 || s[0] != b'<' || s[s.len() - 1] != b'>' {
        return Err(AddressError::Syntax);
    }
    let mut inner = &s[1..s.len() - 1];
    if !utf8 && !inner.is_ascii() {
        // Check the grammar would otherwise pass, so a plain syntax error
        // still gets 501; only a well-formed UTF-8 address gets 553 5.6.7.
        return match parse_path(s, true, allow_postmaster) {
            Ok(_) => Err(AddressError::Utf8NotAllowed),
            Err(e) => Err(e),
        };
    }
    let text = core::str::from_utf8(inner).map_err(|_| AddressError::Syntax)?;
    if allow_postmaster && text.eq_ignore_ascii_case("postmaster") {
        return Ok(Mailbox { local: String::from(text), host: None });
    }
    // RFC 5321 4.1.2: `[ A-d-l ":" ]` source route, parsed and ignored
    // (RFC 5321 C: servers SHOULD ignore source routes).
    if inner.first() == Some(&b'@') {
        let colon = inner.iter().position(|&b| b == b':').ok_or(AddressError::Syntax)?;
        for hop in inner[..colon].split(|&b| b == b',') {
            if hop.first() != Some(&b'@') || !is_domain(&hop[1..], utf8) {
                return Err(AddressError::Syntax);
            }
        }
        inner = &inner[colon + 1..];
    }
    parse_mailbox(inner, utf8)
}

/// Parse `Local-part "@" ( Domain / address-literal )`.
pub fn parse_mailbox(s: &[u8], utf8: bool) -> Result<Mailbox, AddressError> {
    let local_len = local_part_len(s, utf8).ok_or(AddressError::Syntax)?;
    if s.get(local_len) != Some(&b'@') {
        return Err(AddressError::Syntax);
    }
    let local = &s[..local_len];
    let host = &s[local_len + 1..];
    if local.len() > MAX_LOCAL_PART || host.len() > MAX_DOMAIN {
        return Err(AddressError::TooLong);
    }
    let host = parse_host(host, utf8).ok_or(AddressError::Syntax)?;
    let local = core::str::from_utf8(local).map_err(|_| AddressError::Syntax)?;
    Ok(Mailbox { local: String::from(local), host: Some(host) })
}

/// RFC 5322 3.2.3 atext (used by RFC 5321 `Atom`), plus RFC 6531 UTF8-non-ascii.
fn is_atext(b: u8, utf8: bool) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || (utf8 && b >= 0x80)
}

/// Length of a `Dot-string / Quoted-string` at the start of `s`, or None.
fn local_part_len(s: &[u8], utf8: bool) -> Option<usize> {
    if s.first() == Some(&b'"') {
        // RFC 5321 4.1.2: Quoted-string = DQUOTE *QcontentSMTP DQUOTE
        let mut i = 1;
        while i < s.len() {
            match s[i] {
                b'"' => return Some(i + 1),
                // quoted-pairSMTP = %d92 %d32-126
                b'\\' => {
                    let n = *s.get(i + 1)?;
                    if !(32..=126).contains(&n) {
                        return None;
                    }
                    i += 2;
                }
                // qtextSMTP = %d32-33 / %d35-91 / %d93-126 (+ UTF-8 per RFC 6531)
                b if (32..=126).contains(&b) || (utf8 && b >= 0x80) => i += 1,
                _ => return None,
            }
        }
        None
    } else {
        // Dot-string = Atom *("." Atom)
        let mut i = 0;
        let mut atom_len = 0;
        while i < s.len() {
            let b = s[i];
            if b == b'.' {
                if atom_len == 0 {
                    return None;
                }
                atom_len = 0;
            } else if is_atext(b, utf8) {
                atom_len += 1;
            } else {
                break;
            }
            i += 1;
        }
        if atom_len == 0 {
            return None;
        }
        Some(i)
    }
}

/// RFC 5321 4.1.2 `Domain = sub-domain *("." sub-domain)`,
/// `sub-domain = Let-dig [Ldh-str]` (or a U-label under RFC 6531).
pub fn is_domain(s: &[u8], utf8: bool) -> bool {
    if s.is_empty() || s.len() > MAX_DOMAIN {
        return false;
    }
    s.split(|&b| b == b'.').all(|label| {
        let ok = |b: u8| b.is_ascii_alphanumeric() || (utf8 && b >= 0x80);
        !label.is_empty()
            && label.len() <= 63
            && ok(label[0])
            && ok(label[label.len() - 1])
            && label.iter().all(|&b| ok(b) || b == b'-')
    })
}

fn parse_host(s: &[u8], utf8: bool) -> Option<Host> {
    if s.first() == Some(&b'[') {
        // RFC 5321 4.1.3 address literals
        if s.last() != Some(&b']') {
            return None;
        }
        let inner = core::str::from_utf8(&s[1..s.len() - 1]).ok()?;
        if let Some(v6) = strip_prefix_ci(inner, "IPv6:") {
            return v6.parse::<Ipv6Addr>().ok().map(Host::Ipv6);
        }
        if let Ok(v4) = inner.parse::<Ipv4Addr>() {
            return Some(Host::Ipv4(v4));
        }
        // General-address-literal = Standardized-tag ":" 1*dcontent
        let colon = inner.find(':')?;
        let (tag, content) = (&inner[..colon], &inner[colon + 1..]);
        let tag_ok = is_domain(tag.as_bytes(), false) && !tag.ends_with('-');
        let content_ok =
            !content.is_empty() && content.bytes().all(|b| (33..=90).contains(&b) || (94..=126).contains(&b));
        if tag_ok && content_ok {
            return Some(Host::General(String::from(inner)));
        }
        return None;
    }
    if is_domain(s, utf8) {
        return Some(Host::Domain(String::from(core::str::from_utf8(s).ok()?)));
    }
    None
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes()) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(s: &str) -> Result<Mailbox, AddressError> {
        parse_forward_path(s.as_bytes(), false)
    }

    #[test]
    fn plain_and_null() {
        assert_eq!(parse_reverse_path(b"<>", false), Ok(ReversePath::Null));
        let m = fwd("<user.name+tag@example.org>").unwrap();
        assert_eq!(m.local, "user.name+tag");
        assert_eq!(m.host, Some(Host::Domain("example.org".into())));
        assert_eq!(alloc::format!("{}", m), "user.name+tag@example.org");
    }

    #[test]
    fn quoted_local_part() {
        let m = fwd("<\"john doe\\\"x\"@example.org>").unwrap();
        assert_eq!(m.local, "\"john doe\\\"x\"");
        assert!(fwd("<\"unterminated@example.org>").is_err());
    }

    #[test]
    fn source_route_ignored() {
        let m = fwd("<@a.example,@b.example:user@c.example>").unwrap();
        assert_eq!(alloc::format!("{}", m), "user@c.example");
        assert!(fwd("<@a.example user@c.example>").is_err());
    }

    #[test]
    fn literals() {
        let m = fwd("<u@[192.0.2.1]>").unwrap();
        assert_eq!(m.host, Some(Host::Ipv4("192.0.2.1".parse().unwrap())));
        let m = fwd("<u@[IPv6:2001:db8::1]>").unwrap();
        assert_eq!(m.host, Some(Host::Ipv6("2001:db8::1".parse().unwrap())));
        assert!(fwd("<u@[300.1.1.1]>").is_err());
        assert!(fwd("<u@[IPv6:zz]>").is_err());
    }

    #[test]
    fn postmaster() {
        assert_eq!(fwd("<PostMaster>").unwrap().host, None);
        assert!(parse_reverse_path(b"<postmaster>", false).is_err());
    }

    #[test]
    fn bad_syntax() {
        for s in [
            "user@example.org",
            "<user@>",
            "<@example.org>",
            "<a..b@x.org>",
            "<.a@x.org>",
            "<a@-x.org>",
            "<a@x..org>",
            "<a b@x.org>",
            "<a@x.org",
            "<a@x_y.org>",
            "<>x",
        ] {
            assert!(fwd(s).is_err(), "{}", s);
        }
    }

    #[test]
    fn lengths() {
        let long_local = alloc::format!("<{}@x.org>", "a".repeat(65));
        assert_eq!(fwd(&long_local), Err(AddressError::TooLong));
        let ok_local = alloc::format!("<{}@x.org>", "a".repeat(64));
        assert!(fwd(&ok_local).is_ok());
        let long_label = alloc::format!("<a@{}.org>", "b".repeat(64));
        assert!(fwd(&long_label).is_err());
    }

    #[test]
    fn utf8_needs_smtputf8() {
        let s = "<jösé@exämple.org>".as_bytes();
        assert_eq!(parse_forward_path(s, false), Err(AddressError::Utf8NotAllowed));
        let m = parse_forward_path(s, true).unwrap();
        assert!(m.is_utf8());
        assert_eq!(parse_forward_path(b"<\xff\xfe@x.org>", true), Err(AddressError::Syntax));
    }
}

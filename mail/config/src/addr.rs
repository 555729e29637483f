//! Mail addresses and domain names as the config and the router see them.
//!
//! Only the `local@domain` form with a dot-atom local part is accepted in the
//! config (RFC 5322 3.2.3 `atext`, plus UTF-8 per RFC 6531 3.3); quoted local
//! parts are legal on the wire but never needed for a small site's own
//! accounts. Domains are stored lowercased (ASCII; RFC 5321 2.4: domain
//! names are case-insensitive).

use alloc::string::String;
use core::fmt;

/// RFC 5321 4.5.3.1.1: local part at most 64 octets.
pub const MAX_LOCAL_LEN: usize = 64;
/// RFC 5321 4.5.3.1.2: domain at most 255 octets.
pub const MAX_DOMAIN_LEN: usize = 255;

/// A syntactically valid `local@domain` address; the domain is lowercase.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    local: String,
    domain: String,
}

impl Address {
    /// Parse `local@domain` (split at the last `@`).
    pub fn parse(s: &str) -> Result<Address, &'static str> {
        let (local, domain) = s.rsplit_once('@').ok_or("no '@'")?;
        check_local(local)?;
        let domain = parse_domain(domain)?;
        Ok(Address { local: String::from(local), domain })
    }

    /// The local part, as written.
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The domain, lowercase.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub(crate) fn from_parts(local: &str, domain: &str) -> Address {
        Address { local: String::from(local), domain: String::from(domain) }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// RFC 5322 3.2.3 atext, plus any non-ASCII byte (RFC 6531 3.3 UTF8-non-ascii).
fn is_atext(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c) || c >= 0x80
}

fn check_local(local: &str) -> Result<(), &'static str> {
    if local.is_empty() {
        return Err("empty local part");
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err("local part longer than 64 octets (RFC 5321 4.5.3.1.1)");
    }
    // dot-atom: atext runs separated by single dots.
    if local.split('.').any(|atom| atom.is_empty() || !atom.bytes().all(is_atext)) {
        return Err("local part is not a dot-atom");
    }
    Ok(())
}

/// Parse and lowercase a domain name: LDH labels (or UTF-8 U-labels) of 1-63
/// octets, at most 255 in all, no leading or trailing hyphen. A trailing dot
/// is not accepted (the config names domains, not DNS zone entries).
pub fn parse_domain(d: &str) -> Result<String, &'static str> {
    if d.is_empty() {
        return Err("empty domain");
    }
    if d.len() > MAX_DOMAIN_LEN {
        return Err("domain longer than 255 octets (RFC 5321 4.5.3.1.2)");
    }
    for label in d.split('.') {
        if label.is_empty() {
            return Err("empty label in domain");
        }
        if label.len() > 63 {
            return Err("domain label longer than 63 octets");
        }
        if !label.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c >= 0x80) {
            return Err("domain label has characters other than letters, digits and '-'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain label starts or ends with '-'");
        }
    }
    Ok(d.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good() {
        let a = Address::parse("Alice.B+tag@Example.ORG").unwrap();
        assert_eq!(a.local(), "Alice.B+tag");
        assert_eq!(a.domain(), "example.org");
        assert_eq!(alloc::string::ToString::to_string(&a), "Alice.B+tag@example.org");
        assert!(Address::parse("jörg@bücher.example").is_ok());
    }

    #[test]
    fn bad() {
        for s in [
            "noat",
            "@example.org",
            "a@",
            "a..b@example.org",
            ".a@example.org",
            "a b@example.org",
            "a@exa mple.org",
            "a@-x.org",
            "a@x..org",
            "\"q\"@example.org",
        ] {
            assert!(Address::parse(s).is_err(), "{s}");
        }
        let long = alloc::format!("{}@x.org", "a".repeat(65));
        assert!(Address::parse(&long).is_err());
    }
}

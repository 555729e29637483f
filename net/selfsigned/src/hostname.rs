//! Validation of the names that go into the certificate.
//!
//! RFC 5280 4.2.1.6: a dNSName is an IA5String in the "preferred name
//! syntax" of RFC 1034 3.5 as relaxed by RFC 1123 2.1 (labels may start with
//! a digit). A leftmost `*` label is accepted because TLS clients match it
//! (RFC 6125 6.4.3) and an operator may want one. Anything else — spaces,
//! underscores, empty labels, a trailing dot, non-ASCII — is refused so the
//! certificate can never contain a name a client would reject.

/// RFC 1035 2.3.4: a name is at most 255 octets on the wire, i.e. 253
/// characters in text form without the trailing dot.
pub const MAX_NAME_LEN: usize = 253;
/// RFC 1035 2.3.4: labels are 63 octets or less.
pub const MAX_LABEL_LEN: usize = 63;

fn valid_label(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LABEL_LEN
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// True if `name` may be used as a dNSName.
pub fn valid_dns_name(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return false;
    }
    // RFC 3696 2: a top-level label is never all-numeric; this keeps IPv4
    // literals such as "192.0.2.1" out of dNSName (they belong in iPAddress).
    if name.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|c| c.is_ascii_digit())) {
        return false;
    }
    let mut labels = name.split('.');
    let first = labels.next().unwrap_or("");
    if first == "*" {
        // A wildcard needs something to the right of it.
        let mut rest = labels.peekable();
        rest.peek().is_some() && rest.all(valid_label)
    } else {
        valid_label(first) && labels.all(valid_label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for n in [
            "mail.example.org",
            "localhost",
            "a",
            "xn--bcher-kva.example",
            "1.example",
            "0-9.example",
            "*.example.org",
            "MAIL.Example.ORG",
        ] {
            assert!(valid_dns_name(n), "{n}");
        }
        let label = "a".repeat(63);
        assert!(valid_dns_name(&label));
        let long = [label.as_str(); 4].join(".");
        assert_eq!(long.len(), 255);
        assert!(!valid_dns_name(&long));
        assert!(valid_dns_name(&long[2..]));
    }

    #[test]
    fn rejects_bad_names() {
        for n in [
            "",
            ".",
            "example.org.",
            ".example.org",
            "a..b",
            "-a.example",
            "a-.example",
            "under_score.example",
            "sp ace.example",
            "é.example",
            "*",
            "*.",
            "a.*.b",
            "**.example",
            "*a.example",
            "mail.example.org\0",
            "1.2.3.4:25",
            "192.0.2.1",
            "42",
        ] {
            assert!(!valid_dns_name(n), "{n:?}");
        }
        assert!(!valid_dns_name(&"a".repeat(64)));
    }
}

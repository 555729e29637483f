//! RFC 6376 3.2: tag=value lists (DKIM-Signature and key records).

use alloc::vec::Vec;

/// At most this many tags in one list (bounded work).
pub const MAX_TAGS: usize = 64;

fn is_wsp(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [f, rest @ ..] = s {
        if is_wsp(*f) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., l] = s {
        if is_wsp(*l) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// A parsed tag list: (name, value) pairs in order.
pub type TagList<'a> = Vec<(&'a [u8], &'a [u8])>;

/// Parse `tag-spec *( ";" tag-spec ) [ ";" ]`. Values keep inner FWS (callers
/// strip it where the grammar allows it, e.g. base64). Errors: missing '=',
/// bad tag name, duplicate tag.
pub fn parse(input: &[u8]) -> Result<TagList<'_>, &'static str> {
    let mut out: Vec<(&[u8], &[u8])> = Vec::new();
    let specs: Vec<&[u8]> = input.split(|&b| b == b';').collect();
    let n = specs.len();
    for (i, spec) in specs.into_iter().enumerate() {
        let t = trim(spec);
        if t.is_empty() {
            // Only a trailing ";" (or an entirely empty list) may leave an
            // empty spec.
            if i + 1 == n {
                continue;
            }
            return Err("empty tag-spec");
        }
        let eq = t.iter().position(|&b| b == b'=').ok_or("tag without '='")?;
        let name = trim(&t[..eq]);
        let value = trim(&t[eq + 1..]);
        // tag-name = ALPHA *ALNUMPUNC (ALNUMPUNC = ALPHA / DIGIT / "_")
        if name.is_empty()
            || !name[0].is_ascii_alphabetic()
            || !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            return Err("bad tag name");
        }
        if out.iter().any(|(k, _)| *k == name) {
            return Err("duplicate tag");
        }
        if out.len() >= MAX_TAGS {
            return Err("too many tags");
        }
        out.push((name, value));
    }
    Ok(out)
}

pub fn get<'a>(tags: &[(&'a [u8], &'a [u8])], name: &str) -> Option<&'a [u8]> {
    tags.iter().find(|(k, _)| *k == name.as_bytes()).map(|(_, v)| *v)
}

/// Remove all FWS from a value (base64 values of b=, bh=, p=).
pub fn strip_fws(v: &[u8]) -> Vec<u8> {
    v.iter().copied().filter(|b| !is_wsp(*b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn tag_lists() {
        let t = parse(b" v=1; a = rsa-sha256 ;\r\n\tb=ab\r\n cd;").unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(get(&t, "a"), Some(&b"rsa-sha256"[..]));
        assert_eq!(strip_fws(get(&t, "b").unwrap()), b"abcd");
        assert!(parse(b"v=1; v=2").is_err());
        assert!(parse(b"v=1;; a=b").is_err());
        assert!(parse(b"1v=1").is_err());
        assert!(parse(b"").unwrap().is_empty());
    }
}

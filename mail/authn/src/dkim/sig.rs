//! RFC 6376 3.5: the DKIM-Signature header field.

use super::canon::Canon;
use super::tags;
use alloc::string::String;
use alloc::vec::Vec;
use base64ct::{Base64, Encoding};

/// a= values. RSA-SHA1 is parsed so it can be refused by name (RFC 8301).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    RsaSha256,
    RsaSha1,
    Ed25519Sha256,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa-sha256",
            Algorithm::RsaSha1 => "rsa-sha1",
            Algorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }
}

/// A parsed DKIM-Signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub algorithm: Algorithm,
    pub signature: Vec<u8>,
    pub body_hash: Vec<u8>,
    pub header_canon: Canon,
    pub body_canon: Canon,
    /// d=, lower-cased.
    pub domain: String,
    /// h=, lower-cased, in order.
    pub headers: Vec<String>,
    /// i= (defaults to "@d").
    pub identity: String,
    pub body_length: Option<u64>,
    /// s=
    pub selector: String,
    pub timestamp: Option<u64>,
    pub expiration: Option<u64>,
    /// The first characters of b= as written (for header.b, RFC 6008).
    pub b_prefix: String,
}

/// Upper bound on h= entries (bounded work).
pub const MAX_SIGNED_HEADERS: usize = 128;

pub(crate) fn text(v: &[u8]) -> Result<&str, &'static str> {
    core::str::from_utf8(v).map_err(|_| "non-UTF-8 tag value")
}

fn number(v: &[u8]) -> Result<u64, &'static str> {
    // 1*76DIGIT in the ABNF; beyond u64 we refuse.
    if v.is_empty() || v.len() > 20 || !v.iter().all(|b| b.is_ascii_digit()) {
        return Err("bad number");
    }
    text(v)?.parse().map_err(|_| "number out of range")
}

pub(crate) fn b64(v: &[u8]) -> Result<Vec<u8>, &'static str> {
    let clean = tags::strip_fws(v);
    Base64::decode_vec(text(&clean)?).map_err(|_| "bad base64")
}

pub(crate) fn dns_name_ok(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Parse the value of a DKIM-Signature field (after the colon).
pub fn parse(value: &[u8]) -> Result<Signature, &'static str> {
    parse_kind(value, false).map(|(s, _)| s)
}

/// Parse an ARC-Message-Signature (RFC 8617 4.1.2): DKIM-Signature syntax
/// without v=, and i= is the ARC instance number. Returns the instance.
pub fn parse_ams(value: &[u8]) -> Result<(Signature, u32), &'static str> {
    parse_kind(value, true).map(|(s, i)| (s, i.unwrap_or(0)))
}

/// `i=` of an ARC header field: 1..=50 (RFC 8617 4.2.1).
pub fn arc_instance(v: &[u8]) -> Result<u32, &'static str> {
    let n = number(v)?;
    if (1..=50).contains(&n) {
        Ok(n as u32)
    } else {
        Err("ARC instance out of range")
    }
}

fn parse_kind(value: &[u8], ams: bool) -> Result<(Signature, Option<u32>), &'static str> {
    let t = tags::parse(value)?;
    let req = |n: &str| {
        tags::get(&t, n).ok_or(match n {
            "v" => "missing v=",
            "a" => "missing a=",
            "b" => "missing b=",
            "bh" => "missing bh=",
            "d" => "missing d=",
            "h" => "missing h=",
            _ => "missing s=",
        })
    };
    if !ams && req("v")? != b"1" {
        return Err("unsupported v=");
    }
    let instance = if ams { Some(arc_instance(tags::get(&t, "i").ok_or("missing i=")?)?) } else { None };
    let algorithm = match req("a")? {
        b"rsa-sha256" => Algorithm::RsaSha256,
        b"rsa-sha1" => Algorithm::RsaSha1,
        b"ed25519-sha256" => Algorithm::Ed25519Sha256,
        _ => return Err("unknown a= algorithm"),
    };
    let b_raw = tags::strip_fws(req("b")?);
    let signature = b64(&b_raw)?;
    let b_prefix = String::from(text(&b_raw[..b_raw.len().min(16)])?);
    let body_hash = b64(req("bh")?)?;
    let (header_canon, body_canon) = match tags::get(&t, "c") {
        None => (Canon::Simple, Canon::Simple),
        Some(c) => {
            let one = |s: &[u8]| match s {
                b"simple" => Ok(Canon::Simple),
                b"relaxed" => Ok(Canon::Relaxed),
                _ => Err("unknown c= canonicalization"),
            };
            match c.iter().position(|&b| b == b'/') {
                Some(i) => (one(&c[..i])?, one(&c[i + 1..])?),
                None => (one(c)?, Canon::Simple),
            }
        }
    };
    let domain = text(req("d")?)?.to_ascii_lowercase();
    if !dns_name_ok(&domain) {
        return Err("bad d= domain");
    }
    let selector = text(req("s")?)?.to_ascii_lowercase();
    if !dns_name_ok(&selector) {
        return Err("bad s= selector");
    }
    let mut headers = Vec::new();
    for h in text(req("h")?)?.split(':') {
        let h = h.trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n');
        if h.is_empty() {
            return Err("empty name in h=");
        }
        if headers.len() >= MAX_SIGNED_HEADERS {
            return Err("too many names in h=");
        }
        headers.push(h.to_ascii_lowercase());
    }
    // RFC 6376 5.4: From MUST be signed.
    if !headers.iter().any(|h| h == "from") {
        return Err("h= does not include From");
    }
    let identity = match tags::get(&t, "i").filter(|_| !ams) {
        Some(i) => {
            let i = String::from(text(i)?);
            let dom = i.rsplit_once('@').ok_or("i= has no '@'")?.1.to_ascii_lowercase();
            // RFC 6376 3.5: i= domain is d= or a subdomain of it.
            if !(dom == domain || dom.ends_with(&alloc::format!(".{domain}"))) {
                return Err("i= is not within d=");
            }
            i
        }
        None => alloc::format!("@{domain}"),
    };
    let body_length = tags::get(&t, "l").map(number).transpose()?;
    if let Some(q) = tags::get(&t, "q") {
        if !q.split(|&b| b == b':').any(|m| m == b"dns/txt") {
            return Err("unsupported q= method");
        }
    }
    let timestamp = tags::get(&t, "t").map(number).transpose()?;
    let expiration = tags::get(&t, "x").map(number).transpose()?;
    // RFC 6376 3.5: x= MUST be greater than t=.
    if let (Some(ts), Some(x)) = (timestamp, expiration) {
        if x <= ts {
            return Err("x= not after t=");
        }
    }
    Ok((
        Signature {
            algorithm,
            signature,
            body_hash,
            header_canon,
            body_canon,
            domain,
            headers,
            identity,
            body_length,
            selector,
            timestamp,
            expiration,
            b_prefix,
        },
        instance,
    ))
}

/// The raw DKIM-Signature field with the b= value (and its surrounding
/// whitespace) removed, as it is hashed (RFC 6376 3.7).
pub fn without_b_value(raw: &[u8]) -> Vec<u8> {
    let colon = raw.iter().position(|&b| b == b':').map(|c| c + 1).unwrap_or(0);
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..colon]);
    let value = &raw[colon..];
    let mut first = true;
    for spec in value.split(|&b| b == b';') {
        if !first {
            out.push(b';');
        }
        first = false;
        let eq = spec.iter().position(|&b| b == b'=');
        let is_b = match eq {
            Some(e) => spec[..e].iter().filter(|b| !b" \t\r\n".contains(b)).eq(b"b".iter()),
            None => false,
        };
        if is_b {
            let e = eq.unwrap_or(0);
            out.extend_from_slice(&spec[..=e]);
            // Keep the field's own final line break, if this is the last tag.
            if spec.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            } else if spec.ends_with(b"\n") {
                out.push(b'\n');
            }
        } else {
            out.extend_from_slice(spec);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_b() {
        let raw = b"DKIM-Signature: v=1; bh=abc=; b=dGVz\r\n\t dA==; d=x.example\r\n";
        assert_eq!(without_b_value(raw), b"DKIM-Signature: v=1; bh=abc=; b=; d=x.example\r\n");
        let raw = b"DKIM-Signature: v=1; b=dGVz\r\n dA==\r\n";
        assert_eq!(without_b_value(raw), b"DKIM-Signature: v=1; b=\r\n");
    }

    #[test]
    fn parses_signature() {
        let s = parse(b"v=1; a=rsa-sha256; d=Example.net; s=brisbane; c=relaxed;\r\n h=From : To; i=joe@football.example.net; bh=YWJj; b=ZGVm; l=5; t=10; x=20").unwrap();
        assert_eq!(s.domain, "example.net");
        assert_eq!(s.headers, ["from", "to"]);
        assert_eq!(s.header_canon, Canon::Relaxed);
        assert_eq!(s.body_canon, Canon::Simple);
        assert_eq!(s.body_length, Some(5));
        assert_eq!(s.signature, b"def");
        assert!(parse(b"v=1; a=rsa-sha256; d=example.net; s=x; h=to; bh=YWJj; b=ZGVm").is_err());
        assert!(parse(b"v=1; a=rsa-sha256; d=example.net; s=x; h=from; bh=YWJj; b=ZGVm; i=a@other.net").is_err());
        assert!(parse(b"v=1; a=rsa-sha256; d=example.net; s=x; h=from; bh=YWJj; b=ZGVm; t=20; x=10").is_err());
    }
}

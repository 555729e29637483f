//! SPF record syntax (RFC 7208 4.5, 4.6.1, 5, 6, 7.1 ABNF).
//!
//! The whole record is parsed before any term is evaluated: RFC 7208 4.6
//! says a syntax error anywhere yields "permerror" without evaluating the
//! terms before it.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr};

/// Refuse records with more terms than this (bounded work, bounded heap).
pub const MAX_TERMS: usize = 128;
/// Refuse records longer than this many bytes before parsing.
pub const MAX_RECORD_LEN: usize = 4096;

/// RFC 7208 4.6.2: the result a matching mechanism gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

/// A domain-spec (RFC 7208 7.1) whose macro syntax has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainSpec(pub(crate) String);

impl DomainSpec {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 7208 5: the mechanisms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(DomainSpec),
    A { domain: Option<DomainSpec>, cidr4: u8, cidr6: u8 },
    Mx { domain: Option<DomainSpec>, cidr4: u8, cidr6: u8 },
    Ptr(Option<DomainSpec>),
    Ip4(Ipv4Addr, u8),
    Ip6(Ipv6Addr, u8),
    Exists(DomainSpec),
}

impl Mechanism {
    /// RFC 7208 4.6.4: mechanisms that cost one of the 10 DNS lookups.
    pub fn counts_lookup(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }
}

/// A parsed SPF record.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Record {
    pub directives: Vec<(Qualifier, Mechanism)>,
    pub redirect: Option<DomainSpec>,
    pub exp: Option<DomainSpec>,
}

/// RFC 7208 4.5: is this TXT string an SPF record ("v=spf1" then SP or end)?
pub fn is_spf_record(txt: &[u8]) -> bool {
    txt.len() >= 6 && txt[..6].eq_ignore_ascii_case(b"v=spf1") && (txt.len() == 6 || txt[6] == b' ')
}

/// Syntax errors are all "permerror"; the text says which rule broke.
pub type ParseError = &'static str;

/// Parse a record already selected by [`is_spf_record`].
pub fn parse(txt: &[u8]) -> Result<Record, ParseError> {
    if txt.len() > MAX_RECORD_LEN {
        return Err("record too long");
    }
    // RFC 7208 3.1 / 4.6.1: records are 7-bit ASCII; terms are separated by
    // SP only (not TAB or other control characters).
    if txt.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
        return Err("non-ASCII or control character in record");
    }
    let s = core::str::from_utf8(txt).map_err(|_| "non-ASCII record")?;
    if !is_spf_record(txt) {
        return Err("not an SPF record");
    }
    let mut rec = Record::default();
    let mut nterms = 0usize;
    // record = version terms *SP ; terms = *( 1*SP ( directive / modifier ) )
    for term in s[6..].split(' ').filter(|t| !t.is_empty()) {
        nterms += 1;
        if nterms > MAX_TERMS {
            return Err("too many terms");
        }
        parse_term(term, &mut rec)?;
    }
    Ok(rec)
}

fn is_name(n: &str) -> bool {
    // name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    let b = n.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn parse_term(term: &str, rec: &mut Record) -> Result<(), ParseError> {
    // A modifier is `name "=" macro-string`; a mechanism name never has '='.
    if let Some(eq) = term.find('=') {
        let name = &term[..eq];
        if is_name(name) {
            let value = &term[eq + 1..];
            if name.eq_ignore_ascii_case("redirect") {
                if rec.redirect.is_some() {
                    return Err("redirect given twice");
                }
                rec.redirect = Some(domain_spec(value)?);
            } else if name.eq_ignore_ascii_case("exp") {
                if rec.exp.is_some() {
                    return Err("exp given twice");
                }
                rec.exp = Some(domain_spec(value)?);
            } else {
                // RFC 7208 6: unknown modifiers are ignored, but their
                // syntax is still checked (macro-string).
                check_macro_string(value, true)?;
            }
            return Ok(());
        }
    }
    let (q, rest) = match term.as_bytes()[0] {
        b'+' => (Qualifier::Pass, &term[1..]),
        b'-' => (Qualifier::Fail, &term[1..]),
        b'~' => (Qualifier::SoftFail, &term[1..]),
        b'?' => (Qualifier::Neutral, &term[1..]),
        _ => (Qualifier::Pass, term),
    };
    let name_end = rest.find([':', '/']).unwrap_or(rest.len());
    let name = &rest[..name_end];
    let arg = &rest[name_end..];
    let lower = |n: &str| name.eq_ignore_ascii_case(n);
    let mech = if lower("all") {
        if !arg.is_empty() {
            return Err("all takes no argument");
        }
        Mechanism::All
    } else if lower("include") {
        Mechanism::Include(colon_domain(arg)?.ok_or("include needs a domain")?)
    } else if lower("exists") {
        Mechanism::Exists(colon_domain(arg)?.ok_or("exists needs a domain")?)
    } else if lower("ptr") {
        Mechanism::Ptr(colon_domain(arg)?)
    } else if lower("a") || lower("mx") {
        let (spec, cidr4, cidr6) = dual_cidr(arg)?;
        let domain = colon_domain(spec)?;
        if lower("a") {
            Mechanism::A { domain, cidr4, cidr6 }
        } else {
            Mechanism::Mx { domain, cidr4, cidr6 }
        }
    } else if lower("ip4") {
        let a = arg.strip_prefix(':').ok_or("ip4 needs an address")?;
        let (addr, len) = match a.split_once('/') {
            Some((addr, len)) => (addr, cidr_len(len, 32)?),
            None => (a, 32),
        };
        Mechanism::Ip4(parse_ip4(addr)?, len)
    } else if lower("ip6") {
        let a = arg.strip_prefix(':').ok_or("ip6 needs an address")?;
        let (addr, len) = match a.split_once('/') {
            Some((addr, len)) => (addr, cidr_len(len, 128)?),
            None => (a, 128),
        };
        let ip: Ipv6Addr = addr.parse().map_err(|_| "bad ip6 address")?;
        Mechanism::Ip6(ip, len)
    } else {
        return Err("unknown mechanism");
    };
    rec.directives.push((q, mech));
    Ok(())
}

/// ip4-network = qnum "." qnum "." qnum "." qnum, qnum without leading zeros.
fn parse_ip4(s: &str) -> Result<Ipv4Addr, ParseError> {
    let mut o = [0u8; 4];
    let mut n = 0;
    for part in s.split('.') {
        if n == 4 || part.is_empty() || part.len() > 3 || (part.len() > 1 && part.starts_with('0')) {
            return Err("bad ip4 address");
        }
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err("bad ip4 address");
        }
        let v: u16 = part.parse().map_err(|_| "bad ip4 address")?;
        if v > 255 {
            return Err("bad ip4 address");
        }
        o[n] = v as u8;
        n += 1;
    }
    if n != 4 {
        return Err("bad ip4 address");
    }
    Ok(Ipv4Addr::from(o))
}

/// ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT); ip6 up to three digits.
fn cidr_len(s: &str, max: u8) -> Result<u8, ParseError> {
    let maxdigits = if max == 32 { 2 } else { 3 };
    if s.is_empty()
        || s.len() > maxdigits
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return Err("bad CIDR length");
    }
    let v: u16 = s.parse().map_err(|_| "bad CIDR length")?;
    if v > max as u16 {
        return Err("CIDR length out of range");
    }
    Ok(v as u8)
}

/// Split a trailing dual-cidr-length (`/n`, `//m`, `/n//m`) off an a/mx
/// argument. Only an all-digit tail counts, since a domain-spec may itself
/// contain '/'.
fn dual_cidr(arg: &str) -> Result<(&str, u8, u8), ParseError> {
    let mut rest = arg;
    let mut c6 = 128;
    let mut c4 = 32;
    if let Some(i) = rest.rfind("//") {
        let tail = &rest[i + 2..];
        if !tail.contains('/') {
            c6 = cidr_len(tail, 128)?;
            rest = &rest[..i];
        }
    }
    if let Some(i) = rest.rfind('/') {
        let tail = &rest[i + 1..];
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            c4 = cidr_len(tail, 32)?;
            rest = &rest[..i];
        } else if rest[..i].is_empty() {
            // "a/" or "a/x": a slash with no domain and no valid length.
            return Err("bad CIDR length");
        }
    }
    Ok((rest, c4, c6))
}

fn colon_domain(arg: &str) -> Result<Option<DomainSpec>, ParseError> {
    if arg.is_empty() {
        return Ok(None);
    }
    let spec = arg.strip_prefix(':').ok_or("expected ':'")?;
    domain_spec(spec).map(Some)
}

/// domain-spec = macro-string domain-end
/// domain-end  = ( "." toplabel [ "." ] ) / macro-expand
pub fn domain_spec(s: &str) -> Result<DomainSpec, ParseError> {
    if s.is_empty() {
        return Err("empty domain-spec");
    }
    check_macro_string(s, false)?;
    if !ends_with_macro(s) {
        let t = s.strip_suffix('.').unwrap_or(s);
        let dot = t.rfind('.').ok_or("domain-spec has no top label")?;
        let top = &t[dot + 1..];
        if !is_toplabel(top) {
            return Err("bad top label in domain-spec");
        }
    }
    Ok(DomainSpec(String::from(s)))
}

fn ends_with_macro(s: &str) -> bool {
    // The last token of the macro-string is a macro-expand if it ends in '}'
    // (of "%{...}") or is one of "%%", "%_", "%-" that is not itself escaped.
    let b = s.as_bytes();
    let mut i = 0;
    let mut last_is_macro = false;
    while i < b.len() {
        if b[i] == b'%' && i + 1 < b.len() {
            if b[i + 1] == b'{' {
                let close = s[i..].find('}').map(|c| i + c).unwrap_or(b.len() - 1);
                i = close + 1;
            } else {
                i += 2;
            }
            last_is_macro = true;
        } else {
            i += 1;
            last_is_macro = false;
        }
    }
    last_is_macro
}

/// toplabel = ( *alphanum ALPHA *alphanum ) /
///            ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
pub fn is_toplabel(l: &str) -> bool {
    let b = l.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && (b.iter().any(|c| c.is_ascii_alphabetic()) || b.contains(&b'-'))
}

/// RFC 7208 7.1: macro-string syntax. `exp_text` allows the c/r/t letters
/// (explanation strings) and is also used for unknown modifiers.
pub fn check_macro_string(s: &str, exp_letters: bool) -> Result<(), ParseError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            match b.get(i + 1) {
                Some(b'%') | Some(b'_') | Some(b'-') => i += 2,
                Some(b'{') => {
                    let close = s[i..].find('}').ok_or("unterminated macro")? + i;
                    check_macro_body(&b[i + 2..close], exp_letters)?;
                    i = close + 1;
                }
                _ => return Err("bad '%' in macro-string"),
            }
        } else if (0x21..=0x7e).contains(&c) {
            i += 1;
        } else {
            return Err("bad character in macro-string");
        }
    }
    Ok(())
}

/// macro-letter transformers *delimiter
pub(crate) fn check_macro_body(b: &[u8], exp_letters: bool) -> Result<(), ParseError> {
    let (&letter, mut rest) = b.split_first().ok_or("empty macro")?;
    match letter.to_ascii_lowercase() {
        b's' | b'l' | b'o' | b'd' | b'i' | b'p' | b'h' | b'v' => {}
        b'c' | b'r' | b't' if exp_letters => {}
        _ => return Err("bad macro letter"),
    }
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 {
        let n: u32 =
            core::str::from_utf8(&rest[..digits]).ok().and_then(|d| d.parse().ok()).ok_or("bad macro digits")?;
        if n == 0 {
            return Err("macro transformer 0");
        }
    }
    rest = &rest[digits..];
    if let Some((&b'r', r)) | Some((&b'R', r)) = rest.split_first() {
        rest = r;
    }
    if !rest.iter().all(|c| matches!(c, b'.' | b'-' | b'+' | b',' | b'/' | b'_' | b'=')) {
        return Err("bad macro delimiter");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terms() {
        let r = parse(b"v=spf1 +a mx/24//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 -include:_spf.example.com ~all exp=e.%{d} x-foo=bar").unwrap();
        assert_eq!(r.directives.len(), 6);
        assert_eq!(r.directives[1].1, Mechanism::Mx { domain: None, cidr4: 24, cidr6: 64 });
        assert_eq!(r.directives[3].1, Mechanism::Ip6("2001:db8::".parse().unwrap(), 32));
        assert_eq!(r.directives[4].0, Qualifier::Fail);
        assert!(r.exp.is_some());
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            &b"v=spf1 ip4:1.2.3.4/33"[..],
            b"v=spf1 ip4:01.2.3.4",
            b"v=spf1 foo",
            b"v=spf1 a:%{x}.com",
            b"v=spf1 a:foo.1",
            b"v=spf1 redirect=a.com redirect=b.com",
            b"v=spf1 all:x",
            b"v=spf1 a/",
            b"v=spf1 a\tmx",
            b"v=spf1 exists:%{l0}.com",
        ] {
            assert!(parse(bad).is_err(), "{}", core::str::from_utf8(bad).unwrap());
        }
    }

    #[test]
    fn selects_records() {
        assert!(is_spf_record(b"v=spf1"));
        assert!(is_spf_record(b"V=SPF1 -all"));
        assert!(!is_spf_record(b"v=spf10"));
        assert!(!is_spf_record(b"v=spf1-all"));
    }
}

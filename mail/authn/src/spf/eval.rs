//! check_host() (RFC 7208 4) evaluated by replay.
//!
//! Why replay: check_host() recurses (include, redirect) and interleaves DNS
//! queries with macro expansion, so a hand-written suspended state machine
//! would be large and easy to get wrong. Instead the evaluator runs as plain
//! recursive code over a cache of answers; when it needs an answer it does
//! not have, it stops and returns the question. Once the caller answers, it
//! runs again from the start. The evaluation is deterministic, the number of
//! queries is bounded (RFC 7208 4.6.4 limits plus [`MAX_QUERIES`]), and
//! each replay is cheap, so the total work stays small and bounded.

use super::record::{self, Mechanism, Qualifier, Record};
use super::SpfResult;
use crate::dns::{DnsAnswer, DnsQuery, DnsRecord, DnsType};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::IpAddr;

/// RFC 7208 4.6.4: at most 10 terms that cause DNS lookups.
pub const MAX_DNS_MECHANISMS: u32 = 10;
/// RFC 7208 4.6.4: at most 2 lookups that return no answer (void lookups).
pub const MAX_VOID_LOOKUPS: u32 = 2;
/// RFC 7208 4.6.4: per mx mechanism, and per ptr evaluation.
pub const MAX_NAMES: usize = 10;
/// Hard cap on distinct DNS questions in one evaluation (bounded heap).
pub const MAX_QUERIES: usize = 400;

pub(crate) enum Abort {
    Need(DnsQuery),
    Perm(&'static str),
    Temp(&'static str),
}

pub(crate) struct Ctx<'a> {
    pub ip: IpAddr,
    pub sender: &'a str,
    pub local: &'a str,
    pub sender_domain: &'a str,
    pub helo: &'a str,
    pub receiver: &'a str,
    pub timestamp: u64,
    pub cache: &'a [(DnsQuery, DnsAnswer)],
    pub lookups: u32,
    pub voids: u32,
}

/// Lower-case, no trailing dot: the form names are compared and cached in.
pub(crate) fn norm(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// RFC 7208 4.3: a name check_host() can look up at all.
pub(crate) fn valid_domain(d: &str) -> bool {
    let d = d.strip_suffix('.').unwrap_or(d);
    if d.is_empty() || d.len() > 253 || !d.contains('.') {
        return false;
    }
    d.split('.').all(|l| !l.is_empty() && l.len() <= 63)
}

impl<'a> Ctx<'a> {
    fn dns(&self, name: &str, qtype: DnsType) -> Result<&'a DnsAnswer, Abort> {
        // A name no resolver could ask for (empty or over-long label, one
        // label only) simply does not exist: RFC 7208 7.1 checks syntax
        // before expansion, not after.
        static NX: DnsAnswer = DnsAnswer::NxDomain;
        if !valid_domain(name) {
            return Ok(&NX);
        }
        let name = norm(name);
        for (q, a) in self.cache {
            if q.qtype == qtype && q.name == name {
                return Ok(a);
            }
        }
        Err(Abort::Need(DnsQuery { name, qtype }))
    }

    fn void(&mut self) -> Result<(), Abort> {
        self.voids += 1;
        if self.voids > MAX_VOID_LOOKUPS {
            return Err(Abort::Perm("too many void DNS lookups"));
        }
        Ok(())
    }

    fn count_lookup(&mut self) -> Result<(), Abort> {
        self.lookups += 1;
        if self.lookups > MAX_DNS_MECHANISMS {
            return Err(Abort::Perm("more than 10 DNS-querying terms"));
        }
        Ok(())
    }

    /// RFC 7208 4.4 and 4.5: fetch and select the SPF record of `domain`.
    /// `Ok(None)` is the result "none".
    fn fetch_record(&mut self, domain: &str) -> Result<Option<Record>, Abort> {
        if !valid_domain(domain) {
            return Ok(None);
        }
        let ans = self.dns(domain, DnsType::Txt)?;
        let txts = match ans {
            DnsAnswer::TempFail => return Err(Abort::Temp("DNS failure fetching SPF record")),
            DnsAnswer::NxDomain | DnsAnswer::NoData => return Ok(None),
            DnsAnswer::Records(_) => ans.txt(),
        };
        let mut found = txts.into_iter().filter(|t| record::is_spf_record(t));
        let Some(first) = found.next() else { return Ok(None) };
        if found.next().is_some() {
            return Err(Abort::Perm("more than one SPF record"));
        }
        record::parse(first).map(Some).map_err(Abort::Perm)
    }

    /// check_host() on `domain`: the result and, for "fail", the explanation
    /// from this record's exp= (RFC 7208 6.2).
    pub(crate) fn check_host(&mut self, domain: &str) -> Result<(SpfResult, Option<String>), Abort> {
        let Some(rec) = self.fetch_record(domain)? else {
            return Ok((SpfResult::None, None));
        };
        for (q, mech) in &rec.directives {
            if mech.counts_lookup() {
                self.count_lookup()?;
            }
            if self.matches(mech, domain)? {
                let res = match q {
                    Qualifier::Pass => SpfResult::Pass,
                    Qualifier::Fail => SpfResult::Fail,
                    Qualifier::SoftFail => SpfResult::SoftFail,
                    Qualifier::Neutral => SpfResult::Neutral,
                };
                let exp = if res == SpfResult::Fail {
                    match &rec.exp {
                        Some(spec) => self.explanation(spec.as_str(), domain)?,
                        None => None,
                    }
                } else {
                    None
                };
                return Ok((res, exp));
            }
        }
        // RFC 7208 6.1: redirect only when no mechanism matched.
        if let Some(spec) = &rec.redirect {
            self.count_lookup()?;
            let target = self.expand_domain(spec.as_str(), domain)?;
            let (res, exp) = self.check_host(&target)?;
            if res == SpfResult::None {
                return Err(Abort::Perm("redirect target has no SPF record"));
            }
            return Ok((res, exp));
        }
        // RFC 7208 4.7: default result.
        Ok((SpfResult::Neutral, None))
    }

    /// RFC 7208 6.2: explanation text; any problem means "no explanation".
    fn explanation(&mut self, spec: &str, domain: &str) -> Result<Option<String>, Abort> {
        let target = match self.expand(spec, domain, false) {
            Ok(t) => truncate_domain(t),
            Err(Abort::Need(q)) => return Err(Abort::Need(q)),
            Err(_) => return Ok(None),
        };
        if !valid_domain(&target) {
            return Ok(None);
        }
        let txts = self.dns(&target, DnsType::Txt)?.txt();
        if txts.len() != 1 {
            return Ok(None);
        }
        let Ok(text) = core::str::from_utf8(txts[0]) else { return Ok(None) };
        // explain-string = *( macro-string / SP )
        if text.bytes().any(|b| !(0x20..0x7f).contains(&b)) {
            return Ok(None);
        }
        for part in text.split(' ') {
            if record::check_macro_string(part, true).is_err() {
                return Ok(None);
            }
        }
        match self.expand(text, domain, true) {
            Ok(t) => Ok(Some(t)),
            Err(Abort::Need(q)) => Err(Abort::Need(q)),
            Err(_) => Ok(None),
        }
    }

    fn target(&mut self, spec: &Option<record::DomainSpec>, domain: &str) -> Result<String, Abort> {
        match spec {
            Some(s) => self.expand_domain(s.as_str(), domain),
            None => Ok(String::from(domain)),
        }
    }

    fn expand_domain(&mut self, spec: &str, domain: &str) -> Result<String, Abort> {
        Ok(truncate_domain(self.expand(spec, domain, false)?))
    }

    /// Address records of `name` in the connecting IP's family.
    fn addresses(&self, name: &str) -> Result<&'a DnsAnswer, Abort> {
        let qt = if self.ip.is_ipv4() { DnsType::A } else { DnsType::Aaaa };
        self.dns(name, qt)
    }

    fn ip_in(&self, ans: &DnsAnswer, c4: u8, c6: u8) -> bool {
        let DnsAnswer::Records(rs) = ans else { return false };
        rs.iter().any(|r| match (r, self.ip) {
            (DnsRecord::A(a), IpAddr::V4(ip)) => prefix_eq(&a.octets(), &ip.octets(), c4),
            (DnsRecord::Aaaa(a), IpAddr::V6(ip)) => prefix_eq(&a.octets(), &ip.octets(), c6),
            _ => false,
        })
    }

    fn matches(&mut self, mech: &Mechanism, domain: &str) -> Result<bool, Abort> {
        Ok(match mech {
            Mechanism::All => true,
            Mechanism::Ip4(net, len) => match self.ip {
                IpAddr::V4(ip) => prefix_eq(&net.octets(), &ip.octets(), *len),
                IpAddr::V6(_) => false,
            },
            Mechanism::Ip6(net, len) => match self.ip {
                IpAddr::V6(ip) => prefix_eq(&net.octets(), &ip.octets(), *len),
                IpAddr::V4(_) => false,
            },
            // RFC 7208 5.2
            Mechanism::Include(spec) => {
                let target = self.expand_domain(spec.as_str(), domain)?;
                match self.check_host(&target)?.0 {
                    SpfResult::Pass => true,
                    SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => false,
                    SpfResult::TempError => return Err(Abort::Temp("include: temperror")),
                    SpfResult::PermError | SpfResult::None => {
                        return Err(Abort::Perm("include target has no usable SPF record"))
                    }
                }
            }
            // RFC 7208 5.3
            Mechanism::A { domain: spec, cidr4, cidr6 } => {
                let target = self.target(spec, domain)?;
                let ans = self.addresses(&target)?;
                match ans {
                    DnsAnswer::TempFail => return Err(Abort::Temp("DNS failure in a")),
                    DnsAnswer::NxDomain | DnsAnswer::NoData => {
                        self.void()?;
                        false
                    }
                    DnsAnswer::Records(_) => self.ip_in(ans, *cidr4, *cidr6),
                }
            }
            // RFC 7208 5.4
            Mechanism::Mx { domain: spec, cidr4, cidr6 } => {
                let target = self.target(spec, domain)?;
                let ans = self.dns(&target, DnsType::Mx)?;
                let names: Vec<&String> = match ans {
                    DnsAnswer::TempFail => return Err(Abort::Temp("DNS failure in mx")),
                    DnsAnswer::NxDomain | DnsAnswer::NoData => {
                        self.void()?;
                        Vec::new()
                    }
                    DnsAnswer::Records(rs) => rs
                        .iter()
                        .filter_map(|r| match r {
                            DnsRecord::Mx(_, n) => Some(n),
                            _ => None,
                        })
                        .collect(),
                };
                if names.len() > MAX_NAMES {
                    return Err(Abort::Perm("mx: more than 10 MX names"));
                }
                let mut hit = false;
                for n in names {
                    if !valid_domain(n) {
                        continue;
                    }
                    let a = self.addresses(n)?;
                    if let DnsAnswer::TempFail = a {
                        return Err(Abort::Temp("DNS failure in mx address lookup"));
                    }
                    if self.ip_in(a, *cidr4, *cidr6) {
                        hit = true;
                        break;
                    }
                }
                hit
            }
            // RFC 7208 5.5
            Mechanism::Ptr(spec) => {
                let target = norm(&self.target(spec, domain)?);
                let names = self.validated_names(true)?;
                names.iter().any(|n| is_sub_or_eq(n, &target))
            }
            // RFC 7208 5.7
            Mechanism::Exists(spec) => {
                let target = self.expand_domain(spec.as_str(), domain)?;
                match self.dns(&target, DnsType::A)? {
                    DnsAnswer::TempFail => return Err(Abort::Temp("DNS failure in exists")),
                    DnsAnswer::NxDomain | DnsAnswer::NoData => {
                        self.void()?;
                        false
                    }
                    DnsAnswer::Records(rs) => rs.iter().any(|r| matches!(r, DnsRecord::A(_))),
                }
            }
        })
    }

    /// RFC 7208 5.5: PTR names of the IP whose forward lookup gives the IP
    /// back. At most 10 PTR names are tried; DNS errors skip a name.
    fn validated_names(&mut self, count_void: bool) -> Result<Vec<String>, Abort> {
        let rev = reverse_name(self.ip);
        let ans = self.dns(&rev, DnsType::Ptr)?;
        let names: Vec<&String> = match ans {
            DnsAnswer::Records(rs) => rs
                .iter()
                .filter_map(|r| match r {
                    DnsRecord::Ptr(n) => Some(n),
                    _ => None,
                })
                .take(MAX_NAMES)
                .collect(),
            DnsAnswer::NxDomain | DnsAnswer::NoData => {
                if count_void {
                    self.void()?;
                }
                Vec::new()
            }
            DnsAnswer::TempFail => Vec::new(),
        };
        let mut out = Vec::new();
        for n in names {
            if !valid_domain(n) {
                continue;
            }
            let a = self.addresses(n)?;
            if self.ip_in(a, 32, 128) {
                out.push(norm(n));
            }
        }
        Ok(out)
    }

    /// RFC 7208 7.3: the "p" macro's value.
    fn p_macro(&mut self, domain: &str) -> Result<String, Abort> {
        let names = self.validated_names(false)?;
        let d = norm(domain);
        if let Some(n) = names.iter().find(|n| is_sub_or_eq(n, &d)) {
            return Ok(n.clone());
        }
        Ok(names.into_iter().next().unwrap_or_else(|| String::from("unknown")))
    }

    /// RFC 7208 7: macro expansion of a checked macro-string.
    pub(crate) fn expand(&mut self, s: &str, domain: &str, exp: bool) -> Result<String, Abort> {
        let b = s.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'%' {
                let next = s[i..].find('%').map(|n| i + n).unwrap_or(b.len());
                out.push_str(&s[i..next]);
                i = next;
                continue;
            }
            match b.get(i + 1) {
                Some(b'%') => out.push('%'),
                Some(b'_') => out.push(' '),
                Some(b'-') => out.push_str("%20"),
                Some(b'{') => {
                    let close = s[i..].find('}').ok_or(Abort::Perm("unterminated macro"))? + i;
                    let body = &b[i + 2..close];
                    record::check_macro_body(body, exp).map_err(Abort::Perm)?;
                    self.expand_one(body, domain, &mut out)?;
                    i = close + 1;
                    continue;
                }
                _ => return Err(Abort::Perm("bad '%' in macro-string")),
            }
            i += 2;
        }
        Ok(out)
    }

    fn expand_one(&mut self, body: &[u8], domain: &str, out: &mut String) -> Result<(), Abort> {
        let letter = body[0];
        let value: String = match letter.to_ascii_lowercase() {
            b's' => self.sender.to_string(),
            b'l' => self.local.to_string(),
            b'o' => self.sender_domain.to_string(),
            b'd' => domain.to_string(),
            b'i' => dotted_ip(self.ip),
            b'p' => self.p_macro(domain)?,
            b'v' => String::from(if self.ip.is_ipv4() { "in-addr" } else { "ip6" }),
            b'h' => self.helo.to_string(),
            b'c' => self.ip.to_string(),
            b'r' => self.receiver.to_string(),
            b't' => format!("{}", self.timestamp),
            _ => return Err(Abort::Perm("bad macro letter")),
        };
        let rest = &body[1..];
        let nd = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        let keep: Option<usize> =
            if nd > 0 { core::str::from_utf8(&rest[..nd]).ok().and_then(|d| d.parse().ok()) } else { None };
        let mut rest = &rest[nd..];
        let mut reverse = false;
        if let Some((c, r)) = rest.split_first() {
            if c.eq_ignore_ascii_case(&b'r') {
                reverse = true;
                rest = r;
            }
        }
        let delims: &[u8] = if rest.is_empty() { b"." } else { rest };
        // RFC 7208 7.3: split on the delimiters, optionally reverse, keep the
        // rightmost N parts, join with '.'.
        let mut parts: Vec<&str> = value.split(|c: char| c.is_ascii() && delims.contains(&(c as u8))).collect();
        if reverse {
            parts.reverse();
        }
        if let Some(n) = keep {
            if n < parts.len() {
                parts.drain(..parts.len() - n);
            }
        }
        let joined = parts.join(".");
        if letter.is_ascii_uppercase() {
            url_escape(&joined, out);
        } else {
            out.push_str(&joined);
        }
        Ok(())
    }
}

/// RFC 7208 7.3: uppercase macros are URL-escaped (RFC 3986 unreserved kept).
fn url_escape(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{:02X}", b);
        }
    }
}

/// RFC 7208 7.3: over-long expansions lose labels on the left.
fn truncate_domain(mut s: String) -> String {
    while s.len() > 253 {
        match s.find('.') {
            Some(i) => {
                s.drain(..=i);
            }
            None => break,
        }
    }
    s
}

fn is_sub_or_eq(name: &str, target: &str) -> bool {
    name == target
        || (name.len() > target.len()
            && name.ends_with(target)
            && name.as_bytes()[name.len() - target.len() - 1] == b'.')
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = (bits / 8) as usize;
    if a[..full] != b[..full] {
        return false;
    }
    let rem = bits % 8;
    if rem == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rem);
    (a[full] & mask) == (b[full] & mask)
}

/// RFC 7208 7.3: "i" is dotted-quad for IPv4, dot-separated nibbles for IPv6.
fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(63);
            for (n, byte) in v6.octets().iter().enumerate() {
                if n > 0 {
                    s.push('.');
                }
                let _ = write!(s, "{:X}.{:X}", byte >> 4, byte & 0xf);
            }
            s
        }
    }
}

/// The in-addr.arpa / ip6.arpa name of an address.
pub(crate) fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                let _ = write!(s, "{:x}.{:x}.", byte & 0xf, byte >> 4);
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

//! CIDR blocks for allow/deny lists, and DNSBL site specifications.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr};

/// An IPv4 or IPv6 network: address plus prefix length, host bits zero
/// (RFC 4632 3.1 for IPv4 prefixes, RFC 4291 2.3 for IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parse `192.0.2.0/24`, `2001:db8::/32`, or a bare address (/32, /128).
    /// Host bits set after the prefix are an error (a typo more often than
    /// not), with the intended network named in the message by the caller.
    pub fn parse(s: &str) -> Result<Cidr, &'static str> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| "not an IPv4 or IPv6 address")?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
                    return Err("prefix length is not a number");
                }
                let n: u8 = p.parse().map_err(|_| "prefix length is not a number")?;
                if n > max {
                    return Err("prefix length too long for the address family");
                }
                n
            }
        };
        let c = Cidr { addr, prefix };
        if c.network() != addr {
            return Err("host bits set after the prefix length");
        }
        Ok(c)
    }

    /// The address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn network(&self) -> IpAddr {
        mask(self.addr, self.prefix)
    }

    /// Whether `ip` is inside this block. An IPv4-mapped IPv6 address
    /// (`::ffff:192.0.2.1`) is matched as the IPv4 address it carries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => ip,
            },
            v4 => v4,
        };
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        mask(ip, self.prefix) == self.addr
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix as u32) };
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix as u32) };
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A DNSBL or DNSWL site in postscreen's syntax:
/// `domain[=filter][*weight]`, e.g. `zen.spamhaus.org=127.0.0.[2..11]*3`
/// or `list.dnswl.org=127.0.[0..255].[1..3]*-2` (negative weight: allowlist).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsblSite {
    /// The zone queried (`<reversed ip>.<domain>` A record, RFC 5782 2.1).
    pub domain: String,
    /// Which A-record replies count; `None` means any reply in 127.0.0.0/8
    /// except 127.0.0.1 (RFC 5782 2.1, 5: 127.0.0.1 must not be listed).
    pub filter: Option<ReplyFilter>,
    /// Added to the client's score when listed; negative for allowlists.
    pub weight: i32,
}

impl DnsblSite {
    /// Parse `domain[=filter][*weight]` (weight defaults to 1).
    pub fn parse(s: &str) -> Result<DnsblSite, &'static str> {
        let (rest, weight) = match s.rsplit_once('*') {
            Some((r, w)) => (r, w.parse::<i32>().map_err(|_| "weight after '*' is not an integer")?),
            None => (s, 1),
        };
        if !(-1000..=1000).contains(&weight) {
            return Err("weight outside -1000..1000");
        }
        let (domain, filter) = match rest.split_once('=') {
            Some((d, f)) => (d, Some(ReplyFilter::parse(f)?)),
            None => (rest, None),
        };
        let domain = crate::addr::parse_domain(domain)?;
        Ok(DnsblSite { domain, filter, weight })
    }

    /// Whether an A-record reply means "listed" for this site.
    pub fn matches(&self, reply: Ipv4Addr) -> bool {
        match &self.filter {
            Some(f) => f.matches(reply),
            None => reply.octets()[0] == 127 && reply != Ipv4Addr::new(127, 0, 0, 1),
        }
    }
}

/// postscreen's reply pattern: four octet patterns, each a number, or
/// `[a..b]` ranges and `[a;b;c]` lists (combinable: `[1;3..5]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyFilter {
    octets: [Vec<(u8, u8)>; 4],
}

impl ReplyFilter {
    /// Parse `127.0.0.[2..11]` and friends.
    pub fn parse(s: &str) -> Result<ReplyFilter, &'static str> {
        let mut octets: [Vec<(u8, u8)>; 4] = Default::default();
        let mut n = 0;
        // Octets are separated by dots outside brackets.
        let mut rest = s;
        while !rest.is_empty() || n == 0 {
            if n == 4 {
                return Err("reply filter has more than 4 octets");
            }
            let (octet, tail) = if let Some(inner) = rest.strip_prefix('[') {
                let end = inner.find(']').ok_or("'[' without ']' in reply filter")?;
                let tail = &inner[end + 1..];
                let mut ranges = Vec::new();
                for item in inner[..end].split(';') {
                    ranges.push(parse_range(item)?);
                }
                (ranges, tail)
            } else {
                let end = rest.find('.').unwrap_or(rest.len());
                let v = parse_u8(&rest[..end])?;
                (alloc::vec![(v, v)], &rest[end..])
            };
            octets[n] = octet;
            n += 1;
            rest = match tail.strip_prefix('.') {
                Some(t) if !t.is_empty() => t,
                Some(_) => return Err("reply filter ends with '.'"),
                None if tail.is_empty() => "",
                None => return Err("junk after ']' in reply filter"),
            };
            if rest.is_empty() {
                break;
            }
        }
        if n != 4 {
            return Err("reply filter needs 4 octets");
        }
        Ok(ReplyFilter { octets })
    }

    /// Whether `ip` matches every octet pattern.
    pub fn matches(&self, ip: Ipv4Addr) -> bool {
        ip.octets().iter().zip(self.octets.iter()).all(|(o, ranges)| ranges.iter().any(|(lo, hi)| lo <= o && o <= hi))
    }
}

fn parse_u8(s: &str) -> Result<u8, &'static str> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err("octet is not a number 0..255");
    }
    s.parse().map_err(|_| "octet is not a number 0..255")
}

fn parse_range(s: &str) -> Result<(u8, u8), &'static str> {
    match s.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (parse_u8(a)?, parse_u8(b)?);
            if a > b {
                return Err("range start above its end");
            }
            Ok((a, b))
        }
        None => {
            let v = parse_u8(s)?;
            Ok((v, v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_v4_v6() {
        let c = Cidr::parse("192.0.2.0/24").unwrap();
        assert!(c.contains(ip("192.0.2.77")));
        assert!(!c.contains(ip("192.0.3.1")));
        assert!(c.contains(ip("::ffff:192.0.2.5")));
        assert!(!c.contains(ip("2001:db8::1")));
        let c6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(c6.contains(ip("2001:db8:ffff::1")));
        assert!(!c6.contains(ip("2001:db9::1")));
        assert_eq!(Cidr::parse("198.51.100.7").unwrap().prefix(), 32);
        assert_eq!(Cidr::parse("::1").unwrap().prefix(), 128);
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
        assert_eq!(alloc::string::ToString::to_string(&c6), "2001:db8::/32");
    }

    #[test]
    fn cidr_errors() {
        for s in ["192.0.2.1/24", "192.0.2.0/33", "2001:db8::/129", "300.1.1.1", "192.0.2.0/", "192.0.2.0/x", "x"] {
            assert!(Cidr::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn dnsbl_sites() {
        let s = DnsblSite::parse("zen.spamhaus.org=127.0.0.[2..11]*3").unwrap();
        assert_eq!(s.domain, "zen.spamhaus.org");
        assert_eq!(s.weight, 3);
        assert!(s.matches(Ipv4Addr::new(127, 0, 0, 2)));
        assert!(s.matches(Ipv4Addr::new(127, 0, 0, 11)));
        assert!(!s.matches(Ipv4Addr::new(127, 0, 0, 12)));
        let w = DnsblSite::parse("list.dnswl.org=127.0.[0..255].[1;2;3]*-2").unwrap();
        assert_eq!(w.weight, -2);
        assert!(w.matches(Ipv4Addr::new(127, 0, 9, 3)));
        assert!(!w.matches(Ipv4Addr::new(127, 0, 9, 0)));
        let plain = DnsblSite::parse("bl.spamcop.net").unwrap();
        assert_eq!(plain.weight, 1);
        assert!(plain.matches(Ipv4Addr::new(127, 0, 0, 2)));
        assert!(!plain.matches(Ipv4Addr::new(127, 0, 0, 1)));
        assert!(!plain.matches(Ipv4Addr::new(10, 0, 0, 2)));
        let m = DnsblSite::parse("b.barracudacentral.org=127.0.0.2*2").unwrap();
        assert!(m.matches(Ipv4Addr::new(127, 0, 0, 2)));
        assert!(!m.matches(Ipv4Addr::new(127, 0, 0, 3)));
        let mixed = ReplyFilter::parse("127.0.0.[1;3..5]").unwrap();
        assert!(mixed.matches(Ipv4Addr::new(127, 0, 0, 4)));
        assert!(!mixed.matches(Ipv4Addr::new(127, 0, 0, 2)));
    }

    #[test]
    fn dnsbl_errors() {
        for s in [
            "zen.spamhaus.org*x",
            "zen.spamhaus.org=127.0.0",
            "zen.spamhaus.org=127.0.0.[2..1]",
            "zen.spamhaus.org=127.0.0.[2..11",
            "zen.spamhaus.org=127.0.0.256",
            "zen.spamhaus.org=127.0.0.1.1",
            "zen.spamhaus.org=127.0.0.",
            "bad domain",
            "x.org*5000",
        ] {
            assert!(DnsblSite::parse(s).is_err(), "{s}");
        }
    }
}

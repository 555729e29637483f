//! DNSBL/DNSWL query names (RFC 5782) and postscreen's weighted score.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::{IpAddr, Ipv4Addr};

use mail_config::DnsblSite;

use crate::reply::canonical_ip;

/// Longest DNS name (RFC 1035 2.3.4: 255 octets on the wire, 253 as text).
pub const MAX_NAME_LEN: usize = 253;

/// Most A records considered per answer; a list answers with one or a few.
pub const MAX_RECORDS: usize = 16;

/// The name to query for `ip` in `zone`: RFC 5782 2.1 (IPv4: octets in
/// reverse order) and 2.4 (IPv6: 32 nibbles in reverse order, lower-case
/// hex). An IPv4-mapped IPv6 address is queried as IPv4, because lists
/// publish the IPv4 form. `None` if the name would be too long.
pub fn query_name(ip: IpAddr, zone: &str) -> Option<String> {
    let zone = zone.trim_end_matches('.');
    let mut s = String::new();
    match canonical_ip(ip) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let _ = write!(s, "{}.{}.{}.{}.", o[3], o[2], o[1], o[0]);
        }
        IpAddr::V6(v6) => {
            for b in v6.octets().iter().rev() {
                let _ = write!(s, "{:x}.{:x}.", b & 0xf, b >> 4);
            }
        }
    }
    s.push_str(zone);
    if s.len() > MAX_NAME_LEN || zone.is_empty() {
        return None;
    }
    Some(s)
}

/// The answer to one DNSBL query, as the DNS client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsAnswer {
    /// A records (RFC 5782 2.1: listed; the address says why).
    Listed(Vec<Ipv4Addr>),
    /// NXDOMAIN or NODATA: not listed (RFC 5782 2.1).
    NotListed,
    /// Timeout, SERVFAIL, REFUSED: unknown, counted as not listed as
    /// postscreen does (its `dnsblog` reports an empty list on error).
    Failed,
}

/// One DNS query the caller must send: the zone (one per distinct domain
/// among the sites: two site entries with different filters share one
/// query, as in postscreen) and the full query name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsQuery {
    /// Index to pass back with the answer.
    pub id: usize,
    /// The list's zone, e.g. `zen.spamhaus.org`.
    pub zone: String,
    /// The A-record name to look up, e.g. `2.0.0.127.zen.spamhaus.org`.
    pub name: String,
}

/// The distinct queries for `ip` against `sites`, in site order.
pub fn queries(ip: IpAddr, sites: &[DnsblSite]) -> Vec<DnsQuery> {
    let mut out: Vec<DnsQuery> = Vec::new();
    for site in sites {
        let zone = site.domain.trim_end_matches('.');
        if out.iter().any(|q| q.zone.eq_ignore_ascii_case(zone)) {
            continue;
        }
        if let Some(name) = query_name(ip, zone) {
            out.push(DnsQuery { id: out.len(), zone: String::from(zone), name });
        }
    }
    out
}

/// The combined score of a client and the list that weighed most.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Score {
    /// Sum of the weights of every site entry whose filter matched.
    pub total: i32,
    /// The listing site with the largest positive weight (named in the
    /// reply, as postscreen names one site).
    pub top_site: Option<String>,
    /// How many site entries matched.
    pub hits: u32,
}

/// postscreen's scoring: every site entry (domain, filter, weight) whose
/// filter matches any A record in its zone's answer adds its weight once.
/// DNSWL entries carry negative weights. `answer(zone)` returns the answer
/// for a zone, `None` while it is still pending (counted as not listed).
pub fn score<'a>(sites: &[DnsblSite], answer: impl Fn(&str) -> Option<&'a DnsAnswer>) -> Score {
    let mut s = Score::default();
    let mut top = 0i32;
    for site in sites {
        let zone = site.domain.trim_end_matches('.');
        let Some(DnsAnswer::Listed(records)) = answer(zone) else { continue };
        if records.iter().take(MAX_RECORDS).any(|r| site.matches(*r)) {
            s.total = s.total.saturating_add(site.weight);
            s.hits += 1;
            if site.weight > top {
                top = site.weight;
                s.top_site = Some(String::from(zone));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rfc5782_names() {
        // RFC 5782 2.1 example: 192.0.2.99 -> 99.2.0.192.bad.example.com
        assert_eq!(query_name(ip("192.0.2.99"), "bad.example.com").unwrap(), "99.2.0.192.bad.example.com");
        assert_eq!(query_name(ip("::ffff:192.0.2.99"), "bad.example.com.").unwrap(), "99.2.0.192.bad.example.com");
        // RFC 5782 2.4 example: 2001:db8:1:2:3:4:567:89ab
        assert_eq!(
            query_name(ip("2001:db8:1:2:3:4:567:89ab"), "ugly.example.com").unwrap(),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com"
        );
        assert_eq!(query_name(ip("192.0.2.1"), ""), None);
        let long = "a".repeat(240);
        assert_eq!(query_name(ip("2001:db8::1"), &long), None);
    }
}

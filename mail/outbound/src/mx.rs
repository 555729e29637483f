//! Where to deliver a domain's mail: RFC 5321 5.1 target selection from
//! DNS answers the caller looked up.
//!
//! Two steps, because the caller has to ask DNS in between:
//! 1. [`hosts`] turns the MX answer into an ordered host list (or a
//!    decision: null MX, no such domain, try later);
//! 2. [`targets`] turns each host's AAAA/A answers into the ordered
//!    address list, keeping only the families we have a source address
//!    for (the source address is pinned: SPF depends on it).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;

/// One MX record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxRecord {
    pub preference: u16,
    /// Exchange host name; "." or "" is the root (null MX).
    pub exchange: String,
}

/// The caller's MX lookup result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxAnswer {
    Records(Vec<MxRecord>),
    /// The name exists but has no MX (NOERROR/NODATA): implicit MX.
    NoData,
    /// NXDOMAIN.
    NoSuchDomain,
    /// SERVFAIL, timeout, truncation we could not retry.
    TempFail,
}

/// A decision that ends the attempt for every recipient of the domain,
/// as an SMTP-style reply for the queue and the DSN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxError {
    /// Permanent (RFC 7505 null MX, NXDOMAIN, ...): fail the recipients.
    Permanent(String),
    /// Temporary: defer the recipients.
    Temporary(String),
}

/// A host to try, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxHost {
    pub name: String,
    pub preference: u16,
    /// From the implicit-MX rule (the domain itself).
    pub implicit: bool,
}

/// Which address families we can send from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Families {
    pub v4: bool,
    pub v6: bool,
}

/// The bounds on the lists.
pub const MAX_HOSTS: usize = 16;
pub const MAX_ADDRESSES_PER_HOST: usize = 8;
pub const MAX_TARGETS: usize = 32;

fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// RFC 5321 5.1 host ordering. `random(n)` returns a value in `0..n` from
/// the caller's RNG; it shuffles hosts of equal preference. `local_names`
/// are our own host names: when one of them is an MX, only hosts of
/// strictly lower preference are used (RFC 5321 5.1, to avoid loops), and
/// if none is left the configuration is broken (temporary, 4.4.6-ish).
pub fn hosts(
    domain: &str,
    answer: &MxAnswer,
    local_names: &[&str],
    random: &mut dyn FnMut(usize) -> usize,
) -> Result<Vec<MxHost>, MxError> {
    match answer {
        MxAnswer::TempFail => Err(MxError::Temporary("451 4.4.3 MX lookup failed, will retry".to_string())),
        MxAnswer::NoSuchDomain => Err(MxError::Permanent("550 5.1.2 recipient domain does not exist".to_string())),
        // RFC 5321 5.1: no MX, so the domain itself is the implicit MX
        // (its A/AAAA records; CNAME already followed by the resolver).
        MxAnswer::NoData => Ok(alloc::vec![MxHost { name: norm(domain), preference: 0, implicit: true }]),
        MxAnswer::Records(recs) if recs.is_empty() => {
            Ok(alloc::vec![MxHost { name: norm(domain), preference: 0, implicit: true }])
        }
        MxAnswer::Records(recs) => {
            // RFC 7505 3: a single MX "0 ." means the domain accepts no mail.
            // We treat any root exchange as null MX (3: it MUST be alone).
            if recs.iter().any(|r| norm(&r.exchange).is_empty()) {
                return Err(MxError::Permanent(
                    "556 5.1.10 recipient domain does not accept mail (null MX)".to_string(),
                ));
            }
            let mut v: Vec<MxHost> = Vec::new();
            for r in recs {
                let name = norm(&r.exchange);
                if v.iter().any(|h| h.name == name) {
                    continue; // listed twice: keep the better preference (sorted below)
                }
                if v.len() >= MAX_HOSTS {
                    break;
                }
                let best = recs
                    .iter()
                    .filter(|o| norm(&o.exchange) == name)
                    .map(|o| o.preference)
                    .min()
                    .unwrap_or(r.preference);
                v.push(MxHost { name, preference: best, implicit: false });
            }
            // Shuffle, then stable sort by preference: random order among equals.
            for i in (1..v.len()).rev() {
                let j = random(i + 1).min(i);
                v.swap(i, j);
            }
            v.sort_by_key(|h| h.preference);
            let locals: Vec<String> = local_names.iter().map(|n| norm(n)).collect();
            if let Some(own) = v.iter().filter(|h| locals.contains(&h.name)).map(|h| h.preference).min() {
                v.retain(|h| h.preference < own);
                if v.is_empty() {
                    return Err(MxError::Temporary("451 4.4.6 mail for this domain loops back to myself".to_string()));
                }
            }
            Ok(v)
        }
    }
}

/// One connection target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub addr: IpAddr,
}

/// The addresses to try, in order: for each host in order, its IPv6
/// addresses then its IPv4 addresses (each as the resolver ordered them),
/// only families in `families`, duplicates dropped, at most
/// [`MAX_TARGETS`]. `lookup(host)` returns the host's AAAA and A answers.
/// An empty result when an implicit MX has no address means the domain
/// has no mail host (permanent); otherwise the caller defers.
pub fn targets(
    hosts: &[MxHost],
    families: Families,
    lookup: &mut dyn FnMut(&str) -> Vec<IpAddr>,
) -> Result<Vec<Target>, MxError> {
    let mut out: Vec<Target> = Vec::new();
    let mut any_address = false;
    for h in hosts {
        let addrs = lookup(&h.name);
        any_address |= !addrs.is_empty();
        let mut taken = 0;
        let v6 = addrs.iter().filter(|a| a.is_ipv6());
        let v4 = addrs.iter().filter(|a| a.is_ipv4());
        for a in v6.chain(v4) {
            let usable = match a {
                IpAddr::V4(v) => families.v4 && !v.is_unspecified() && !v.is_broadcast(),
                IpAddr::V6(v) => families.v6 && !v.is_unspecified(),
            };
            if !usable
                || taken >= MAX_ADDRESSES_PER_HOST
                || out.len() >= MAX_TARGETS
                || out.iter().any(|t| t.addr == *a)
            {
                continue;
            }
            out.push(Target { host: h.name.clone(), addr: *a });
            taken += 1;
        }
    }
    if out.is_empty() {
        if hosts.len() == 1 && hosts[0].implicit && !any_address {
            return Err(MxError::Permanent("550 5.1.2 recipient domain has no mail host".to_string()));
        }
        return Err(MxError::Temporary("451 4.4.4 no usable address for the mail hosts".to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use core::net::{Ipv4Addr, Ipv6Addr};

    fn mx(p: u16, n: &str) -> MxRecord {
        MxRecord { preference: p, exchange: n.to_string() }
    }
    fn names(v: &[MxHost]) -> Vec<&str> {
        v.iter().map(|h| h.name.as_str()).collect()
    }

    #[test]
    fn preference_order_and_random_ties() {
        let ans = MxAnswer::Records(vec![
            mx(20, "c.example."),
            mx(10, "A.example."),
            mx(10, "b.example"),
            mx(5, "z.example"),
        ]);
        let mut first = |_n: usize| 0usize;
        let h = hosts("example", &ans, &[], &mut first).unwrap();
        assert_eq!(h[0].name, "z.example");
        assert_eq!(h[3].name, "c.example");
        let mid: alloc::collections::BTreeSet<&str> = names(&h[1..3]).into_iter().collect();
        assert_eq!(mid, ["a.example", "b.example"].into_iter().collect());
        // Every tie order appears for some random source.
        let mut seen = alloc::collections::BTreeSet::new();
        for seed in 0..8usize {
            let mut s = seed;
            let mut r = move |n: usize| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 3;
                s % n
            };
            let h = hosts("example", &ans, &[], &mut r).unwrap();
            assert_eq!(h[0].preference, 5);
            assert_eq!(h[3].preference, 20);
            seen.insert(h[1].name.clone());
        }
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn implicit_null_and_errors() {
        let mut r = |_n: usize| 0;
        let h = hosts("Example.ORG.", &MxAnswer::NoData, &[], &mut r).unwrap();
        assert_eq!(h, vec![MxHost { name: "example.org".into(), preference: 0, implicit: true }]);
        assert!(hosts("x", &MxAnswer::Records(vec![]), &[], &mut r).unwrap()[0].implicit);
        match hosts("x", &MxAnswer::Records(vec![mx(0, ".")]), &[], &mut r) {
            Err(MxError::Permanent(t)) => assert!(t.starts_with("556 5.1.10")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(hosts("x", &MxAnswer::NoSuchDomain, &[], &mut r), Err(MxError::Permanent(_))));
        assert!(matches!(hosts("x", &MxAnswer::TempFail, &[], &mut r), Err(MxError::Temporary(_))));
    }

    #[test]
    fn local_mx_cuts_list() {
        let mut r = |_n: usize| 0;
        let ans = MxAnswer::Records(vec![mx(10, "backup.example"), mx(20, "mx.me"), mx(30, "far.example")]);
        assert_eq!(names(&hosts("d", &ans, &["MX.me."], &mut r).unwrap()), ["backup.example"]);
        let ans = MxAnswer::Records(vec![mx(10, "mx.me")]);
        assert!(matches!(hosts("d", &ans, &["mx.me"], &mut r), Err(MxError::Temporary(_))));
    }

    #[test]
    fn addresses_per_family() {
        let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        let v4a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let v4b = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        let hs = vec![
            MxHost { name: "a".into(), preference: 10, implicit: false },
            MxHost { name: "b".into(), preference: 20, implicit: false },
        ];
        let mut look = |h: &str| if h == "a" { vec![v4a, v6] } else { vec![v4b, v4a] };
        let both = targets(&hs, Families { v4: true, v6: true }, &mut look).unwrap();
        let addrs: Vec<IpAddr> = both.iter().map(|t| t.addr).collect();
        assert_eq!(addrs, [v6, v4a, v4b]); // v6 first per host, duplicate dropped
        let only4 = targets(&hs, Families { v4: true, v6: false }, &mut look).unwrap();
        assert_eq!(only4.iter().map(|t| t.addr).collect::<Vec<_>>(), [v4a, v4b]);
        let only6 = targets(&hs, Families { v4: false, v6: true }, &mut look).unwrap();
        assert_eq!(only6, [Target { host: "a".into(), addr: v6 }]);
        // No usable family.
        let mut look4 = |_h: &str| vec![v4a];
        assert!(matches!(targets(&hs, Families { v4: false, v6: true }, &mut look4), Err(MxError::Temporary(_))));
        // Implicit MX without any address: the domain has no mail host.
        let imp = vec![MxHost { name: "d".into(), preference: 0, implicit: true }];
        let mut none = |_h: &str| vec![];
        assert!(matches!(targets(&imp, Families { v4: true, v6: true }, &mut none), Err(MxError::Permanent(_))));
    }
}

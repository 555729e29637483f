#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};

use mail_config::{Cidr, DnsblSite};
use mail_screen::{Action, DnsAnswer, Policy, Screen};

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// The seed's DNSBL setup: `zen.spamhaus.org*3 bl.spamcop.net*2
/// b.barracudacentral.org*2`, threshold 3.
pub fn seed_policy() -> Policy {
    let mut p = Policy::default();
    p.screen.hostname = "mx.example.org".into();
    p.screen.pregreet_action = Action::Drop;
    p.screen.dnsbl_action = Action::Drop;
    p.dnsbl.sites = ["zen.spamhaus.org*3", "bl.spamcop.net*2", "b.barracudacentral.org*2"]
        .iter()
        .map(|s| DnsblSite::parse(s).unwrap())
        .collect();
    p.dnsbl.threshold = 3;
    p.access.allow = vec![Cidr::parse("17.0.0.0/8").unwrap()];
    p
}

/// Answer every query of `s`: `listed` maps zone -> A records, others NXDOMAIN.
pub fn answer_all(s: &mut Screen, p: &Policy, listed: &[(&str, &[&str])], now: u64) {
    let qs: Vec<_> = s.queries().to_vec();
    for q in qs {
        let ans = match listed.iter().find(|(z, _)| *z == q.zone) {
            Some((_, recs)) => DnsAnswer::Listed(recs.iter().map(|r| a(r)).collect()),
            None => DnsAnswer::NotListed,
        };
        s.answer(p, q.id, ans, now);
    }
}

pub fn out(s: &mut Screen) -> String {
    String::from_utf8(s.take_output()).unwrap()
}

/// Greylist timings: delay 300 s and the given window, expiry, auto-allow.
pub fn greylist_cfg(retry_window_s: u64, expiry_s: u64, auto_allow: u32) -> mail_screen::GreylistConfig {
    use std::time::Duration;
    mail_screen::GreylistConfig {
        enabled: true,
        delay: Duration::from_secs(300),
        retry_window: Duration::from_secs(retry_window_s),
        expiry: Duration::from_secs(expiry_s),
        auto_allow,
    }
}

/// An unauthenticated, not allow-listed greylist request.
pub fn req<'a>(addr: &str, from: &'a str, to: &'a str) -> mail_screen::GreylistRequest<'a> {
    mail_screen::GreylistRequest { ip: ip(addr), sender: from, recipient: to, authenticated: false, allowlisted: false }
}

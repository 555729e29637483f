//! The before-220 screen: pre-greet, DNSBL scoring, access lists, cache.

mod common;

use common::*;
use mail_config::Cidr;
use mail_screen::{check_access, AccessHit, Action, DnsAnswer, Load, PassCache, Screen, Test, TestState, Verdict};

const T0: u64 = 1_795_000_000_000; // UNIX ms

#[test]
fn quiet_client_passes_after_the_wait() {
    let p = seed_policy();
    let mut cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.10"), T0, Load::default());
    assert_eq!(out(&mut s), "220-mx.example.org ESMTP\r\n");
    let names: Vec<_> = s.queries().iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        names,
        ["10.2.0.192.zen.spamhaus.org", "10.2.0.192.bl.spamcop.net", "10.2.0.192.b.barracudacentral.org"]
    );
    assert_eq!(s.deadline_ms(), Some(T0 + 6000));
    answer_all(&mut s, &p, &[], T0 + 100);
    // All answers in, but the pre-greet wait continues.
    assert!(s.verdict().is_none());
    s.tick(&p, T0 + 5999);
    assert!(s.verdict().is_none());
    s.tick(&p, T0 + 6000);
    assert_eq!(s.verdict(), Some(&Verdict::Pass));
    assert_eq!(out(&mut s), "220 mx.example.org ESMTP\r\n");
    assert_eq!(s.pregreet(), TestState::Passed);
    assert_eq!(s.dnsbl(), TestState::Passed);
    assert_eq!(s.deadline_ms(), None);
    assert!(!s.allowlisted());
    assert_eq!(s.elapsed_ms(), Some(6000));

    // Cached now: the next connection is greeted at once, no queries.
    s.record_passes(&p, &mut cache);
    let mut again = Screen::connect(&p, &cache, ip("::ffff:192.0.2.10"), T0 + 60_000, Load::default());
    assert_eq!(again.verdict(), Some(&Verdict::Pass));
    assert!(again.cache_hit());
    assert!(again.queries().is_empty());
    assert_eq!(out(&mut again), "220 mx.example.org ESMTP\r\n");
    // The DNSBL pass expires after an hour: then only DNSBL runs, with no
    // pre-greet wait and no 220- line; done as soon as the lists answer.
    let mut later = Screen::connect(&p, &cache, ip("192.0.2.10"), T0 + 3_700_000, Load::default());
    assert!(later.verdict().is_none());
    assert_eq!(out(&mut later), "");
    assert_eq!(later.pregreet(), TestState::Skipped);
    assert_eq!(later.deadline_ms(), Some(T0 + 3_700_000 + 6_000));
    answer_all(&mut later, &p, &[], T0 + 3_700_050);
    assert_eq!(later.verdict(), Some(&Verdict::Pass));
    assert_eq!(out(&mut later), "220 mx.example.org ESMTP\r\n");
}

#[test]
fn early_talker_dropped_byte_at_a_time() {
    let p = seed_policy();
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("198.51.100.7"), T0, Load::default());
    let _ = out(&mut s);
    for (i, b) in b"EHLO bot\r\n".iter().enumerate() {
        // The first byte is taken (and convicts); after the verdict
        // nothing is.
        assert_eq!(s.feed(&p, &[*b], T0 + 10 + i as u64), i == 0);
        if i == 0 {
            assert!(matches!(s.verdict(), Some(Verdict::Drop(r)) if r.code == 521));
            assert_eq!(s.pregreet(), TestState::Failed(Action::Drop));
        }
    }
    let o = out(&mut s);
    assert!(o.starts_with("521 5.7.1 "), "{o}");
    assert!(o.contains("pregreet"), "{o}");
    assert!(s.take_early_input().is_empty());
    // Nothing cached for a dropped client.
    let mut cache2 = PassCache::default();
    s.record_passes(&p, &mut cache2);
    assert!(cache2.is_empty());
}

#[test]
fn early_talker_ignored_keeps_its_bytes() {
    let mut p = seed_policy();
    p.screen.pregreet_action = Action::Ignore;
    let mut cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("198.51.100.8"), T0, Load::default());
    for b in b"EHLO early\r\n" {
        s.feed(&p, &[*b], T0 + 5);
    }
    assert!(s.verdict().is_none());
    assert_eq!(s.pregreet(), TestState::Failed(Action::Ignore));
    s.tick(&p, T0 + 6000);
    assert_eq!(s.verdict(), Some(&Verdict::Pass));
    assert!(!s.feed(&p, b"MAIL FROM:<a@b>\r\n", T0 + 6001), "after the verdict, bytes go to SMTP");
    assert_eq!(s.take_early_input(), b"EHLO early\r\n");
    // An ignored failure is not a pass: not cached.
    s.record_passes(&p, &mut cache);
    assert!(!cache.passed(ip("198.51.100.8"), Test::Pregreet, T0 / 1000 + 10));
}

#[test]
fn early_talker_enforced() {
    let mut p = seed_policy();
    p.screen.pregreet_action = Action::Enforce;
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("198.51.100.9"), T0, Load::default());
    s.feed(&p, b"HELO x\r\n", T0 + 1);
    answer_all(&mut s, &p, &[], T0 + 2);
    s.tick(&p, T0 + 7000);
    match s.verdict() {
        Some(Verdict::Enforce(r)) => {
            assert_eq!(r.code, 550);
            assert_eq!(r.enhanced, (5, 7, 1));
            assert!(r.text.contains("pregreet"));
        }
        v => panic!("{v:?}"),
    }
    assert!(out(&mut s).ends_with("220 mx.example.org ESMTP\r\n"));
}

#[test]
fn flood_before_greeting_is_dropped() {
    let mut p = seed_policy();
    p.screen.pregreet_action = Action::Ignore;
    p.screen.max_early_bytes = 16;
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("198.51.100.10"), T0, Load::default());
    s.feed(&p, &[b'x'; 10], T0);
    assert!(s.verdict().is_none());
    s.feed(&p, &[b'x'; 10], T0);
    assert!(matches!(s.verdict(), Some(Verdict::Drop(_))));
    assert!(s.take_early_input().is_empty());
}

#[test]
fn listed_client_dropped_naming_the_list() {
    let p = seed_policy();
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("203.0.113.5"), T0, Load::default());
    let _ = out(&mut s);
    answer_all(&mut s, &p, &[("zen.spamhaus.org", &["127.0.0.4"])], T0 + 50);
    assert!(s.verdict().is_none(), "postscreen decides at the end of the wait");
    s.tick(&p, T0 + 6000);
    let o = out(&mut s);
    assert_eq!(o, "521 5.7.1 Service unavailable; client [203.0.113.5] blocked using zen.spamhaus.org\r\n");
    assert_eq!(s.dnsbl(), TestState::Failed(Action::Drop));
    assert_eq!(s.score().total, 3);
}

#[test]
fn listed_client_enforced() {
    let mut p = seed_policy();
    p.dnsbl_action_enforce();
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("203.0.113.6"), T0, Load::default());
    answer_all(&mut s, &p, &[("bl.spamcop.net", &["127.0.0.2"]), ("b.barracudacentral.org", &["127.0.0.2"])], T0);
    s.tick(&p, T0 + 6000);
    match s.verdict() {
        Some(Verdict::Enforce(r)) => {
            assert_eq!(
                r.to_line(),
                "550 5.7.1 Service unavailable; client [203.0.113.6] blocked using bl.spamcop.net\r\n"
            )
        }
        v => panic!("{v:?}"),
    }
}

trait EnforceDnsbl {
    fn dnsbl_action_enforce(&mut self);
}
impl EnforceDnsbl for mail_screen::Policy {
    fn dnsbl_action_enforce(&mut self) {
        self.screen.dnsbl_action = Action::Enforce;
    }
}

#[test]
fn pending_dnsbl_at_deadline_counts_as_not_listed() {
    let p = seed_policy();
    let mut cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.20"), T0, Load::default());
    // Only spamcop answers (listed, weight 2 < 3); the others time out.
    let id = s.queries().iter().find(|q| q.zone == "bl.spamcop.net").unwrap().id;
    s.answer(&p, id, DnsAnswer::Listed(vec![a("127.0.0.2")]), T0 + 10);
    s.answer(&p, id, DnsAnswer::NotListed, T0 + 11); // repeated answer ignored
    s.answer(&p, 99, DnsAnswer::NotListed, T0 + 11); // unknown id ignored
    s.tick(&p, T0 + 6000);
    assert_eq!(s.verdict(), Some(&Verdict::Pass));
    assert_eq!(s.score().total, 2);
    // Not every list answered: the DNSBL pass is not cached.
    s.record_passes(&p, &mut cache);
    assert!(cache.passed(ip("192.0.2.20"), Test::Pregreet, T0 / 1000 + 1));
    assert!(!cache.passed(ip("192.0.2.20"), Test::Dnsbl, T0 / 1000 + 1));
}

#[test]
fn failed_lookups_count_as_not_listed() {
    let p = seed_policy();
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.21"), T0, Load::default());
    for q in s.queries().to_vec() {
        s.answer(&p, q.id, DnsAnswer::Failed, T0);
    }
    s.tick(&p, T0 + 6000);
    assert_eq!(s.verdict(), Some(&Verdict::Pass));
}

#[test]
fn dnswl_allowlisted_client_skips_the_wait_and_greylisting() {
    let mut p = seed_policy();
    p.dnsbl.sites.push(mail_config::DnsblSite::parse("list.dnswl.org=127.0.[0..255].[1..3]*-5").unwrap());
    p.dnsbl.allowlist_threshold = Some(-1);
    p.screen.pipelining.enabled = true;
    let mut cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("209.85.128.1"), T0, Load::default());
    assert_eq!(s.queries().len(), 4);
    answer_all(&mut s, &p, &[("list.dnswl.org", &["127.0.5.1"])], T0 + 80);
    assert_eq!(s.verdict(), Some(&Verdict::Pass), "allowlisted: no need to wait 6 s");
    assert!(s.allowlisted());
    assert_eq!(s.pregreet(), TestState::Skipped, "the wait was cut short: not a pass");
    assert!(s.observer(&p).is_none(), "allowlisted clients skip the after-220 tests");
    assert_eq!(out(&mut s), "220-mx.example.org ESMTP\r\n220 mx.example.org ESMTP\r\n");
    s.record_passes(&p, &mut cache);
    let again = Screen::connect(&p, &cache, ip("209.85.128.1"), T0 + 1000, Load::default());
    assert_eq!(again.verdict(), Some(&Verdict::Pass));
    assert!(again.allowlisted() && again.cache_hit());
}

#[test]
fn dnswl_weight_offsets_a_listing() {
    let mut p = seed_policy();
    p.dnsbl.sites.push(mail_config::DnsblSite::parse("list.dnswl.org=127.0.[0..255].[1..3]*-2").unwrap());
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.30"), T0, Load::default());
    answer_all(&mut s, &p, &[("zen.spamhaus.org", &["127.0.0.10"]), ("list.dnswl.org", &["127.0.9.2"])], T0);
    s.tick(&p, T0 + 6000);
    assert_eq!(s.score().total, 1);
    assert_eq!(s.verdict(), Some(&Verdict::Pass));
    assert!(!s.allowlisted());
}

#[test]
fn access_lists_v4_v6_mapped() {
    let mut p = seed_policy();
    p.access.deny = vec![Cidr::parse("17.1.2.0/24").unwrap(), Cidr::parse("2001:db8:bad::/48").unwrap()];
    p.access.allow.push(Cidr::parse("2001:db8::/32").unwrap());
    p.access.allow.push(Cidr::parse("198.51.100.0/24").unwrap());
    p.access.deny.push(Cidr::parse("198.51.100.0/24").unwrap());
    let cache = PassCache::default();
    let cases = [
        ("17.0.0.1", Some(true)),
        ("::ffff:17.200.1.1", Some(true)),
        ("17.1.2.3", Some(false)), // the more specific deny wins
        ("2001:db8:1::25", Some(true)),
        ("2001:db8:bad::1", Some(false)),
        ("198.51.100.1", Some(false)), // tie: deny wins
        ("192.0.2.1", None),
        ("2001:db9::1", None),
    ];
    for (addr, want) in cases {
        let got = check_access(&p.access, ip(addr)).map(|h| matches!(h, AccessHit::Allow(_)));
        assert_eq!(got, want, "{addr}");
        let mut s = Screen::connect(&p, &cache, ip(addr), T0, Load { from_client: 999, total: 999 });
        match want {
            Some(true) => {
                assert_eq!(s.verdict(), Some(&Verdict::Pass), "{addr}: allow-listed clients skip even the limits");
                assert!(s.allowlisted());
                assert!(s.queries().is_empty());
                assert_eq!(out(&mut s), "220 mx.example.org ESMTP\r\n");
            }
            Some(false) => {
                assert!(matches!(s.verdict(), Some(Verdict::Drop(r)) if r.code == 521), "{addr}");
                assert!(out(&mut s).starts_with("521 5.7.1 "));
            }
            None => assert!(matches!(s.verdict(), Some(Verdict::TempFail(r)) if r.code == 421), "{addr}"),
        }
    }
}

#[test]
fn connection_limits_tempfail() {
    let p = seed_policy();
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.40"), T0, Load { from_client: 1, total: 101 });
    assert_eq!(out(&mut s), "421 4.3.2 All server ports are busy\r\n");
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.40"), T0, Load { from_client: 51, total: 51 });
    assert_eq!(out(&mut s), "421 4.7.0 Error: too many connections from [192.0.2.40]\r\n");
    let s = Screen::connect(&p, &cache, ip("192.0.2.40"), T0, Load { from_client: 50, total: 100 });
    assert!(s.verdict().is_none());
}

#[test]
fn no_sites_and_cached_pregreet_passes_at_once() {
    let mut p = seed_policy();
    p.dnsbl.sites.clear();
    let mut cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("2001:db8::5"), T0, Load::default());
    assert!(s.queries().is_empty());
    assert!(s.verdict().is_none());
    s.tick(&p, T0 + 6000);
    assert_eq!(s.verdict(), Some(&Verdict::Pass));
    s.record_passes(&p, &mut cache);
    let s = Screen::connect(&p, &cache, ip("2001:db8::5"), T0 + 1000, Load::default());
    assert!(s.cache_hit());
}

#[test]
fn ipv6_client_queries_nibbles() {
    let p = seed_policy();
    let cache = PassCache::default();
    let s = Screen::connect(&p, &cache, ip("2001:db8::1"), T0, Load::default());
    assert_eq!(s.queries()[0].name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org");
}

#[test]
fn feeding_after_a_drop_is_ignored() {
    let p = seed_policy();
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("198.51.100.70"), T0, Load::default());
    s.feed(&p, b"GET / HTTP/1.0\r\n", T0);
    let first = out(&mut s);
    assert!(!s.feed(&p, b"more", T0 + 1));
    s.tick(&p, T0 + 9000);
    answer_all(&mut s, &p, &[], T0 + 9000);
    assert_eq!(out(&mut s), "");
    assert!(first.contains("521"));
}

/// Random events in random order: never a panic, a verdict by the
/// deadline, and output that is a greeting or a refusal line by line.
#[test]
fn random_event_sequences() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let addrs = ["192.0.2.1", "17.0.0.5", "2001:db8::7", "::ffff:198.51.100.3", "203.0.113.200"];
    let replies = ["127.0.0.2", "127.0.0.1", "127.0.0.11", "10.0.0.1", "127.0.5.2"];
    for round in 0..2000 {
        let mut p = seed_policy();
        p.screen.pregreet_action = [Action::Ignore, Action::Enforce, Action::Drop][rnd(3) as usize];
        p.screen.dnsbl_action = [Action::Ignore, Action::Enforce, Action::Drop][rnd(3) as usize];
        p.screen.max_early_bytes = rnd(64) as usize;
        p.dnsbl.allowlist_threshold = [None, Some(-1), Some(0)][rnd(3) as usize];
        p.dnsbl.sites.push(mail_config::DnsblSite::parse("list.dnswl.org=127.0.[0..255].[1..3]*-2").unwrap());
        let mut cache = PassCache::new(4);
        let t0 = T0 + round * 10_000_000;
        if rnd(3) == 0 {
            cache.record_pass(ip(addrs[0]), Test::Pregreet, t0 / 1000 - 1, 100);
        }
        let addr = addrs[rnd(addrs.len() as u64) as usize];
        let mut s =
            Screen::connect(&p, &cache, ip(addr), t0, Load { from_client: rnd(60) as u32, total: rnd(120) as u32 });
        let mut output = out(&mut s);
        let mut now = t0;
        let deadline = s.deadline_ms();
        for _ in 0..rnd(12) {
            now += rnd(3000);
            match rnd(3) {
                0 => {
                    let n = rnd(20) as usize;
                    s.feed(&p, &b"EHLO bot.example\r\nMAIL"[..n], now);
                }
                1 => {
                    let id = rnd(5) as usize;
                    let a = match rnd(3) {
                        0 => DnsAnswer::NotListed,
                        1 => DnsAnswer::Failed,
                        _ => DnsAnswer::Listed(vec![a(replies[rnd(5) as usize])]),
                    };
                    s.answer(&p, id, a, now);
                }
                _ => s.tick(&p, now),
            }
            output.push_str(&out(&mut s));
        }
        if let Some(d) = deadline {
            s.tick(&p, d.max(now));
        }
        output.push_str(&out(&mut s));
        let v = s.verdict().expect("a verdict by the deadline").clone();
        let lines: Vec<&str> = output.split_inclusive("\r\n").collect();
        assert!(lines.iter().all(|l| l.ends_with("\r\n")), "{output:?}");
        let last = lines.last().unwrap();
        match v {
            Verdict::Pass | Verdict::Enforce(_) => {
                assert!(last.starts_with("220 "), "{output:?}");
                assert!(lines[..lines.len() - 1].iter().all(|l| l.starts_with("220-")), "{output:?}");
            }
            Verdict::Drop(r) => assert!(last.starts_with("521 ") && r.code == 521, "{output:?}"),
            Verdict::TempFail(r) => assert!(last.starts_with("421 ") && r.code == 421, "{output:?}"),
        }
        assert!(lines.len() <= 2, "{output:?}");
        let mut c = cache.clone();
        s.record_passes(&p, &mut c);
    }
}

#[test]
fn zero_greet_wait_turns_the_pregreet_test_off() {
    let mut p = seed_policy();
    p.screen.greet_wait_ms = 0;
    p.screen.dnsbl_timeout_ms = 3000;
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.60"), T0, Load::default());
    assert_eq!(out(&mut s), "", "no teaser line");
    assert_eq!(s.pregreet(), TestState::Skipped);
    assert_eq!(s.deadline_ms(), Some(T0 + 3000));
    // Talking now is not a failure (there was nothing to wait for).
    assert!(s.feed(&p, b"EHLO x\r\n", T0 + 1));
    assert!(s.verdict().is_none());
    answer_all(&mut s, &p, &[], T0 + 20);
    assert_eq!(s.verdict(), Some(&Verdict::Pass));
    assert_eq!(out(&mut s), "220 mx.example.org ESMTP\r\n");
    assert_eq!(s.take_early_input(), b"EHLO x\r\n");
    // No lists at all: greeted at once.
    p.dnsbl.sites.clear();
    let s = Screen::connect(&p, &cache, ip("192.0.2.61"), T0, Load::default());
    assert_eq!(s.verdict(), Some(&Verdict::Pass));
}

#[test]
fn dnsbl_wait_longer_than_the_pregreet_window() {
    let mut p = seed_policy();
    p.screen.greet_wait_ms = 2000;
    p.screen.dnsbl_timeout_ms = 5000;
    let cache = PassCache::default();
    // Answers arrive after the window: the greeting waits for them.
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.62"), T0, Load::default());
    assert_eq!(s.deadline_ms(), Some(T0 + 2000));
    s.tick(&p, T0 + 2000);
    assert!(s.verdict().is_none());
    assert_eq!(s.pregreet(), TestState::Passed);
    assert_eq!(s.deadline_ms(), Some(T0 + 5000));
    answer_all(&mut s, &p, &[("zen.spamhaus.org", &["127.0.0.2"])], T0 + 3000);
    assert!(matches!(s.verdict(), Some(Verdict::Drop(_))));
    assert_eq!(s.elapsed_ms(), Some(3000));
    // They never arrive: the deadline decides.
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.63"), T0, Load::default());
    s.tick(&p, T0 + 2000);
    s.tick(&p, T0 + 4999);
    assert!(s.verdict().is_none());
    s.tick(&p, T0 + 5000);
    assert_eq!(s.verdict(), Some(&Verdict::Pass));
}

#[test]
fn early_talker_ends_the_wait_once_the_lists_answered() {
    let mut p = seed_policy();
    p.screen.pregreet_action = Action::Enforce;
    let cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("198.51.100.64"), T0, Load::default());
    answer_all(&mut s, &p, &[], T0 + 10);
    assert!(s.verdict().is_none(), "a quiet client still waits");
    s.feed(&p, b"EHLO rude\r\n", T0 + 20);
    assert!(matches!(s.verdict(), Some(Verdict::Enforce(_))), "postscreen stops waiting: the test is over");
    assert_eq!(s.take_early_input(), b"EHLO rude\r\n");
}

#[test]
fn policy_from_the_config_file() {
    let text = "[server]\nhostname = mx.example.org\ndomains = example.org\n\
                [screen]\npregreet_wait = 4s\ndnsbl_wait = 8s\npregreet_action = drop\ndnsbl_action = ignore\n\
                bare_newline_action = enforce\npass_ttl = 2d\ndnsbl_ttl = 30m\n\
                [dnsbl]\nsites = zen.spamhaus.org*3, bl.spamcop.net*2\nthreshold = 3\n\
                [access]\nallow = 17.0.0.0/8\n";
    let cfg = match mail_config::parse(text, &|_: &str| false) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    };
    let p = mail_screen::Policy::from_config(&cfg);
    assert_eq!(p.screen.hostname, "mx.example.org");
    assert_eq!(p.screen.greet_wait_ms, 4000);
    assert_eq!(p.screen.dnsbl_timeout_ms, 8000);
    assert_eq!(p.screen.pregreet_action, Action::Drop);
    assert_eq!(p.screen.dnsbl_action, Action::Ignore);
    assert_eq!(p.screen.bare_newline.action, Action::Enforce);
    assert!(p.screen.pipelining.enabled && p.screen.non_smtp.enabled && p.screen.bare_newline.enabled);
    assert_eq!(p.screen.ttl.pregreet, 2 * 86400);
    assert_eq!(p.screen.ttl.dnsbl, 1800);
    assert_eq!(p.dnsbl.sites.len(), 2);
    assert_eq!(p.dnsbl.threshold, 3);
    assert!(check_access(&p.access, ip("17.1.2.3")).is_some());
    // The embedded default config gives a usable policy too.
    let d = mail_screen::Policy::from_config(&mail_config::default_config());
    assert!(d.screen.greet_wait_ms > 0);
}

#[test]
fn log_lines() {
    let p = seed_policy();
    let mut cache = PassCache::default();
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.70"), T0, Load::default());
    assert_eq!(s.log_line(), "");
    answer_all(&mut s, &p, &[("bl.spamcop.net", &["127.0.0.2"])], T0 + 5);
    s.tick(&p, T0 + 6000);
    assert_eq!(
        s.log_line(),
        "PASS NEW [192.0.2.70] pregreet=passed dnsbl=passed rank=2 listed_by=bl.spamcop.net after 6000 ms"
    );
    s.record_passes(&p, &mut cache);
    let s = Screen::connect(&p, &cache, ip("192.0.2.70"), T0 + 9000, Load::default());
    assert_eq!(s.log_line(), "PASS OLD [192.0.2.70] pregreet=skipped dnsbl=skipped after 0 ms");
    let s = Screen::connect(&p, &cache, ip("17.2.3.4"), T0, Load::default());
    assert_eq!(s.log_line(), "ALLOWLISTED [17.2.3.4] by 17.0.0.0/8 pregreet=skipped dnsbl=skipped after 0 ms");
    let mut s = Screen::connect(&p, &cache, ip("198.51.100.71"), T0, Load::default());
    s.feed(&p, b"E", T0 + 3);
    assert_eq!(s.log_line(), "DROP [198.51.100.71] pregreet=failed/drop dnsbl=pending rank=0 after 3 ms");
}

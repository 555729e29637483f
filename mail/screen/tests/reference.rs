//! Comparisons with independent implementations (run tests/setup.sh):
//! Python's `ipaddress` for the reverse names RFC 5782 builds on, and the
//! `prometheus_client` text-format parser for our metrics.

mod common;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};

use common::*;
use mail_screen::{query_name, GreylistAnswer, Load, PassCache, PassReason, Screen, Stats, Test, Violation};

/// Whether `python3 -c "import <module>"` works. Missing: skip loudly,
/// unless CI is set, where it is a failure.
fn have_python(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("python3 with module {module} is required under CI (run mail/screen/tests/setup.sh)");
        }
        eprintln!("\n*** SKIPPED: python3 module {module} not found; run mail/screen/tests/setup.sh ***\n");
    }
    ok
}

fn python(script: &str, input: &str) -> String {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed");
    String::from_utf8(out.stdout).unwrap()
}

fn addresses() -> Vec<IpAddr> {
    // A fixed pseudo-random sequence plus edge cases.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut v: Vec<IpAddr> = vec![
        ip("0.0.0.0"),
        ip("255.255.255.255"),
        ip("::"),
        ip("::1"),
        ip("2001:db8::"),
        ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ip("::ffff:192.0.2.1"),
    ];
    for _ in 0..200 {
        let a = next();
        v.push(IpAddr::V4(Ipv4Addr::from(a as u32)));
        let b = ((a as u128) << 64) | next() as u128;
        v.push(IpAddr::V6(Ipv6Addr::from(b)));
        v.push(IpAddr::V6(Ipv4Addr::from((a >> 32) as u32).to_ipv6_mapped()));
    }
    v
}

#[test]
fn query_names_match_python_reverse_pointer() {
    if !have_python("ipaddress") {
        return;
    }
    let addrs = addresses();
    let input: String = addrs.iter().map(|a| format!("{a}\n")).collect();
    // RFC 5782 2.1/2.4: the DNSBL name is the reverse-DNS name with the
    // in-addr.arpa/ip6.arpa suffix replaced by the list's zone; lists
    // publish IPv4-mapped clients under their IPv4 form.
    let script = r#"
import ipaddress, sys
for line in sys.stdin:
    a = ipaddress.ip_address(line.strip())
    if a.version == 6 and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    rp = a.reverse_pointer
    for suffix in ('.in-addr.arpa', '.ip6.arpa'):
        if rp.endswith(suffix):
            rp = rp[: -len(suffix)]
    print(rp + '.zen.spamhaus.org')
"#;
    let want = python(script, &input);
    let want: Vec<&str> = want.lines().collect();
    assert_eq!(want.len(), addrs.len());
    for (a, w) in addrs.iter().zip(want) {
        assert_eq!(query_name(*a, "zen.spamhaus.org").as_deref(), Some(w), "{a}");
    }
}

#[test]
fn prometheus_text_parses_with_prometheus_client() {
    if !have_python("prometheus_client.parser") {
        return;
    }
    let mut p = seed_policy();
    p.screen.pregreet_action = mail_screen::Action::Drop;
    let cache = PassCache::default();
    let mut stats = Stats::default();
    let t0 = 1_795_000_000_000;
    // One early talker, one allow-listed, one quiet pass, one hang-up.
    let mut s = Screen::connect(&p, &cache, ip("198.51.100.1"), t0, Load::default());
    s.feed(&p, b"E", t0);
    stats.record_screen(&s);
    let s = Screen::connect(&p, &cache, ip("17.1.1.1"), t0, Load::default());
    stats.record_screen(&s);
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.1"), t0, Load::default());
    s.tick(&p, t0 + 6000);
    stats.record_screen(&s);
    stats.record_hangup();
    stats.record_violation(&Violation {
        test: Test::NonSmtp,
        action: mail_screen::Action::Drop,
        reply: mail_screen::reply::refusal(mail_screen::Action::Drop, Test::NonSmtp, ip("192.0.2.1"), None),
    });
    for a in [
        GreylistAnswer::DeferNew(300),
        GreylistAnswer::Defer(10),
        GreylistAnswer::Pass(PassReason::Retried),
        GreylistAnswer::Pass(PassReason::AutoAllowed),
        GreylistAnswer::Pass(PassReason::Skipped),
    ] {
        stats.record_greylist(&a);
    }
    let mut text = String::new();
    stats.write_prometheus(&mut text);
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(sys.stdin.read()):
    assert fam.type == 'counter', fam
    for s in fam.samples:
        labels = ','.join('%s=%s' % kv for kv in sorted(s.labels.items()))
        print('%s{%s} %d' % (s.name, labels, s.value))
"#;
    let parsed = python(script, &text);
    let has = |line: &str| assert!(parsed.lines().any(|l| l == line), "{line} not in\n{parsed}");
    has("unimail_screen_connections_total{} 4");
    has("unimail_screen_verdicts_total{verdict=pass} 2");
    has("unimail_screen_verdicts_total{verdict=drop} 1");
    has("unimail_screen_verdicts_total{verdict=hangup} 1");
    has("unimail_screen_access_total{list=allow} 1");
    has("unimail_screen_test_failures_total{action=drop,test=pregreet} 1");
    has("unimail_screen_test_failures_total{action=drop,test=non_smtp} 1");
    has("unimail_screen_test_failures_total{action=ignore,test=dnsbl} 0");
    has("unimail_greylist_total{result=deferred_new} 1");
    has("unimail_greylist_total{result=auto_allowed} 1");
    assert_eq!(parsed.lines().count(), 1 + 5 + 1 + 2 + 1 + 15 + 6);

    let mut summary = String::new();
    stats.write_summary(&mut summary);
    assert!(summary.contains("Screen: 4 connections"), "{summary}");
    assert!(summary.contains("passed            2 (50.0%)"), "{summary}");
    assert!(summary.contains("pregreet     failed: ignore 0 enforce 0 drop 1"), "{summary}");
    assert!(summary.contains("Greylist: deferred 2 (new 1), passed 1 (retry 1, known 0), auto-allowed 1, skipped 1"));
}

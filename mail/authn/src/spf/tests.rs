use super::*;
use crate::dns::{DnsRecord, DnsType};
use alloc::string::ToString;
use alloc::vec;
use std::collections::HashMap;

fn run(s: &mut SpfSession, zone: &HashMap<(&str, DnsType), DnsAnswer>) -> (SpfOutcome, Vec<DnsQuery>) {
    let mut asked = Vec::new();
    loop {
        match s.poll() {
            SpfStep::Query(q) => {
                asked.push(q.clone());
                let a = zone.get(&(q.name.as_str(), q.qtype)).cloned().unwrap_or(DnsAnswer::NxDomain);
                s.answer(a);
            }
            SpfStep::Done(o) => return (o, asked),
        }
    }
}

fn txt(s: &str) -> DnsAnswer {
    DnsAnswer::Records(vec![DnsRecord::Txt(s.as_bytes().to_vec())])
}

#[test]
fn asks_then_passes() {
    let mut z = HashMap::new();
    z.insert(("example.com", DnsType::Txt), txt("v=spf1 mx -all"));
    z.insert(("example.com", DnsType::Mx), DnsAnswer::Records(vec![DnsRecord::Mx(10, "mx.example.com".into())]));
    z.insert(
        ("mx.example.com", DnsType::Aaaa),
        DnsAnswer::Records(vec![DnsRecord::Aaaa("2001:db8::25".parse().unwrap())]),
    );
    let mut s = check_host("2001:db8::25".parse().unwrap(), "Example.COM.", "a@example.com", "mx.example.com");
    let (o, asked) = run(&mut s, &z);
    assert_eq!(o.result, SpfResult::Pass);
    assert_eq!(asked.len(), 3);
    assert_eq!(asked[0], DnsQuery { name: "example.com".into(), qtype: DnsType::Txt });
    // Polling again after completion repeats the outcome.
    assert_eq!(s.poll(), SpfStep::Done(o));
}

#[test]
fn temperror_and_none() {
    let mut z = HashMap::new();
    z.insert(("t.example", DnsType::Txt), DnsAnswer::TempFail);
    let ip = "192.0.2.1".parse().unwrap();
    assert_eq!(run(&mut check_host(ip, "t.example", "x@t.example", "h"), &z).0.result, SpfResult::TempError);
    assert_eq!(run(&mut check_host(ip, "n.example", "x@n.example", "h"), &z).0.result, SpfResult::None);
    assert_eq!(run(&mut check_host(ip, "[192.0.2.1]", "x@[192.0.2.1]", "h"), &z).0.result, SpfResult::None);
}

#[test]
fn lookup_limit() {
    let mut z = HashMap::new();
    // Eleven includes in a chain: more than 10 DNS-querying terms.
    let names: Vec<String> = (0..12).map(|i| alloc::format!("l{i}.example")).collect();
    for i in 0..11 {
        let rec = alloc::format!("v=spf1 include:{} -all", names[i + 1]);
        z.insert((names[i].as_str(), DnsType::Txt), txt(alloc::boxed::Box::leak(rec.into_boxed_str())));
    }
    z.insert((names[11].as_str(), DnsType::Txt), txt("v=spf1 +all"));
    let o = run(&mut check_host("192.0.2.1".parse().unwrap(), "l0.example", "x@l0.example", "h"), &z).0;
    assert_eq!(o.result, SpfResult::PermError);
}

#[test]
fn rfc7208_7_4_macro_examples() {
    // RFC 7208 7.4 examples, sender strong-bad@email.example.com, IP 192.0.2.3.
    let cache = [];
    let mut c = eval::Ctx {
        ip: "192.0.2.3".parse().unwrap(),
        sender: "strong-bad@email.example.com",
        local: "strong-bad",
        sender_domain: "email.example.com",
        helo: "h.example",
        receiver: "unknown",
        timestamp: 0,
        cache: &cache,
        lookups: 0,
        voids: 0,
    };
    let d = "email.example.com";
    let mut e = |m: &str| match c.expand(m, d, false) {
        Ok(s) => s,
        Err(_) => panic!("{m}"),
    };
    assert_eq!(e("%{s}"), "strong-bad@email.example.com");
    assert_eq!(e("%{o}"), "email.example.com");
    assert_eq!(e("%{d}"), "email.example.com");
    assert_eq!(e("%{d4}"), "email.example.com");
    assert_eq!(e("%{d3}"), "email.example.com");
    assert_eq!(e("%{d2}"), "example.com");
    assert_eq!(e("%{d1}"), "com");
    assert_eq!(e("%{dr}"), "com.example.email");
    assert_eq!(e("%{d2r}"), "example.email");
    assert_eq!(e("%{l}"), "strong-bad");
    assert_eq!(e("%{l-}"), "strong.bad");
    assert_eq!(e("%{lr}"), "strong-bad");
    assert_eq!(e("%{lr-}"), "bad.strong");
    assert_eq!(e("%{l1r-}"), "strong");
    assert_eq!(e("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
    assert_eq!(e("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
    assert_eq!(e("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"), "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
    assert_eq!(e("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"), "3.2.0.192.in-addr.strong.lp._spf.example.com");
    assert_eq!(e("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net");
    assert_eq!(e("%{S}"), "strong-bad%40email.example.com");
    assert_eq!(e("%%%_%-"), "% %20");
    let mut c6 = eval::Ctx { ip: "2001:db8::cb01".parse().unwrap(), ..c };
    assert_eq!(
        c6.expand("%{ir}.%{v}._spf.%{d2}", d, false).ok().unwrap(),
        "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com"
    );
    assert!(c6.expand("%{c}", d, false).is_err());
    assert_eq!(c6.expand("%{c}", d, true).ok().unwrap(), "2001:db8::cb01".to_string());
}

#[test]
fn ipv4_mapped_is_ipv4() {
    let mut z = HashMap::new();
    z.insert(("m.example", DnsType::Txt), txt("v=spf1 ip4:192.0.2.0/24 -all"));
    let o = run(&mut check_host("::ffff:192.0.2.9".parse().unwrap(), "m.example", "a@m.example", "h"), &z).0;
    assert_eq!(o.result, SpfResult::Pass);
}

#[test]
fn received_spf_field() {
    let o = SpfOutcome { result: SpfResult::Pass, explanation: None, problem: None, domain: "example.com".into() };
    let ip = "192.0.2.1".parse().unwrap();
    assert_eq!(
        o.received_spf(ip, "a@example.com", "mx.example.com", "mx.example.net"),
        "Received-SPF: pass (mx.example.net: domain of example.com designates 192.0.2.1 as permitted sender) \
         receiver=mx.example.net; client-ip=192.0.2.1; envelope-from=\"a@example.com\"; helo=mx.example.com; identity=mailfrom\r\n"
    );
    assert!(o.received_spf(ip, "", "h.example", "r").ends_with("identity=helo\r\n"));
}

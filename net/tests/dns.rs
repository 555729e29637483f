mod common;
use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

use common::*;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{tlsa, A, AAAA, CNAME, MX, PTR, SOA, TLSA, TXT};
use hickory_proto::rr::{Name, RData, Record as HRecord, RecordType};
use net::dns::*;
use net::smoltcp::wire::IpEndpoint;
use net::{ConnId, NetError, UdpId};

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn rec(name: &str, ttl: u32, d: RData) -> HRecord {
    HRecord::from_rdata(n(name), ttl, d)
}

fn soa() -> HRecord {
    rec("example.org.", 60, RData::SOA(SOA::new(n("ns.example.org."), n("host.example.org."), 1, 3600, 600, 86400, 30)))
}

/// The test zone. Returns (rcode, answers, authorities); None = stay silent.
fn zone(name: &str, t: RecordType) -> Option<(ResponseCode, Vec<HRecord>, Vec<HRecord>)> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let ok = |v: Vec<HRecord>| Some((ResponseCode::NoError, v, vec![]));
    match (name.as_str(), t) {
        ("mx.example.org", RecordType::A) => ok(vec![rec("mx.example.org.", 5, RData::A(A::new(192, 0, 2, 25)))]),
        ("mx.example.org", RecordType::AAAA) => {
            ok(vec![rec("mx.example.org.", 300, RData::AAAA(AAAA("2001:db8::25".parse().unwrap())))])
        }
        ("example.org", RecordType::MX) => ok(vec![
            rec("example.org.", 300, RData::MX(MX::new(10, n("mx.example.org.")))),
            rec("example.org.", 300, RData::MX(MX::new(20, n("backup.example.org.")))),
        ]),
        ("example.org", RecordType::TXT) => ok(vec![rec(
            "example.org.",
            300,
            RData::TXT(TXT::new(vec!["v=spf1 ip4:192.0.2.0/24 ".into(), "-all".into()])),
        )]),
        ("25.2.0.192.in-addr.arpa", RecordType::PTR) => {
            ok(vec![rec("25.2.0.192.in-addr.arpa.", 300, RData::PTR(PTR(n("mx.example.org."))))])
        }
        ("_25._tcp.mx.example.org", RecordType::TLSA) => ok(vec![rec(
            "_25._tcp.mx.example.org.",
            300,
            RData::TLSA(TLSA::new(
                tlsa::CertUsage::DaneEe,
                tlsa::Selector::Spki,
                tlsa::Matching::Sha256,
                vec![0xab; 32],
            )),
        )]),
        // CNAME answered together with the target's records.
        ("www.example.org", _) => {
            let mut v = vec![rec("www.example.org.", 100, RData::CNAME(CNAME(n("mx.example.org."))))];
            v.extend(zone("mx.example.org", t)?.1);
            ok(v)
        }
        // CNAME alone: the client must ask again for the target.
        ("alias.example.org", _) => {
            ok(vec![rec("alias.example.org.", 100, RData::CNAME(CNAME(n("www.example.org."))))])
        }
        ("loop.example.org", _) => {
            ok(vec![rec("loop.example.org.", 100, RData::CNAME(CNAME(n("loop2.example.org."))))])
        }
        ("loop2.example.org", _) => {
            ok(vec![rec("loop2.example.org.", 100, RData::CNAME(CNAME(n("loop.example.org."))))])
        }
        ("big.example.org", RecordType::TXT) => {
            let v = (0..40)
                .map(|i| rec("big.example.org.", 300, RData::TXT(TXT::new(vec![format!("{i:02}-{}", "x".repeat(60))]))))
                .collect();
            ok(v)
        }
        ("silent.example.org", _) => None,
        ("fail.example.org", _) => Some((ResponseCode::ServFail, vec![], vec![])),
        (n, _) if n.ends_with("example.org") && zone_has(n) => Some((ResponseCode::NoError, vec![], vec![soa()])),
        _ => Some((ResponseCode::NXDomain, vec![], vec![soa()])),
    }
}

fn zone_has(n: &str) -> bool {
    matches!(n, "mx.example.org" | "example.org")
}

struct Responder {
    udp: UdpId,
    tcp: net::ListenerId,
    conns: Vec<(ConnId, Vec<u8>)>,
    log: Rc<RefCell<Vec<(String, RecordType, bool)>>>,
    spoof_first: bool,
}

fn answer(req: &[u8], tcp: bool, log: &RefCell<Vec<(String, RecordType, bool)>>) -> Option<Vec<u8>> {
    let q = Message::from_vec(req).unwrap();
    assert_eq!(q.metadata.message_type, MessageType::Query);
    assert!(q.metadata.recursion_desired);
    let query = &q.queries[0];
    log.borrow_mut().push((query.name.to_ascii(), query.query_type, tcp));
    let (rcode, ans, auth) = zone(&query.name.to_ascii(), query.query_type)?;
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.response_code = rcode;
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    m.add_query(query.clone());
    m.insert_answers(ans);
    m.insert_authorities(auth);
    let bytes = m.to_vec().unwrap();
    if !tcp && bytes.len() > 512 {
        // RFC 1035 4.2.1: too big for UDP: truncate (TC=1, no records).
        return Some(m.truncate().to_vec().unwrap());
    }
    Some(bytes)
}

impl Responder {
    fn new(p: &mut Pair) -> Responder {
        Responder {
            udp: p.a.udp_bind(53).unwrap(),
            tcp: p.a.listen(53, 2).unwrap(),
            conns: vec![],
            log: Rc::default(),
            spoof_first: false,
        }
    }
    fn serve(&mut self, p: &mut Pair) {
        let mut buf = [0u8; 4096];
        while let Ok((k, from)) = p.a.udp_recv(self.udp, &mut buf) {
            if let Some(r) = answer(&buf[..k], false, &self.log) {
                if self.spoof_first {
                    // A reply with a wrong ID first: must be ignored (RFC 5452 9.1).
                    let mut bad = r.clone();
                    bad[0] ^= 0x55;
                    p.a.udp_send(self.udp, from, &bad).unwrap();
                    self.spoof_first = false;
                }
                p.a.udp_send(self.udp, from, &r).unwrap();
            }
        }
        while let Some(c) = p.a.accept(self.tcp) {
            self.conns.push((c, vec![]));
        }
        for (c, inbuf) in self.conns.iter_mut() {
            while let Ok(k) = p.a.recv(*c, &mut buf) {
                if k == 0 {
                    break;
                }
                inbuf.extend_from_slice(&buf[..k]);
            }
            if inbuf.len() >= 2 {
                let len = u16::from_be_bytes([inbuf[0], inbuf[1]]) as usize;
                if inbuf.len() >= len + 2 {
                    let req: Vec<u8> = inbuf.drain(..len + 2).skip(2).collect();
                    if let Some(r) = answer(&req, true, &self.log) {
                        let mut out = (r.len() as u16).to_be_bytes().to_vec();
                        out.extend_from_slice(&r);
                        assert_eq!(p.a.send(*c, &out).unwrap(), out.len());
                    }
                    p.a.close(*c);
                }
            }
        }
    }
}

struct World {
    p: Pair,
    r: Responder,
    dns: DnsClient,
}

fn world(servers: Vec<IpAddr>, f: impl FnOnce(&mut ResolverConfig)) -> World {
    let mut p = Pair::new();
    let r = Responder::new(&mut p);
    let mut cfg = ResolverConfig::new(servers);
    f(&mut cfg);
    let mut x = 0x1234_5678u32;
    let rng = Box::new(move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    });
    World { p, r, dns: DnsClient::new(Resolver::new(cfg, rng)) }
}

const SERVER4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));

impl World {
    fn resolve(&mut self, name: &str, t: Rtype) -> Answer {
        let q = self.dns.query(name, t, self.p.now);
        for _ in 0..60_000 {
            if let Some(a) = self.dns.take_answer(q) {
                return a;
            }
            self.dns.poll(&mut self.p.b, self.p.now);
            self.p.step(1);
            self.r.serve(&mut self.p);
        }
        panic!("no answer for {name}");
    }
    fn asked(&self) -> usize {
        self.r.log.borrow().len()
    }
}

fn records(a: Answer) -> Vec<Record> {
    match a {
        Answer::Records { records, .. } => records,
        other => panic!("expected records, got {other:?}"),
    }
}

#[test]
fn a_aaaa_mx_txt_ptr_tlsa() {
    let mut w = world(vec![SERVER4], |_| {});
    assert_eq!(records(w.resolve("mx.example.org", Rtype::A)), vec![Record::A(Ipv4Addr::new(192, 0, 2, 25))]);
    assert_eq!(
        records(w.resolve("MX.Example.ORG.", Rtype::Aaaa)),
        vec![Record::Aaaa("2001:db8::25".parse::<Ipv6Addr>().unwrap())]
    );
    assert_eq!(
        records(w.resolve("example.org", Rtype::Mx)),
        vec![
            Record::Mx { preference: 10, exchange: "mx.example.org".into() },
            Record::Mx { preference: 20, exchange: "backup.example.org".into() }
        ]
    );
    assert_eq!(
        records(w.resolve("example.org", Rtype::Txt)),
        vec![Record::Txt(vec![b"v=spf1 ip4:192.0.2.0/24 ".to_vec(), b"-all".to_vec()])]
    );
    let ptr = ptr_name(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 25)));
    assert_eq!(ptr, "25.2.0.192.in-addr.arpa");
    assert_eq!(records(w.resolve(&ptr, Rtype::Ptr)), vec![Record::Ptr("mx.example.org".into())]);
    assert_eq!(
        records(w.resolve("_25._tcp.mx.example.org", Rtype::Tlsa)),
        vec![Record::Tlsa { usage: 3, selector: 1, matching: 1, data: vec![0xab; 32] }]
    );
    // Everything went over UDP.
    assert!(w.r.log.borrow().iter().all(|(_, _, tcp)| !tcp));
}

#[test]
fn ipv6_server() {
    let mut w = world(vec![IpAddr::V6("2001:db8::10".parse().unwrap())], |_| {});
    assert_eq!(records(w.resolve("mx.example.org", Rtype::A)), vec![Record::A(Ipv4Addr::new(192, 0, 2, 25))]);
}

#[test]
fn ptr_name_v6() {
    let n = ptr_name(IpAddr::V6("2001:db8::567:89ab".parse().unwrap()));
    assert_eq!(n, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

#[test]
fn cname_following() {
    let mut w = world(vec![SERVER4], |_| {});
    match w.resolve("www.example.org", Rtype::A) {
        Answer::Records { records, ttl, canonical } => {
            assert_eq!(records, vec![Record::A(Ipv4Addr::new(192, 0, 2, 25))]);
            assert_eq!(canonical, "mx.example.org");
            assert!(ttl <= 5);
        }
        a => panic!("{a:?}"),
    }
    assert_eq!(w.asked(), 1, "chain answered in one reply");
    // alias -> www (second query) -> mx (in the second reply)
    assert_eq!(
        records(w.resolve("alias.example.org", Rtype::Aaaa)),
        vec![Record::Aaaa("2001:db8::25".parse::<Ipv6Addr>().unwrap())]
    );
    assert_eq!(w.asked(), 3);
    assert_eq!(w.resolve("loop.example.org", Rtype::A), Answer::CnameLoop);
    // Asking for the CNAME itself does not follow it.
    assert_eq!(records(w.resolve("alias.example.org", Rtype::Cname)), vec![Record::Cname("www.example.org".into())]);
}

#[test]
fn truncation_falls_back_to_tcp() {
    let mut w = world(vec![SERVER4], |_| {});
    let recs = records(w.resolve("big.example.org", Rtype::Txt));
    assert_eq!(recs.len(), 40);
    let log = w.r.log.borrow();
    assert_eq!(log.len(), 2);
    assert!(!log[0].2 && log[1].2, "first UDP, then TCP: {log:?}");
    drop(log);
    // The TCP connection is released afterwards.
    assert!(w.p.run_until(5000, |p| p.b.tcp_sockets() == 0));
}

#[test]
fn negative_answers_are_cached_with_soa_minimum() {
    let mut w = world(vec![SERVER4], |_| {});
    assert_eq!(w.resolve("nothere.example.org", Rtype::A), Answer::NxDomain);
    assert_eq!(w.resolve("mx.example.org", Rtype::Txt), Answer::NoData);
    assert_eq!(w.asked(), 2);
    assert_eq!(w.resolve("nothere.example.org", Rtype::A), Answer::NxDomain);
    assert_eq!(w.resolve("mx.example.org", Rtype::Txt), Answer::NoData);
    assert_eq!(w.asked(), 2, "answered from the negative cache");
    // SOA minimum is 30 s (SOA TTL 60): expired after 31 s.
    w.p.now += 31_000;
    assert_eq!(w.resolve("nothere.example.org", Rtype::A), Answer::NxDomain);
    assert_eq!(w.asked(), 3);
}

#[test]
fn cache_honours_ttl() {
    let mut w = world(vec![SERVER4], |_| {});
    records(w.resolve("mx.example.org", Rtype::A));
    assert_eq!(w.asked(), 1);
    w.p.now += 2000;
    match w.resolve("mx.example.org", Rtype::A) {
        Answer::Records { ttl, .. } => assert!(ttl <= 3, "remaining ttl {ttl}"),
        a => panic!("{a:?}"),
    }
    assert_eq!(w.asked(), 1, "cache hit");
    w.p.now += 4000; // TTL 5 s passed
    records(w.resolve("mx.example.org", Rtype::A));
    assert_eq!(w.asked(), 2, "expired entry re-queried");
}

#[test]
fn bounded_cache_evicts() {
    let mut w = world(vec![SERVER4], |c| c.cache_entries = 2);
    records(w.resolve("mx.example.org", Rtype::A));
    records(w.resolve("mx.example.org", Rtype::Aaaa));
    records(w.resolve("example.org", Rtype::Mx));
    assert!(w.dns.resolver().cache_len() <= 2);
}

#[test]
fn timeout_after_all_servers_and_rounds() {
    let mut w = world(vec![SERVER4], |c| {
        c.timeout_ms = 300;
        c.rounds = 3;
    });
    let t0 = w.p.now;
    assert_eq!(w.resolve("silent.example.org", Rtype::A), Answer::Timeout);
    assert_eq!(w.asked(), 3);
    assert!(w.p.now - t0 >= 900);
    assert!(w.p.b.tcp_sockets() == 0);
}

#[test]
fn servfail_tries_next_server_then_gives_up() {
    let mut w = world(vec![SERVER4, IpAddr::V6("2001:db8::10".parse().unwrap())], |c| c.rounds = 1);
    assert_eq!(w.resolve("fail.example.org", Rtype::A), Answer::ServFail);
    assert_eq!(w.asked(), 2);
}

#[test]
fn dead_first_server_falls_over_to_second() {
    // 192.0.2.99 does not exist on the wire (ARP never answered). smoltcp
    // sends at most one ARP request per second, so the timeout must exceed
    // that for the on-link second server to be resolved in time.
    let mut w = world(vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99)), SERVER4], |c| c.timeout_ms = 1500);
    assert_eq!(records(w.resolve("mx.example.org", Rtype::A)), vec![Record::A(Ipv4Addr::new(192, 0, 2, 25))]);
}

#[test]
fn spoofed_id_is_ignored() {
    let mut w = world(vec![SERVER4], |_| {});
    w.r.spoof_first = true;
    assert_eq!(records(w.resolve("mx.example.org", Rtype::A)), vec![Record::A(Ipv4Addr::new(192, 0, 2, 25))]);
}

#[test]
fn bad_names() {
    let mut w = world(vec![SERVER4], |_| {});
    assert_eq!(w.resolve("", Rtype::A), Answer::BadName);
    assert_eq!(w.resolve(&"a".repeat(300), Rtype::A), Answer::BadName);
    assert_eq!(w.asked(), 0);
}

/// Sans-IO: the resolver alone, replies fed by hand.
#[test]
fn sans_io_resolver_wrong_server_and_question_ignored() {
    let mut r = Resolver::new(ResolverConfig::new(vec![SERVER4]), Box::new(|| 7));
    let q = r.query("mx.example.org", Rtype::A, 0);
    let tx = r.poll_transmit(0).unwrap();
    assert!(!tx.tcp);
    assert_eq!(tx.server, SERVER4);
    let log = RefCell::new(vec![]);
    let reply = answer(&tx.data, false, &log).unwrap();
    r.handle_response(q, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 66)), &reply, 1);
    assert!(r.is_pending(q), "reply from another address ignored");
    // A reply for another question with the right ID.
    let mut other = Message::from_vec(&reply).unwrap();
    other.queries[0].name = n("evil.example.org.");
    r.handle_response(q, SERVER4, &other.to_vec().unwrap(), 1);
    assert!(r.is_pending(q), "mismatched question ignored");
    r.handle_response(q, SERVER4, &reply[..reply.len() - 3], 1);
    assert!(r.is_pending(q), "malformed reply ignored");
    assert_eq!(r.poll_deadline(), Some(2000));
    r.handle_response(q, SERVER4, &reply, 1);
    assert_eq!(r.take_answer(q).map(records), Some(vec![Record::A(Ipv4Addr::new(192, 0, 2, 25))]));
    let _ = (NetError::WouldBlock, IpEndpoint::new(net::smoltcp::wire::IpAddress::Ipv4(Ipv4Addr::new(1, 1, 1, 1)), 1));
}

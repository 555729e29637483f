//! DNS replies as the appliance reads them: hickory-proto
//! `Message::from_vec` on the raw bytes, then the net crate's sans-IO
//! `Resolver` fed a sequence of replies to one query (ID check, question
//! check, truncation -> TCP, CNAME chasing, negative caching, the cache),
//! then what the kernel does with the answer: MX host ordering and
//! targets (mail-outbound mx), TXT strings joined and parsed as SPF, DKIM
//! key and DMARC records (mail-authn).
//!
//! Input: `rtype, <u16 length, reply>*` (the DNS-over-TCP framing). The
//! first two bytes of each reply (the ID) are overwritten with the query's
//! ID, as a spoofer cannot do but a broken server can.
#![no_main]
use std::net::IpAddr;

use fuzz_common::Reader;
use hickory_proto::op::Message;
use libfuzzer_sys::fuzz_target;
use mail_outbound::mx::{self, Families, MxAnswer, MxRecord};
use net::dns::{Answer, Record, Resolver, ResolverConfig, Rtype};

const RTYPES: [Rtype; 7] = [Rtype::A, Rtype::Aaaa, Rtype::Mx, Rtype::Txt, Rtype::Ptr, Rtype::Tlsa, Rtype::Cname];

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::from_vec(data) {
        let _ = m.to_vec();
    }
    let mut r = Reader::new(data);
    let sel = r.byte();
    let rtype = RTYPES[sel as usize % RTYPES.len()];
    let name = if sel & 0x80 != 0 { "_25._tcp.mx.example.org" } else { "example.org" };
    let server: IpAddr = "192.0.2.53".parse().unwrap();
    let mut cfg = ResolverConfig::new(vec![server, "2001:db8::53".parse().unwrap()]);
    cfg.cache_entries = 4;
    let mut res = Resolver::new(cfg, Box::new(|| 0x4242));
    let mut now = 1000;
    let q = res.query(name, rtype, now);
    let mut steps = 0;
    while res.is_pending(q) {
        steps += 1;
        assert!(steps < 1000, "resolver never finishes");
        let Some(t) = res.poll_transmit(now) else {
            now += 60_000;
            res.handle_timeout(now);
            continue;
        };
        let len = usize::from(r.u16());
        let mut reply = r.take(len).to_vec();
        if reply.is_empty() {
            now += 60_000;
            res.handle_timeout(now);
            continue;
        }
        if reply.len() >= 2 {
            reply[..2].copy_from_slice(&t.data[..2]);
        }
        res.handle_response(t.query, t.server, &reply, now);
        now += 1;
    }
    let answer = res.take_answer(q).expect("a finished query has an answer");
    // A second query for the same name: served from the cache or asked again.
    let q2 = res.query(name, rtype, now + 1);
    if !res.is_pending(q2) {
        let _ = res.take_answer(q2);
    }

    match &answer {
        Answer::Records { records, .. } => {
            let mut mxs = Vec::new();
            for rec in records {
                match rec {
                    Record::Mx { preference, exchange } => {
                        mxs.push(MxRecord { preference: *preference, exchange: exchange.clone() })
                    }
                    Record::Txt(parts) => {
                        let txt = parts.concat();
                        let _ = mail_authn::spf::record::parse(&txt);
                        let _ = mail_authn::dkim::key::parse(&txt);
                        let _ = mail_authn::dmarc::record::parse(&txt);
                    }
                    _ => {}
                }
            }
            if !mxs.is_empty() {
                mx_hosts(MxAnswer::Records(mxs));
            }
        }
        Answer::NoData => mx_hosts(MxAnswer::NoData),
        Answer::NxDomain => mx_hosts(MxAnswer::NoSuchDomain),
        _ => mx_hosts(MxAnswer::TempFail),
    }
});

fn mx_hosts(ans: MxAnswer) {
    let mut x = 7usize;
    let mut rnd = |n: usize| {
        x = x.wrapping_mul(31).wrapping_add(11);
        x % n.max(1)
    };
    if let Ok(hosts) = mx::hosts("example.org", &ans, &["mx.example.org"], &mut rnd) {
        let mut lookup = |h: &str| -> Vec<IpAddr> {
            if h.len() % 3 == 0 {
                vec![]
            } else {
                vec!["192.0.2.25".parse().unwrap(), "2001:db8::25".parse().unwrap(), "0.0.0.0".parse().unwrap()]
            }
        };
        let fam = Families { v4: true, v6: h_len_even(&hosts) };
        let _ = mx::targets(&hosts, fam, &mut lookup);
    }
}

fn h_len_even(h: &[mx::MxHost]) -> bool {
    h.len() % 2 == 0
}

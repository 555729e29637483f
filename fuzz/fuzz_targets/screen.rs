//! Connection screening (mail-screen): the saved pass cache and greylist
//! files (from the mail disk) loaded, used and saved again; and a
//! screening session fed a client's early bytes with DNSBL answers and
//! timer ticks, followed by the protocol observer on the rest.
//!
//! Input: `sel, split, bytes`: sel & 1 loads `bytes` as both state files,
//! otherwise `bytes` is what the client sends.
#![no_main]
use std::net::IpAddr;
use std::sync::OnceLock;

use fuzz_common::{fragments, Reader};
use libfuzzer_sys::fuzz_target;
use mail_screen::greylist::{Greylist, Request};
use mail_screen::screen::{Load, Screen};
use mail_screen::{DnsAnswer, PassCache, Policy};

fn policy() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| Policy::from_config(&mail_config::default_config()))
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let (sel, split) = (r.byte(), r.byte());
    let bytes = r.rest();
    let now = 1_700_000_000u64;
    let ip: IpAddr = if sel & 2 == 0 { "192.0.2.7".parse().unwrap() } else { "2001:db8::7".parse().unwrap() };
    if sel & 1 != 0 {
        if let Ok(c) = PassCache::load(bytes, now, 64) {
            let _ = c.dnswl(ip, now);
            let saved = c.save(now);
            PassCache::load(saved.as_bytes(), now, 64).expect("a saved cache loads again");
        }
        let cfg = mail_config::default_config().greylist;
        if let Ok(mut g) = Greylist::load(cfg.clone(), bytes, now, 64, 64) {
            let req = Request {
                ip,
                sender: "a@example.org",
                recipient: "b@example.com",
                authenticated: false,
                allowlisted: false,
            };
            let _ = g.check(&req, now).reply();
            g.expire(now + 86_400);
            let saved = g.save(now);
            Greylist::load(cfg, saved.as_bytes(), now, 64, 64).expect("a saved greylist loads again");
        }
        return;
    }
    let p = policy();
    let mut cache = PassCache::new(16);
    let mut s = Screen::connect(p, &cache, ip, now * 1000, Load::default());
    let mut t = now * 1000;
    let mut rest: &[u8] = &[];
    let pieces = fragments(bytes, split);
    for (i, piece) in pieces.iter().enumerate() {
        if s.verdict().is_some() {
            rest = &bytes[pieces[..i].iter().map(|p| p.len()).sum::<usize>()..];
            break;
        }
        t += 137;
        s.feed(p, piece, t);
        let ids: Vec<usize> = s.queries().iter().map(|q| q.id).collect();
        if let Some(&id) = ids.get(i % ids.len().max(1)) {
            let a = match piece.first().copied().unwrap_or(0) % 3 {
                0 => DnsAnswer::Listed(vec![[127, 0, 0, piece.len() as u8].into()]),
                1 => DnsAnswer::NotListed,
                _ => DnsAnswer::Failed,
            };
            s.answer(p, id, a, t);
        }
        let _ = s.take_output();
    }
    let mut guard = 0;
    while s.verdict().is_none() {
        guard += 1;
        assert!(guard < 1000, "the screen never decides");
        t = s.deadline_ms().unwrap_or(t + 1000).max(t + 1);
        s.tick(p, t);
    }
    let _ = (s.take_output(), s.take_early_input(), s.log_line());
    s.record_passes(p, &mut cache);
    if let Some(mut o) = s.observer(p) {
        for v in o.feed(rest) {
            let _ = v;
        }
        o.record_passes(p, &mut cache, now + 60);
    }
});

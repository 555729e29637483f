//! The whole inbound authentication pipeline of mail-authn on an arbitrary
//! message, against a fake DNS zone whose SPF and DMARC records for
//! example.com come from the input: DKIM verification (whole and streamed
//! in fragments: same results), ARC chain validation, SPF check_host,
//! DMARC evaluation, Authentication-Results, ARC sealing and DKIM signing (Ed25519 only:
//! an RSA signature per run would cost more than everything else).
//!
//! Input: `flags, split, <spf record> \n <dmarc record> \n <message>`.
#![no_main]
use fuzz_common::authn::{ed_key, Zone};
use fuzz_common::{fragments, Reader};
use libfuzzer_sys::fuzz_target;
use mail_authn::auth_results::AuthResults;
use mail_authn::dkim::arc::{self, ArcStep, Sealer};
use mail_authn::dkim::{self, DkimStep, Signer, Verifier};
use mail_authn::dmarc::{self, DmarcStep, Inputs};
use mail_authn::spf::{self, SpfStep};

const NOW: u64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let (flags, split) = (r.byte(), r.byte());
    let zone = Zone { spf: r.until(b"\n"), dmarc: r.until(b"\n") };
    let msg = r.rest();
    let mut queries = 0;
    let mut ask = |q: &mail_authn::dns::DnsQuery| {
        queries += 1;
        assert!(queries < 500, "unbounded DNS queries");
        zone.answer(q)
    };

    // DKIM, whole and streamed.
    let mut s = dkim::verify(msg, NOW);
    let dkim = loop {
        match s.poll() {
            DkimStep::Query(q) => s.answer(ask(&q)),
            DkimStep::Done(r) => break r,
        }
    };
    let mut v = Verifier::new(NOW);
    for piece in fragments(msg, split) {
        v.feed(piece);
    }
    let mut s = v.finish();
    let streamed = loop {
        match s.poll() {
            DkimStep::Query(q) => s.answer(zone.answer(&q)),
            DkimStep::Done(r) => break r,
        }
    };
    assert_eq!(dkim, streamed, "streaming changed the DKIM results");

    // ARC.
    let mut a = arc::verify(msg);
    let chain = loop {
        match a.poll() {
            ArcStep::Query(q) => a.answer(ask(&q)),
            ArcStep::Done(o) => break o,
        }
    };

    // SPF for a MAIL FROM in example.com (record from the input).
    let ip = if flags & 1 == 0 { "192.0.2.1".parse().unwrap() } else { "2001:db8::7".parse().unwrap() };
    let mut s = spf::check_mail_from(ip, "user@example.com", "helo.example.com");
    s.set_receiver("mx.example.org");
    let spf_o = loop {
        match s.poll() {
            SpfStep::Query(q) => s.answer(ask(&q)),
            SpfStep::Done(o) => break o,
        }
    };
    let _ = spf_o.received_spf(ip, "user@example.com", "helo.example.com", "mx.example.org");

    // DMARC for the message's From domain (or example.com).
    let from = mail_mime::Message::parse(msg).header().raw("from").map(dmarc::from_domain);
    let from_domain = match &from {
        Some(Ok(d)) => d.as_str(),
        _ => "example.com",
    };
    let mut d = dmarc::evaluate(&Inputs {
        from_domain,
        spf: Some((spf_o.result, "example.com")),
        dkim: &dkim,
        random: u32::from(flags) * 0x0101_0101,
    });
    let dm = loop {
        match d.poll() {
            DmarcStep::Query(q) => d.answer(ask(&q)),
            DmarcStep::Done(o) => break o,
        }
    };
    let mut ar = AuthResults::new("mx.example.org");
    ar.spf(&spf_o, "user@example.com", "helo.example.com").dkim(&dkim).arc(&chain).dmarc(&dm);
    let _ = ar.to_header();
    let _ = ar.to_arc_header(chain.instances + 1);

    if flags & 2 != 0 {
        let _ = Sealer::new("example.com", "arc", ed_key()).seal(msg, NOW, &chain, &ar);
        let mut signer = Signer::new();
        signer.add_key("example.com", "ed", ed_key());
        let _ = signer.sign(msg, NOW);
    }
});

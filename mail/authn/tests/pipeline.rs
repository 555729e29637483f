//! The receiving side end to end: SPF on MAIL FROM, DKIM on the message,
//! DMARC on the From domain, then the Authentication-Results field, all
//! driven from one zone table as the kernel glue would.

mod common;
use common::{Entry, Zone};
use mail_authn::auth_results::AuthResults;
use mail_authn::dkim::{self, DkimResult, DkimStep, Signer, SigningKey};
use mail_authn::dmarc::{self, Disposition, DmarcOutcome, DmarcResult, DmarcStep, Inputs};
use mail_authn::dns::DnsRecord;
use mail_authn::spf::{self, SpfOutcome, SpfStep};

fn zone() -> Zone {
    let mut z = Zone::default();
    z.txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all");
    z.txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:dmarc@example.com");
    z.txt("sel._domainkey.example.com", &SigningKey::ed25519_from_seed(&[9; 32]).dns_record().unwrap());
    z.txt("other.example", "v=spf1 +all");
    z.add("mx.example.com", Entry::Rec(DnsRecord::A("192.0.2.25".parse().unwrap())));
    z
}

fn check(
    z: &Zone,
    ip: &str,
    mail_from: &str,
    msg: &[u8],
    random: u32,
) -> (SpfOutcome, Vec<DkimResult>, DmarcOutcome, String) {
    let mut s = spf::check_mail_from(ip.parse().unwrap(), mail_from, "mx.example.com");
    let spf = loop {
        match s.poll() {
            SpfStep::Query(q) => s.answer(z.resolve(&q)),
            SpfStep::Done(o) => break o,
        }
    };
    let mut d = dkim::verify(msg, 1_790_000_000);
    let dk = loop {
        match d.poll() {
            DkimStep::Query(q) => d.answer(z.resolve(&q)),
            DkimStep::Done(r) => break r,
        }
    };
    let from = dmarc::from_domain(msg).unwrap();
    let mut m =
        dmarc::evaluate(&Inputs { from_domain: &from, spf: Some((spf.result, &spf.domain)), dkim: &dk, random });
    let dm = loop {
        match m.poll() {
            DmarcStep::Query(q) => m.answer(z.resolve(&q)),
            DmarcStep::Done(o) => break o,
        }
    };
    let ar = AuthResults::new("mx.example.net").spf(&spf, mail_from, "mx.example.com").dkim(&dk).dmarc(&dm).to_header();
    (spf, dk, dm, ar)
}

#[test]
fn receiver_pipeline() {
    let z = zone();
    let body = b"From: Ada <ada@example.com>\r\nTo: b@example.net\r\nSubject: hi\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\n\r\nhello\r\n";
    let mut signer = Signer::new();
    signer.add_key("example.com", "sel", SigningKey::ed25519_from_seed(&[9; 32]));
    let signed = [signer.sign(body, 1_790_000_000).unwrap().concat().as_bytes(), body].concat();

    // Legitimate: SPF pass, DKIM pass, DMARC pass.
    let (_, _, dm, ar) = check(&z, "192.0.2.25", "ada@example.com", &signed, 0);
    assert_eq!(dm.result, DmarcResult::Pass);
    assert!(ar.contains("spf=pass smtp.mailfrom=ada@example.com"), "{ar}");
    assert!(ar.contains("dkim=pass header.d=example.com header.i=@example.com header.s=sel"), "{ar}");
    assert!(ar.contains("dmarc=pass (p=reject dis=none) header.from=example.com"), "{ar}");

    // Forwarded by a third party that kept the signature: SPF fails for
    // example.com but DKIM alignment carries DMARC.
    let (spf, _, dm, _) = check(&z, "198.51.100.7", "ada@example.com", &signed, 0);
    assert_eq!(spf.result, mail_authn::spf::SpfResult::Fail);
    assert_eq!((dm.result, dm.dkim_aligned), (DmarcResult::Pass, true));

    // Spoofed: unsigned, sent from elsewhere with an unaligned MAIL FROM.
    let (_, dk, dm, ar) = check(&z, "198.51.100.7", "x@other.example", body, 0);
    assert!(dk.is_empty());
    assert_eq!((dm.result, dm.disposition), (DmarcResult::Fail, Disposition::Reject));
    assert!(ar.contains("spf=pass smtp.mailfrom=x@other.example;"), "{ar}");
    assert!(ar.contains("dkim=none;"), "{ar}");
    assert!(ar.contains("dmarc=fail (p=reject dis=reject) header.from=example.com"), "{ar}");

    // Tampered after signing.
    let tampered = String::from_utf8(signed.clone()).unwrap().replace("hello", "pay me");
    let (_, dk, dm, ar) = check(&z, "198.51.100.7", "ada@example.com", tampered.as_bytes(), 0);
    assert_eq!(dk[0].status, mail_authn::dkim::DkimStatus::Fail);
    assert_eq!(dm.result, DmarcResult::Fail);
    assert!(ar.contains("dkim=fail (body hash did not verify)"), "{ar}");
}

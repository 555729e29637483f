//! Robustness: random and mutated inputs never panic (in the kernel a
//! panic is an outage). A fixed-seed generator keeps runs reproducible.

use mail_authn::dkim::{self, DkimStep, Signer, SigningKey};
use mail_authn::dmarc::{self, record as dmarc_record};
use mail_authn::dns::{DnsAnswer, DnsRecord};
use mail_authn::spf::{self, record as spf_record, SpfStep};
use mail_authn::srs::Srs;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &'a [&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const SPF_TOKENS: &[&str] = &[
    "v=spf1",
    " ",
    "a",
    "mx",
    "ptr",
    "all",
    "-all",
    "~all",
    "?",
    "+",
    "include:",
    "exists:",
    "ip4:",
    "ip6:",
    "redirect=",
    "exp=",
    "%{",
    "}",
    "%%",
    "%_",
    "%-",
    "s",
    "l",
    "o",
    "d",
    "i",
    "p",
    "h",
    "v",
    "c",
    "r",
    "t",
    "1",
    "0",
    "32",
    "/",
    "//",
    ".",
    "-",
    "=",
    ":",
    "example.com",
    "x",
    "r",
    "::1",
    "1.2.3.4",
    "\t",
    "\u{e9}",
];

#[test]
fn spf_random_records() {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for _ in 0..4000 {
        let mut rec = String::from("v=spf1");
        for _ in 0..rng.below(12) {
            rec.push_str(rng.pick(SPF_TOKENS));
        }
        let _ = spf_record::parse(rec.as_bytes());
        let ip: std::net::IpAddr =
            if rng.below(2) == 0 { "192.0.2.1".parse().unwrap() } else { "2001:db8::1".parse().unwrap() };
        let mut s = spf::check_host(ip, "example.com", "a-b.c@example.com", "helo.example");
        let mut steps = 0;
        loop {
            match s.poll() {
                SpfStep::Query(q) => {
                    steps += 1;
                    assert!(steps < 1000);
                    let a = match rng.below(6) {
                        0 => DnsAnswer::NxDomain,
                        1 => DnsAnswer::TempFail,
                        2 => DnsAnswer::NoData,
                        3 => DnsAnswer::Records(vec![
                            DnsRecord::A("192.0.2.1".parse().unwrap()),
                            DnsRecord::Mx(1, "example.com".into()),
                        ]),
                        4 => DnsAnswer::Records(vec![
                            DnsRecord::Ptr("example.com".into()),
                            DnsRecord::Aaaa("2001:db8::1".parse().unwrap()),
                        ]),
                        _ => {
                            let _ = &q;
                            DnsAnswer::Records(vec![DnsRecord::Txt(rec.clone().into_bytes())])
                        }
                    };
                    s.answer(a);
                }
                SpfStep::Done(_) => break,
            }
        }
    }
}

#[test]
fn dkim_mutated_messages() {
    let mut signer = Signer::new();
    signer.add_key("example.com", "ed", SigningKey::ed25519_from_seed(&[3; 32]));
    let msg = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody  \r\n\r\n";
    let sig = signer.sign(msg, 1).unwrap().concat();
    // A plausible ARC set too, so mutations hit the ARC parser.
    let arcset = "ARC-Seal: i=1; cv=none; a=ed25519-sha256; d=example.com; s=ed; b=AAAA\r\nARC-Message-Signature: i=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=ed; h=from; bh=AAAA; b=AAAA\r\nARC-Authentication-Results: i=1; mx.example.com; spf=pass\r\n";
    let full = [arcset.as_bytes(), sig.as_bytes(), msg].concat();
    let rec = SigningKey::ed25519_from_seed(&[3; 32]).dns_record().unwrap();
    let mut rng = Rng(12345);
    let noise = [b";", b"=", b":", b" ", b"\r", b"\n", b"\t", b"a", b"\xff", b"b"];
    for _ in 0..3000 {
        let mut m = full.clone();
        for _ in 0..1 + rng.below(4) {
            let pos = rng.below(m.len() + 1);
            match rng.below(3) {
                0 if pos < m.len() => {
                    m.remove(pos);
                }
                1 if pos < m.len() => m[pos] = noise[rng.below(noise.len())][0],
                _ => m.insert(pos, noise[rng.below(noise.len())][0]),
            }
        }
        let mut s = dkim::verify(&m, 2);
        loop {
            match s.poll() {
                DkimStep::Query(_) => s.answer(DnsAnswer::Records(vec![DnsRecord::Txt(rec.clone().into_bytes())])),
                DkimStep::Done(_) => break,
            }
        }
        let mut a = dkim::arc::verify(&m);
        while let dkim::arc::ArcStep::Query(_) = a.poll() {
            a.answer(DnsAnswer::Records(vec![DnsRecord::Txt(rec.clone().into_bytes())]));
        }
        // Signing arbitrary bytes must not panic either.
        let mut ss = signer.start(0);
        for c in m.chunks(1 + rng.below(9)) {
            if ss.feed(c).is_err() {
                break;
            }
        }
        let _ = ss.finish();
        let _ = dkim::key::parse(&m[..m.len().min(80)]);
    }
}

#[test]
fn dmarc_srs_psl_random() {
    let mut rng = Rng(777);
    let toks = [
        "v=DMARC1",
        ";",
        "p=",
        "reject",
        "sp=",
        "pct=",
        "101",
        "rua=",
        "mailto:a@b",
        "!",
        "10m",
        " ",
        "=",
        "fo=",
        ":",
        "\u{e9}",
    ];
    let dom = [".", "a", "co", "uk", "..", "xn--55qx5d", "公司", "ck", "www", "-", "com", ""];
    let srs = Srs::new("fwd.example", b"k");
    for _ in 0..5000 {
        let mut r = String::new();
        for _ in 0..rng.below(10) {
            r.push_str(rng.pick(&toks));
        }
        let _ = dmarc_record::is_dmarc(r.as_bytes());
        let _ = dmarc_record::parse(r.as_bytes());
        let mut d = String::new();
        for _ in 0..rng.below(6) {
            d.push_str(rng.pick(&dom));
            if rng.below(2) == 0 {
                d.push('.');
            }
        }
        let _ = dmarc::organizational_domain(&d);
        let addr = format!("SRS{}{}{}@{}", rng.below(3), rng.pick(&["=", "-", "+", "x"]), r, d);
        let _ = srs.reverse(&addr, rng.next());
        let _ = srs.forward(&addr, rng.next());
        let _ = srs.forward(&d, 0);
    }
}

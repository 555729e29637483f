//! DKIM sign/verify throughput on the host (figures, no asserts):
//! `cargo run --release -p mail-authn --example dkim_bench`
//! Compare with `python3 mail/authn/tools/bench_dkimpy.py` on the same
//! message and keys.

use mail_authn::dkim::{self, DkimStatus, DkimStep, Signer, SigningKey};
use mail_authn::dns::{DnsAnswer, DnsRecord};
use std::time::Instant;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

fn message() -> Vec<u8> {
    let mut m = b"From: Ada <ada@example.com>\r\nTo: Grace <grace@example.org>\r\nSubject: benchmark\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\nMessage-ID: <b@example.com>\r\n\r\n".to_vec();
    for i in 0..80 {
        m.extend_from_slice(format!("line {i} of a 4 KiB-ish body, with some  spaces   \r\n").as_bytes());
    }
    m
}

fn main() {
    let msg = message();
    for (name, file) in [("rsa-2048", "rsa2048.pkcs1.pem"), ("ed25519", "ed25519.pkcs8.pem")] {
        let key = SigningKey::from_pem(&std::fs::read_to_string(format!("{KEYS}/{file}")).unwrap()).unwrap();
        let rec = key.dns_record().unwrap();
        let mut signer = Signer::new();
        signer.add_key("example.com", "b", key);
        let n = if name == "ed25519" { 5000 } else { 300 };
        let t = Instant::now();
        let mut sig = String::new();
        for _ in 0..n {
            sig = signer.sign(&msg, 1).unwrap().concat();
        }
        let sign_rate = n as f64 / t.elapsed().as_secs_f64();
        let full = [sig.as_bytes(), &msg].concat();
        let n = if name == "ed25519" { 5000 } else { 3000 };
        let t = Instant::now();
        for _ in 0..n {
            let mut s = dkim::verify(&full, 2);
            loop {
                match s.poll() {
                    DkimStep::Query(_) => s.answer(DnsAnswer::Records(vec![DnsRecord::Txt(rec.clone().into_bytes())])),
                    DkimStep::Done(r) => {
                        assert_eq!(r[0].status, DkimStatus::Pass);
                        break;
                    }
                }
            }
        }
        let verify_rate = n as f64 / t.elapsed().as_secs_f64();
        println!("mail-authn {name}: sign {sign_rate:.0}/s, verify {verify_rate:.0}/s ({} byte message)", msg.len());
    }
}

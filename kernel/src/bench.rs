//! `diag=bench-dkim`: DKIM sign and verify throughput inside the image, with
//! the config's `[dkim]` keys (files on the config disk), on the same ~4 KiB
//! message as mail-authn's host benchmark (`examples/dkim_bench.rs`), so
//! `scripts/bench-dkim` can print host, image and dkimpy side by side.
//! Figures only; each loop runs for about two seconds of guest time.

use alloc::string::String;
use alloc::vec::Vec;
use mail_authn::dkim::{self, DkimStatus, DkimStep, Signer, SigningKey};
use mail_authn::dns::{DnsAnswer, DnsRecord};
use mail_config::FileRef;

use crate::config::Loaded;

fn message() -> Vec<u8> {
    let mut m = b"From: Ada <ada@example.com>\r\nTo: Grace <grace@example.org>\r\nSubject: benchmark\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\nMessage-ID: <b@example.com>\r\n\r\n".to_vec();
    for i in 0..80 {
        m.extend_from_slice(alloc::format!("line {i} of a 4 KiB-ish body, with some  spaces   \r\n").as_bytes());
    }
    m
}

/// Runs `f` until ~`budget_ms` of monotonic time passed; returns ops/s.
fn rate(budget_ms: u64, mut f: impl FnMut() -> bool) -> f64 {
    let t0 = crate::time::micros_since_boot();
    let mut n = 0u64;
    loop {
        if !f() {
            return 0.0;
        }
        n += 1;
        let dt = crate::time::micros_since_boot() - t0;
        if dt >= budget_ms * 1000 && n >= 3 {
            return n as f64 * 1e6 / dt as f64;
        }
    }
}

pub fn dkim(l: &Loaded) {
    let msg = message();
    for k in &l.config.dkim {
        let FileRef::Path(p) = &k.key else {
            log::info!("bench: dkim {}: built-in key skipped (give key files on the config disk)", k.selector);
            continue;
        };
        let Some(pem) = l.files.get(p).and_then(|b| core::str::from_utf8(b).ok()) else { continue };
        let key = match SigningKey::from_pem(pem) {
            Ok(k) => k,
            Err(e) => {
                log::warn!("bench: dkim {p}: {e:?}");
                continue;
            }
        };
        let Ok(rec) = key.dns_record() else { continue };
        let alg = if rec.contains("k=ed25519") { "ed25519" } else { "rsa" };
        let mut signer = Signer::new();
        signer.add_key("example.com", "b", key);
        let mut sig = String::new();
        let sign = rate(2000, || match signer.sign(&msg, 1) {
            Ok(s) => {
                sig = s.concat();
                true
            }
            Err(_) => false,
        });
        let full = [sig.as_bytes(), &msg].concat();
        let verify = rate(2000, || {
            let mut s = dkim::verify(&full, 2);
            loop {
                match s.poll() {
                    DkimStep::Query(_) => {
                        s.answer(DnsAnswer::Records(alloc::vec![DnsRecord::Txt(rec.clone().into_bytes())]))
                    }
                    DkimStep::Done(r) => return r.first().is_some_and(|r| r.status == DkimStatus::Pass),
                }
            }
        });
        log::info!("bench: dkim {alg} sign {sign:.1}/s verify {verify:.1}/s ({} byte message)", msg.len());
    }
    log::info!("bench: dkim done");
}

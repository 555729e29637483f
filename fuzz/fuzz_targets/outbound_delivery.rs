//! One outbound delivery attempt (mail-outbound `Delivery` over the SMTP
//! client) against a remote server that answers arbitrary bytes; the
//! report must cover exactly the attempt's recipients.
#![no_main]
use fuzz_common::{fragments, Reader};
use libfuzzer_sys::fuzz_target;
use mail_outbound::delivery::{Attempt, Delivery, DeliveryConfig, DeliveryEvent};
use mail_smtp::client::TlsMode;

const MSG: &[u8] = b"From: a@example.org\r\nSubject: caf\xc3\xa9\r\n\r\n.dot line\r\nbody\r\n";

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let (flags, split) = (r.byte(), r.byte());
    let input = r.rest();
    let mut cfg = DeliveryConfig::new("mx.example.org");
    cfg.tls = [TlsMode::Disabled, TlsMode::Opportunistic, TlsMode::Required][flags as usize % 3];
    cfg.send_8bit_without_8bitmime = flags & 4 != 0;
    let n = 1 + (flags as usize >> 3 & 3);
    let attempt = Attempt {
        sender: if flags & 32 != 0 { String::new() } else { "a@example.org".into() },
        recipients: (0..n).map(|i| (i * 2, format!("r{i}@example.net"))).collect(),
        size: MSG.len() as u64,
        eight_bit: true,
        smtputf8: flags & 64 != 0,
    };
    let mut d = Delivery::new(&cfg, "mx.example.net", attempt.clone());
    let mut report = None;
    for piece in fragments(input, split).into_iter().chain([&b""[..]]) {
        let mut rest = piece;
        let mut spins = 0;
        loop {
            let used = d.feed(rest);
            assert!(used <= rest.len());
            rest = &rest[used..];
            while let Some(ev) = d.poll() {
                match ev {
                    DeliveryEvent::StartTls => {
                        if flags & 128 != 0 {
                            d.tls_established()
                        } else {
                            d.tls_failed()
                        }
                    }
                    DeliveryEvent::SendContent => {
                        d.write_content(MSG);
                        d.end_content();
                    }
                    DeliveryEvent::Finished(rep) => report = Some(rep),
                }
            }
            d.take_output();
            spins += 1;
            if rest.is_empty() || d.is_finished() || spins > 1000 {
                break;
            }
        }
    }
    if report.is_none() {
        if flags & 1 != 0 {
            d.timeout()
        } else {
            d.connection_lost()
        }
        while let Some(ev) = d.poll() {
            if let DeliveryEvent::Finished(rep) = ev {
                report = Some(rep);
            }
        }
    }
    let rep = report.expect("a timeout or lost connection always finishes the attempt");
    let mut got: Vec<usize> = rep.results.iter().map(|(i, _)| *i).collect();
    got.sort();
    let want: Vec<usize> = attempt.recipients.iter().map(|(i, _)| *i).collect();
    assert_eq!(got, want, "every recipient gets exactly one result");
});

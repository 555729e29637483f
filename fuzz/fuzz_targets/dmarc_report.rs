//! DMARC aggregate reports (mail-dmarc-report): arbitrary bytes as a
//! report (XML, gzip or zip by magic number) and as the message carrying
//! it, summarised; and the gzip/zip readers alone with a small output limit.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mail_dmarc_report::{container, parse_report, reports_in_message, summarise_message_with, Limits, Summary};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_xml: 256 << 10, ..Limits::default() };
    if let Ok(r) = parse_report(data, &limits) {
        let s = Summary::from_reports(&[r]);
        let _ = s.totals();
    }
    if let Ok(v) = reports_in_message(data, &limits) {
        assert!(v.len() <= limits.max_attachments);
    }
    let _ = summarise_message_with(data, &limits);
    if let Ok(out) = container::gunzip(data, 64 << 10) {
        assert!(out.len() <= 64 << 10);
    }
    if let Ok(out) = container::unzip(data, 64 << 10) {
        assert!(out.len() <= 64 << 10);
    }
});

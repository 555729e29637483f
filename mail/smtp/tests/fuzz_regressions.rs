//! Inputs found by the cargo-fuzz targets in fuzz/ (saved under
//! fuzz/regressions/<target>/): each once broke a promise of the crate.
mod common;
use common::*;
use mail_smtp::*;

/// smtp_server: content with a bare LF that later also exceeds the size
/// limit was refused as "too big" or as "bare LF" depending on where the
/// input was split. The reason is now chosen from the whole content.
#[test]
fn refusal_reason_does_not_depend_on_fragmentation() {
    let mut c = cfg();
    c.max_message_size = 64;
    c.data_chunk = 10;
    let mut input = b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nbo\nx".to_vec();
    input.extend_from_slice(&[b'y'; 100]);
    input.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
    let t = run_all_splits(&c, &Policy::default(), &input);
    assert!(t.has_line("552 5.3.4"), "{}", t.out_str());
}

//! SMTP server session (mail-smtp `Server`) fed arbitrary client bytes:
//! commands, AUTH exchanges, DATA and BDAT content. Checks: no panic,
//! well-formed replies, bounded data chunks, and the same transcript
//! whether the input arrives whole or in the fragments the input chooses.
#![no_main]
use fuzz_common::{fragments, smtp, Reader};
use libfuzzer_sys::fuzz_target;
use mail_smtp::*;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let (flags, sizes, split) = (r.byte(), r.byte(), r.byte());
    let input = r.rest();
    let mut c = Config::new("mx.example.org");
    c.starttls = flags & 1 != 0;
    c.auth = match (flags >> 1) & 3 {
        0 => AuthPolicy::Disabled,
        1 => AuthPolicy::TlsOnly,
        _ => AuthPolicy::Always,
    };
    c.require_auth = flags & 8 != 0;
    c.check_sender = flags & 16 != 0;
    c.bare_endings = if flags & 32 != 0 { BareEndings::Normalize } else { BareEndings::Reject };
    c.max_data_line = if flags & 64 != 0 { Some(100) } else { None };
    c.vrfy = if flags & 128 != 0 { VrfyPolicy::Ambiguous } else { VrfyPolicy::Disabled };
    c.data_chunk = 1 + (sizes as usize & 15) * 9;
    c.max_message_size = 64 << (sizes >> 4 & 7);
    c.max_recipients = 1 + (sizes >> 7) as usize * 3;
    c.max_output = 256;
    c.max_errors = 50;
    let finish_tls = split & 1 != 0;
    let whole = smtp::run(&c, &[input], finish_tls);
    smtp::assert_well_formed(&whole.out);
    assert!(whole.max_chunk <= c.data_chunk + 3, "data chunk {} > {}", whole.max_chunk, c.data_chunk);
    if !finish_tls {
        // Fragmentation must not change anything (no TLS completion in
        // between: the server discards the rest of a piece after STARTTLS).
        let split = smtp::run(&c, &fragments(input, split), false);
        assert_eq!(String::from_utf8_lossy(&split.out), String::from_utf8_lossy(&whole.out));
        assert_eq!(split.events, whole.events);
    }
});

//! IMAP session (mail-imap `Session`) over an in-memory store with three
//! messages, fed arbitrary client bytes: login, SELECT, FETCH, SEARCH,
//! STORE, APPEND literals, IDLE, AUTHENTICATE, COMPRESS-less everything.
#![no_main]
use fuzz_common::imap::{drive, MSG1, MSG2, MSG3};
use fuzz_common::{fragments, Reader};
use libfuzzer_sys::fuzz_target;
use mail_imap::{Config, MemStore, Session, Store};

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let (flags, split) = (r.byte(), r.byte());
    let input = r.rest();
    let mut st = MemStore::new();
    // Like the disk's limits in the image: without one, `COPY 1:* INBOX`
    // repeated doubles the folder each time (a timeout, not a finding).
    // Each message counts as one 1 KiB block at least, as a file on the
    // image's disk does: tiny messages copied into their own folder
    // otherwise multiplied into millions (an OOM, not a finding).
    st.quota = Some(1 << 20);
    st.min_message_cost = 1024;
    st.deliver("INBOX", MSG1);
    st.deliver("INBOX", MSG2);
    st.deliver("INBOX", MSG3);
    st.create_folder("Archive").unwrap();
    st.deliver("Archive", MSG2);
    let mut cfg = Config {
        tls_active: flags & 1 != 0,
        condstore: flags & 2 != 0,
        allow_plaintext_auth: flags & 4 != 0,
        max_output: 4096,
        max_input: 8192,
        ..Config::default()
    };
    cfg.limits.max_literal = 4096;
    cfg.limits.max_append = 16384;
    cfg.limits.max_command = 16384;
    cfg.limits.max_line = 4096;
    let mut s = if flags & 8 != 0 { Session::new_preauth(cfg, "bob") } else { Session::new(cfg) };
    let out = drive(&mut s, &mut st, &fragments(input, split));
    assert!(out.len() < 64 << 20);
});

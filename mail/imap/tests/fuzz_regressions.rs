//! Findings of the cargo-fuzz targets (fuzz/), kept fixed.

mod common;
use common::*;
use mail_imap::{MemStore, Session};

/// fuzz/regressions/imap_session/mbox-inbox-prefix-utf8: a mailbox name
/// whose sixth byte falls inside a UTF-8 character (from modified UTF-7)
/// panicked the `INBOX/` prefix check (a str slice); now a normal answer.
#[test]
fn mailbox_name_with_multibyte_char_at_byte_six() {
    let mut st = MemStore::default();
    let mut s = Session::new(tls_config());
    let r = drive(
        &mut s,
        &mut st,
        b"a LOGIN bob secret\r\nj RENAME \"a&SentTrak-\" b\r\nk RENAME \"INBOX/&AOk-\" c\r\n",
        64,
    );
    assert!(r.out.contains("j NO") || r.out.contains("j OK") || r.out.contains("j BAD"), "{}", r.out);
    assert!(r.out.contains("\r\nk "), "{}", r.out);
}

/// fuzz/findings/imap_command/multiappend-unbounded: the messages of one
/// MULTIAPPEND (RFC 3502) share the APPEND limit; a second literal that
/// would pass it is refused before anything is buffered.
#[test]
fn multiappend_literals_share_the_append_limit() {
    use mail_imap::framer::{Frame, Framer, Limits};
    let mut f = Framer::new(Limits { max_append: 100, ..Limits::default() });
    let msg = [b'x'; 60];
    let mut input = b"A APPEND INBOX {60+}\r\n".to_vec();
    input.extend_from_slice(&msg);
    input.extend_from_slice(b" {60+}\r\n");
    let mut frames = Vec::new();
    let mut p = &input[..];
    while !p.is_empty() {
        let (n, fr) = f.push(p);
        p = &p[n..];
        frames.extend(fr);
    }
    assert_eq!(frames, vec![Frame::LiteralTooBig { tag: "A".into(), non_sync: true, append: true }]);
}

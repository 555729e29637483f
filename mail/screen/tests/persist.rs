//! Saving and loading the pass cache and the greylist; corrupt input.

mod common;

use common::*;
use mail_screen::{Greylist, GreylistAnswer as Answer, PassCache, PassReason, Test};

const T: u64 = 1_795_000_000;

#[test]
fn cache_round_trip() {
    let mut c = PassCache::new(10);
    c.record_pass(ip("192.0.2.1"), Test::Pregreet, T, 86400);
    c.record_pass(ip("192.0.2.1"), Test::Dnsbl, T, 3600);
    c.record_pass(ip("2001:db8::25"), Test::Pipelining, T, 30 * 86400);
    c.record_dnswl(ip("::ffff:198.51.100.9"), T, 3600);
    c.record_pass(ip("203.0.113.1"), Test::Pregreet, T, 10);
    let text = c.save(T + 20);
    assert_eq!(
        text,
        "unimail-screen-cache 1\n\
         192.0.2.1 pregreet=1795086400 dnsbl=1795003600\n\
         2001:db8::25 pipelining=1797592000\n\
         198.51.100.9 dnswl=1795003600\n"
    );
    let back = PassCache::load(text.as_bytes(), T + 20, 10).unwrap();
    assert_eq!(back.save(T + 20), text);
    assert!(back.passed(ip("192.0.2.1"), Test::Dnsbl, T + 20));
    assert!(back.dnswl(ip("198.51.100.9"), T + 20));
    // Loading later drops what expired in between.
    let later = PassCache::load(text.as_bytes(), T + 4000, 10).unwrap();
    assert_eq!(later.len(), 2);
    assert!(!later.passed(ip("192.0.2.1"), Test::Dnsbl, T + 4000));
    assert!(later.passed(ip("192.0.2.1"), Test::Pregreet, T + 4000));
    // A smaller capacity keeps the newest lines.
    let small = PassCache::load(text.as_bytes(), T + 20, 1).unwrap();
    assert!(small.dnswl(ip("198.51.100.9"), T + 20));
    assert_eq!(small.len(), 1);
    // Blank lines, comments and CRLF are accepted.
    let crlf = "unimail-screen-cache 1\r\n# comment\r\n\r\n192.0.2.7 dnsbl=1795003600\r\n";
    assert!(PassCache::load(crlf.as_bytes(), T, 10).unwrap().passed(ip("192.0.2.7"), Test::Dnsbl, T));
}

#[test]
fn cache_corrupt_input() {
    let cases: &[(&[u8], usize)] = &[
        (b"", 1),
        (b"something else\n", 1),
        (b"unimail-screen-cache 2\n", 1),
        (b"unimail-screen-cache 1\nnot-an-ip pregreet=1\n", 2),
        (b"unimail-screen-cache 1\n192.0.2.1 pregreet\n", 2),
        (b"unimail-screen-cache 1\n192.0.2.1 pregreet=-1\n", 2),
        (b"unimail-screen-cache 1\n192.0.2.1 pregreet=99999999999999999999999\n", 2),
        (b"unimail-screen-cache 1\n192.0.2.1 bogus=1\n", 2),
        (b"unimail-screen-cache 1\n192.0.2.1 dnsbl=1 dnsbl=2\n", 2),
        (b"unimail-screen-cache 1\n192.0.2.1  dnsbl=1\n", 2),
        (b"unimail-screen-cache 1\n\n192.0.2.1 dnsbl=\xff\n", 3),
    ];
    for (input, line) in cases {
        let e = PassCache::load(input, T, 10).unwrap_err();
        assert_eq!(e.line, *line, "{:?}: {e}", String::from_utf8_lossy(input));
    }
    let long = format!("unimail-screen-cache 1\n192.0.2.1 {}\n", "x".repeat(5000));
    assert_eq!(PassCache::load(long.as_bytes(), T, 10).unwrap_err().reason, "line too long");
}

#[test]
fn greylist_round_trip() {
    let mut g = Greylist::new(greylist_cfg(86400, 30 * 86400, 2), 100, 100);
    g.check(&req("192.0.2.1", "", "postmaster@example.org"), T);
    g.check(&req("2001:db8::1", "\"odd name\"@x.example", "b@example.org"), T);
    g.check(&req("2001:db8::1", "\"odd name\"@x.example", "b@example.org"), T + 400);
    g.check(&req("198.51.100.3", "jörg@bücher.example", "b@example.org"), T + 10);
    let text = g.save(T + 500);
    assert_eq!(
        text,
        "unimail-greylist 1\n\
         t 192.0.2.0/24 1795000000 1795000000 0 <> postmaster@example.org\n\
         t 2001:db8::/64 1795000000 1795000400 1 \"odd%20name\"@x.example b@example.org\n\
         t 198.51.100.0/24 1795000010 1795000010 0 jörg@bücher.example b@example.org\n\
         c 2001:db8::/64 1 1795000400\n"
    );
    let mut back = Greylist::load(greylist_cfg(86400, 30 * 86400, 2), text.as_bytes(), T + 500, 100, 100).unwrap();
    assert_eq!(back.save(T + 500), text);
    // The loaded state behaves like the original.
    assert_eq!(
        back.check(&req("192.0.2.77", "", "postmaster@example.org"), T + 600),
        Answer::Pass(PassReason::Retried)
    );
    assert_eq!(
        back.check(&req("2001:db8::2", "\"ODD name\"@x.example", "b@example.org"), T + 600),
        Answer::Pass(PassReason::Known)
    );
    // Loaded after the retry window: unpassed triplets are gone.
    let later = Greylist::load(greylist_cfg(86400, 30 * 86400, 2), text.as_bytes(), T + 86400 + 100, 100, 100).unwrap();
    assert_eq!(later.triplets(), 1);
    assert_eq!(later.clients(), 1);
}

#[test]
fn greylist_corrupt_input() {
    let h = "unimail-greylist 1\n";
    let cases = [
        "t 192.0.2.0/24 1 2 0 a@b\n",
        "t 192.0.2.0/24 1 2 2 a@b c@d\n",
        "t 192.0.2.1/24 1 2 0 a@b c@d\n",
        "t 192.0.2.0/25 1 2 0 a@b c@d\n",
        "t 2001:db8::/48 1 2 0 a@b c@d\n",
        "t 192.0.2.0/24 x 2 0 a@b c@d\n",
        "t 192.0.2.0/24 1 2 0 a%2 c@d\n",
        "t 192.0.2.0/24 1 2 0 a@b %C3\n",
        "t 192.0.2.0/24 1 2 0  c@d\n",
        "c 192.0.2.0/24 99999999999 1\n",
        "c 192.0.2.0/24 1\n",
        "x 192.0.2.0/24 1 1\n",
    ];
    for body in cases {
        let input = format!("{h}{body}");
        let e = Greylist::load(greylist_cfg(86400, 30 * 86400, 2), input.as_bytes(), 0, 10, 10).unwrap_err();
        assert_eq!(e.line, 2, "{body:?}: {e}");
    }
    assert_eq!(
        Greylist::load(greylist_cfg(86400, 30 * 86400, 2), b"unimail-screen-cache 1\n", 0, 10, 10).unwrap_err().line,
        1
    );
    let long = format!("{h}t 192.0.2.0/24 1 1 0 {} c@d\n", "a".repeat(400));
    assert_eq!(
        Greylist::load(greylist_cfg(86400, 30 * 86400, 2), long.as_bytes(), 0, 10, 10).unwrap_err().reason,
        "address too long"
    );
}

/// The worst addresses a client can send (longest, every byte escaped)
/// still give a file that loads.
#[test]
fn greylist_worst_case_line_loads() {
    let mut g = Greylist::new(greylist_cfg(86400, 30 * 86400, 2), 10, 10);
    let nasty = " ".repeat(5000);
    let tabs = "\t%<>".repeat(2000);
    g.check(&req("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", &nasty, &tabs), T);
    let text = g.save(T);
    assert!(text.lines().nth(1).unwrap().len() > 1900);
    let mut back = Greylist::load(greylist_cfg(86400, 30 * 86400, 2), text.as_bytes(), T, 10, 10).unwrap();
    assert_eq!(back.save(T), text);
    assert_eq!(back.check(&req("2001:db8:ffff:ffff::1", &nasty, &tabs), T + 300), Answer::Pass(PassReason::Retried));
}

/// Every prefix and every single-byte corruption of a valid file loads or
/// fails cleanly: no panic.
#[test]
fn no_panic_on_mangled_files() {
    let mut g = Greylist::new(greylist_cfg(86400, 30 * 86400, 2), 100, 100);
    g.check(&req("192.0.2.1", "a b@x", "c@d"), T);
    g.check(&req("2001:db8::1", "", "c@d"), T);
    g.check(&req("2001:db8::1", "", "c@d"), T + 300);
    let gtext = g.save(T + 300).into_bytes();
    let mut c = PassCache::new(10);
    c.record_pass(ip("2001:db8::1"), Test::BareNewline, T, 100);
    c.record_pass(ip("192.0.2.1"), Test::Pregreet, T, 100);
    let ctext = c.save(T).into_bytes();
    for text in [&gtext, &ctext] {
        for n in 0..=text.len() {
            let _ = Greylist::load(greylist_cfg(86400, 30 * 86400, 2), &text[..n], T, 10, 10);
            let _ = PassCache::load(&text[..n], T, 10);
        }
        for i in 0..text.len() {
            for b in [0u8, b' ', b'%', b'=', b'/', b'\n', 0xff, b'9', b':'] {
                let mut m = text.clone();
                m[i] = b;
                let _ = Greylist::load(greylist_cfg(86400, 30 * 86400, 2), &m, T, 10, 10);
                let _ = PassCache::load(&m, T, 10);
            }
        }
    }
}

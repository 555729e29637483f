//! Inputs found by the cargo-fuzz targets in fuzz/ (saved under
//! fuzz/regressions/<target>/): each once made the crate panic.

use mail_authn::srs::Srs;

/// authn_records: "SRS0"-tag detection sliced a non-ASCII local part in
/// the middle of a UTF-8 character (an SMTPUTF8 RCPT such as `€€@x`).
#[test]
fn srs_non_ascii_local_parts_do_not_panic() {
    let srs = Srs::new("fwd.example", b"secret");
    for a in ["��", "€€@fwd.example", "ab€@fwd.example", "SRS€=x@fwd.example", "\u{e9}\u{e9}\u{e9}@x", "S€€@y"]
    {
        assert!(!Srs::is_srs(a), "{a}");
        assert!(srs.reverse(a, 1_700_000_000).is_err(), "{a}");
        let _ = srs.forward(a, 1_700_000_000);
    }
    // The tag itself is still found case-insensitively.
    assert!(Srs::is_srs("srs0=hhh=tt=example.org=alice@fwd.example"));
}

//! Inputs found by the cargo-fuzz targets in fuzz/ (saved under
//! fuzz/regressions/<target>/): each once made the crate panic.

use mail_config::{parse, HashLimits, PasswordHash};

/// config: a 60-byte `{BLF-CRYPT}` value with a multi-byte character was
/// sliced at fixed byte offsets inside that character.
#[test]
fn bcrypt_hash_with_non_ascii_is_an_error() {
    let good = "$2y$05$k6S6AS04RFU3Qsj43zfExeFttusf.zHOCWSsWy3mDydByKdJDYGSi";
    assert!(PasswordHash::parse(&format!("{{BLF-CRYPT}}{good}"), &HashLimits::default()).is_ok());
    // A character across the salt/hash split (bytes 28..30, and 27..30).
    for c in ["\u{e9}", "\u{20ac}"] {
        let start = 30 - c.len();
        let h = format!("{}{c}{}", &good[..start], &good[30..]);
        assert_eq!(h.len(), 60);
        assert!(PasswordHash::parse(&format!("{{BLF-CRYPT}}{h}"), &HashLimits::default()).is_err(), "{h}");
    }
    let text = "[server]\nhostname = mail.example.org\ndomains = example.org\n\n[user bob@example.org]\n\
                password = {BLF-CRYPT}$2y$05$k6S6AS04RFU3Qsj43zfEx\u{e9}Fttusf.zHOCWSsWy3mDydByKdJDYGSi\n";
    let errors = parse(text, &|_: &str| true).unwrap_err();
    assert!(errors.iter().any(|e| e.line == Some(6)), "{errors:?}");
}

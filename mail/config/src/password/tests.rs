//! Password vectors produced by independent tools (Debian 12 packages):
//! - `mkpasswd` from `whois` 5.5.17 (libxcrypt), commands shown per vector;
//! - `doveadm pw` from `dovecot-core` 2.3.19, `doveadm pw -s SCHEME -p PASSWORD`.
//!
//! The live cross-checks against those tools are in `tests/crosscheck.rs`.

use super::*;
use std::{format, vec};

fn big_limits() -> HashLimits {
    // doveadm's ARGON2ID default is m=65536 (64 MiB): allowed here on the host.
    HashLimits { argon2_max_memory_kib: 1 << 20, ..HashLimits::default() }
}

fn check(stored: &str, good: &[u8], scheme: Scheme) {
    let h = PasswordHash::parse(stored, &big_limits()).unwrap_or_else(|e| panic!("{stored}: {e}"));
    assert_eq!(h.scheme(), scheme);
    assert_eq!(h.verify(good), Verdict::Match, "{stored}");
    assert_eq!(h.verify(b"wrong"), Verdict::Mismatch, "{stored}");
    let mut longer = good.to_vec();
    longer.push(b'x');
    assert_eq!(h.verify(&longer), Verdict::Mismatch, "{stored}");
}

// `mkpasswd -m sha-512 -S saltsaltsalt1234 demo`
const MK_SHA512: &str =
    "$6$saltsaltsalt1234$CkUSZ4d2PqSbS9gP0mhZGsO5bjwKTAA7Gr3WufFOKRTKUwrPyTakQjpP2HOjVosoaRmRoPp3ccLZNtHjzoeqb0";
// `mkpasswd -m sha-512 -S Qw3rTyUi -R 10000 'correct horse'`
const MK_SHA512_ROUNDS: &str =
    "$6$rounds=10000$Qw3rTyUi$VBCxXrsJKFESoTrieE3OewuhRLXmWuyX31jrRkbmRxKiREFARXAZW2RdpMoKMxAk6bK.y0r3JKJR8xI1BC2wV1";
// `mkpasswd -m sha-256 -S abcdefgh 'pässwörd'` (UTF-8 bytes)
const MK_SHA256: &str = "$5$abcdefgh$vl6a2mAodUYEe3Mhai26AyjORet86eVRC5bBAu6c/n9";
// `mkpasswd -m bcrypt -R 5 -S abcdefghijklmnopqrstuu secret`
const MK_BCRYPT: &str = "$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a";
// `mkpasswd -m bcrypt -R 5 secret` (random salt)
const MK_BCRYPT2: &str = "$2b$05$5FGycGJeDB6XLp9lJlqUzudVN0wWCjWEFcIY4r6OIZpYECH./1mPW";

// `doveadm pw -s SCHEME -p 'tr0ub4dor&3'`
const DOVE_PW: &[u8] = b"tr0ub4dor&3";
const DOVE: &[(&str, Scheme)] = &[
    ("{SHA512-CRYPT}$6$xPK47vN00dmGEwp5$uiIg/ZCvp5nThorMq95ARk/KJ9K81nCjdvJWCu.vl9.d9N1fGfIPKBb8G3MYLN0MGwQT5I0o70HENGw3nHMv21", Scheme::Sha512Crypt),
    ("{SHA256-CRYPT}$5$CHoKypdVhBmVQYm6$0vWkVPd3MJTuug2xAtrDK/euCgWD1FKYQaQm8eFmk79", Scheme::Sha256Crypt),
    ("{BLF-CRYPT}$2y$05$k6S6AS04RFU3Qsj43zfExeFttusf.zHOCWSsWy3mDydByKdJDYGSi", Scheme::BlfCrypt),
    ("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$AGKuFyQCb2sYOMHnwdZmKw$+SlDGgy0zHF5zlCKLFIq5SVw99G5jLTfQRyqxcrhnBQ", Scheme::Argon2id),
    ("{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$BRT+Qkk9mFXlXUGlMeAwvA$TtzPDRwLGvEDMOGNdPY1nNpqVo0NZTk0ouVv34bpZDw", Scheme::Argon2i),
    ("{SSHA512}U+Xp83hOaDOYJFOZ4fPqejvpnrPV2mVIzlKJ+R9hDfn5pQ6qPDrjaLkmLJdAMwxbNcY+BIjYDH+VV3nAaG7mQF/8Vt8=", Scheme::Ssha512),
    ("{SSHA256}4/WVkPz60F71NvugUWsvrH7JXbq6OLH/ThTp5/OaicWv0VlE", Scheme::Ssha256),
    ("{SHA512}b4vBG/J7I+kFaFXLmboUWmluj7UK7MAhXsVLo4ODFKFYs1WetSIC+I9Ld+7BQYNxWxQFuVnSXuCanpCMDeZu3w==", Scheme::Sha512),
    ("{SHA256}iCoqP9tmWpGt57IaiJQ7ZsdNF48ILd8LKC1gT1HYveQ=", Scheme::Sha256),
];

#[test]
fn mkpasswd_vectors() {
    check(MK_SHA512, b"demo", Scheme::Sha512Crypt);
    check(&format!("{{CRYPT}}{MK_SHA512}"), b"demo", Scheme::Sha512Crypt);
    check(&format!("{{SHA512-CRYPT}}{MK_SHA512}"), b"demo", Scheme::Sha512Crypt);
    check(MK_SHA512_ROUNDS, b"correct horse", Scheme::Sha512Crypt);
    check(MK_SHA256, "pässwörd".as_bytes(), Scheme::Sha256Crypt);
    check(MK_BCRYPT, b"secret", Scheme::BlfCrypt);
    check(MK_BCRYPT2, b"secret", Scheme::BlfCrypt);
}

#[test]
fn doveadm_vectors() {
    for (stored, scheme) in DOVE {
        check(stored, DOVE_PW, *scheme);
    }
}

#[test]
fn scheme_names_are_case_insensitive() {
    let lower = DOVE[0].0.replace("{SHA512-CRYPT}", "{sha512-crypt}");
    check(&lower, DOVE_PW, Scheme::Sha512Crypt);
}

#[test]
fn plain_is_weak_and_works() {
    let h = PasswordHash::parse("{PLAIN}demo", &HashLimits::default()).unwrap();
    assert!(h.is_weak());
    assert_eq!(h.verify(b"demo"), Verdict::Match);
    assert_eq!(h.verify(b"dem"), Verdict::Mismatch);
    assert!(!PasswordHash::parse(MK_SHA512, &HashLimits::default()).unwrap().is_weak());
    // Debug never shows the secret.
    assert_eq!(format!("{h:?}"), "PasswordHash({PLAIN})");
}

#[test]
fn default_limits_refuse_doveadm_argon2_default_memory() {
    let e = PasswordHash::parse(DOVE[3].0, &HashLimits::default()).unwrap_err();
    assert!(matches!(e, HashError::TooCostly(_)), "{e:?}");
    let e = PasswordHash::parse("$2y$15$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a", &HashLimits::default())
        .unwrap_err();
    assert!(matches!(e, HashError::TooCostly(_)));
}

#[test]
fn malformed_hashes_are_errors() {
    let l = HashLimits::default();
    for bad in [
        "{NOPE}abc",
        "{SHA512-CRYPT",
        "plaintext-without-scheme",
        "$1$md5$unsupported",
        "{SHA512-CRYPT}$6$salt$short",
        "{SHA512-CRYPT}$6$rounds=x$salt$CkUSZ4d2PqSbS9gP0mhZGsO5bjwKTAA7Gr3WufFOKRTKUwrPyTakQjpP2HOjVosoaRmRoPp3ccLZNtHjzoeqb0",
        "{SHA512-CRYPT}$6$saltsaltsalt12345$CkUSZ4d2PqSbS9gP0mhZGsO5bjwKTAA7Gr3WufFOKRTKUwrPyTakQjpP2HOjVosoaRmRoPp3ccLZNtHjzoeqb0",
        "{BLF-CRYPT}$2y$05$tooshort",
        "{BLF-CRYPT}$2y$03$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a",
        "{ARGON2ID}$argon2id$v=19$m=1024,t=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        "{ARGON2ID}$argon2id$v=19$m=1024,t=1,p=1$!!$aGFzaGhhc2hoYXNo",
        "{ARGON2ID}$argon2id$v=7$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        "{SSHA512}not*base64",
        "{SSHA512}AAAA",
        "{SHA256}U+Xp83hOaDOYJFOZ4fPqejvpnrPV2mVIzlKJ+R9hDfn5pQ6qPDrjaLkmLJdAMwxbNcY+BIjYDH+VV3nAaG7mQF/8Vt8=",
    ] {
        assert!(PasswordHash::parse(bad, &l).is_err(), "accepted {bad}");
    }
}

#[test]
fn overlong_password_never_matches() {
    let long = vec![b'a'; MAX_PASSWORD_LEN + 1];
    let h =
        PasswordHash::parse(&format!("{{PLAIN}}{}", "a".repeat(MAX_PASSWORD_LEN + 1)), &HashLimits::default()).unwrap();
    assert_eq!(h.verify(&long), Verdict::Mismatch);
}

#[test]
fn hash_sha512_crypt_matches_mkpasswd() {
    let ours = hash_sha512_crypt(b"demo", "saltsaltsalt1234", None).unwrap();
    assert_eq!(ours, format!("{{SHA512-CRYPT}}{MK_SHA512}"));
    let ours = hash_sha512_crypt(b"correct horse", "Qw3rTyUi", Some(10000)).unwrap();
    assert_eq!(ours, format!("{{SHA512-CRYPT}}{MK_SHA512_ROUNDS}"));
    assert!(hash_sha512_crypt(b"x", "bad$salt", None).is_err());
    assert!(hash_sha512_crypt(b"x", "", None).is_err());
}

#[test]
fn hash_blf_crypt_matches_mkpasswd() {
    // The salt of MK_BCRYPT, decoded.
    let mut salt = [0u8; 16];
    decode_bcrypt64("abcdefghijklmnopqrstuu", &mut salt).unwrap();
    let ours = hash_blf_crypt(b"secret", &salt, 5).unwrap();
    assert_eq!(ours, format!("{{BLF-CRYPT}}{}", MK_BCRYPT.replace("$2b$", "$2y$")));
}

#[test]
fn hash_argon2id_roundtrip() {
    let cost = Argon2Cost { memory_kib: 64, passes: 1, lanes: 1 };
    let s = hash_argon2id(b"pw", b"0123456789abcdef", cost).unwrap();
    assert!(s.starts_with("{ARGON2ID}$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"), "{s}");
    assert_eq!(verify_password(&s, b"pw"), Ok(Verdict::Match));
    assert_eq!(verify_password(&s, b"pW"), Ok(Verdict::Mismatch));
    assert!(hash_argon2id(b"pw", b"short", cost).is_err());
}

#[test]
fn ssha512_roundtrip() {
    let s = hash_ssha512(b"pw", b"saltsalt");
    assert_eq!(verify_password(&s, b"pw"), Ok(Verdict::Match));
    assert_eq!(verify_password(&s, b"px"), Ok(Verdict::Mismatch));
}

//! Live cross-checks against independent implementations:
//! `mkpasswd` (Debian `whois`, libxcrypt) and `doveadm pw` (Dovecot).
//! Install them with `mail/config/tests/setup.sh`. Without them the tests
//! skip loudly, unless CI is set, where a missing tool is a failure.

use std::process::Command;

use mail_config::password::*;

fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{name} is missing under CI: run mail/config/tests/setup.sh");
        }
        eprintln!("\n!!! SKIPPING cross-check: `{name}` not installed (run mail/config/tests/setup.sh) !!!\n");
    }
    found
}

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_string())
}

const PASSWORDS: &[&str] = &[
    "demo",
    "correct horse battery staple",
    "pässwörd ✓",
    "a",
    "$pecial:chars#!{}",
    "x123456789012345678901234567890123456789012345678901234567890123456789012345678",
];

fn big() -> HashLimits {
    HashLimits { argon2_max_memory_kib: 1 << 20, ..HashLimits::default() }
}

fn assert_verifies(stored: &str, pw: &str) {
    let h = PasswordHash::parse(stored, &big()).unwrap_or_else(|e| panic!("{stored}: {e}"));
    assert_eq!(h.verify(pw.as_bytes()), Verdict::Match, "{stored} / {pw}");
    // Changed at the front: bcrypt ignores bytes past the 72nd.
    assert_eq!(h.verify(format!("!{pw}").as_bytes()), Verdict::Mismatch, "{stored}");
}

#[test]
fn mkpasswd_sha_crypt_and_bcrypt() {
    if !tool("mkpasswd") {
        return;
    }
    for (i, pw) in PASSWORDS.iter().enumerate() {
        let salt = format!("s{i}ltSALT/./x{i}");
        let (ok, h) = run("mkpasswd", &["-m", "sha-512", "-S", &salt, pw]);
        assert!(ok, "mkpasswd sha-512 failed for {pw}");
        assert_verifies(&h, pw);
        // Ours produces the same string from the same salt.
        assert_eq!(hash_sha512_crypt(pw.as_bytes(), &salt, None).unwrap(), format!("{{SHA512-CRYPT}}{h}"));
        let (ok, h) = run("mkpasswd", &["-m", "sha-512", "-R", "2000", "-S", &salt, pw]);
        assert!(ok);
        assert_eq!(hash_sha512_crypt(pw.as_bytes(), &salt, Some(2000)).unwrap(), format!("{{SHA512-CRYPT}}{h}"));
        let (ok, h) = run("mkpasswd", &["-m", "sha-256", "-S", &salt, pw]);
        assert!(ok);
        assert_verifies(&h, pw);
        let (ok, h) = run("mkpasswd", &["-m", "bcrypt", "-R", "5", pw]);
        assert!(ok);
        assert_verifies(&h, pw);
    }
}

#[test]
fn doveadm_generated_hashes_verify() {
    if !tool("doveadm") {
        return;
    }
    let schemes = [
        "SHA512-CRYPT",
        "SHA256-CRYPT",
        "BLF-CRYPT",
        "ARGON2ID",
        "ARGON2I",
        "SSHA512",
        "SSHA256",
        "SHA512",
        "SHA256",
        "PLAIN",
    ];
    for pw in &PASSWORDS[..3] {
        for s in schemes {
            let mut args = vec!["pw", "-s", s, "-p", pw];
            if s == "BLF-CRYPT" {
                args.extend(["-r", "5"]);
            }
            let (ok, h) = run("doveadm", &args);
            assert!(ok, "doveadm pw -s {s} failed");
            assert_verifies(&h, pw);
        }
    }
}

#[test]
fn our_hashes_verify_with_doveadm() {
    if !tool("doveadm") {
        return;
    }
    let pw = "tr0ub4dor&3 ü";
    let salt16 = *b"0123456789abcdef";
    let ours = [
        hash_sha512_crypt(pw.as_bytes(), "Zz9.a/bcDEF", None).unwrap(),
        hash_sha512_crypt(pw.as_bytes(), "Zz9.a/bcDEF", Some(3000)).unwrap(),
        hash_argon2id(pw.as_bytes(), &salt16, Argon2Cost { memory_kib: 4096, passes: 2, lanes: 1 }).unwrap(),
        hash_argon2id(pw.as_bytes(), &salt16, Argon2Cost::default()).unwrap(),
        hash_blf_crypt(pw.as_bytes(), &salt16, 5).unwrap(),
        hash_ssha512(pw.as_bytes(), b"saltsalt"),
    ];
    for h in ours {
        let (ok, out) = run("doveadm", &["pw", "-t", &h, "-p", pw]);
        assert!(ok && out.ends_with("(verified)"), "doveadm rejects our {h}: {out}");
        let (ok, _) = run("doveadm", &["pw", "-t", &h, "-p", "wrong"]);
        assert!(!ok, "doveadm accepts a wrong password for {h}");
    }
}

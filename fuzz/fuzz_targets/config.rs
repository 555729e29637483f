//! The configuration file parser (mail-config `parse`) on arbitrary text;
//! a config that parses is then used: recipients routed (aliases,
//! catch-alls, loops), submission senders checked. Also the value parsers
//! (sizes, durations, scores) and password hash parsing (verifying only
//! the cheap schemes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mail_config::{parse, parse_duration, parse_score, parse_size, HashLimits, PasswordHash};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let files = |p: &str| !p.contains("missing");
    match parse(&text, &files) {
        Ok(cfg) => {
            for rcpt in ["postmaster", "alice@example.org", "bob+x@example.org", "nobody@example.com", "a@b", "@"] {
                let _ = cfg.resolve(rcpt);
            }
            let _ = cfg.may_send_as("alice@example.org", "alice@example.org");
            let _ = cfg.may_send_as("alice@example.org", "x@example.net");
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors.iter().take(20) {
                let _ = e.to_string();
            }
        }
    }
    for line in text.lines().take(64) {
        let v = line.split_once('=').map_or(line, |(_, v)| v).trim();
        let _ = (parse_size(v), parse_duration(v), parse_score(v));
        let limits = HashLimits {
            argon2_max_memory_kib: 64,
            argon2_max_passes: 2,
            sha_crypt_max_rounds: 2000,
            bcrypt_max_cost: 5,
        };
        if let Ok(h) = PasswordHash::parse(v, &limits) {
            // Only the cheap schemes: crypt rounds would dominate the run.
            if h.is_weak() {
                let _ = h.verify(b"secret");
            }
        }
    }
});

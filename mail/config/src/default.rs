//! The embedded default configuration: a demo domain that boots with no
//! config disk. The kernel generates the self-signed certificate and the
//! DKIM key named `builtin:` here, and embeds the system Sieve script.

/// `unimail.conf` for the demo domain `example.test`.
///
/// The demo user's password is `demo`; the hash was made once with
/// `mkpasswd -m sha-512 demo` (Debian `whois` 5.5.17) and checked with
/// `doveadm pw -t` (Dovecot 2.3.19).
pub const DEFAULT_CONFIG: &str = r#"# unimail.conf - embedded demo configuration (used when no config disk is attached)
[server]
hostname = mail.example.test
domains = example.test
log_level = info

[user demo@example.test]
# password: demo  (mkpasswd -m sha-512 demo)
password = {SHA512-CRYPT}$6$.jPC2asei3dL5rPE$pmflEVzSXlQM9I0HXxVWw6BFnK7yPsyZRTjg71G1CH.kG/kCtBnTf4JLgk665dphVRC47YcpoqVndginLELlV.

[aliases]
postmaster@example.test = demo@example.test
abuse@example.test = demo@example.test

[tls]
cert = builtin:self-signed-cert
key = builtin:self-signed-key

[dkim example.test]
selector = demo
algorithm = ed25519-sha256
key = builtin:dkim-key

[sieve]
system_before = builtin:default-sieve

[screen]
# postscreen waits 6 s; the demo answers sooner. Clients that passed are
# remembered on the mail disk and skip the wait.
pregreet_wait = 2s

[access]
# The seed's allow list: Apple's mail servers retry badly after a pre-greet
# pause or a greylisting 450.
allow = 17.0.0.0/8

[greylist]
# Off so that the first message of a demo arrives at once; a real MX keeps
# it on (see CONFIG.md).
enabled = no
"#;

/// The seed system Sieve script (`builtin:default-sieve`): file mail the
/// filter marked as spam into Junk (RFC 5228 4.1 `fileinto`, RFC 5490 3
/// `:create` from the `mailbox` extension).
pub const DEFAULT_SYSTEM_SIEVE: &str = r#"require ["fileinto", "mailbox"];
if header :contains "X-Spam" "Yes" {
    fileinto :create "Junk";
    stop;
}
"#;

/// The demo password (documentation and tests).
pub const DEFAULT_DEMO_PASSWORD: &str = "demo";

/// Parse [`DEFAULT_CONFIG`]. It names only `builtin:` files, so no file
/// lookup is needed; its validity is a unit test.
pub fn default_config() -> crate::Config {
    match crate::parse(DEFAULT_CONFIG, &|_: &str| false) {
        Ok(c) => c,
        Err(_) => unreachable!("the embedded default config is tested to parse"),
    }
}

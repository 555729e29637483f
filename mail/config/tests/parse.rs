//! Parser tests: a complete good file, the embedded default, and one bad
//! file per error kind with `file:line` asserted.

use core::net::{IpAddr, Ipv4Addr};
use core::time::Duration;
use mail_config::*;

const EXISTING: &[&str] = &[
    "tls/mail.example.org.crt",
    "tls/mail.example.org.key",
    "tls/wild.crt",
    "tls/wild.key",
    "dkim/example.org.2026.key",
    "sieve/before.sieve",
    "srs/secret",
];

fn files(p: &str) -> bool {
    EXISTING.contains(&p)
}

const SHA512_DEMO: &str = "{SHA512-CRYPT}$6$.jPC2asei3dL5rPE$pmflEVzSXlQM9I0HXxVWw6BFnK7yPsyZRTjg71G1CH.kG/kCtBnTf4JLgk665dphVRC47YcpoqVndginLELlV.";

fn good_text() -> String {
    format!(
        r#"# A complete configuration
[server]
hostname = MAIL.example.org
domains = example.org, example.net
domains = Example.COM   # repeated list keys accumulate
log_level = debug

[addressing]
detail_separator = +-
case_sensitive_local_parts = no

[listeners]
smtp = on
submission = 2587
submissions = off
imap = no
imaps = yes
managesieve = off

[limits]
message_size = 50M
recipients = 200
line_length = 2000
connections = 300
connections_per_ip = 20
errors = 5
auth_failures = 2
smtp_idle_timeout = 10m
imap_idle_timeout = 1h
password_max_memory = 64M

[user alice@example.org]
password = {pw}
quota = 2G
send_as = alice@example.net, @example.com

[user Bob@Example.NET]
password = {{BLF-CRYPT}}$2y$05$k6S6AS04RFU3Qsj43zfExeFttusf.zHOCWSsWy3mDydByKdJDYGSi

[aliases]
postmaster@example.org = alice@example.org
team@example.org = alice@example.org bob@example.net, friend@elsewhere.example
@example.com = alice@example.org

[dnsbl]
sites = zen.spamhaus.org=127.0.0.[2..11]*3, bl.spamcop.net
sites = list.dnswl.org=127.0.[0..255].[1..3]*-2
threshold = 3
allowlist_threshold = -1

[access]
allow = 192.0.2.0/24, 2001:db8::/32
deny = 198.51.100.7 2001:db8:bad::/48

[greylist]
enabled = yes
delay = 2m
retry_window = 1d
expiry = 30d
auto_allow = 3

[filter]
add_header = 5.5
rewrite_subject = 8
soft_reject = 10
reject = 15
subject_prefix = ***SPAM***

[dkim example.org]
selector = 2026
algorithm = ed25519-sha256
key = dkim/example.org.2026.key

[tls]
cert = tls/mail.example.org.crt
key = tls/mail.example.org.key

[tls *.example.net]
cert = tls/wild.crt
key = tls/wild.key

[sieve]
system_before = sieve/before.sieve
max_script_size = 32K
max_scripts = 8
max_redirects = 2

[srs]
domain = example.org
secret = srs/secret
"#,
        pw = SHA512_DEMO
    )
}

#[test]
fn complete_good_file() {
    let c = parse(&good_text(), &files).unwrap_or_else(|e| panic!("{:#?}", e));
    assert_eq!(c.hostname, "mail.example.org");
    assert_eq!(c.domains, ["example.org", "example.net", "example.com"]);
    assert_eq!(c.log_level, LogLevel::Debug);
    assert_eq!(c.addressing.detail_separators, ['+', '-']);
    assert_eq!(
        c.listeners,
        Listeners {
            smtp: Some(25),
            submission: Some(2587),
            submissions: None,
            imap: None,
            imaps: Some(993),
            managesieve: None
        }
    );
    assert_eq!(c.limits.message_size, 50 << 20);
    assert_eq!(c.limits.recipients, 200);
    assert_eq!(c.limits.line_length, 2000);
    assert_eq!(c.limits.connections_per_ip, 20);
    assert_eq!(c.limits.smtp_idle_timeout, Duration::from_secs(600));
    assert_eq!(c.limits.imap_idle_timeout, Duration::from_secs(3600));
    assert_eq!(c.hash_limits.argon2_max_memory_kib, 65536);
    assert_eq!(c.users.len(), 2);
    assert_eq!(c.users[0].quota, Some(2 << 30));
    assert_eq!(c.users[1].address.domain(), "example.net");
    assert_eq!(c.users[0].send_as.len(), 2);
    assert_eq!(c.aliases.len(), 3);
    assert_eq!(c.aliases[1].targets.len(), 3);
    assert!(matches!(c.aliases[2].source, AliasSource::CatchAll(ref d) if d == "example.com"));
    assert_eq!(c.dnsbl.sites.len(), 3);
    assert_eq!(c.dnsbl.sites[2].weight, -2);
    assert_eq!(c.dnsbl.threshold, 3);
    assert_eq!(c.dnsbl.allowlist_threshold, Some(-1));
    assert_eq!(c.access.allow.len(), 2);
    assert!(c.access.deny.iter().any(|n| n.contains(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)))));
    assert!(c.access.deny[1].contains("2001:db8:bad:1::9".parse().unwrap()));
    assert_eq!(c.greylist.delay, Duration::from_secs(120));
    assert_eq!(c.greylist.auto_allow, 3);
    assert_eq!(c.filter.add_header, Some(Score(550)));
    assert_eq!(c.filter.reject, Some(Score(1500)));
    assert_eq!(c.filter.subject_prefix, "***SPAM***");
    assert_eq!(c.dkim.len(), 1);
    assert_eq!(c.dkim[0].algorithm, DkimAlgorithm::Ed25519Sha256);
    assert_eq!(c.dkim[0].key, FileRef::Path("dkim/example.org.2026.key".into()));
    assert_eq!(c.tls.sni.len(), 1);
    assert_eq!(c.tls.select(Some("imap.example.net")).unwrap().cert, FileRef::Path("tls/wild.crt".into()));
    assert_eq!(c.tls.select(Some("a.b.example.net")).unwrap().cert, FileRef::Path("tls/mail.example.org.crt".into()));
    assert_eq!(c.tls.select(None).unwrap().key, FileRef::Path("tls/mail.example.org.key".into()));
    assert_eq!(c.sieve.system_before, Some(FileRef::Path("sieve/before.sieve".into())));
    assert_eq!(c.sieve.max_script_size, 32 * 1024);
    assert_eq!(c.srs.as_ref().unwrap().domain, "example.org");
    // Passwords are usable straight from the model.
    assert_eq!(c.user("ALICE@example.org").unwrap().password.verify(b"demo"), Verdict::Match);
    assert_eq!(c.user("bob@example.net").unwrap().password.verify(b"tr0ub4dor&3"), Verdict::Match);
}

#[test]
fn minimal_file_gets_defaults() {
    let c = parse("[server]\nhostname = mx.example.org\ndomains = example.org\n", &files).unwrap();
    assert_eq!(c.listeners, Listeners::default());
    assert_eq!(c.limits, Limits::default());
    assert_eq!(c.greylist, Greylist::default());
    assert_eq!(c.filter, FilterThresholds::default());
    assert_eq!(c.tls.default, None);
    assert!(c.users.is_empty());
    assert_eq!(c.addressing.detail_separators, ['+']);
}

#[test]
fn embedded_default_config() {
    let c = default_config();
    assert_eq!(c.hostname, "mail.example.test");
    assert_eq!(c.domains, ["example.test"]);
    let demo = c.user("demo@example.test").unwrap();
    assert_eq!(demo.password.scheme(), Scheme::Sha512Crypt);
    assert_eq!(demo.password.verify(DEFAULT_DEMO_PASSWORD.as_bytes()), Verdict::Match);
    for a in ["postmaster@example.test", "abuse@example.test", "postmaster"] {
        assert_eq!(c.resolve(a).unwrap(), [Target::LocalUser { user: demo.address.clone(), folder: None }], "{a}");
    }
    assert_eq!(c.tls.default.as_ref().unwrap().cert, FileRef::Builtin(Builtin::SelfSignedCert));
    assert_eq!(c.dkim[0].key, FileRef::Builtin(Builtin::DkimKey));
    assert_eq!(c.dkim[0].selector, "demo");
    assert_eq!(c.sieve.system_before, Some(FileRef::Builtin(Builtin::DefaultSieve)));
    assert!(DEFAULT_SYSTEM_SIEVE.contains(r#"if header :contains "X-Spam" "Yes" {"#));
    assert!(DEFAULT_SYSTEM_SIEVE.contains(r#"fileinto :create "Junk";"#));
    // The file the image tool would write parses the same way.
    assert!(parse(DEFAULT_CONFIG, &|_: &str| true).is_ok());
}

/// Parse `text` (after a valid [server] header block when `with_server`) and
/// return the error strings.
fn errors(text: &str) -> Vec<String> {
    match parse(text, &files) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

const SERVER: &str = "[server]\nhostname = mail.example.org\ndomains = example.org\n";

fn with_server(rest: &str) -> String {
    format!("{SERVER}{rest}")
}

fn one(text: &str, expect: &str) {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].starts_with(expect), "got {:?}, want prefix {:?}", e[0], expect);
}

#[test]
fn error_syntax_and_sections() {
    one(&with_server("[bogus]\n"), "unimail.conf:4: unknown section [bogus]");
    one(&with_server("[limits]\n[limits]\n"), "unimail.conf:5: duplicate section [limits]");
    one(&with_server("[limits]\njunk\n"), "unimail.conf:5: syntax error");
    one(&with_server("[user]\n"), "unimail.conf:4: section [user]: needs an address");
    one(&with_server("[limits x]\n"), "unimail.conf:4: section [limits]: takes no argument");
    one(
        "x = 1\n[server]\nhostname = a.b\ndomains = b\n",
        "unimail.conf:1: syntax error: `key = value` before any [section]",
    );
    let e = errors("# empty\n");
    assert_eq!(
        e,
        [
            "unimail.conf: missing required key 'hostname' in [server]",
            "unimail.conf: missing required key 'domains' in [server]"
        ]
    );
    one("[server]\ndomains = example.org\n", "unimail.conf:1: missing required key 'hostname' in [server]");
}

#[test]
fn error_unknown_and_duplicate_keys() {
    one(&with_server("[limits]\nmesage_size = 10M\n"), "unimail.conf:5: unknown key 'mesage_size' in [limits]");
    one(&with_server("[limits]\nerrors = 3\nerrors = 4\n"), "unimail.conf:6: duplicate key 'errors'");
    one("[server]\nhostname = a.example\nhostname = b.example\ndomains = a.example\n", "unimail.conf:3: duplicate key");
}

#[test]
fn error_bad_values() {
    let cases = [
        ("[limits]\nmessage_size = lots\n", "unimail.conf:5: bad value 'lots' for 'message_size'"),
        ("[limits]\nrecipients = 0\n", "unimail.conf:5: bad value '0' for 'recipients'"),
        ("[limits]\nline_length = 999\n", "unimail.conf:5: bad value"),
        ("[limits]\nsmtp_idle_timeout = 5 minutes\n", "unimail.conf:5: bad value"),
        ("[listeners]\nsmtp = 70000\n", "unimail.conf:5: bad value '70000' for 'smtp'"),
        ("[greylist]\nenabled = maybe\n", "unimail.conf:5: bad value 'maybe' for 'enabled': expected yes or no"),
        ("[filter]\nreject = lots\n", "unimail.conf:5: bad value 'lots' for 'reject'"),
        ("[dnsbl]\nsites = zen.spamhaus.org*x\n", "unimail.conf:5: bad value 'zen.spamhaus.org*x' for 'sites'"),
        ("[dnsbl]\nthreshold = high\n", "unimail.conf:5: bad value"),
        ("[addressing]\ndetail_separator = @\n", "unimail.conf:5: bad value '@'"),
        (
            "[dkim example.org]\nselector = s1\nalgorithm = rsa-sha1\nkey = dkim/example.org.2026.key\n",
            "unimail.conf:6: bad value 'rsa-sha1'",
        ),
        ("[sieve]\nsystem_before = /etc/passwd\n", "unimail.conf:5: bad value '/etc/passwd'"),
        ("[sieve]\nsystem_before = ../x\n", "unimail.conf:5: bad value '../x'"),
        ("[sieve]\nsystem_before = builtin:dkim-key\n", "unimail.conf:5: bad value 'builtin:dkim-key'"),
        ("[server2]\n", "unimail.conf:4: unknown section"),
    ];
    for (text, expect) in cases {
        one(&with_server(text), expect);
    }
    one(
        "[server]\nhostname = mail.example.org\ndomains = example.org\nlog_level = loud\n",
        "unimail.conf:4: bad value 'loud' for 'log_level'",
    );
    one("[server]\nhostname = -bad-\ndomains = example.org\n", "unimail.conf:2: bad value '-bad-' for 'hostname'");
}

#[test]
fn error_bad_addresses() {
    one(
        &with_server(
            "[user not-an-address]\npassword = {SHA512_DEMO}\n".replace("{SHA512_DEMO}", SHA512_DEMO).as_str(),
        ),
        "unimail.conf:4: bad address 'not-an-address'",
    );
    one(
        &with_server("[aliases]\nteam@example.org = a..b@example.org\n"),
        "unimail.conf:5: bad address 'a..b@example.org'",
    );
    one(&with_server("[aliases]\nno-at = x@example.net\n"), "unimail.conf:5: bad address 'no-at'");
    one(
        "[server]\nhostname = mail.example.org\ndomains = example.org, bad_domain\n",
        "unimail.conf:3: bad address 'bad_domain'",
    );
    let u = format!("[user a@example.org]\npassword = {SHA512_DEMO}\nsend_as = x@@y\n");
    one(&with_server(&u), "unimail.conf:6: bad address 'x@@y'");
}

#[test]
fn error_bad_cidr() {
    one(&with_server("[access]\nallow = 192.0.2.1/24\n"), "unimail.conf:5: bad CIDR '192.0.2.1/24': host bits set");
    one(&with_server("[access]\ndeny = 2001:db8::/129\n"), "unimail.conf:5: bad CIDR '2001:db8::/129'");
    one(&with_server("[access]\ndeny = 10.0.0.0/8, nonsense\n"), "unimail.conf:5: bad CIDR 'nonsense'");
}

#[test]
fn error_users() {
    let u = format!("[user a@example.org]\npassword = {SHA512_DEMO}\n[user A@EXAMPLE.org]\npassword = {SHA512_DEMO}\n");
    one(&with_server(&u), "unimail.conf:6: duplicate user A@example.org");
    one(
        &with_server("[user a@example.org]\nquota = 1G\n"),
        "unimail.conf:4: missing required key 'password' in [user a@example.org]",
    );
    let u = format!("[user a@other.example]\npassword = {SHA512_DEMO}\n");
    one(&with_server(&u), "unimail.conf:4: 'a@other.example' is not in a local domain");
    one(&with_server("[user a@example.org]\npassword = {PLAIN}demo\n"), "unimail.conf:5: weak password scheme {PLAIN}");
    one(&with_server("[user a@example.org]\npassword = {MD5}abc\n"), "unimail.conf:5: unknown password scheme {MD5}");
    one(
        &with_server("[user a@example.org]\npassword = {SHA512-CRYPT}$6$x$y\n"),
        "unimail.conf:5: malformed password hash",
    );
    // doveadm's default ARGON2ID memory (64 MiB) is above the default limit.
    let argon =
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$AGKuFyQCb2sYOMHnwdZmKw$+SlDGgy0zHF5zlCKLFIq5SVw99G5jLTfQRyqxcrhnBQ";
    one(
        &with_server(&format!("[user a@example.org]\npassword = {argon}\n")),
        "unimail.conf:5: password hash too costly",
    );
    // ...and fine once the limit is raised.
    let ok = with_server(&format!("[limits]\npassword_max_memory = 64M\n[user a@example.org]\npassword = {argon}\n"));
    assert!(parse(&ok, &files).is_ok());
    // Weak hashes pass when explicitly allowed.
    let ok = "[server]\nhostname = m.example.org\ndomains = example.org\nallow_weak_passwords = yes\n[user a@example.org]\npassword = {PLAIN}demo\n";
    assert!(parse(ok, &files).is_ok());
}

#[test]
fn error_aliases() {
    let user = format!("[user a@example.org]\npassword = {SHA512_DEMO}\n");
    let t = |aliases: &str| with_server(&format!("{user}[aliases]\n{aliases}"));
    // line 4-5 user, 6 [aliases], 7+ entries
    one(
        &t("x@example.org = nobody@example.org\n"),
        "unimail.conf:7: alias 'x@example.org' points to unknown local user 'nobody@example.org'",
    );
    let e = errors(&t("x@example.org = y@example.org\ny@example.org = x@example.org\n"));
    assert_eq!(
        e,
        [
            "unimail.conf:7: alias loop: x@example.org -> y@example.org -> x@example.org",
            "unimail.conf:8: alias loop: y@example.org -> x@example.org -> y@example.org"
        ]
    );
    one(&t("x@example.org = x+self@example.org\n"), "unimail.conf:7: alias loop: x@example.org -> x@example.org");
    one(
        &t("x@example.org = a@example.org\nX@example.org = a@example.org\n"),
        "unimail.conf:8: duplicate alias 'X@example.org'",
    );
    one(&t("a@example.org = a@example.org\n"), "unimail.conf:7: alias 'a@example.org' has the same address as a user");
    one(&t("x@other.example = a@example.org\n"), "unimail.conf:7: 'x@other.example' is not in a local domain");
    one(&t("x@example.org =\n"), "unimail.conf:7: bad value '' for 'x@example.org'");
    one(&t("@example.org = ghost@example.org\n"), "unimail.conf:7: alias '@example.org' points to unknown local user");
    // Depth: a chain of 12 aliases.
    let mut chain = String::new();
    for i in 0..12 {
        chain.push_str(&format!("l{i}@example.org = l{}@example.org\n", i + 1));
    }
    chain.push_str("l12@example.org = a@example.org\n");
    let e = errors(&t(&chain));
    assert!(e[0].starts_with("unimail.conf:7: alias 'l0@example.org' expands deeper than 10 levels"), "{e:?}");
    // A chain within the limit is fine.
    assert!(parse(&t("l0@example.org = l1@example.org\nl1@example.org = a+x@example.org\n"), &files).is_ok());
}

#[test]
fn error_missing_files() {
    one(
        &with_server("[tls]\ncert = tls/none.crt\nkey = tls/mail.example.org.key\n"),
        "unimail.conf:5: missing file 'tls/none.crt' on the config disk",
    );
    one(
        &with_server("[dkim example.org]\nselector = s\nkey = dkim/nope.key\n"),
        "unimail.conf:6: missing file 'dkim/nope.key'",
    );
    one(&with_server("[sieve]\nsystem_before = sieve/none.sieve\n"), "unimail.conf:5: missing file 'sieve/none.sieve'");
    one(&with_server("[srs]\ndomain = example.org\nsecret = srs/none\n"), "unimail.conf:6: missing file 'srs/none'");
}

#[test]
fn error_missing_keys_and_conflicts() {
    one(
        &with_server("[tls]\ncert = tls/mail.example.org.crt\n"),
        "unimail.conf:4: missing required key 'key' in [tls]",
    );
    one(
        &with_server("[dkim example.org]\nkey = dkim/example.org.2026.key\n"),
        "unimail.conf:4: missing required key 'selector' in [dkim]",
    );
    one(&with_server("[srs]\nsecret = srs/secret\n"), "unimail.conf:4: missing required key 'domain' in [srs]");
    one(&with_server("[listeners]\nsmtp = 587\n"), "unimail.conf:5: smtp and submission both use port 587");
    one(
        &with_server("[filter]\nadd_header = 9\nreject = 8\n"),
        "unimail.conf:4: reject (8.00) is below add_header (9.00)",
    );
    one(
        &with_server("[greylist]\ndelay = 1h\nretry_window = 30m\n"),
        "unimail.conf:4: greylist delay must be shorter than retry_window",
    );
    one(
        &with_server("[limits]\nconnections = 5\nconnections_per_ip = 6\n"),
        "unimail.conf:6: connections_per_ip is larger than connections",
    );
    one(
        &with_server("[dnsbl]\nthreshold = 2\nallowlist_threshold = 2\n"),
        "unimail.conf:4: allowlist_threshold must be below threshold",
    );
    one(
        &with_server("[tls]\ncert = builtin:self-signed-cert\nkey = tls/mail.example.org.key\n"),
        "unimail.conf:5: builtin:self-signed-cert and builtin:self-signed-key go together",
    );
    let two = "[tls]\ncert = tls/wild.crt\nkey = tls/wild.key\n[tls]\ncert = tls/wild.crt\nkey = tls/wild.key\n";
    one(&with_server(two), "unimail.conf:7: duplicate section [tls]");
    let two = "[dkim example.org]\nselector = s\nkey = builtin:dkim-key\n[dkim EXAMPLE.org]\nselector = s\nkey = builtin:dkim-key\n";
    one(&with_server(two), "unimail.conf:7: duplicate section [dkim example.org selector s]");
}

#[test]
fn limits_on_size() {
    let long = format!("{SERVER}# {}\n", "x".repeat(MAX_LINE_LEN));
    one(&long, "unimail.conf:4: line longer than 4096 bytes");
    let huge = "#\n".repeat(MAX_FILE_LEN / 2 + 1);
    let e = errors(&huge);
    assert_eq!(e[0], format!("unimail.conf: file larger than {MAX_FILE_LEN} bytes"));
}

#[test]
fn all_problems_are_reported_in_line_order() {
    let text = "\
[server]
hostname = mail.example.org
domains = example.org
colour = blue
[limits]
recipients = none
[access]
allow = 192.0.2.300
[user x@example.org]
password = {PLAIN}x
[aliases]
y@example.org = ghost@example.org
[tls]
cert = tls/missing.crt
key = tls/missing.key
";
    let e = errors(text);
    let lines: Vec<_> = e.iter().map(|e| e.split(':').nth(1).unwrap().to_string()).collect();
    assert_eq!(lines, ["4", "6", "8", "10", "12", "14", "15"], "{e:#?}");
    // Error values carry the structured kind too.
    let errs = parse(text, &files).unwrap_err();
    assert!(matches!(errs[0].kind, ErrorKind::UnknownKey { .. }));
    assert!(matches!(errs[2].kind, ErrorKind::BadCidr { .. }));
    assert!(matches!(errs[4].kind, ErrorKind::AliasUnknownLocal { .. }));
    assert!(matches!(errs[5].kind, ErrorKind::MissingFile(_)));
}

#[test]
fn parse_named_uses_the_name() {
    let e = parse_named("disk:/unimail.conf", "[nope]\n", &files).unwrap_err();
    assert!(e.iter().any(|e| e.to_string() == "disk:/unimail.conf:1: unknown section [nope]"));
}

/// The ```ini block after `heading` in CONFIG.md.
fn doc_block(heading: &str) -> String {
    let doc = include_str!("../CONFIG.md");
    let after = &doc[doc.find(heading).expect("heading")..];
    let start = after.find("```ini\n").unwrap() + 7;
    let len = after[start..].find("```").unwrap();
    after[start..start + len].to_string()
}

#[test]
fn config_md_example_parses() {
    let text = doc_block("## An annotated example");
    let disk = [
        "dkim/example.org.2026r.pem",
        "dkim/example.org.2026e.pem",
        "tls/mx.example.org.crt",
        "tls/mx.example.org.key",
        "tls/mail.club.example.crt",
        "tls/mail.club.example.key",
        "sieve/before.sieve",
        "srs/secret",
    ];
    let c = parse(&text, &|p: &str| disk.contains(&p)).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(c.users.len(), 2);
    assert_eq!(c.dkim.len(), 2);
    assert_eq!(c.resolve("family@example.org").unwrap().len(), 3);
    assert_eq!(c.resolve("random@club.example").unwrap().len(), 1);
    assert!(c.may_send_as("alice@example.org", "treasurer@club.example"));
    // Without the files, each missing one is reported.
    let e = parse(&text, &|_: &str| false).unwrap_err();
    assert_eq!(e.iter().filter(|e| matches!(e.kind, ErrorKind::MissingFile(_))).count(), disk.len());
}

#[test]
fn config_md_shows_the_real_default() {
    let shown = doc_block("## The embedded default");
    let real: String = DEFAULT_CONFIG.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(shown, real);
    let doc = include_str!("../CONFIG.md");
    assert!(doc.contains(DEFAULT_SYSTEM_SIEVE));
}

#[test]
fn garbage_never_panics() {
    // Deterministic mutations of a good file: the parser must return, with
    // errors or a config, never panic.
    let base = good_text().into_bytes();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"[]=#@.,*+-/:{}$ \n\tx0129";
    for _ in 0..2000 {
        let mut t = base.clone();
        for _ in 0..(next() % 8 + 1) {
            let i = (next() as usize) % t.len();
            match next() % 3 {
                0 => t[i] = alphabet[(next() as usize) % alphabet.len()],
                1 => {
                    t.remove(i);
                }
                _ => t.insert(i, alphabet[(next() as usize) % alphabet.len()]),
            }
        }
        let text = String::from_utf8_lossy(&t);
        if let Ok(c) = parse(&text, &files) {
            for a in ["alice@example.org", "team+x@example.org", "x@example.com", "postmaster"] {
                let _ = c.resolve(a);
            }
        }
    }
}

#[test]
fn referenced_files_lists_disk_paths() {
    let c = parse(&good_text(), &files).unwrap();
    let mut want: Vec<&str> = EXISTING.to_vec();
    want.sort();
    let mut got = c.referenced_files();
    got.sort();
    assert_eq!(got, want);
    assert!(default_config().referenced_files().is_empty());
}

#[test]
fn queue_section() {
    let base = mail_config::DEFAULT_CONFIG;
    let c = parse(&format!("{base}\n[queue]\nretry_initial = 2s\nretry_max = 1m\ngive_up = 2h\n"), &files).unwrap();
    assert_eq!(c.queue.retry_initial, Duration::from_secs(2));
    assert_eq!(c.queue.retry_max, Duration::from_secs(60));
    assert_eq!(c.queue.give_up, Duration::from_secs(7200));
    assert_eq!(parse(base, &files).unwrap().queue, QueueSettings::default());
    let text = format!("{base}\n[queue]\nretry_initial = 2h\nretry_max = 1m\n");
    let errs = parse(&text, &files).unwrap_err();
    assert!(errs.iter().any(|e| e.to_string().contains("retry_initial must not exceed retry_max")), "{errs:?}");
    let text = format!("{base}\n[queue]\nretry_later = 1m\n");
    let errs = parse(&text, &files).unwrap_err();
    assert!(errs.iter().any(|e| e.to_string().contains("retry_later")), "{errs:?}");
}

#[test]
fn screen_antivirus_bayes_stats_sections() {
    let text = format!(
        "{}\n[screen]\nenabled = yes\npregreet_wait = 3s\ndnsbl_wait = 2s\npregreet_action = drop\n\
         dnsbl_action = ignore\npipelining_action = enforce\nnon_smtp_action = drop\nbare_newline_action = ignore\n\
         pass_ttl = 2d\ndnsbl_ttl = 30m\n\n[antivirus]\nsignatures = builtin:signatures\n\n\
         [bayes]\nmin_learned = 50\nautolearn_spam = 10.5\nautolearn_ham = off\n\n\
         [stats]\nlisten = 192.0.2.10:9100\nusers = alice@example.org\ndmarc_reports = postmaster@example.org\n",
        good_text()
    );
    let c = parse(&text, &files).unwrap_or_else(|e| panic!("{:#?}", e));
    assert_eq!(c.screen.pregreet_wait, Duration::from_secs(3));
    assert_eq!(c.screen.dnsbl_wait, Duration::from_secs(2));
    assert_eq!(c.screen.pregreet_action, ScreenAction::Drop);
    assert_eq!(c.screen.dnsbl_action, ScreenAction::Ignore);
    assert_eq!(c.screen.pass_ttl, Duration::from_secs(2 * 86400));
    assert_eq!(c.screen.dnsbl_ttl, Duration::from_secs(1800));
    assert_eq!(c.antivirus.signatures, [FileRef::Builtin(Builtin::Signatures)]);
    assert_eq!(c.bayes.min_learned, 50);
    assert_eq!(c.bayes.autolearn_spam, Some(Score(1050)));
    assert_eq!(c.bayes.autolearn_ham, None);
    assert_eq!(c.stats.listen, Some("192.0.2.10:9100".parse().unwrap()));
    assert_eq!(c.stats.users, ["alice@example.org"]);
    assert_eq!(c.stats.dmarc_reports.as_deref(), Some("postmaster@example.org"));
}

#[test]
fn screen_antivirus_bayes_stats_defaults() {
    let c = parse("[server]\nhostname = mx.example.org\ndomains = example.org\n", &files).unwrap();
    assert_eq!(c.screen, Screen::default());
    assert_eq!(c.screen.pregreet_wait, Duration::from_secs(6));
    assert_eq!(c.antivirus, Antivirus::default());
    assert_eq!(c.bayes, Bayes::default());
    assert_eq!(c.stats.listen, None);
}

#[test]
fn screen_antivirus_bayes_stats_errors() {
    one(
        &with_server("[screen]\npregreet_action = reject\n"),
        "unimail.conf:5: bad value 'reject' for 'pregreet_action': expected ignore, enforce or drop",
    );
    one(&with_server("[screen]\npregreet_wait = 2m\n"), "unimail.conf:5: bad value '2m' for 'pregreet_wait'");
    one(&with_server("[antivirus]\nsignatures = av/main.cvd\n"), "unimail.conf:5: missing file");
    one(
        &with_server("[antivirus]\nsignatures = builtin:eicar\n"),
        "unimail.conf:5: bad value 'builtin:eicar' for 'signatures'",
    );
    one(
        &with_server("[bayes]\nautolearn_spam = 1\nautolearn_ham = 2\n"),
        "unimail.conf:4: autolearn_ham (2.00) must be below autolearn_spam (1.00)",
    );
    let e = errors(&with_server("[stats]\nlisten = 192.0.2.10\nusers = x@example.org\n"));
    assert!(e[0].starts_with("unimail.conf:5: bad value '192.0.2.10' for 'listen'"), "{e:?}");
    assert!(
        e[1].starts_with("unimail.conf:6: bad value 'x@example.org' for 'users': expected logins of users"),
        "{e:?}"
    );
    one(
        &with_server("[stats]\nlisten = 192.0.2.10:9100\n"),
        "unimail.conf:4: [stats] listen needs users allowed to read it",
    );
    one(
        &with_server("[stats]\ndmarc_reports = nobody@elsewhere.example\n"),
        "unimail.conf:5: bad value 'nobody@elsewhere.example' for 'dmarc_reports'",
    );
}

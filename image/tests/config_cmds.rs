//! `unimail check`, `init` and `dns`, run as the operator runs them.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

const HASH: &str = "{SHA512-CRYPT}$6$.jPC2asei3dL5rPE$pmflEVzSXlQM9I0HXxVWw6BFnK7yPsyZRTjg71G1CH.kG/kCtBnTf4JLgk665dphVRC47YcpoqVndginLELlV.";

/// A minimal valid config body (5 lines) that callers extend.
fn base_conf() -> String {
    format!(
        "[server]\nhostname = mx.example.org\ndomains = example.org\n\n[user alice@example.org]\npassword = {HASH}\n"
    )
}

#[test]
fn check_accepts_builtin_config() {
    let d = tempdir("builtin");
    write(
        &d,
        "unimail.conf",
        format!("{}\n[tls]\ncert = builtin:self-signed-cert\nkey = builtin:self-signed-key\n", base_conf()).as_bytes(),
    );
    let o = unimail(&["check", d.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("ok: 1 users, 1 domains"), "{}", out(&o));
}

#[test]
fn check_reports_parser_errors_with_lines() {
    let d = tempdir("broken");
    let conf = format!(
        "{}\n[limits]\nmesage_size = 25M\n\n[aliases]\nteam@example.org = bbo@example.org\n\n[tls]\ncert = tls/missing.crt\nkey = tls/missing.key\n",
        base_conf()
    );
    write(&d, "unimail.conf", conf.as_bytes());
    let o = unimail(&["check", d.to_str().unwrap()], None);
    let s = out(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(s.contains("unimail.conf:9: unknown key 'mesage_size' in [limits]"), "{s}");
    assert!(
        s.contains("unimail.conf:12: alias 'team@example.org' points to unknown local user 'bbo@example.org'"),
        "{s}"
    );
    assert!(s.contains("unimail.conf:15: missing file 'tls/missing.crt' on the config disk"), "{s}");
    assert!(!s.contains("ok:"), "{s}");
}

#[test]
fn check_missing_dir_fails() {
    let o = unimail(&["check", "/nonexistent/unimail-config"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("unimail.conf: cannot read"), "{}", out(&o));
}

/// A self-signed certificate (PEM) for `names`, valid over `[from, to]`
/// (years), and its key.
fn cert(names: &[&str], from: i32, to: i32) -> (String, String) {
    let mut p = rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.not_before = rcgen::date_time_ymd(from, 1, 1);
    p.not_after = rcgen::date_time_ymd(to, 1, 1);
    let k = rcgen::KeyPair::generate().unwrap();
    let c = p.self_signed(&k).unwrap();
    (c.pem(), k.serialize_pem())
}

fn tls_conf(d: &Path, extra: &str) -> String {
    let _ = d;
    format!("{}\n[tls]\ncert = tls/c.crt\nkey = tls/c.key\n{extra}", base_conf())
}

#[test]
fn check_reads_certificates_and_keys() {
    // Good pair: no error (a self-signed warning only).
    let d = tempdir("tls-ok");
    let (c, k) = cert(&["mx.example.org"], 2020, 2090);
    write(&d, "tls/c.crt", c.as_bytes());
    write(&d, "tls/c.key", k.as_bytes());
    write(&d, "unimail.conf", tls_conf(&d, "").as_bytes());
    let o = unimail(&["check", d.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("unimail.conf:9: warning: certificate 'tls/c.crt' is self-signed"), "{}", out(&o));

    // Key of another certificate, wrong name, expired, garbage.
    let d = tempdir("tls-bad");
    let (c1, _) = cert(&["other.example.org"], 2001, 2002);
    let (_, k2) = cert(&["mx.example.org"], 2020, 2090);
    let (c3, k3) = cert(&["*.example.org"], 2020, 2090);
    write(&d, "tls/c.crt", c1.as_bytes());
    write(&d, "tls/c.key", k2.as_bytes());
    write(&d, "tls/w.crt", c3.as_bytes());
    write(&d, "tls/w.key", k3.as_bytes());
    write(&d, "tls/g.crt", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    write(&d, "tls/g.key", b"not a key");
    let extra = "\n[tls imap.example.org]\ncert = tls/w.crt\nkey = tls/w.key\n\n[tls *.example.net]\ncert = tls/w.crt\nkey = tls/w.key\n\n[tls smtp.example.org]\ncert = tls/g.crt\nkey = tls/g.key\n";
    write(&d, "unimail.conf", tls_conf(&d, extra).as_bytes());
    let o = unimail(&["check", d.to_str().unwrap()], None);
    let s = out(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(s.contains("unimail.conf:9: certificate 'tls/c.crt' expired on 2002-01-01"), "{s}");
    assert!(
        s.contains(
            "unimail.conf:9: certificate 'tls/c.crt' does not name mx.example.org (it names: other.example.org)"
        ),
        "{s}"
    );
    assert!(s.contains("unimail.conf:10: key 'tls/c.key' does not match certificate 'tls/c.crt'"), "{s}");
    assert!(!s.contains("does not name imap.example.org"), "{s}");
    assert!(s.contains("certificate 'tls/w.crt' does not name *.example.net"), "{s}");
    assert!(s.contains("unimail.conf:21: certificate 'tls/g.crt'"), "{s}");
}

#[test]
fn check_reads_dkim_keys() {
    use rsa::pkcs8::EncodePrivateKey;
    let d = tempdir("dkim");
    let small = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 768).unwrap();
    write(&d, "dkim/small.pem", small.to_pkcs8_pem(Default::default()).unwrap().as_bytes());
    let ed = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    write(&d, "dkim/ed.pem", ed.to_pkcs8_pem(Default::default()).unwrap().as_bytes());
    write(&d, "dkim/junk.pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    let conf = format!(
        "{}\n[dkim example.org]\nselector = a\nkey = dkim/small.pem\n\n[dkim example.org]\nselector = b\nalgorithm = rsa-sha256\nkey = dkim/ed.pem\n\n[dkim example.org]\nselector = c\nkey = dkim/junk.pem\n\n[dkim example.org]\nselector = e\nalgorithm = ed25519-sha256\nkey = dkim/ed.pem\n",
        base_conf()
    );
    write(&d, "unimail.conf", conf.as_bytes());
    let o = unimail(&["check", d.to_str().unwrap()], None);
    let s = out(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(
        s.contains("unimail.conf:10: DKIM key 'dkim/small.pem' has 768 bits; RFC 8301 requires at least 1024"),
        "{s}"
    );
    assert!(s.contains("unimail.conf:15: DKIM key 'dkim/ed.pem' is Ed25519 but the section says rsa-sha256"), "{s}");
    assert!(s.contains("unimail.conf:19: DKIM key 'dkim/junk.pem' is not an RSA"), "{s}");
    assert_eq!(s.matches("dkim/ed.pem").count(), 1, "{s}");
}

fn conf_value(d: &Path, key: &str) -> String {
    let conf = std::fs::read_to_string(d.join("unimail.conf")).unwrap();
    conf.lines().find_map(|l| l.strip_prefix(&format!("{key} = "))).unwrap().to_string()
}

#[test]
fn init_then_check_is_clean() {
    let d = init("init", &["--user", "alice"], "correct horse\n");
    for f in ["unimail.conf", "srs/secret", "sieve/before.sieve", "tls/mx.example.org.crt", "tls/mx.example.org.key"] {
        assert!(d.join(f).is_file(), "{f}");
    }
    let o = unimail(&["check", d.to_str().unwrap()], None);
    let s = out(&o);
    assert!(o.status.success(), "{s}");
    assert!(s.contains("ok: 1 users, 1 domains, 2 aliases, 2 DKIM keys, 1 certificates"), "{s}");
    // Only the self-signed notice: no other warning.
    assert_eq!(s.matches("warning:").count(), 1, "{s}");
    let hash = conf_value(&d, "password");
    assert!(hash.starts_with("{SHA512-CRYPT}$6$"), "{hash}");
    assert_eq!(mail_config::verify_password(&hash, b"correct horse"), Ok(mail_config::Verdict::Match));
    assert_eq!(mail_config::verify_password(&hash, b"correct horse\n"), Ok(mail_config::Verdict::Mismatch));
    assert!(std::fs::read_to_string(d.join("sieve/before.sieve")).unwrap().contains("fileinto :create \"Junk\""));
    let sel = conf_value(&d, "selector");
    assert!(sel.len() == 8 && sel.starts_with("s20") && sel.ends_with('r'), "{sel}");
}

#[test]
fn init_argon2id_user_postmaster() {
    let d = init("argon", &["--user", "postmaster", "--scheme", "argon2id"], "pw");
    let hash = conf_value(&d, "password");
    assert!(hash.starts_with("{ARGON2ID}$argon2id$v=19$m=16384,"), "{hash}");
    assert_eq!(mail_config::verify_password(&hash, b"pw"), Ok(mail_config::Verdict::Match));
    let o = unimail(&["check", d.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", out(&o));
    // postmaster is the user itself, so only abuse is an alias.
    assert!(out(&o).contains("1 aliases"), "{}", out(&o));
}

#[test]
fn init_refuses_to_overwrite_and_argv_passwords() {
    let d = init("again", &[], "pw1\n");
    let before = std::fs::read(d.join("unimail.conf")).unwrap();
    let args = ["init", "--domain", "example.org", "--hostname", "mx.example.org", "--out", d.to_str().unwrap()];
    let o = unimail(&args, Some("pw2\n"));
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("not overwriting"), "{}", out(&o));
    assert_eq!(std::fs::read(d.join("unimail.conf")).unwrap(), before);

    let e = tempdir("argv").join("c");
    let mut a = args.to_vec();
    a[6] = e.to_str().unwrap();
    a.extend(["--password", "secret"]);
    let o = unimail(&a, Some("pw\n"));
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("--password is not accepted"), "{}", out(&o));
    assert!(!e.exists());
    // An empty password is refused too.
    a.truncate(7);
    let o = unimail(&a, Some(""));
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
}

fn tag<'a>(v: &'a str, t: &str) -> &'a str {
    v.split(';')
        .find_map(|kv| kv.trim().strip_prefix(t).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {t}= in {v}"))
}

#[test]
fn dns_prints_the_records() {
    use base64ct::Encoding;
    use sha2::Digest;
    let d = init("dns", &["--user", "alice"], "pw\n");
    let o = unimail(
        &["dns", d.to_str().unwrap(), "--ip4", "192.0.2.10", "--ip6", "2001:db8::10", "--ip4", "198.51.100.7"],
        None,
    );
    assert!(o.status.success(), "{}", out(&o));
    let z = String::from_utf8(o.stdout).unwrap();
    let spf = "\"v=spf1 ip4:192.0.2.10 ip4:198.51.100.7 ip6:2001:db8::10 -all\"";
    assert_eq!(records(&z, "example.org.", "MX"), ["10 mx.example.org."]);
    assert_eq!(records(&z, "example.org.", "TXT"), [spf]);
    assert_eq!(records(&z, "mx.example.org.", "TXT"), [spf]);
    assert_eq!(records(&z, "mx.example.org.", "A"), ["192.0.2.10", "198.51.100.7"]);
    assert_eq!(records(&z, "mx.example.org.", "AAAA"), ["2001:db8::10"]);
    assert!(z.contains(";   10.2.0.192.in-addr.arpa. 3600 IN PTR mx.example.org."), "{z}");
    assert!(
        z.contains(
            ";   0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 3600 IN PTR mx.example.org."
        ),
        "{z}"
    );
    assert_eq!(records(&z, "_dmarc.example.org.", "TXT"), ["\"v=DMARC1; p=none; rua=mailto:postmaster@example.org\""]);
    assert_eq!(records(&z, "_smtp._tls.example.org.", "TXT"), ["\"v=TLSRPTv1; rua=mailto:postmaster@example.org\""]);
    let sts = txt_value(records(&z, "_mta-sts.example.org.", "TXT")[0]);
    assert!(sts.starts_with("v=STSv1; id=") && tag(&sts, "id").chars().all(|c| c.is_ascii_alphanumeric()), "{sts}");
    assert!(z.contains(";   mode: testing") && z.contains(";   mx: mx.example.org"), "{z}");
    // Thunderbird autoconfig: well-formed XML naming implicit-TLS ports.
    let xml: String = z
        .lines()
        .filter_map(|l| l.strip_prefix(";   "))
        .filter(|l| l.starts_with('<') || l.starts_with(' '))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(xml.contains("<port>993</port>") && xml.contains("<port>465</port>"), "{xml}");
    if have_tool("python3", "python3", &["-c", ""]) {
        let o = Command::new("python3")
            .args(["-c", "import sys, xml.dom.minidom as m; m.parseString(sys.argv[1])", &xml])
            .output()
            .unwrap();
        assert!(o.status.success(), "autoconfig XML: {}\n{xml}", out(&o));
    }
    assert_eq!(records(&z, "_submissions._tcp.example.org.", "SRV"), ["0 1 465 mx.example.org."]);
    assert_eq!(records(&z, "_submission._tcp.example.org.", "SRV"), ["10 1 587 mx.example.org."]);
    assert_eq!(records(&z, "_imaps._tcp.example.org.", "SRV"), ["0 1 993 mx.example.org."]);
    assert_eq!(records(&z, "_imap._tcp.example.org.", "SRV"), ["10 1 143 mx.example.org."]);

    // TLSA 3 1 1: SHA-256 of the certificate's SubjectPublicKeyInfo.
    use rustls_pki_types::pem::PemObject;
    let crt = rustls_pki_types::CertificateDer::from_pem_file(d.join("tls/mx.example.org.crt")).unwrap();
    let (_, c) = x509_parser::parse_x509_certificate(&crt).unwrap();
    let want: String = sha2::Sha256::digest(c.public_key().raw).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(records(&z, "_25._tcp.mx.example.org.", "TLSA"), [format!("3 1 1 {want}")]);

    // DKIM: one record per selector, p= decodes to the key's public half.
    let sel = |suffix: char| {
        let conf = std::fs::read_to_string(d.join("unimail.conf")).unwrap();
        conf.lines().filter_map(|l| l.strip_prefix("selector = ")).find(|s| s.ends_with(suffix)).unwrap().to_string()
    };
    let (sr, se) = (sel('r'), sel('e'));
    let rsa_txt = txt_value(records(&z, &format!("{sr}._domainkey.example.org."), "TXT")[0]);
    assert!(rsa_txt.len() > 255, "an RSA-2048 record needs several strings");
    assert_eq!((tag(&rsa_txt, "v"), tag(&rsa_txt, "k")), ("DKIM1", "rsa"));
    let der = base64ct::Base64::decode_vec(tag(&rsa_txt, "p")).unwrap();
    use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
    use rsa::traits::PublicKeyParts;
    let pubkey = rsa::RsaPublicKey::from_public_key_der(&der).unwrap();
    assert_eq!(pubkey.n().bits(), 2048);
    let rsa_pem = std::fs::read_to_string(d.join(format!("dkim/example.org.{sr}.pem"))).unwrap();
    assert_eq!(rsa::RsaPrivateKey::from_pkcs8_pem(&rsa_pem).unwrap().to_public_key(), pubkey);
    let ed_txt = txt_value(records(&z, &format!("{se}._domainkey.example.org."), "TXT")[0]);
    assert_eq!(tag(&ed_txt, "k"), "ed25519");
    let ed_pem = std::fs::read_to_string(d.join(format!("dkim/example.org.{se}.pem"))).unwrap();
    let ed = ed25519_dalek::SigningKey::from_pkcs8_pem(&ed_pem).unwrap();
    assert_eq!(base64ct::Base64::decode_vec(tag(&ed_txt, "p")).unwrap(), ed.verifying_key().as_bytes());

    // dkimpy signs with each key and verifies against the printed record.
    let ed_seed = base64ct::Base64::encode_string(ed.as_bytes());
    dkimpy_roundtrip(&rsa_pem, &sr, "rsa-sha256", &rsa_txt);
    dkimpy_roundtrip(&ed_seed, &se, "ed25519-sha256", &ed_txt);
}

/// Sign a message with dkimpy using `key` and verify it with dkimpy, the
/// DNS answer for the selector being `record`.
fn dkimpy_roundtrip(key: &str, selector: &str, alg: &str, record: &str) {
    let have = Command::new("python3").args(["-c", "import dkim"]).status().map(|s| s.success()).unwrap_or(false);
    if !have {
        assert!(std::env::var_os("CI").is_none(), "dkimpy missing under CI (run image/tests/setup.sh)");
        eprintln!(
            "\n*** SKIPPING the dkimpy check: python3 with dkimpy not found (image/tests/setup.sh installs it) ***\n"
        );
        return;
    }
    let script = r#"
import sys, dkim
key, sel, alg, rec = (a.encode() for a in sys.argv[1:5])
msg = b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: hi\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\n\r\nhello\r\n"
sig = dkim.sign(msg, sel, b"example.org", key, signature_algorithm=alg, include_headers=[b"from", b"to", b"subject"])
def dns(name, timeout=5):
    assert name == sel + b"._domainkey.example.org.", name
    return rec
ok = dkim.verify(sig + msg, dnsfunc=dns)
print("verified" if ok else "FAILED")
sys.exit(0 if ok else 1)
"#;
    let o = Command::new("python3").args(["-c", script, key, selector, alg, record]).output().unwrap();
    assert!(o.status.success(), "dkimpy {alg}: {}", out(&o));
}

#[test]
fn dns_refuses_a_broken_config() {
    let d = tempdir("dns-broken");
    write(&d, "unimail.conf", b"[server]\nhostname = mx.example.org\n");
    let o = unimail(&["dns", d.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("unimail.conf"), "{}", out(&o));
    let d = init("dns-args", &[], "pw\n");
    let o = unimail(&["dns", d.to_str().unwrap(), "--ip4", "2001:db8::1"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("not an IPv4 address"), "{}", out(&o));
    // Without addresses: SPF falls back to `mx`.
    let o = unimail(&["dns", d.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", out(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("example.org. 3600 IN TXT \"v=spf1 mx -all\""));
}

/// pyspf evaluates the printed SPF records from the printed zone.
const PYSPF: &str = r#"
import sys, spf
recs = {}
for line in open(sys.argv[1]).read().splitlines():
    parts = line.split(' ', 4)
    if line.startswith(';') or len(parts) != 5 or not parts[1].isdigit():
        continue
    name, ttl, cls, t, rdata = parts
    if t == 'TXT':
        data = [p.encode() for i, p in enumerate(rdata.split('"')) if i % 2 == 1]
    elif t == 'MX':
        pref, host = rdata.split()
        data = (int(pref), host.rstrip('.'))
    else:
        data = rdata
    recs.setdefault((name.rstrip('.').lower(), t), []).append(data)
def lookup(name, qtype, *a, **k):
    return [((name, qtype), d) for d in recs.get((name.rstrip('.').lower(), qtype), [])]
spf.DNSLookup = lookup
bad = 0
for arg in sys.argv[2:]:
    ip, want = arg.split('=')
    mail = spf.check2(i=ip, s='alice@example.org', h='mx.example.org')[0]
    helo = spf.check2(i=ip, s='postmaster@mx.example.org', h='mx.example.org')[0]
    print(ip, mail, helo)
    bad += mail != want or helo != want
sys.exit(bad)
"#;

#[test]
fn dns_output_passes_named_checkzone_and_pyspf() {
    let d = init("zone", &[], "pw\n");
    let o = unimail(&["dns", d.to_str().unwrap(), "--ip4", "192.0.2.10", "--ip6", "2001:db8::10"], None);
    assert!(o.status.success(), "{}", out(&o));
    let zone = format!(
        "$TTL 3600\nexample.org. IN SOA ns.example.org. hostmaster.example.org. 1 7200 3600 1209600 3600\nexample.org. IN NS ns.example.org.\nns.example.org. IN A 192.0.2.53\n{}",
        String::from_utf8(o.stdout).unwrap()
    );
    let f = d.parent().unwrap().join("example.org.zone");
    std::fs::write(&f, zone).unwrap();
    if have_tool("named-checkzone (bind9-utils)", "named-checkzone", &["-v"]) {
        let o = Command::new("named-checkzone")
            .args(["-i", "full", "-k", "fail", "-m", "fail", "-M", "fail", "-n", "fail", "-S", "fail", "example.org"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(o.status.success(), "named-checkzone: {}", out(&o));
    }
    if have_tool("pyspf", "python3", &["-c", "import spf"]) {
        let o = Command::new("python3")
            .args(["-c", PYSPF])
            .arg(&f)
            .args(["192.0.2.10=pass", "2001:db8::10=pass", "192.0.2.11=fail", "2001:db8::11=fail"])
            .output()
            .unwrap();
        assert!(o.status.success(), "pyspf: {}", out(&o));
    }
}

/// tests/check-corpus: one broken config per problem class the parser sees
/// (`NAME.conf`), and `check`'s exact output for it (`NAME.expected`):
/// unknown keys, bad addresses and CIDRs, missing key/certificate files,
/// alias loops, users without a hash, weak hashes. Certificate contents
/// (expired, wrong name, key mismatch) are in `check_reads_certificates_and_keys`.
#[test]
fn check_broken_config_corpus() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check-corpus");
    let mut cases = 0;
    for e in std::fs::read_dir(&corpus).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("conf") {
            continue;
        }
        let name = p.file_stem().unwrap().to_str().unwrap().to_string();
        let expected = std::fs::read_to_string(p.with_extension("expected")).unwrap();
        let d = tempdir(&name);
        std::fs::copy(&p, d.join("unimail.conf")).unwrap();
        let o = unimail(&["check", d.to_str().unwrap()], None);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", out(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout), expected, "{name}");
        let n = expected.lines().count();
        assert!(out(&o).contains(&format!("{n} error")), "{name}: {}", out(&o));
        cases += 1;
    }
    assert!(cases >= 7, "corpus has {cases} cases");
}

/// A CA and a leaf it signed for `names`: (chain PEM leaf first, leaf key PEM).
fn ca_chain(names: &[&str]) -> (String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "Test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    leaf.distinguished_name.push(rcgen::DnType::CommonName, names[0]);
    let leaf = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    (format!("{}{}", leaf.pem(), ca_cert.pem()), key.serialize_pem())
}

#[test]
fn init_with_a_provided_chain() {
    let t = tempdir("chain");
    let (chain, key) = ca_chain(&["mx.example.org"]);
    write(&t, "in/chain.pem", chain.as_bytes());
    write(&t, "in/key.pem", key.as_bytes());
    let (c, k) = (t.join("in/chain.pem"), t.join("in/key.pem"));
    let d = init("chain-ok", &["--cert", c.to_str().unwrap(), "--key", k.to_str().unwrap()], "pw\n");
    assert_eq!(std::fs::read_to_string(d.join("tls/mx.example.org.crt")).unwrap(), chain);
    let o = unimail(&["check", d.to_str().unwrap()], None);
    let s = out(&o);
    assert!(o.status.success(), "{s}");
    // CA-issued: no self-signed warning, and MTA-STS can enforce.
    assert!(!s.contains("warning"), "{s}");
    let o = unimail(&["dns", d.to_str().unwrap(), "--ip4", "192.0.2.10"], None);
    assert!(String::from_utf8_lossy(&o.stdout).contains(";   mode: enforce"), "{}", out(&o));

    // A chain for another name: written, but init fails with check's message.
    let (chain, key) = ca_chain(&["other.example.org"]);
    write(&t, "in/other.pem", chain.as_bytes());
    write(&t, "in/other.key", key.as_bytes());
    let e = tempdir("chain-bad").join("conf");
    let args = ["init", "--domain", "example.org", "--hostname", "mx.example.org", "--out", e.to_str().unwrap()];
    let mut a = args.to_vec();
    let (oc, ok) = (t.join("in/other.pem"), t.join("in/other.key"));
    a.extend(["--cert", oc.to_str().unwrap(), "--key", ok.to_str().unwrap()]);
    let o = unimail(&a, Some("pw\n"));
    let s = out(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(
        s.contains("certificate 'tls/mx.example.org.crt' does not name mx.example.org (it names: other.example.org)"),
        "{s}"
    );
    let mut a = args.to_vec();
    a.extend(["--cert", oc.to_str().unwrap()]);
    let o = unimail(&a, Some("pw\n"));
    assert!(out(&o).contains("--cert and --key go together"), "{}", out(&o));
}

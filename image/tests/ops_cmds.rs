//! `unimail dns --verify`, `dkim rotate` and `dmarc-report`, against real
//! peers: dnsmasq serves the records, dkimpy verifies signatures, Python's
//! gzip and zipfile make the report containers.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// dnsmasq on 127.0.0.1 and a free port, killed on drop.
struct Dnsmasq {
    child: Child,
    port: u16,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have_dnsmasq() -> bool {
    have_tool("dnsmasq (dnsmasq-base)", "dnsmasq", &["--version"])
}

/// Start dnsmasq answering only from `records` (dnsmasq options), for the
/// zones in `local` (NXDOMAIN for other names there, nothing forwarded).
fn dnsmasq(local: &[&str], records: &[String]) -> Dnsmasq {
    for _attempt in 0..5 {
        let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut c = Command::new("dnsmasq");
        c.args(["-k", "-C", "/dev/null", "--pid-file=", "--no-resolv", "--no-hosts", "--bind-interfaces"]);
        c.args(["--listen-address=127.0.0.1", &format!("--port={port}"), "--log-facility=-"]);
        for z in local {
            c.arg(format!("--local=/{z}/"));
        }
        c.args(records).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("run dnsmasq");
        // Ready when its TCP listener accepts (or gone when the port was taken).
        for _ in 0..100 {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Dnsmasq { child, port };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let o = child.wait_with_output().unwrap();
        eprintln!("dnsmasq did not start on {port}: {}", String::from_utf8_lossy(&o.stderr));
    }
    panic!("dnsmasq would not start");
}

/// The dnsmasq options publishing `zone`'s record lines; `edit` may drop
/// (None) or change each `(name, type, rdata)`.
fn publish(zone: &str, edit: impl Fn(&str, &str, &str) -> Option<String>) -> Vec<String> {
    let mut v = Vec::new();
    for l in zone.lines().filter(|l| !l.starts_with(';') && !l.is_empty()) {
        let f: Vec<&str> = l.splitn(5, ' ').collect();
        let (name, t) = (f[0].trim_end_matches('.'), f[3]);
        let Some(rdata) = edit(f[0], t, f[4]) else { continue };
        let r: Vec<&str> = rdata.split(' ').collect();
        v.push(match t {
            "A" | "AAAA" => format!("--host-record={name},{rdata}"),
            "MX" => format!("--mx-host={name},{},{}", r[1].trim_end_matches('.'), r[0]),
            // dnsmasq: commas separate the character-strings.
            "TXT" => format!("--txt-record={name},{}", txt_value_parts(&rdata).join(",")),
            "SRV" => format!("--srv-host={name},{},{},{},{}", r[3].trim_end_matches('.'), r[2], r[0], r[1]),
            "TLSA" => format!(
                "--dns-rr={name},52,{:02x}{:02x}{:02x}{}",
                r[0].parse::<u8>().unwrap(),
                r[1].parse::<u8>().unwrap(),
                r[2].parse::<u8>().unwrap(),
                r[3]
            ),
            _ => panic!("{l}"),
        });
    }
    v
}

fn txt_value_parts(rdata: &str) -> Vec<String> {
    rdata.split('"').enumerate().filter(|(i, _)| i % 2 == 1).map(|(_, s)| s.to_string()).collect()
}

fn zone_of(d: &Path) -> String {
    let o = unimail(&["dns", d.to_str().unwrap(), "--ip4", "192.0.2.10", "--ip6", "2001:db8::10"], None);
    assert!(o.status.success(), "{}", out(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn selector(d: &Path, suffix: char) -> String {
    let conf = std::fs::read_to_string(d.join("unimail.conf")).unwrap();
    conf.lines().filter_map(|l| l.strip_prefix("selector = ")).find(|s| s.ends_with(suffix)).unwrap().to_string()
}

#[test]
fn dns_verify_against_dnsmasq() {
    if !have_dnsmasq() {
        return;
    }
    let d = init("verify", &[], "pw\n");
    let zone = zone_of(&d);
    let (sr, se) = (selector(&d, 'r'), selector(&d, 'e'));
    // A selector retired earlier whose record is still published.
    write(&d, "dkim/example.org.s202401r.pem.retired", b"");

    // Everything published as printed: all ok, exit 0.
    let ns = dnsmasq(&["example.org"], &publish(&zone, |_, _, r| Some(r.to_string())));
    let server = format!("127.0.0.1:{}", ns.port);
    let args =
        ["dns", d.to_str().unwrap(), "--ip4", "192.0.2.10", "--ip6", "2001:db8::10", "--verify", "--server", &server];
    let o = unimail(&args, None);
    let s = out(&o);
    assert!(o.status.success(), "{s}");
    assert!(s.contains("16 ok, 0 missing, 0 different, 0 stale"), "{s}");
    // dnsmasq's --host-record also answers the PTR.
    assert!(s.contains("ok        10.2.0.192.in-addr.arpa. PTR mx.example.org.  (advice)"), "{s}");
    drop(ns);

    // A partially correct zone.
    let mut recs = publish(&zone, |name, t, r| match (name, t) {
        ("mx.example.org.", "AAAA") => None,
        ("example.org.", "TXT") => Some("\"v=spf1 ip4:192.0.2.99 -all\"".into()),
        (n, "TXT") if n.starts_with(&format!("{se}.")) => None,
        ("_imaps._tcp.example.org.", "SRV") => Some("0 1 993 imap.example.org.".into()),
        _ => Some(r.to_string()),
    });
    recs.push("--txt-record=example.org,google-site-verification=abc".into());
    recs.push("--txt-record=s202401r._domainkey.example.org,v=DKIM1; k=ed25519; p=OLDKEY".into());
    let ns = dnsmasq(&["example.org"], &recs);
    let server = format!("127.0.0.1:{}", ns.port);
    let args =
        ["dns", d.to_str().unwrap(), "--ip4", "192.0.2.10", "--ip6", "2001:db8::10", "--verify", "--server", &server];
    let o = unimail(&args, None);
    let s = out(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    for want in [
        "ok        mx.example.org. A 192.0.2.10\n".to_string(),
        "missing   mx.example.org. AAAA 2001:db8::10\n".into(),
        "ok        example.org. MX 10 mx.example.org.\n".into(),
        "different example.org. TXT\n    want: \"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all\"\n    have: \"v=spf1 ip4:192.0.2.99 -all\"\n".into(),
        format!("ok        {sr}._domainkey.example.org. TXT \"v=DKIM1; k=rsa; p="),
        format!("missing   {se}._domainkey.example.org. TXT \"v=DKIM1; k=ed25519; p="),
        "ok        _dmarc.example.org. TXT \"v=DMARC1; p=none; rua=mailto:postmaster@example.org\"\n".into(),
        "different _imaps._tcp.example.org. SRV\n    want: 0 1 993 mx.example.org.\n    have: 0 1 993 imap.example.org.\n".into(),
        "ok        _25._tcp.mx.example.org. TLSA 3 1 1 ".into(),
        "stale     s202401r._domainkey.example.org. TXT \"v=DKIM1; k=ed25519; p=OLDKEY\"  (retired selector: delete this record)\n".into(),
        "12 ok, 2 missing, 2 different, 1 stale".into(),
        "advice    0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR mx.example.org.  (the address owner sets it; now: ".into(),
    ] {
        assert!(s.contains(&want), "want {want:?} in\n{s}");
    }
    // The site-verification TXT beside SPF is not a difference.
    assert!(!s.contains("google-site-verification"), "{s}");

    // Bad arguments and an unreachable server.
    let o = unimail(&["dns", d.to_str().unwrap(), "--verify"], None);
    assert!(out(&o).contains("--verify needs --server"), "{}", out(&o));
}

/// dkimpy verifies `signed` (a message signed by `unimail dkim-sign`, i.e.
/// mail-authn), the DNS answers coming from `zone` (`unimail dns` output).
const DKIMPY_VERIFY: &str = r#"
import sys, dkim
zone = {}
for line in open(sys.argv[1]).read().splitlines():
    f = line.split(' ', 4)
    if line.startswith(';') or len(f) != 5 or f[3] != 'TXT':
        continue
    zone[f[0].lower().encode()] = b''.join(p.encode() for i, p in enumerate(f[4].split('"')) if i % 2 == 1)
def dns(name, timeout=5):
    return zone.get(name.lower())
msg = open(sys.argv[2], 'rb').read()
d = dkim.DKIM(msg)
ok = d.verify(dnsfunc=dns)
print('verified' if ok else 'FAILED', d.domain, d.selector)
sys.exit(0 if ok else 1)
"#;

fn dkimpy_verifies(dir: &Path, zone: &str, key: &str, sel: &str) {
    let zf = dir.join("zone.txt");
    std::fs::write(&zf, zone).unwrap();
    let msg = dir.join("msg.eml");
    std::fs::write(&msg, b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: rotation\r\nDate: Sun, 22 Nov 2026 09:00:00 +0000\r\nMessage-ID: <r1@example.org>\r\n\r\nsigned by the image's signer\r\n").unwrap();
    let o = unimail(
        &["dkim-sign", "--key", key, "--domain", "example.org", "--selector", sel, msg.to_str().unwrap()],
        None,
    );
    assert!(o.status.success(), "{}", out(&o));
    let signed = dir.join(format!("signed-{sel}.eml"));
    std::fs::write(&signed, &o.stdout).unwrap();
    let o = Command::new("python3").args(["-c", DKIMPY_VERIFY]).arg(&zf).arg(&signed).output().unwrap();
    assert!(o.status.success(), "dkimpy {sel}: {}", out(&o));
}

#[test]
fn dkim_rotate_adds_then_retires() {
    let d = init("rotate", &[], "pw\n");
    let (old_r, old_e) = (selector(&d, 'r'), selector(&d, 'e'));
    let dir = d.to_str().unwrap();
    let o = unimail(&["dkim", "rotate", dir], None);
    let s = out(&o);
    assert!(o.status.success(), "{s}");
    let conf = std::fs::read_to_string(d.join("unimail.conf")).unwrap();
    let sels: Vec<&str> = conf.lines().filter_map(|l| l.strip_prefix("selector = ")).collect();
    assert_eq!(sels.len(), 4, "{conf}");
    let (new_r, new_e) = (sels[2].to_string(), sels[3].to_string());
    assert!(new_r.len() == 10 && new_r.starts_with("s20") && new_r.ends_with('r'), "{new_r}");
    // The records to add are printed, one per new selector.
    assert_eq!(records(&s, &format!("{new_r}._domainkey.example.org."), "TXT").len(), 1, "{s}");
    assert_eq!(records(&s, &format!("{new_e}._domainkey.example.org."), "TXT").len(), 1, "{s}");
    assert!(records(&s, &format!("{old_r}._domainkey.example.org."), "TXT").is_empty(), "{s}");
    // check is clean with four keys; dns prints all four.
    let o = unimail(&["check", dir], None);
    assert!(o.status.success() && out(&o).contains("4 DKIM keys"), "{}", out(&o));
    let zone = zone_of(&d);
    for sel in [&old_r, &old_e, &new_r, &new_e] {
        assert_eq!(records(&zone, &format!("{sel}._domainkey.example.org."), "TXT").len(), 1, "{sel}");
    }
    // Old and new selectors both sign (mail-authn) and verify (dkimpy).
    if have_tool("dkimpy", "python3", &["-c", "import dkim, nacl"]) {
        let t = tempdir("rotate-sign");
        for sel in [&old_r, &old_e, &new_r, &new_e] {
            let key = d.join(format!("dkim/example.org.{sel}.pem"));
            dkimpy_verifies(&t, &zone, key.to_str().unwrap(), sel);
        }
    }
    // Twice the same day is refused.
    let o = unimail(&["dkim", "rotate", dir], None);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("rotate at most once a day"), "{}", out(&o));

    // Retire the old pair: gone from the config, keys kept as .retired,
    // records to delete printed.
    let o = unimail(&["dkim", "rotate", dir, "--retire", &old_r, "--retire", &old_e], None);
    let s = out(&o);
    assert!(o.status.success(), "{s}");
    assert!(s.contains("Records to delete"), "{s}");
    assert_eq!(records(&s, &format!("{old_r}._domainkey.example.org."), "TXT").len(), 1, "{s}");
    assert_eq!(records(&s, &format!("{old_e}._domainkey.example.org."), "TXT").len(), 1, "{s}");
    for sel in [&old_r, &old_e] {
        assert!(!d.join(format!("dkim/example.org.{sel}.pem")).exists());
        assert!(d.join(format!("dkim/example.org.{sel}.pem.retired")).exists());
    }
    let conf = std::fs::read_to_string(d.join("unimail.conf")).unwrap();
    assert!(!conf.contains(&old_r) && !conf.contains(&old_e), "{conf}");
    let o = unimail(&["check", dir], None);
    assert!(o.status.success() && out(&o).contains("2 DKIM keys"), "{}", out(&o));
    let zone = zone_of(&d);
    assert!(records(&zone, &format!("{old_r}._domainkey.example.org."), "TXT").is_empty());
    // The last selectors of a domain cannot be retired; unknown ones neither.
    let o = unimail(&["dkim", "rotate", dir, "--retire", &new_r, "--retire", &new_e], None);
    assert!(out(&o).contains("without a DKIM key"), "{}", out(&o));
    let o = unimail(&["dkim", "rotate", dir, "--retire", "nope"], None);
    assert!(out(&o).contains("no [dkim] section has selector nope"), "{}", out(&o));
    assert_eq!(std::fs::read_to_string(d.join("unimail.conf")).unwrap(), conf);
}

fn reports_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mail/dmarcreport/tests/reports")
}

/// gzip and zip made by Python's own implementations.
fn python_containers(t: &Path) -> Option<(PathBuf, PathBuf)> {
    if !have_tool("python3", "python3", &["-c", "import gzip, zipfile"]) {
        return None;
    }
    let (gz, zip) = (t.join("google.com!example.org!1795219200!1795305599.xml.gz"), t.join("yahoo.zip"));
    let script = "import sys, gzip, zipfile, shutil
src, gz, zp, yahoo = sys.argv[1:5]
with open(src, 'rb') as f, gzip.open(gz, 'wb') as g: shutil.copyfileobj(f, g)
with zipfile.ZipFile(zp, 'w', zipfile.ZIP_DEFLATED) as z: z.write(yahoo, 'yahoo.com!example.org!1795219200!1795305599.xml')";
    let r = reports_dir();
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(r.join("google.xml"))
        .arg(&gz)
        .arg(&zip)
        .arg(r.join("yahoo.xml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o));
    Some((gz, zip))
}

#[test]
fn dmarc_report_files() {
    let t = tempdir("dmarc");
    let Some((gz, zip)) = python_containers(&t) else { return };
    let outlook = reports_dir().join("outlook.xml");
    let o = unimail(&["dmarc-report", gz.to_str().unwrap(), zip.to_str().unwrap(), outlook.to_str().unwrap()], None);
    let s = out(&o);
    assert!(o.status.success(), "{s}");
    assert!(s.contains("3 reports"), "{s}");
    assert!(s.contains("aligned-pass: 20 messages from 3 sources"), "{s}");
    assert!(s.contains("forwarded: 7 messages from 3 sources"), "{s}");
    assert!(s.contains("spoofing: 11 messages from 3 sources"), "{s}");
    // The Yahoo-style forwarding relay fails SPF and DKIM yet is grouped as forwarded.
    let relay = s.lines().find(|l| l.contains("198.51.100.25")).unwrap_or_else(|| panic!("{s}"));
    let forwarded = s.find("forwarded:").unwrap();
    assert!(
        s.find("198.51.100.25").unwrap() > forwarded && s.find("198.51.100.25").unwrap() < s.find("spoofing:").unwrap()
    );
    assert!(
        relay.contains("dkim example.org=fail; spf example.org=fail; own DKIM signature broken in transit"),
        "{relay}"
    );

    // JSON parses (Python's json) and carries the totals.
    let o = unimail(&["dmarc-report", gz.to_str().unwrap(), "--json"], None);
    assert!(o.status.success(), "{}", out(&o));
    let check = "import sys, json; j = json.loads(sys.stdin.read()); t = j['totals']; assert (t['aligned-pass'], t['forwarded'], t['spoofing']) == (15, 4, 7), t; assert j['reports'][0]['org'] == 'google.com'";
    let mut c =
        Command::new("python3").args(["-c", check]).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    c.stdin.take().unwrap().write_all(&o.stdout).unwrap();
    let r = c.wait_with_output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));

    // Malformed XML, a truncated gzip, a missing file: each named, exit 1,
    // the good input still summarised, no panic.
    let bad_gz = t.join("cut.xml.gz");
    let g = std::fs::read(&gz).unwrap();
    std::fs::write(&bad_gz, &g[..g.len() / 2]).unwrap();
    let malformed = reports_dir().join("malformed.xml");
    let o = unimail(
        &[
            "dmarc-report",
            malformed.to_str().unwrap(),
            bad_gz.to_str().unwrap(),
            "/nonexistent.xml",
            outlook.to_str().unwrap(),
        ],
        None,
    );
    let s = out(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(s.contains("malformed.xml: XML error at line 8, column 1: end tag does not match the start tag"), "{s}");
    assert!(s.contains("cut.xml.gz: gzip: "), "{s}");
    assert!(s.contains("/nonexistent.xml: No such file"), "{s}");
    assert!(s.contains("1 report\n") && s.contains("Enterprise Outlook"), "{s}");
    assert!(!s.contains("panicked"), "{s}");
}

fn b64(data: &[u8]) -> String {
    use base64ct::Encoding;
    let s = base64ct::Base64::encode_string(data);
    s.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\r\n")
}

fn report_message(from: &str, ct: &str, name: &str, body: &[u8]) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: postmaster@example.org\r\nSubject: Report Domain: example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nDMARC aggregate report.\r\n--b1\r\nContent-Type: {ct}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        b64(body)
    )
    .into_bytes()
}

#[test]
fn dmarc_report_from_a_mail_disk() {
    use disk::{Ext2, FileDevice, Maildir};
    let t = tempdir("dmarc-disk");
    let Some((gz, zip)) = python_containers(&t) else { return };
    let img = t.join("mail.img");
    let o = unimail(&["mail-disk", "--out", img.to_str().unwrap(), "--size-mib", "16", "--block-size", "1024"], None);
    assert!(o.status.success(), "{}", out(&o));
    {
        let mut fs = Ext2::mount(FileDevice::open(&img).unwrap()).unwrap();
        let now = 1_795_400_000;
        for p in ["/mail", "/mail/example.org"] {
            let _ = fs.mkdir(p, now);
        }
        let mut md = Maildir::new("/mail", "test", 1, Default::default());
        let user = "example.org/postmaster";
        md.create_user(&mut fs, user, 1, now).unwrap();
        md.create_folder(&mut fs, user, "Reports", 2, now).unwrap();
        let g = report_message(
            "noreply-dmarc-support@google.com",
            "application/gzip",
            "google.xml.gz",
            &std::fs::read(&gz).unwrap(),
        );
        let y = report_message("dmarchelp@yahooinc.com", "application/zip", "yahoo.zip", &std::fs::read(&zip).unwrap());
        md.deliver(&mut fs, user, "Reports", &g, now).unwrap();
        md.deliver(&mut fs, user, "Reports", &y, now).unwrap();
        md.deliver(&mut fs, user, "Reports", b"From: a@example.net\r\nSubject: hello\r\n\r\nnot a report\r\n", now)
            .unwrap();
        md.deliver(&mut fs, user, "INBOX", &g, now).unwrap();
        fs.flush().unwrap();
    }
    let mut args = vec![
        "dmarc-report".to_string(),
        "--maildir".into(),
        img.to_str().unwrap().into(),
        "--user".into(),
        "postmaster@example.org".into(),
        "--folder".into(),
        "Reports".into(),
    ];
    let ns = if have_dnsmasq() {
        let ns = dnsmasq(
            &["in-addr.arpa"],
            &[
                "--ptr-record=66.113.0.203.in-addr.arpa,mail.spoofer.example".to_string(),
                "--ptr-record=25.100.51.198.in-addr.arpa,relay.alumni.example".into(),
            ],
        );
        args.extend(["--resolver".into(), format!("127.0.0.1:{}", ns.port)]);
        Some(ns)
    } else {
        None
    };
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = unimail(&a, None);
    let s = out(&o);
    assert!(o.status.success(), "{s}");
    assert!(s.contains("2 reports"), "{s}");
    assert!(s.contains("(1 messages in the folder carried no report)"), "{s}");
    assert!(s.contains("forwarded: 6 messages from 2 sources"), "{s}");
    if ns.is_some() {
        let line = |ip: &str| s.lines().find(|l| l.contains(ip)).unwrap_or("").to_string();
        assert!(line("203.0.113.66").ends_with("; reverse mail.spoofer.example"), "{s}");
        assert!(line("198.51.100.25").ends_with("; reverse relay.alumni.example"), "{s}");
        assert!(line("203.0.113.99").ends_with("; reverse (no PTR)"), "{s}");
        assert!(!line("192.0.2.10").contains("reverse"), "only failing sources are looked up: {s}");
    }
    // INBOX by default; an unknown user is an error naming the mailbox.
    let o = unimail(&["dmarc-report", "--maildir", img.to_str().unwrap(), "--user", "postmaster@example.org"], None);
    assert!(o.status.success() && out(&o).contains("1 report\n"), "{}", out(&o));
    let o = unimail(&["dmarc-report", "--maildir", img.to_str().unwrap(), "--user", "nobody@example.org"], None);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("no folder /mail/example.org/nobody/Maildir"), "{}", out(&o));
}

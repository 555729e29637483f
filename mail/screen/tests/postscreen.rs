//! Differential test against a real postscreen (Postfix 3.7 from Debian):
//! the same clients, with the same DNSBL/DNSWL listings served by dnsmasq,
//! connect to postscreen (in a private network and mount namespace, see
//! tests/postscreen/run.sh) and go through our [`Screen`]; the verdicts
//! must agree: pass, pre-greet drop, or a DNSBL drop naming the same list.
//! A second run plays scripted sessions to postscreen's after-220 tests
//! (its own SMTP engine, which does not offer PIPELINING) and to our
//! [`mail_screen::ProtocolObserver`] (`without_pipelining`): the RCPT TO
//! answer (450 passed / 550 enforced) or the drop must agree.
//!
//! Needs root (unshare), postfix, dnsmasq and python3 (tests/setup.sh).
//! postscreen waits 5 s for its lists (an answer later than that counts
//! as not listed there); on a badly overloaded machine that can show as a
//! disagreement with the log naming the client.
//! Known difference kept out of the scenario: an entry without a reply
//! filter counts every A record in postscreen, but not 127.0.0.1 or
//! addresses outside 127/8 here (RFC 5782 2.1, 5; mail-config's rule).

mod common;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use common::*;
use mail_config::DnsblSite;
use mail_screen::{query_name, Action, DnsAnswer, Load, PassCache, Policy, ProtocolObserver, Screen, Verdict};

const SITES: &[&str] = &[
    "zen.spamhaus.org*3",
    "zen.spamhaus.org=127.0.0.[10;11]*1",
    "bl.spamcop.net*2",
    "b.barracudacentral.org=127.0.0.2*2",
    "list.dnswl.org=127.0.[0..255].[1..3]*-2",
];

/// Replies each zone may give (several at once sometimes).
const REPLIES: &[(&str, &[&str])] = &[
    ("zen.spamhaus.org", &["127.0.0.2", "127.0.0.4", "127.0.0.10", "127.0.0.11"]),
    ("bl.spamcop.net", &["127.0.0.2"]),
    ("b.barracudacentral.org", &["127.0.0.2", "127.0.0.3"]),
    ("list.dnswl.org", &["127.0.5.0", "127.0.5.1", "127.0.9.3"]),
];

fn tools_missing() -> Option<String> {
    for p in ["/usr/sbin/postfix", "/usr/lib/postfix/sbin/postscreen", "/usr/sbin/dnsmasq", "/usr/bin/unshare"] {
        if !Path::new(p).exists() {
            return Some(format!("{p} not found"));
        }
    }
    let ok = Command::new("unshare").args(["--mount", "--net", "true"]).status().is_ok_and(|s| s.success());
    (!ok).then(|| "unshare --mount --net failed (not root?)".to_string())
}

/// Whether to skip (tools missing, not under CI); under CI a missing tool
/// fails.
fn skip() -> bool {
    let Some(why) = tools_missing() else { return false };
    if std::env::var_os("CI").is_some() {
        panic!("postscreen differential test needs its tools under CI: {why} (run mail/screen/tests/setup.sh as root)");
    }
    eprintln!("\n*** SKIPPED: {why}; run mail/screen/tests/setup.sh as root ***\n");
    true
}

struct Client {
    addr: IpAddr,
    pregreet: bool,
    listed: Vec<(&'static str, Vec<&'static str>)>,
}

fn policy() -> Policy {
    let mut p = Policy::default();
    p.screen.hostname = "mx.example.org".into();
    p.screen.greet_wait_ms = 2000;
    p.screen.pregreet_action = Action::Drop;
    p.screen.dnsbl_action = Action::Drop;
    p.dnsbl.sites = SITES.iter().map(|s| DnsblSite::parse(s).unwrap()).collect();
    p.dnsbl.threshold = 3;
    p.dnsbl.allowlist_threshold = Some(-1);
    p
}

fn scenario() -> Vec<Client> {
    let mut x: u64 = 0xd1b5_4a32_d192_ed03;
    let mut rnd = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let mut clients = Vec::new();
    for i in 0..40 {
        let addr: IpAddr = if i % 5 == 4 {
            format!("2001:db8::{:x}", i + 1).parse().unwrap()
        } else {
            ip(&format!("127.0.2.{}", i + 1))
        };
        let mut listed = Vec::new();
        for (zone, replies) in REPLIES {
            if rnd(3) == 0 {
                let mut r: Vec<&str> = vec![replies[rnd(replies.len())]];
                if rnd(4) == 0 {
                    let extra = replies[rnd(replies.len())];
                    if !r.contains(&extra) {
                        r.push(extra);
                    }
                }
                listed.push((*zone, r));
            }
        }
        clients.push(Client { addr, pregreet: rnd(8) == 0, listed });
    }
    clients
}

/// Our verdict for one client, as postscreen's client script reports it.
fn ours(p: &Policy, c: &Client) -> (String, Vec<String>) {
    let t0 = 1_795_000_000_000;
    let mut s = Screen::connect(p, &PassCache::default(), c.addr, t0, Load::default());
    if c.pregreet {
        s.feed(p, b"EHLO early.example\r\n", t0 + 1);
    }
    for q in s.queries().to_vec() {
        let a = match c.listed.iter().find(|(z, _)| *z == q.zone) {
            Some((_, r)) => DnsAnswer::Listed(r.iter().map(|x| a(x)).collect()),
            None => DnsAnswer::NotListed,
        };
        s.answer(p, q.id, a, t0 + 10);
    }
    s.tick(p, t0 + 2000);
    // Zones tied for the largest weight: postscreen names whichever
    // answered first.
    let mut best: Vec<(i32, String)> = Vec::new();
    for site in &p.dnsbl.sites {
        if let Some((_, r)) = c.listed.iter().find(|(z, _)| *z == site.domain) {
            if r.iter().any(|x| site.matches(a(x))) {
                best.push((site.weight, site.domain.clone()));
            }
        }
    }
    let top = best.iter().map(|b| b.0).max().unwrap_or(0);
    let tied = best.into_iter().filter(|b| b.0 == top).map(|b| b.1).collect();
    let v = match s.verdict().expect("verdict") {
        Verdict::Pass => "PASS".to_string(),
        Verdict::Drop(r) if c.pregreet => format!("{} pregreet", r.code),
        Verdict::Drop(r) => r.to_line().trim_end().to_string(),
        v => panic!("unexpected {v:?}"),
    };
    (v, tied)
}

#[test]
fn before_220_tests_agree_with_postscreen() {
    if skip() {
        return;
    }
    let p = policy();
    let clients = scenario();
    let mut dns = String::new();
    for (zone, _) in REPLIES {
        dns.push_str(&format!("local=/{zone}/\n"));
    }
    for c in &clients {
        for (zone, replies) in &c.listed {
            for r in replies {
                dns.push_str(&format!("host-record={},{r}\n", query_name(c.addr, zone).unwrap()));
            }
        }
    }
    let extra = format!(
        "postscreen_greet_wait = 5s\npostscreen_greet_action = drop\npostscreen_dnsbl_action = drop\n\
         postscreen_dnsbl_threshold = 3\npostscreen_dnsbl_allowlist_threshold = -1\n\
         postscreen_dnsbl_sites = {}\n",
        SITES.join(" ")
    );
    let list: Vec<String> =
        clients.iter().map(|c| format!("{} {}", c.addr, if c.pregreet { "pregreet" } else { "quiet" })).collect();
    let v6: Vec<IpAddr> = clients.iter().filter(|c| c.addr.is_ipv6()).map(|c| c.addr).collect();
    let (theirs, work) = run_postscreen("dnsbl", &dns, &extra, &list, &v6);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut bad = Vec::new();
    for c in &clients {
        let (mine, tied) = ours(&p, c);
        let got = theirs.get(&c.addr.to_string()).cloned().unwrap_or_default();
        let agree = match (mine.as_str(), got.as_str()) {
            ("PASS", "PASS") => true,
            ("521 pregreet", g) => g.starts_with("521 "),
            (m, g) if m.starts_with("521 ") => {
                // Same text, with any of the tied lists named.
                let prefix = g.rsplit_once(' ').map(|x| x.0).unwrap_or("");
                let zone = g.rsplit(' ').next().unwrap_or("");
                m.rsplit_once(' ').map(|x| x.0) == Some(prefix) && tied.iter().any(|t| t == zone)
            }
            _ => false,
        };
        let kind = if mine == "PASS" {
            "pass"
        } else if c.pregreet {
            "pregreet"
        } else {
            "dnsbl"
        };
        *counts.entry(kind).or_default() += 1;
        if !agree {
            bad.push(format!("{} {:?} pregreet={}: postscreen {got:?}, ours {mine:?}", c.addr, c.listed, c.pregreet));
        }
    }
    if bad.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
    }
    assert!(bad.is_empty(), "disagreements with postscreen (work dir {}):\n{}", work.display(), bad.join("\n"));
    eprintln!("{} clients agree with postscreen's before-220 tests: {counts:?}", clients.len());
    for k in ["pass", "pregreet", "dnsbl"] {
        assert!(counts.get(k).copied().unwrap_or(0) > 0, "scenario lacks {k}: {counts:?}");
    }
}

/// Run postscreen in its namespace with these dnsmasq lines, extra
/// main.cf lines and client lines (`addr mode [script]`); returns what each
/// client saw and the work directory (removed by the caller on success).
fn run_postscreen(
    name: &str,
    dns: &str,
    extra: &str,
    clients: &[String],
    v6: &[IpAddr],
) -> (HashMap<String, String>, std::path::PathBuf) {
    let work = std::env::temp_dir().join(format!("mail-screen-postscreen-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    std::fs::write(work.join("dns.conf"), dns).unwrap();
    std::fs::write(work.join("main.cf.extra"), extra).unwrap();
    std::fs::write(work.join("clients"), clients.iter().map(|c| format!("{c}\n")).collect::<String>()).unwrap();
    std::fs::write(work.join("v6"), v6.iter().map(|a| format!("{a}\n")).collect::<String>()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/postscreen/run.sh");
    let out = Command::new("timeout")
        .args(["180", "unshare", "--mount", "--net", "bash"])
        .arg(&script)
        .arg(&work)
        .output()
        .unwrap();
    let results = std::fs::read_to_string(work.join("results")).unwrap_or_else(|_| {
        let log = std::fs::read_to_string(work.join("maillog")).unwrap_or_default();
        panic!("no results: {}\n{}\n{log}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    // A lookup postscreen could not make counts as "not listed" there:
    // such a run says nothing about scoring.
    let log = std::fs::read_to_string(work.join("maillog")).unwrap_or_default();
    let trouble: Vec<&str> =
        log.lines().filter(|l| l.contains("warning: psc_dnsbl") || l.contains("dnsblog reply timeout")).collect();
    assert!(trouble.is_empty(), "postscreen's DNSBL lookups failed (machine overloaded?):\n{}", trouble.join("\n"));
    let theirs =
        results.lines().filter_map(|l| l.split_once(' ')).map(|(a, r)| (a.to_string(), r.to_string())).collect();

    (theirs, work)
}

/// Scripted sessions: chunks sent at once, the expected reply to RCPT TO is
/// decided by both implementations.
const SESSIONS: &[&[&str]] = &[
    &["EHLO a.example\r\n", "MAIL FROM:<a@b.example>\r\n", "RCPT TO:<c@d.example>\r\n", "QUIT\r\n"],
    &["EHLO a.example\r\n", "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n", "QUIT\r\n"],
    &["EHLO a.example\r\nMAIL FROM:<a@b.example>\r\n", "RCPT TO:<c@d.example>\r\n", "QUIT\r\n"],
    &["GET / HTTP/1.0\r\n"],
    &["EHLO a.example\r\n", "Host: mx.example.org\r\n"],
    &["EHLO a.example\r\n", "MAIL FROM:<a@b.example>\n", "RCPT TO:<c@d.example>\r\n", "QUIT\r\n"],
    &["CONNECT 10.0.0.1:25 HTTP/1.0\r\n"],
    &["HELO a.example\r\n", "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n", "QUIT\r\n"],
    &["EHLO a.example\r\n", "post /x HTTP/1.1\r\n"],
    &["EHLO a.example\r\n", "User-Agent: curl/8.0\r\n"],
    &["EHLO a.example\n", "MAIL FROM:<a@b.example>\r\n", "RCPT TO:<c@d.example>\r\n", "QUIT\r\n"],
    &["EHLO a.example\r\n", "NOOP\r\nMAIL FROM:<a@b.example>\r\n", "RCPT TO:<c@d.example>\r\n"],
    &["EHLO a.example\r\n", "MAIL FROM:<a@b.example>\r\n", "RCPT TO:<c@d.example>\r\n", "RSET\r\n", "QUIT\r\n"],
    &["helo lower.example\r\n", "mail from:<a@b.example>\r\n", "rcpt to:<c@d.example>\r\n", "quit\r\n"],
    &["EHLO a.example\r\n", "MAIL FROM:<a@b.example>\r\n", "RCPT TO:<c@d.example>\r\n", "RCPT TO:<e@d.example>\r\n"],
    &["EHLO a.example\r\n", "MAIL FROM:<a@b.example>\r\n", "RCPT TO:<c@d.example>\r\nQUIT\r\n"],
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn after_220_tests_agree_with_postscreen() {
    if skip() {
        return;
    }
    let mut p = Policy::default();
    p.screen.pipelining.enabled = true;
    p.screen.non_smtp.enabled = true;
    p.screen.bare_newline = mail_screen::DeepTest { enabled: true, action: Action::Enforce };
    let extra = "postscreen_greet_wait = 1s\npostscreen_greet_action = ignore\n\
                 postscreen_pipelining_enable = yes\npostscreen_pipelining_action = enforce\n\
                 postscreen_non_smtp_command_enable = yes\npostscreen_non_smtp_command_action = drop\n\
                 postscreen_bare_newline_enable = yes\npostscreen_bare_newline_action = enforce\n\
                 postscreen_forbidden_commands = CONNECT GET POST\n";
    let addr = |i: usize| format!("127.0.3.{}", i + 1);
    let list: Vec<String> = SESSIONS
        .iter()
        .enumerate()
        .map(|(i, chunks)| {
            let script: Vec<String> = chunks.iter().map(|c| hex(c.as_bytes())).collect();
            format!("{} deep {}", addr(i), script.join(","))
        })
        .collect();
    let (theirs, work) = run_postscreen("deep", "", extra, &list, &[]);
    let mut bad = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (i, chunks) in SESSIONS.iter().enumerate() {
        // Ours: the observer over the same chunks.
        let mut o = ProtocolObserver::new(&p, ip(&addr(i)), [true; 3]).without_pipelining();
        let mut dropped = false;
        let mut rcpt_reply = None;
        for c in chunks.iter() {
            if o.feed(c.as_bytes()).iter().any(|v| v.action == Action::Drop) {
                dropped = true;
                break;
            }
            if rcpt_reply.is_none() && c.lines().any(|l| l.to_ascii_uppercase().starts_with("RCPT")) {
                rcpt_reply = Some(if o.enforce_reply().is_some() { "550" } else { "450" });
            }
        }
        let mine = if dropped { "drop" } else { rcpt_reply.unwrap_or("none") };
        // Theirs: the reply codes after the greeting, one per line sent.
        let got = theirs.get(&addr(i)).cloned().unwrap_or_default();
        let codes: Vec<&str> = got.split('/').collect();
        let rcpt_index = chunks.concat().split_inclusive('\n').position(|l| l.to_ascii_uppercase().starts_with("RCPT"));
        let theirs_outcome = if codes.contains(&"521") {
            "drop"
        } else {
            rcpt_index.and_then(|n| codes.get(n).copied()).unwrap_or("none")
        };
        *counts.entry(mine).or_default() += 1;
        if mine != theirs_outcome {
            bad.push(format!("{chunks:?}: postscreen {got:?} ({theirs_outcome}), ours {mine}"));
        }
    }
    if bad.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
    }
    assert!(bad.is_empty(), "disagreements with postscreen (work dir {}):\n{}", work.display(), bad.join("\n"));
    eprintln!("{} sessions agree with postscreen's after-220 tests: {counts:?}", SESSIONS.len());
    for k in ["drop", "450", "550"] {
        assert!(counts.get(k).copied().unwrap_or(0) > 0, "scenario lacks {k}: {counts:?}");
    }
}

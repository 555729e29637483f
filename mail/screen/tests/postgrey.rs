//! Differential test against postgrey (Debian package `postgrey`, run by
//! tests/setup.sh): the same random sequence of (time, client, sender,
//! recipient) requests goes to a real postgrey over its Postfix policy
//! protocol and to our [`Greylist`]; every answer must agree. postgrey's
//! `policy_test_time` attribute sets its clock per request.
//!
//! Known, deliberate differences kept out of the scenarios: postgrey's
//! auto-whitelist counts per client address, ours per client network
//! (so scenario B uses one host per network); postgrey forgets expired
//! entries in a nightly clean-up, ours at lookup (scenarios stay within
//! the expiry).

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use mail_screen::{Greylist, GreylistAnswer as Answer, PassReason};

const POSTGREY: &str = "/usr/sbin/postgrey";

struct Postgrey {
    child: Child,
    dir: PathBuf,
}

impl Drop for Postgrey {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(name: &str, awl: u32) -> Option<Postgrey> {
    if !Path::new(POSTGREY).exists() {
        if std::env::var_os("CI").is_some() {
            panic!("{POSTGREY} is required under CI (run mail/screen/tests/setup.sh)");
        }
        eprintln!("\n*** SKIPPED: {POSTGREY} not found; run mail/screen/tests/setup.sh ***\n");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("mail-screen-postgrey-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let child = Command::new(POSTGREY)
        .arg(format!("--unix={}", dir.join("sock").display()))
        .arg(format!("--dbdir={}", dir.display()))
        .args(["--user=root", "--group=root", "--delay=300", "--retry-window=2", "--max-age=35"])
        .arg(format!("--auto-whitelist-clients={awl}"))
        .arg(format!("--whitelist-clients={}", empty.display()))
        .arg(format!("--whitelist-recipients={}", empty.display()))
        .arg("--greylist-text=left %s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start postgrey");
    let pg = Postgrey { child, dir };
    // Wait for the socket (readiness, not a timing assertion).
    for _ in 0..600 {
        if UnixStream::connect(pg.dir.join("sock")).is_ok() {
            return Some(pg);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("postgrey did not open its socket");
}

/// What postgrey said, in our terms.
#[derive(Debug, PartialEq, Eq)]
enum Said {
    Defer(u64),
    FirstPass,
    Pass,
}

fn ask(pg: &Postgrey, now: u64, ip: &str, sender: &str, rcpt: &str) -> Said {
    let mut s = UnixStream::connect(pg.dir.join("sock")).unwrap();
    let req = format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address={ip}\nclient_name=unknown\n\
         sender={sender}\nrecipient={rcpt}\npolicy_test_time={now}\n\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    while !buf.ends_with(b"\n\n") {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "postgrey closed: {:?}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8(buf).unwrap();
    let action = line.trim().strip_prefix("action=").unwrap_or_else(|| panic!("{line:?}"));
    if let Some(n) = action.strip_prefix("DEFER_IF_PERMIT left ") {
        Said::Defer(n.parse().unwrap())
    } else if action.starts_with("PREPEND X-Greylist") {
        Said::FirstPass
    } else if action == "DUNNO" {
        Said::Pass
    } else {
        panic!("unexpected postgrey answer {action:?}")
    }
}

fn ours(a: Answer) -> Said {
    match a {
        Answer::Defer(n) | Answer::DeferNew(n) => Said::Defer(n),
        Answer::Pass(PassReason::Retried) => Said::FirstPass,
        Answer::Pass(PassReason::Known | PassReason::AutoAllowed) => Said::Pass,
        Answer::Pass(r) => panic!("unexpected {r:?}"),
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() % v.len() as u64) as usize]
    }
}

const SENDERS: &[&str] = &[
    "alice@example.net",
    "Alice@Example.NET",
    "prvs=0123abcdef=bounce@lists.example",
    "prvs=1234bcdefa=bounce@lists.example",
    "prvs=bounce=2345cdefab@lists.example",
    "list+bounces-1@lists.example",
    "list+x@lists.example",
    "bounce-123-x@v.example",
    "bounce-456-x@v.example",
    "",
    "Bob@b.example",
];

const STEPS: &[u64] =
    &[0, 1, 5, 60, 120, 299, 300, 301, 600, 1000, 3599, 3600, 7200, 86_400, 2 * 86_400, 2 * 86_400 + 1];

fn run(name: &str, awl: u32, ips: &[&str], rcpts: &[&str], seed: u64, steps: usize) {
    let Some(pg) = start(name, awl) else { return };
    let mut g = Greylist::new(greylist_cfg(2 * 86_400, 35 * 86_400, awl), 100_000, 100_000);
    // A year ahead of the real clock, so postgrey's own clean-up (real
    // time) never finds our entries old.
    let mut now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 365 * 86_400;
    let start = now;
    let mut rng = Rng(seed);
    let mut history = Vec::new();
    let mut counts = [0usize; 3];
    let mut auto_allowed = 0;
    for i in 0..steps {
        let step = *rng.pick(STEPS);
        if now - start + step < 30 * 86_400 {
            now += step;
        }
        let (ip, from, to) = (*rng.pick(ips), *rng.pick(SENDERS), *rng.pick(rcpts));
        let theirs = ask(&pg, now, ip, from, to);
        let answer = g.check(&req(ip, from, to), now);
        auto_allowed += (answer == Answer::Pass(PassReason::AutoAllowed)) as usize;
        let mine = ours(answer);
        history.push(format!("{i}: t+{} {ip} <{from}> <{to}>: postgrey {theirs:?}, ours {mine:?}", now - start));
        if theirs != mine {
            let tail = &history[history.len().saturating_sub(15)..];
            panic!("disagreement with postgrey:\n{}", tail.join("\n"));
        }
        counts[match mine {
            Said::Defer(_) => 0,
            Said::FirstPass => 1,
            Said::Pass => 2,
        }] += 1;
    }
    eprintln!(
        "{name}: {steps} requests agree with postgrey (defer {}, first pass {}, pass {}, of which auto-allowed {})",
        counts[0], counts[1], counts[2], auto_allowed
    );
    assert!(counts.iter().all(|c| *c > 0), "scenario too narrow: {counts:?}");
    assert_eq!(auto_allowed > 0, awl > 0, "auto-allow exercised exactly when enabled");
}

#[test]
fn agrees_with_postgrey_without_auto_allow() {
    let ips = ["192.0.2.1", "192.0.2.77", "198.51.100.5", "2001:db8:1:2::1", "2001:db8:1:2::99", "2001:db8:1:3::1"];
    let rcpts: Vec<String> =
        (0..12).map(|i| format!("user{i}@example.org")).chain(["User0@Example.ORG".into()]).collect();
    let rcpts: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    run("plain", 0, &ips, &rcpts, 0x5eed_0001, 1000);
}

#[test]
fn agrees_with_postgrey_with_auto_allow() {
    let ips = ["192.0.2.1", "198.51.100.5", "203.0.113.9", "2001:db8:1:2::1", "2001:db8:1:3::1"];
    let rcpts = ["a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org", "f@example.org"];
    run("awl", 3, &ips, &rcpts, 0x5eed_0002, 600);
}

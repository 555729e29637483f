//! Helpers shared by the tests that run the `unimail` binary.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn unimail(args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_unimail"));
    c.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("run unimail");
    {
        let mut si = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            // The tool may exit before reading (refused arguments): ignore EPIPE.
            let _ = si.write_all(s.as_bytes());
        }
    }
    child.wait_with_output().unwrap()
}

pub fn out(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A fresh empty directory under the target dir's temp area.
pub fn tempdir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "unimail-test-{}-{}-{}",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn write(dir: &Path, rel: &str, body: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// `unimail init` into a fresh directory; returns it.
pub fn init(tag: &str, extra: &[&str], password: &str) -> PathBuf {
    let d = tempdir(tag).join("conf");
    let mut args =
        vec!["init", "--domain", "example.org", "--hostname", "mx.example.org", "--out", d.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = unimail(&args, Some(password));
    assert!(o.status.success(), "{}", out(&o));
    d
}

/// The RDATA of `name TTL IN TYPE rdata` lines (comments skipped).
pub fn records<'a>(zone: &'a str, name: &str, rtype: &str) -> Vec<&'a str> {
    zone.lines()
        .filter(|l| !l.starts_with(';'))
        .filter_map(|l| {
            let mut it = l.splitn(5, ' ');
            let (n, _ttl, class, t, rdata) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
            (n == name && class == "IN" && t == rtype).then_some(rdata)
        })
        .collect()
}

/// TXT RDATA `"a" "b"` → `ab`, checking each string's length.
pub fn txt_value(rdata: &str) -> String {
    let parts: Vec<&str> = rdata.split('"').collect();
    assert!(parts.len() % 2 == 1, "{rdata}");
    let mut v = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i % 2 == 1 {
            assert!(p.len() <= 255, "TXT string longer than 255 bytes: {rdata}");
            v.push_str(p);
        } else {
            assert!(p.trim().is_empty(), "{rdata}");
        }
    }
    v
}

/// Whether an external reference tool is usable; absent is a loud skip,
/// or a failure under CI.
pub fn have_tool(what: &str, cmd: &str, args: &[&str]) -> bool {
    let ok = Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "{what} missing under CI (run image/tests/setup.sh)");
        eprintln!("\n*** SKIPPING the {what} check: not installed (image/tests/setup.sh installs it) ***\n");
    }
    ok
}

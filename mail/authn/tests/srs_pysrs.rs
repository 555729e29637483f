//! SRS against pysrs (the Python port of libsrs, the scheme postsrsd uses):
//! identical forward addresses, and each side reverses the other's.

mod common;
use mail_authn::srs::{Srs, SrsError};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

const NOW: u64 = 1_790_000_000;
const DOMAIN: &str = "fwd.example.org";
const SECRET: &str = "tH1s-is-a-test-secret";

fn pysrs(now: u64, jobs: Vec<Value>) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pysrs_helper.py");
    let mut child =
        Command::new(common::python()).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let req = json!({"secret": SECRET, "domain": DOMAIN, "now": now, "maxage": 21, "jobs": jobs});
    child.stdin.take().unwrap().write_all(req.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn matches_pysrs() {
    if !common::python_has("SRS") {
        common::run_setup();
    }
    if !common::python_has("SRS") {
        common::missing("pysrs (python3 module SRS)");
        return;
    }
    let ours = Srs::new(DOMAIN, SECRET.as_bytes());
    let other = Srs::new("other.example", b"other-secret");
    let senders = [
        "alice@example.com".to_string(),
        "Bob.Smith@Example.COM".to_string(),
        "list+bounces=x@lists.example.net".to_string(),
        "weird=local=part@example.com".to_string(),
        other.forward("carol@example.com", NOW).unwrap(),
        Srs::new("third.example", b"x").forward(&other.forward("dave@example.com", NOW).unwrap(), NOW).unwrap(),
    ];
    let fwd: Vec<Value> = senders.iter().map(|s| json!({"op": "forward", "addr": s})).collect();
    let theirs = pysrs(NOW, fwd);
    let mut checks = 0;
    for (s, t) in senders.iter().zip(&theirs) {
        let mine = ours.forward(s, NOW).unwrap();
        assert_eq!(&mine, t, "forward of {s}");
        checks += 1;
    }
    // Each side reverses the other's output (the outputs are identical, so
    // this checks pysrs reversing ours), plus tampered and expired ones.
    let mut rev_jobs = Vec::new();
    let mut expect = Vec::new();
    for s in &senders {
        let f = ours.forward(s, NOW).unwrap();
        let want = ours.reverse(&f, NOW).unwrap();
        rev_jobs.push(json!({"op": "reverse", "addr": f}));
        expect.push(want.clone());
        // Forged hash: both refuse.
        let mut forged = f.clone().into_bytes();
        forged[5] = if forged[5] == b'x' { b'y' } else { b'x' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(ours.reverse(&forged, NOW), Err(SrsError::BadHash));
        rev_jobs.push(json!({"op": "reverse", "addr": forged}));
        expect.push("ERR".to_string());
    }
    let got = pysrs(NOW, rev_jobs);
    for (g, w) in got.iter().zip(&expect) {
        assert_eq!(g, w);
        checks += 1;
    }
    // Expired: both refuse after 21 days, both accept on day 21.
    let f = ours.forward("alice@example.com", NOW).unwrap();
    let late = NOW + 22 * 86_400;
    assert_eq!(ours.reverse(&f, late), Err(SrsError::Expired));
    assert_eq!(pysrs(late, vec![json!({"op": "reverse", "addr": f})]), ["ERR"]);
    let edge = NOW + 21 * 86_400;
    assert_eq!(ours.reverse(&f, edge).unwrap(), "alice@example.com");
    assert_eq!(pysrs(edge, vec![json!({"op": "reverse", "addr": f})]), ["alice@example.com"]);
    checks += 4;
    eprintln!("pysrs interop: {checks} passed, 0 failed");
}

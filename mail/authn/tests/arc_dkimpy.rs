//! ARC (RFC 8617) verification against chains sealed by dkimpy: one and
//! two hops pass; a changed body, a changed sealed field, a missing seal
//! and a broken cv= fail; dkimpy agrees on the same messages.

mod common;
use base64ct::{Base64, Encoding};
use mail_authn::dkim::arc::{self, ArcResult, ArcStep};
use mail_authn::dkim::SigningKey;
use mail_authn::dns::{DnsAnswer, DnsRecord};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

fn helper(keys: &HashMap<String, String>, jobs: Vec<Value>) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dkimpy_helper.py");
    let mut child =
        Command::new(common::python()).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(json!({"keys": keys, "jobs": jobs}).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "dkimpy helper failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn seal(keys: &HashMap<String, String>, msg: &[u8], domain: &str) -> Vec<u8> {
    let r = helper(
        keys,
        vec![json!({"op": "arc_sign", "msg": Base64::encode_string(msg), "selector": "arc", "domain": domain,
            "key": format!("{KEYS}/rsa2048.pkcs1.pem"), "srv_id": domain})],
    );
    let mut out = Base64::decode_vec(r[0]["sig"].as_str().unwrap()).unwrap();
    out.extend_from_slice(msg);
    out
}

fn ours(msg: &[u8], keys: &HashMap<String, String>) -> (ArcResult, u32) {
    let mut v = arc::ArcVerifier::new();
    for c in msg.chunks(11) {
        v.feed(c);
    }
    let mut s = v.finish();
    loop {
        match s.poll() {
            ArcStep::Query(q) => s.answer(match keys.get(&q.name) {
                Some(r) => DnsAnswer::Records(vec![DnsRecord::Txt(r.as_bytes().to_vec())]),
                None => DnsAnswer::NxDomain,
            }),
            ArcStep::Done(o) => return (o.result, o.instances),
        }
    }
}

#[test]
fn arc_chains_from_dkimpy() {
    if !common::python_has("dkim") || !common::python_has("authres") {
        common::run_setup();
    }
    if !common::python_has("dkim") || !common::python_has("authres") {
        common::missing("dkimpy + authres (python3 modules dkim, authres)");
        return;
    }
    let rsa = SigningKey::from_pem(&std::fs::read_to_string(format!("{KEYS}/rsa2048.pkcs1.pem")).unwrap()).unwrap();
    let rec = rsa.dns_record().unwrap();
    let mut keys = HashMap::new();
    keys.insert("arc._domainkey.lists.example.org".to_string(), rec.clone());
    keys.insert("arc._domainkey.fwd.example.net".to_string(), rec);

    let msg = b"Authentication-Results: lists.example.org; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com\r\nFrom: a@example.com\r\nTo: list@lists.example.org\r\nSubject: hi\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\n\r\nbody line  \r\n\r\n";
    assert_eq!(ours(msg, &keys), (ArcResult::None, 0));
    let hop1 = seal(&keys, msg, "lists.example.org");
    let hop2_in = [&b"Authentication-Results: fwd.example.net; arc=pass\r\n"[..], &hop1].concat();
    let hop2 = seal(&keys, &hop2_in, "fwd.example.net");

    let text = |m: &[u8]| String::from_utf8(m.to_vec()).unwrap();
    let tampered_body = [&hop2[..], b"extra\r\n"].concat();
    let tampered_aar =
        text(&hop2).replacen("dkim=pass header.d=example.com", "dkim=pass header.d=evil.example", 1).into_bytes();
    let no_seal1 = {
        let t = text(&hop2);
        let start = t.find("ARC-Seal: i=1").unwrap();
        let end = start + t[start..].find("ARC-Message-Signature: i=1").unwrap();
        format!("{}{}", &t[..start], &t[end..]).into_bytes()
    };
    let cv_fail = text(&hop2).replacen("cv=pass", "cv=fail", 1).into_bytes();

    let cases: Vec<(&str, Vec<u8>, ArcResult, &str)> = vec![
        ("one hop", hop1.clone(), ArcResult::Pass, "pass"),
        ("two hops", hop2.clone(), ArcResult::Pass, "pass"),
        ("body changed", tampered_body, ArcResult::Fail, "fail"),
        ("AAR i=1 changed", tampered_aar, ArcResult::Fail, "fail"),
        ("seal i=1 removed", no_seal1, ArcResult::Fail, "fail"),
        ("cv=fail", cv_fail, ArcResult::Fail, "fail"),
    ];
    let jobs = cases.iter().map(|(_, m, _, _)| json!({"op": "arc_verify", "msg": Base64::encode_string(m)})).collect();
    let theirs = helper(&keys, jobs);
    let mut n = 0;
    for ((name, m, want, want_py), py) in cases.iter().zip(theirs) {
        assert_eq!(ours(m, &keys).0, *want, "ours: {name}");
        assert_eq!(py.as_str().unwrap(), *want_py, "dkimpy: {name}");
        n += 2;
    }
    assert_eq!(ours(&hop2, &keys).1, 2);
    eprintln!("ARC dkimpy interop: {n} passed, 0 failed");
}

fn our_seal(msg: &[u8], domain: &str, keys: &HashMap<String, String>) -> Vec<u8> {
    let rsa = SigningKey::from_pem(&std::fs::read_to_string(format!("{KEYS}/rsa2048.pkcs1.pem")).unwrap()).unwrap();
    let sealer = arc::Sealer::new(domain, "arc", rsa);
    // Verify what arrived, as the forwarder would, then seal.
    let mut s = arc::verify(msg);
    let chain = loop {
        match s.poll() {
            ArcStep::Query(q) => s.answer(match keys.get(&q.name) {
                Some(r) => DnsAnswer::Records(vec![DnsRecord::Txt(r.as_bytes().to_vec())]),
                None => DnsAnswer::NxDomain,
            }),
            ArcStep::Done(o) => break o,
        }
    };
    let mut ar = mail_authn::auth_results::AuthResults::new(domain);
    ar.arc(&chain);
    let fields = sealer.seal(msg, 1_790_000_000, &chain, &ar).unwrap();
    [fields.as_bytes(), msg].concat()
}

#[test]
fn our_seals_verified_by_dkimpy() {
    if !common::python_has("dkim") || !common::python_has("authres") {
        common::run_setup();
    }
    if !common::python_has("dkim") || !common::python_has("authres") {
        common::missing("dkimpy + authres (python3 modules dkim, authres)");
        return;
    }
    let rsa = SigningKey::from_pem(&std::fs::read_to_string(format!("{KEYS}/rsa2048.pkcs1.pem")).unwrap()).unwrap();
    let rec = rsa.dns_record().unwrap();
    let mut keys = HashMap::new();
    for d in ["lists.example.org", "fwd.example.net", "third.example"] {
        keys.insert(format!("arc._domainkey.{d}"), rec.clone());
    }
    let msg = b"Authentication-Results: lists.example.org; spf=pass smtp.mailfrom=example.com\r\nFrom: a@example.com\r\nTo: list@lists.example.org\r\nSubject: hi\r\n\r\nbody\r\n";
    // Ours first, dkimpy second, ours third.
    let hop1 = our_seal(msg, "lists.example.org", &keys);
    let hop2_in = [&b"Authentication-Results: fwd.example.net; arc=pass\r\n"[..], &hop1].concat();
    let hop2 = seal(&keys, &hop2_in, "fwd.example.net");
    let hop3 = our_seal(&hop2, "third.example", &keys);
    let tampered = [&hop3[..], b"more\r\n"].concat();
    let cases = [(&hop1, "pass", 1), (&hop2, "pass", 2), (&hop3, "pass", 3), (&tampered, "fail", 3)];
    let jobs = cases.iter().map(|(m, _, _)| json!({"op": "arc_verify", "msg": Base64::encode_string(m)})).collect();
    let theirs = helper(&keys, jobs);
    for ((m, want, n), py) in cases.iter().zip(theirs) {
        assert_eq!(py.as_str().unwrap(), *want, "dkimpy on hop {n}:\n{}", String::from_utf8_lossy(m));
        let (r, i) = ours(m, &keys);
        assert_eq!((r.as_str(), i), (*want, *n as u32));
    }
    // A failed chain is not sealed.
    let failed = arc::ArcOutcome { result: ArcResult::Fail, instances: 1, sealers: vec![], reason: None };
    let sealer = arc::Sealer::new("x.example", "arc", rsa);
    let ar = mail_authn::auth_results::AuthResults::new("x.example");
    assert!(sealer.seal(&tampered, 0, &failed, &ar).is_err());
    eprintln!("ARC sealing interop: 8 passed, 0 failed");
}

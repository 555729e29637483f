//! Interop with dkimpy (PyPI dkimpy / Debian python3-dkim): our RSA and
//! Ed25519 signatures verified by dkimpy, dkimpy's signatures verified by
//! us, tampering detected both ways, over a corpus of varied messages.

mod common;
use base64ct::{Base64, Encoding};
use mail_authn::dkim::{self, DkimStatus, DkimStep, Signer, SigningKey};
use mail_authn::dns::{DnsAnswer, DnsRecord};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

fn corpus() -> Vec<(&'static str, Vec<u8>)> {
    let mut v: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let base = "From: Ada Lovelace <ada@example.com>\r\nTo: Grace <grace@example.org>\r\nSubject: Plain\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\nMessage-ID: <p1@example.com>\r\n";
    v.push(("plain", format!("{base}\r\nHello Grace,\r\n\r\nsee you.\r\n").into_bytes()));
    v.push((
        "multipart",
        format!(
            "{base}MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n\
             preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain part\r\n\
             --b1\r\nContent-Type: text/html\r\n\r\n<p>html part</p>\r\n--b1--\r\nepilogue\r\n"
        )
        .into_bytes(),
    ));
    let long_to: Vec<String> = (0..30).map(|i| format!("user{i} <user{i}@example.net>")).collect();
    v.push((
        "long-folded-headers",
        format!(
            "From: Ada <ada@example.com>\r\nTo: {}\r\nSubject: {}\r\n\t{}\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\n\r\nbody\r\n",
            long_to.join(",\r\n  "),
            "word ".repeat(40).trim_end(),
            "continued ".repeat(20).trim_end()
        )
        .into_bytes(),
    ));
    v.push((
        "trailing-whitespace",
        b"From: Ada <ada@example.com>  \r\nTo:   grace@example.org\t\r\nSubject:  spaced   out  \r\n\r\nline with spaces   \r\n\ttabbed\t\t\r\n  \r\n\r\n\r\n"
            .to_vec(),
    ));
    let mut eight = Vec::new();
    eight.extend_from_slice("From: Zoë <zoe@example.com>\r\nTo: grace@example.org\r\nSubject: Grüße aus Köln\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".as_bytes());
    eight.extend_from_slice("Größe: ½ — ünïcödé\r\n\u{1F600}\r\n".as_bytes());
    eight.extend_from_slice(b"raw latin1: \xe9\xe8\r\n");
    v.push(("8bit", eight));
    v.push(("empty-body", format!("{base}\r\n").into_bytes()));
    v.push(("blank-lines-only-body", format!("{base}\r\n\r\n\r\n\r\n").into_bytes()));
    v.push(("no-final-crlf", format!("{base}\r\nlast line without newline").into_bytes()));
    v.push((
        "duplicate-headers",
        "From: Ada <ada@example.com>\r\nTo: a@example.org\r\nTo: b@example.org\r\nCc: c@example.org\r\nSubject: dup\r\n\r\nx\r\n".as_bytes().to_vec(),
    ));
    v.push(("long-line", format!("{base}\r\n{}\r\n", "x".repeat(2000)).into_bytes()));
    v.push(("dot-lines", format!("{base}\r\n.\r\n..leading dots\r\n.\r\n").into_bytes()));
    // CRLF variations: bare-LF messages, and CRLF headers over an LF body.
    let lf: Vec<(&'static str, Vec<u8>)> = v
        .iter()
        .filter(|(n, _)| {
            matches!(*n, "plain" | "multipart" | "trailing-whitespace" | "long-folded-headers" | "empty-body")
        })
        .map(|(n, m)| {
            let name: &'static str = Box::leak(format!("{n}-lf").into_boxed_str());
            (name, String::from_utf8(m.clone()).unwrap().replace("\r\n", "\n").into_bytes())
        })
        .collect();
    v.extend(lf);
    v.push(("crlf-header-lf-body", format!("{base}\r\nline one\nline two  \n\n").into_bytes()));
    v
}

fn run_helper(keys: &HashMap<String, String>, jobs: Vec<Value>) -> Option<Vec<Value>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dkimpy_helper.py");
    let mut child =
        Command::new(common::python()).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().ok()?;
    let req = json!({ "keys": keys, "jobs": jobs });
    child.stdin.take().unwrap().write_all(req.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "dkimpy helper failed");
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn ours_verify(msg: &[u8], keys: &HashMap<String, String>) -> Vec<DkimStatus> {
    // Streaming, in odd-sized chunks, as the SMTP receiver feeds it.
    let mut v = dkim::Verifier::new(1_800_000_000);
    for c in msg.chunks(7) {
        v.feed(c);
    }
    let mut s = v.finish();
    loop {
        match s.poll() {
            DkimStep::Query(q) => s.answer(match keys.get(&q.name) {
                Some(r) => DnsAnswer::Records(vec![DnsRecord::Txt(r.as_bytes().to_vec())]),
                None => DnsAnswer::NxDomain,
            }),
            DkimStep::Done(r) => return r.into_iter().map(|r| r.status).collect(),
        }
    }
}

fn tamper_body(m: &[u8]) -> Vec<u8> {
    let mut m = m.to_vec();
    m.extend_from_slice(b"appended by an attacker\r\n");
    m
}

fn tamper_subject(m: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(m).into_owned();
    let i = s.find("Subject").expect("subject");
    let mut out = m.to_vec();
    out[i + 9] ^= 0x01; // flip a bit in the subject text
    out
}

fn load_keys() -> (SigningKey, SigningKey, SigningKey) {
    let p1 = std::fs::read_to_string(format!("{KEYS}/rsa2048.pkcs1.pem")).unwrap();
    let p8 = std::fs::read_to_string(format!("{KEYS}/rsa2048.pkcs8.pem")).unwrap();
    let ed = std::fs::read_to_string(format!("{KEYS}/ed25519.pkcs8.pem")).unwrap();
    (SigningKey::from_pem(&p1).unwrap(), SigningKey::from_pem(&p8).unwrap(), SigningKey::from_pem(&ed).unwrap())
}

#[test]
fn body_length_tag_from_dkimpy() {
    if !common::python_has("dkim") {
        common::run_setup();
    }
    if !common::python_has("dkim") {
        common::missing("dkimpy (python3 module dkim)");
        return;
    }
    let (rsa, _, _) = load_keys();
    let mut keys = HashMap::new();
    keys.insert("py-rsa._domainkey.example.com".to_string(), rsa.dns_record().unwrap());
    let m = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: l\r\n\r\nsigned part\r\n".to_vec();
    let r = run_helper(
        &keys,
        vec![json!({"op": "sign", "msg": Base64::encode_string(&m), "selector": "py-rsa", "domain": "example.com",
            "algo": "rsa-sha256", "canon": "relaxed/relaxed", "key": format!("{KEYS}/rsa2048.pkcs1.pem"), "length": true})],
    )
    .unwrap();
    let sig = Base64::decode_vec(r[0]["sig"].as_str().unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&sig).contains("l="));
    let full = [&sig[..], &m].concat();
    assert_eq!(ours_verify(&full, &keys), [DkimStatus::Pass]);
    // RFC 6376 8.2: content appended past l= is not covered.
    assert_eq!(ours_verify(&[&full[..], b"appended\r\n"].concat(), &keys), [DkimStatus::Pass]);
    // Changing the covered part is.
    let changed = String::from_utf8(full.clone()).unwrap().replace("signed part", "signed qart");
    assert_eq!(ours_verify(changed.as_bytes(), &keys), [DkimStatus::Fail]);
    // Truncating below l= fails.
    let short = String::from_utf8(full).unwrap().replace("signed part\r\n", "");
    assert_eq!(ours_verify(short.as_bytes(), &keys), [DkimStatus::Fail]);
}

#[test]
fn pem_loaders_agree() {
    let (rsa1, rsa8, _) = load_keys();
    assert_eq!(rsa1.dns_record().unwrap(), rsa8.dns_record().unwrap());
}

#[test]
fn dkimpy_interop() {
    if !common::python_has("dkim") || !common::python_has("nacl") {
        common::run_setup();
    }
    if !common::python_has("dkim") || !common::python_has("nacl") {
        common::missing("dkimpy + PyNaCl (python3 modules dkim, nacl)");
        return;
    }
    let (rsa, _, ed) = load_keys();
    let mut keys = HashMap::new();
    keys.insert("rsa._domainkey.example.com".to_string(), rsa.dns_record().unwrap());
    keys.insert("ed._domainkey.example.com".to_string(), ed.dns_record().unwrap());
    keys.insert("py-rsa._domainkey.example.com".to_string(), rsa.dns_record().unwrap());
    keys.insert("py-ed._domainkey.example.com".to_string(), ed.dns_record().unwrap());

    let mut signer = Signer::new();
    signer.add_key("example.com", "rsa", rsa).add_key("example.com", "ed", ed);

    let corpus = corpus();
    // 1. Our signatures (both keys on each message), verified by dkimpy,
    //    as sent (CRLF) and tampered.
    let mut jobs = Vec::new();
    let mut signed_msgs = Vec::new();
    for (name, m) in &corpus {
        // Sign streaming, in odd-sized chunks.
        let mut s = signer.start(1_790_000_000);
        for c in m.chunks(37) {
            s.feed(c).unwrap();
        }
        let sigs = s.finish().unwrap();
        let mut full = Vec::new();
        for sig in &sigs {
            full.extend_from_slice(sig.as_bytes());
        }
        full.extend_from_slice(m);
        assert_eq!(ours_verify(&full, &keys), [DkimStatus::Pass; 2], "self-verify {name}");
        for variant in [full.clone(), tamper_body(&full), tamper_subject(&full)] {
            jobs.push(json!({"op": "verify", "msg": Base64::encode_string(&variant)}));
        }
        signed_msgs.push((name, full));
    }
    // 2. dkimpy signs each message: rsa relaxed/relaxed, rsa simple/simple,
    //    rsa relaxed/simple, ed25519 relaxed/relaxed.
    let sign_cfg = [
        ("py-rsa", "rsa-sha256", "relaxed/relaxed", "rsa2048.pkcs1.pem"),
        ("py-rsa", "rsa-sha256", "simple/simple", "rsa2048.pkcs1.pem"),
        ("py-rsa", "rsa-sha256", "relaxed/simple", "rsa2048.pkcs1.pem"),
        ("py-ed", "ed25519-sha256", "relaxed/relaxed", "ed25519.pkcs8.pem"),
    ];
    for (_, m) in &corpus {
        for (sel, algo, canon, key) in sign_cfg {
            jobs.push(json!({"op": "sign", "msg": Base64::encode_string(m), "selector": sel,
                "domain": "example.com", "algo": algo, "canon": canon,
                "key": format!("{KEYS}/{key}")}));
        }
    }
    let Some(res) = run_helper(&keys, jobs) else {
        common::missing("python3 for dkimpy");
        return;
    };
    let mut i = 0;
    let (mut checks, mut fails) = (0, Vec::new());
    for (name, _) in &signed_msgs {
        let want = [[true, true], [false, false], [false, false]];
        for (k, w) in want.iter().enumerate() {
            let got: Vec<bool> = serde_json::from_value(res[i].clone()).unwrap();
            checks += 1;
            if got != w {
                fails.push(format!("dkimpy verify of our signature on {name} (variant {k}): {got:?}, want {w:?}"));
            }
            i += 1;
        }
    }
    for (name, m) in &corpus {
        for (sel, algo, canon, _) in sign_cfg {
            let sig = Base64::decode_vec(res[i]["sig"].as_str().unwrap()).unwrap();
            i += 1;
            let mut full = sig.clone();
            full.extend_from_slice(m);
            for (k, (variant, want)) in [
                (full.clone(), DkimStatus::Pass),
                (tamper_body(&full), DkimStatus::Fail),
                (tamper_subject(&full), DkimStatus::Fail),
            ]
            .into_iter()
            .enumerate()
            {
                let got = ours_verify(&variant, &keys);
                checks += 1;
                if got != [want] {
                    fails.push(format!("our verify of dkimpy {sel} {algo} {canon} on {name} (variant {k}): {got:?}"));
                }
            }
        }
    }
    for f in &fails {
        eprintln!("FAIL {f}");
    }
    eprintln!("dkimpy interop: {} passed, {} failed", checks - fails.len(), fails.len());
    assert!(fails.is_empty());
}

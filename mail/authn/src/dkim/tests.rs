//! RFC 8463 Appendix A and RFC 6376 vectors, signing round trips, tampering.

use super::*;
use crate::dns::{DnsAnswer, DnsRecord};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use base64ct::{Base64, Encoding};

/// RFC 8463 Appendix A.3: the example message signed with both keys.
const SIGNED: &str = concat!(
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n",
    " d=football.example.com; i=@football.example.com;\r\n",
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n",
    " subject : date : message-id : from : subject : date;\r\n",
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n",
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n",
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n",
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n",
    " d=football.example.com; i=@football.example.com;\r\n",
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n",
    " date : message-id : from : subject : date;\r\n",
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n",
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n",
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n",
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n",
    "From: Joe SixPack <joe@football.example.com>\r\n",
    "To: Suzie Q <suzie@shopping.example.net>\r\n",
    "Subject: Is dinner ready?\r\n",
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n",
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n",
    "\r\n",
    "Hi.\r\n",
    "\r\n",
    "We lost the game.  Are you hungry yet?\r\n",
    "\r\n",
    "Joe.\r\n",
    "\r\n",
);

/// RFC 8463 Appendix A.2 key records.
const ED_RECORD: &str = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const RSA_RECORD: &str = concat!(
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR",
    "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC",
    "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3",
    "Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
);
/// RFC 8463 Appendix A.1: the Ed25519 private key (seed).
const ED_SEED: &str = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";

fn txt(s: &str) -> DnsAnswer {
    DnsAnswer::Records(vec![DnsRecord::Txt(s.as_bytes().to_vec())])
}

fn run(msg: &[u8], now: u64, keys: &dyn Fn(&str) -> DnsAnswer) -> Vec<DkimResult> {
    let mut s = verify(msg, now);
    loop {
        match s.poll() {
            DkimStep::Query(q) => s.answer(keys(&q.name)),
            DkimStep::Done(r) => return r,
        }
    }
}

fn rfc_keys(name: &str) -> DnsAnswer {
    match name {
        "brisbane._domainkey.football.example.com" => txt(ED_RECORD),
        "test._domainkey.football.example.com" => txt(RSA_RECORD),
        _ => DnsAnswer::NxDomain,
    }
}

fn statuses(r: &[DkimResult]) -> Vec<DkimStatus> {
    r.iter().map(|r| r.status).collect()
}

#[test]
fn rfc8463_appendix_a_verifies() {
    let r = run(SIGNED.as_bytes(), 1_600_000_000, &rfc_keys);
    assert_eq!(statuses(&r), [DkimStatus::Pass, DkimStatus::Pass], "{r:?}");
    assert_eq!(r[0].algorithm, Some(Algorithm::Ed25519Sha256));
    assert_eq!(r[1].selector, "test");
    assert_eq!(r[0].identity, "@football.example.com");
    // Bare-LF transport of the same message still verifies.
    let lf = SIGNED.replace("\r\n", "\n");
    assert_eq!(statuses(&run(lf.as_bytes(), 0, &rfc_keys)), [DkimStatus::Pass, DkimStatus::Pass]);
    // Streaming, any chunk size (byte at a time included), same verdicts.
    for n in [1usize, 2, 5, 64, 1000] {
        let mut v = Verifier::new(0);
        for c in SIGNED.as_bytes().chunks(n) {
            v.feed(c);
        }
        let mut s = v.finish();
        let r = loop {
            match s.poll() {
                DkimStep::Query(q) => s.answer(rfc_keys(&q.name)),
                DkimStep::Done(r) => break r,
            }
        };
        assert_eq!(statuses(&r), [DkimStatus::Pass, DkimStatus::Pass], "chunk {n}");
    }
}

#[test]
fn rfc8463_ed25519_signature_reproduced() {
    // Ed25519 is deterministic: signing the RFC's signed data with the RFC's
    // seed yields the published b= exactly.
    let (headers, _) = canon::split_headers(SIGNED.as_bytes()).unwrap();
    let names: Vec<String> = ["from", "to", "subject", "date", "message-id", "from", "subject", "date"]
        .iter()
        .map(|s| String::from(*s))
        .collect();
    let input = hash::header_hash_input(canon::Canon::Relaxed, &headers, &names, headers[0].raw);
    assert!(input.ends_with(b"bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b="));
    let seed: [u8; 32] = Base64::decode_vec(ED_SEED).unwrap().try_into().unwrap();
    let k = ed25519_dalek::SigningKey::from_bytes(&seed);
    use ed25519_dalek::Signer as _;
    let sig = k.sign(&hash::sha256(&input));
    assert_eq!(
        Base64::encode_string(&sig.to_bytes()),
        "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="
    );
    assert_eq!(SigningKey::ed25519_from_seed(&seed).dns_record().unwrap(), ED_RECORD);
}

#[test]
fn rfc6376_example_body_hash() {
    // RFC 6376 Appendix A.2: the example body under c=simple has
    // bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=.
    let body = b"Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n";
    let body8463 = b"Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n";
    let (h, _) = hash::body_hash(canon::Canon::Relaxed, body8463, None);
    assert_eq!(Base64::encode_string(&h), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
    let (h, _) = hash::body_hash(canon::Canon::Simple, body, None);
    assert_eq!(Base64::encode_string(&h), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
}

#[test]
fn tampering_and_policy() {
    let f = DkimStatus::Fail;
    let p = DkimStatus::PermError;
    assert_eq!(statuses(&run(SIGNED.replace("hungry", "angry").as_bytes(), 0, &rfc_keys)), [f, f]);
    assert_eq!(statuses(&run(SIGNED.replace("dinner", "lunch").as_bytes(), 0, &rfc_keys)), [f, f]);
    // Over-signed From: a From added on top breaks both signatures.
    let added = SIGNED.replace("From: Joe", "From: Mallory <m@evil.example>\r\nFrom: Joe");
    assert_eq!(statuses(&run(added.as_bytes(), 0, &rfc_keys)), [f, f]);
    // An unsigned field may be added.
    let ok = SIGNED.replace("Message-ID:", "X-Mailer: any\r\nMessage-ID:");
    assert_eq!(statuses(&run(ok.as_bytes(), 0, &rfc_keys)), [DkimStatus::Pass; 2]);
    // RFC 8301: rsa-sha1 refused.
    let sha1 = SIGNED.replacen("a=rsa-sha256", "a=rsa-sha1", 1);
    assert_eq!(run(sha1.as_bytes(), 0, &rfc_keys)[1].status, p);
    // x= in the past.
    let exp = SIGNED.replacen("t=1528637909; h=from : to :", "t=1528637909; x=1528637910; h=from : to :", 1);
    assert_eq!(run(exp.as_bytes(), 1_600_000_000, &rfc_keys)[0].status, p);
    // Key problems.
    let revoked = |n: &str| if n.starts_with("brisbane") { txt("v=DKIM1; k=ed25519; p=") } else { rfc_keys(n) };
    assert_eq!(run(SIGNED.as_bytes(), 0, &revoked)[0].status, p);
    let swapped = |n: &str| if n.starts_with("brisbane") { txt(RSA_RECORD) } else { rfc_keys(n) };
    assert_eq!(run(SIGNED.as_bytes(), 0, &swapped)[0].status, p);
    let temp = |_: &str| DnsAnswer::TempFail;
    assert_eq!(statuses(&run(SIGNED.as_bytes(), 0, &temp)), [DkimStatus::TempError; 2]);
    let strict =
        |n: &str| if n.starts_with("brisbane") { txt(&alloc::format!("{ED_RECORD}; t=s")) } else { rfc_keys(n) };
    let below = SIGNED.replacen("i=@football.example.com", "i=@news.football.example.com", 1);
    assert_eq!(run(below.as_bytes(), 0, &strict)[0].status, p);
    assert_eq!(run(SIGNED.as_bytes(), 0, &strict)[0].status, DkimStatus::Pass);
    let sha1only =
        |n: &str| if n.starts_with("brisbane") { txt(&alloc::format!("{ED_RECORD}; h=sha1")) } else { rfc_keys(n) };
    assert_eq!(run(SIGNED.as_bytes(), 0, &sha1only)[0].status, p);
    // No signatures at all.
    assert!(run(b"From: a@b.example\r\n\r\nhi\r\n", 0, &rfc_keys).is_empty());
}

#[test]
fn short_rsa_key_refused() {
    // A real 512-bit RSA public key (openssl genpkey): RFC 8301 says < 1024
    // bits is refused.
    let k512 = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANklirRo/cWb7WvA7KLTyfzdWAc8kfYTj8qUK3JMYCJDMgmOK3P0Z3gpASYi3cLp2OXoHCEE/Vs8M0jGqtNolOcCAwEAAQ==";
    let rec = alloc::format!("v=DKIM1; k=rsa; p={k512}");
    assert_eq!(key::parse(rec.as_bytes()), Err(key::KeyError::RsaTooShort));
    assert!(key::parse(RSA_RECORD.as_bytes()).is_ok());
}

fn ed_key() -> SigningKey {
    let seed: [u8; 32] = Base64::decode_vec(ED_SEED).unwrap().try_into().unwrap();
    SigningKey::ed25519_from_seed(&seed)
}

const MSG: &[u8] = b"From: Ada <ada@example.com>\r\nTo: grace@example.org\r\nSubject: Hello  there\r\n\tfolded\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\nMessage-ID: <m1@example.com>\r\n\r\nHi.  \r\n\r\n\r\n";

#[test]
fn sign_then_verify_and_rotation() {
    let mut signer = Signer::new();
    signer.add_key("example.com", "ed1", ed_key());
    signer.add_key("example.com", "ed2", SigningKey::ed25519_from_seed(&[7u8; 32]));
    let sigs = signer.sign(MSG, 1_790_000_000).unwrap();
    assert_eq!(sigs.len(), 2);
    assert!(sigs[0].contains("h=from:from:subject:subject:date:date:message-id:to:to;"), "{}", sigs[0]);
    let mut full = Vec::new();
    for s in &sigs {
        full.extend_from_slice(s.as_bytes());
    }
    full.extend_from_slice(MSG);
    let rec2 = SigningKey::ed25519_from_seed(&[7u8; 32]).dns_record().unwrap();
    let keys = |n: &str| match n {
        "ed1._domainkey.example.com" => txt(ED_RECORD),
        "ed2._domainkey.example.com" => txt(&rec2),
        _ => DnsAnswer::NxDomain,
    };
    assert_eq!(statuses(&run(&full, 0, &keys)), [DkimStatus::Pass; 2]);
    // Adding a second Subject (over-signed) breaks it.
    let mut bad = full.clone();
    let pos = bad.windows(8).position(|w| w == b"Subject:").unwrap();
    bad.splice(pos..pos, b"Subject: spam\r\n".iter().copied());
    assert_eq!(statuses(&run(&bad, 0, &keys)), [DkimStatus::Fail; 2]);
    // So does adding a Cc? No: Cc is signed only when present.
    let mut cc = full.clone();
    let pos = cc.windows(11).position(|w| w == b"Message-ID:").unwrap();
    cc.splice(pos..pos, b"Cc: x@example.net\r\n".iter().copied());
    assert_eq!(statuses(&run(&cc, 0, &keys)), [DkimStatus::Pass; 2]);
}

#[test]
fn sign_streaming_matches_whole() {
    let mut signer = Signer::new();
    signer.add_key("example.com", "ed1", ed_key());
    let whole = signer.sign(MSG, 5).unwrap();
    for chunk in [1usize, 2, 3, 7, 64] {
        let mut s = signer.start(5);
        for c in MSG.chunks(chunk) {
            s.feed(c).unwrap();
        }
        assert_eq!(s.finish().unwrap(), whole, "chunk {chunk}");
    }
}

#[test]
fn sign_errors() {
    let mut signer = Signer::new();
    signer.add_key("example.com", "ed1", ed_key());
    assert_eq!(signer.sign(b"To: a@b.example\r\n\r\nx", 0), Err(SignError::NoFrom));
    let mut s = signer.start(0);
    let big = vec![b'a'; 300 * 1024];
    assert_eq!(s.feed(&big), Err(SignError::HeaderTooLarge));
}

//! EICAR through every path a message can carry it, and clean messages.

mod common;

use common::{attachment_mail, b64};
use mail_antivirus::{default_database, Database, Format, Location, ScanLimits, Verdict, EICAR};

fn scan(raw: &[u8]) -> Verdict {
    default_database().scan_message(raw, &ScanLimits::default())
}

#[test]
fn raw_eicar() {
    assert_eq!(scan(EICAR).virus(), Some("Unimail.Test.EICAR.HDB"));
    // With trailing text the hash no longer matches, the body signature does.
    let mut m = b"Subject: x\r\n\r\n".to_vec();
    m.extend_from_slice(EICAR);
    m.extend_from_slice(b"\r\n");
    assert_eq!(scan(&m).virus(), Some("Unimail.Test.EICAR"));
}

#[test]
fn base64_attachment_in_multipart() {
    let m = attachment_mail(EICAR, "eicar.com");
    // The raw message has only base64: the hit must come from the part.
    assert!(!m.windows(10).any(|w| w == &EICAR[..10]));
    let Verdict::Infected(d) = scan(&m) else { panic!("not detected") };
    assert_eq!(d.name, "Unimail.Test.EICAR.HDB");
    assert_eq!(d.location, Location::Part { filename: Some("eicar.com".into()) });
}

#[test]
fn quoted_printable_and_nested() {
    // QP-encoded text part (=3D is '=', EICAR has none, so encode '$' too).
    let qp: String =
        EICAR.iter().map(|&c| if c == b'$' { "=24".to_string() } else { (c as char).to_string() }).collect();
    let m = format!("Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{qp}\r\n");
    assert!(scan(m.as_bytes()).virus().is_some());
    // multipart inside message/rfc822 inside multipart.
    let inner = attachment_mail(EICAR, "eicar.com");
    let outer = format!(
        "Subject: fwd\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\nContent-Type: text/plain\r\n\r\nfwd\r\n\
         --outer\r\nContent-Type: message/rfc822\r\n\r\n{}\r\n--outer--\r\n",
        String::from_utf8(inner.clone()).unwrap()
    );
    assert!(scan(outer.as_bytes()).virus().is_some());
    // Base64-encoded message/rfc822 (not allowed by RFC 2046, seen anyway).
    let outer = format!(
        "Subject: fwd\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: message/rfc822\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--o--\r\n",
        b64(&inner)
    );
    assert!(scan(outer.as_bytes()).virus().is_some());
    // Too deep for the limits: reported as incomplete, not clean.
    let limits = ScanLimits { max_depth: 0, ..ScanLimits::default() };
    assert_eq!(default_database().scan_message(outer.as_bytes(), &limits), Verdict::Incomplete);
}

#[test]
fn clean_messages() {
    let m = attachment_mail(b"%PDF-1.4 just a document, X5O!P but not the test file", "eicar.com");
    assert_eq!(scan(&m), Verdict::Clean);
    assert_eq!(scan(b"Subject: hello\r\n\r\nHi Bob, lunch at noon?\r\n"), Verdict::Clean);
    // A near-miss of the EICAR string (one byte changed).
    let mut e = EICAR.to_vec();
    e[40] = b'x';
    assert_eq!(scan(&e), Verdict::Clean);
    assert_eq!(scan(b""), Verdict::Clean);
}

#[test]
fn limits_make_incomplete() {
    let m = attachment_mail(b"harmless", "eicar.com");
    let limits = ScanLimits { max_objects: 2, ..ScanLimits::default() };
    assert_eq!(default_database().scan_message(&m, &limits), Verdict::Incomplete);
    let limits = ScanLimits { max_total_bytes: 10, ..ScanLimits::default() };
    assert_eq!(default_database().scan_message(&m, &limits), Verdict::Incomplete);
}

#[test]
fn hsb_and_offsets() {
    let mut db = Database::new();
    db.load(Format::Hsb, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:*:Sha256.Eicar:73\n")
        .unwrap();
    assert_eq!(db.scan_bytes(EICAR), Some("Sha256.Eicar"));
    let mut db = Database::new();
    db.load(Format::Hsb, "3395856ce81f2b7382dee72602f798b642f14140:67:Sha1.WrongSize\n").unwrap();
    assert_eq!(db.scan_bytes(EICAR), None);
    let mut db = Database::new();
    db.load(Format::Ndb, "Start:0:0:58354f21\nEnd:0:EOF-4:482b482a\n").unwrap();
    assert_eq!(db.scan_bytes(EICAR), Some("Start"));
    assert_eq!(db.scan_bytes(&EICAR[1..]), Some("End"));
    assert_eq!(db.scan_bytes(&[b"..", &EICAR[1..], b".."].concat()), None);
    // Type 4 applies to the raw message only.
    let mut db = Database::new();
    db.load(Format::Ndb, "MailOnly:4:*:5375626a6563743a2078\n").unwrap();
    assert!(db.scan_message(b"Subject: x\r\n\r\n", &ScanLimits::default()).virus().is_some());
    assert_eq!(db.scan_bytes(b"Subject: x"), None);
}

#[test]
fn many_signatures_stay_fast_and_exact() {
    // 20k generated signatures sharing no anchor with the text: the index
    // keeps this a single pass (no timing assert, it just must finish).
    let mut text = String::new();
    for i in 0..20_000u32 {
        text.push_str(&format!("Gen.{i}:0:*:{:08x}*{:08x}\n", 0xf0f0_0000u32 + i, i.wrapping_mul(2_654_435_761)));
    }
    let mut db = Database::new();
    assert_eq!(db.load(Format::Ndb, &text).unwrap().loaded, 20_000);
    let body = "lorem ipsum dolor sit amet ".repeat(40_000);
    assert_eq!(db.scan_bytes(body.as_bytes()), None);
    let mut hit = b"xx\xf0\xf0\x01\x23yyyy".to_vec();
    hit.extend_from_slice(&0x123u32.wrapping_mul(2_654_435_761).to_be_bytes());
    assert_eq!(db.scan_bytes(&hit), Some("Gen.291"));
}

#[test]
fn backtracking_bomb_is_bounded() {
    // Every position is a candidate and each one backtracks: the per-object
    // budget stops it and the verdict says the scan was incomplete.
    let mut db = Database::new();
    db.load(Format::Ndb, "Bomb:0:*:6161*6161*6161*6161*6162\n").unwrap();
    let mut m = b"Subject: x\r\n\r\n".to_vec();
    m.extend(std::iter::repeat_n(b'a', 20_000));
    assert_eq!(db.scan_message(&m, &ScanLimits::default()), Verdict::Incomplete);
}

#[test]
fn garbage_databases_and_messages_never_panic() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let pieces = [
        "A",
        ":",
        "0",
        "4",
        "*",
        "EOF-",
        "10",
        ",",
        "5",
        "4142",
        "43",
        "??",
        "{1-2}",
        "(41|42)",
        "!(",
        ")",
        "EP+",
        "\n",
        "44d88612fea8a8f36de82e1278abb02f",
        "68",
        "zz",
        "\r\n",
        "#",
    ];
    let db_default = mail_antivirus::default_database();
    for _ in 0..3000 {
        let mut line = String::new();
        for _ in 0..(next() % 12) {
            line.push_str(pieces[(next() % pieces.len() as u64) as usize]);
        }
        for f in [Format::Hdb, Format::Hsb, Format::Ndb, Format::Ldb] {
            let mut db = Database::new();
            if let Err(e) = db.load(f, &line) {
                assert!(e.to_string().starts_with("line "), "{e}");
            }
        }
        let _ = db_default.scan_message(line.as_bytes(), &ScanLimits::default());
    }
}

#[test]
fn key_inside_anchor_at_buffer_edges() {
    // The index key is taken from the rarest window ("5a90"), 7 bytes into
    // the anchor: a match at offset 0 and at the very end must still be found.
    let mut db = Database::new();
    db.load(Format::Ndb, "Mid:0:*:0000000000004d5a9000\n").unwrap();
    let sig = b"\0\0\0\0\0\0\x4d\x5a\x90\0";
    assert_eq!(db.scan_bytes(sig), Some("Mid"));
    assert_eq!(db.scan_bytes(&[b"xyz".as_slice(), sig].concat()), Some("Mid"));
    assert_eq!(db.scan_bytes(&sig[1..]), None);
}

/// A plain reference matcher: every start position, elements in order,
/// full backtracking. The indexed scanner must agree with it.
fn naive(elems: &[mail_antivirus::pattern::Elem], data: &[u8], k: usize) -> bool {
    use mail_antivirus::pattern::Elem;
    let Some((e, rest)) = elems.split_first() else { return true };
    match e {
        Elem::Byte { value, mask } => data.get(k).is_some_and(|b| b & mask == *value) && naive(rest, data, k + 1),
        Elem::NotAlt(set) => data.get(k).is_some_and(|b| !set.contains(b)) && naive(rest, data, k + 1),
        Elem::Alt(alts) => alts.iter().any(|a| data.get(k..k + a.len()) == Some(a) && naive(rest, data, k + a.len())),
        Elem::Gap { min, max } => {
            let hi = max.map_or(data.len(), |m| (k + m as usize).min(data.len()));
            (k + *min as usize..=hi).any(|j| naive(rest, data, j))
        }
    }
}

#[test]
fn indexed_scanner_agrees_with_naive_matcher() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let lit = |r: u64| format!("{:02x}", b'a' + r as u8);
    let (mut hits, mut checked) = (0, 0);
    for _ in 0..400 {
        // A pattern over the bytes a..d with every wildcard kind.
        let mut hex = String::new();
        for part in 0..(1 + rnd(3)) {
            if part > 0 || rnd(4) == 0 {
                let w: String = match rnd(8) {
                    0 => "??".to_string(),
                    1 => "*".to_string(),
                    2 => format!("{{{}-{}}}", rnd(2), 2 + rnd(3)),
                    3 => format!("{{-{}}}", 1 + rnd(3)),
                    4 => format!("{{{}-}}", rnd(3)),
                    5 => format!("({}|{}{})", lit(rnd(4)), lit(rnd(4)), lit(rnd(4))),
                    6 => format!("!({}|{})", lit(rnd(4)), lit(rnd(4))),
                    _ => "6?".to_string(),
                };
                hex.push_str(&w);
            }
            for _ in 0..(2 + rnd(3)) {
                hex.push_str(&lit(rnd(4)));
            }
        }
        let offset = match rnd(4) {
            0 => format!("{}", rnd(6)),
            1 => format!("{},{}", rnd(4), rnd(4)),
            2 => format!("EOF-{}", 2 + rnd(8)),
            _ => "*".to_string(),
        };
        let mut db = Database::new();
        if db.load(Format::Ndb, &format!("P:0:{offset}:{hex}\n")).is_err() {
            continue; // e.g. a leading gap
        }
        let elems = mail_antivirus::pattern::parse(&hex).unwrap();
        for _ in 0..20 {
            let data: Vec<u8> = (0..(2 + rnd(24))).map(|_| b'a' + rnd(4) as u8).collect();
            let starts: Vec<usize> = match offset.as_str() {
                "*" => (0..=data.len()).collect(),
                o if o.starts_with("EOF-") => {
                    let back: usize = o[4..].parse().unwrap();
                    data.len().checked_sub(back).into_iter().collect()
                }
                o => {
                    let (at, shift) = o.split_once(',').unwrap_or((o, "0"));
                    let at: usize = at.parse().unwrap();
                    (at..=at + shift.parse::<usize>().unwrap()).collect()
                }
            };
            let want = starts.iter().any(|&s| s <= data.len() && naive(&elems, &data, s));
            let got = db.scan_bytes(&data).is_some();
            assert_eq!(got, want, "pattern {hex} offset {offset} data {:?}", String::from_utf8_lossy(&data));
            hits += usize::from(want);
            checked += 1;
        }
    }
    assert!(checked > 3000 && hits > 200, "{checked} checked, {hits} hits");
}

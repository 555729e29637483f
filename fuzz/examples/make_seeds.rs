//! Writes the seed inputs of every fuzz target into `corpus/<target>/`
//! (run once: `cargo +nightly run --example make_seeds`; scripts/fuzz then
//! minimises the grown corpora). Seeds are valid inputs taken from the
//! crates' own tests, in each target's input format.
use std::fs;
use std::path::{Path, PathBuf};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{tlsa, A, AAAA, CNAME, MX, PTR, SOA, TLSA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use mail_authn::dkim::arc::{self, ArcStep, Sealer};

fn dir(target: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    fs::create_dir_all(&d).unwrap();
    d
}

fn put(target: &str, name: &str, bytes: &[u8]) {
    fs::write(dir(target).join(name), bytes).unwrap();
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

fn smtp() {
    let sessions: &[(&str, &[u8], &[u8])] = &[
        ("plain", &[0, 0x21, 0], b"EHLO client.example\r\nMAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<x@y.example>\r\nRCPT TO:<unknown@y.example>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n"),
        ("helo-split", &[0, 0x10, 7], b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\nbody\r\n.\r\nRSET\r\nNOOP\r\nHELP\r\nVRFY x\r\nQUIT\r\n"),
        ("bdat", &[0x10, 0x35, 1], b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nBDAT 5\r\nabcdeBDAT 3 LAST\r\nxyzMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nBDAT 0 LAST\r\nQUIT\r\n"),
        ("auth", &[0x06, 0x01, 0], b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nAUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\nAUTH PLAIN\r\n*\r\nMAIL FROM:<alice@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nx\r\n.\r\n"),
        ("starttls", &[0x0b, 0x02, 3], b"EHLO c\r\nSTARTTLS\r\nEHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<alice@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n"),
        ("starttls-inject", &[0x01, 0x02, 0], b"EHLO c\r\nSTARTTLS\r\nRSET\r\n"),
        ("bare", &[0x60, 0x7f, 2], b"EHLO c\nMAIL FROM:<a@[IPv6:::1]> SMTPUTF8\r\nRCPT TO:<\"q x\"@[192.0.2.1]>\r\nDATA\r\nbare\nlf\rcr\r\n\r\n.\r\n"),
        ("sender-check", &[0x90, 0x21, 5], b"EHLO c\r\nMAIL FROM:<xbad@b.c>\r\nMAIL FROM:<ok@b.c>\r\nRCPT TO:<r@d.e> NOTIFY=NEVER\r\nDATA\r\n.\r\n"),
    ];
    for (name, pre, body) in sessions {
        put("smtp_server", name, &cat(&[pre, body]));
    }
    let ehlo: &[u8] = b"220 mx.example.net ESMTP\r\n250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n";
    let txn: &[u8] =
        b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go ahead\r\n250 2.0.0 queued as X\r\n";
    let clients: &[(&str, &[u8], Vec<u8>)] = &[
        ("plain", &[0, 0], cat(&[ehlo, txn, txn, b"221 bye\r\n"])),
        ("tls", &[0x09, 3], cat(&[ehlo, b"220 2.0.0 ready\r\n", ehlo, txn, b"221 bye\r\n"])),
        ("tls-auth", &[0x0d, 1], cat(&[ehlo, b"220 ready\r\n", ehlo, b"235 2.7.0 ok\r\n", txn])),
        ("helo", &[0, 5], b"220 old\r\n502 no ehlo\r\n250 hi\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n".to_vec()),
        ("errors", &[1, 2], b"220-multi\r\n220 line\r\n421 4.3.2 shutting down\r\n".to_vec()),
        (
            "no-pipelining",
            &[0x20, 0],
            b"220 x\r\n250-x\r\n250 8BITMIME\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n451 4.3.0 later\r\n250 ok\r\n"
                .to_vec(),
        ),
    ];
    for (name, pre, body) in clients {
        put("smtp_client", name, &cat(&[pre, body]));
        put("outbound_delivery", name, &cat(&[pre, body]));
    }
}

const IMAP_CMDS: &[&str] = &[
    "a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100> BODYSTRUCTURE ENVELOPE)\r\n",
    "b UID SEARCH CHARSET UTF-8 OR (FROM \"x\" TO y) NOT HEADER Subject {3}\r\nabc SINCE 1-Jan-2020\r\n",
    "c STORE 1,2:3 +FLAGS.SILENT (\\Seen $Junk)\r\n",
    "d APPEND INBOX (\\Seen) \"01-Jan-2024 00:00:00 +0000\" {23}\r\nSubject: x\r\n\r\nhello\r\n\r\n",
    "e LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (CHILDREN STATUS (MESSAGES))\r\n",
    "f UID MOVE 1:* Trash\r\n",
    "g FETCH 2 (BINARY.PEEK[1]<0.10> BINARY.SIZE[2] BODY[2.MIME] BODY[1.TEXT])\r\n",
    "h SEARCH RETURN (MIN MAX SAVE) UID 1:* LARGER 10\r\n",
    "i STATUS INBOX (MESSAGES UIDNEXT SIZE)\r\n",
    "j RENAME \"a&AOk-\" b\r\n",
    "k IDLE\r\nDONE\r\n",
    "l EXPUNGE\r\n",
    "m APPEND Archive {5+}\r\nhello ~{3}\r\nabc\r\n",
    "n UID FETCH 1:* (UID MODSEQ) (CHANGEDSINCE 1)\r\n",
    "o SELECT INBOX (CONDSTORE)\r\n",
];

fn imap() {
    for (i, c) in IMAP_CMDS.iter().enumerate() {
        put("imap_command", &format!("cmd{i:02}"), &cat(&[&[(i * 37) as u8, (i % 4) as u8], c.as_bytes()]));
    }
    let login = "L LOGIN bob secret\r\n";
    let all: String = IMAP_CMDS.concat();
    let sessions: &[(&str, &[u8], String)] = &[
        ("preauth-all", &[0x09, 0], format!("s SELECT INBOX\r\n{all}z LOGOUT\r\n")),
        ("login", &[0x05, 3], format!("{login}s EXAMINE INBOX\r\nf FETCH 1:* (FLAGS ENVELOPE)\r\nc CLOSE\r\nz LOGOUT\r\n")),
        ("auth-plain", &[0x01, 1], "a AUTHENTICATE PLAIN\r\nAGJvYgBzZWNyZXQ=\r\nb CAPABILITY\r\nc NAMESPACE\r\nd ID (\"name\" \"x\")\r\ne ENABLE UTF8=ACCEPT\r\n".to_string()),
        ("starttls", &[0x00, 0], format!("a CAPABILITY\r\nb STARTTLS\r\n{login}c LIST \"\" *\r\n")),
        ("condstore", &[0x0b, 7], format!("s SELECT INBOX (CONDSTORE)\r\n{}{}u UID EXPUNGE 1\r\n", IMAP_CMDS[13], IMAP_CMDS[2])),
        ("folders", &[0x09, 2], "a CREATE x/y\r\nb SUBSCRIBE x/y\r\nc LSUB \"\" *\r\nd DELETE x\r\ne RENAME Archive Old\r\nf COPY 1 Old\r\ng SELECT Old\r\nh UID COPY 1:* INBOX\r\n".to_string()),
    ];
    for (name, pre, body) in sessions {
        put("imap_session", name, &cat(&[pre, body.as_bytes()]));
    }
}

fn messages() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(repo("mail/mime/tests/corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| fs::metadata(p).unwrap().len() < 6000)
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

fn mime() {
    for (i, (name, m)) in messages().into_iter().enumerate() {
        put("mime_message", &name, &cat(&[&[(i % 16) as u8], &m]));
        put("imap_fetch", &name, &m);
    }
}

fn sieve() {
    let mut v: Vec<PathBuf> = fs::read_dir(repo("mail/sieve/tests/differential/scripts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| fs::metadata(p).unwrap().len() < 4000)
        .collect();
    v.sort();
    for (i, p) in v.iter().enumerate() {
        let s = fs::read(p).unwrap();
        put("sieve_script", &p.file_stem().unwrap().to_string_lossy(), &cat(&[&[(i * 2 % 6) as u8], &s]));
    }
    let ms: &[(&str, &[u8], &[u8])] = &[
        ("auth-put", &[0x01, 0], b"AUTHENTICATE \"PLAIN\" \"AGJvYgBzZWNyZXQ=\"\r\nPUTSCRIPT \"b\" {18+}\r\nif true { keep; }\r\nSETACTIVE \"b\"\r\nLISTSCRIPTS\r\nGETSCRIPT \"b\"\r\nRENAMESCRIPT \"b\" \"c\"\r\nHAVESPACE \"c\" 100\r\nCHECKSCRIPT {5}\r\nkeep;\r\nDELETESCRIPT \"a\"\r\nSETACTIVE \"\"\r\nUNAUTHENTICATE\r\nLOGOUT\r\n"),
        ("starttls", &[0x02, 3], b"CAPABILITY\r\nSTARTTLS\r\nAUTHENTICATE \"PLAIN\"\r\n\"AGJvYgBzZWNyZXQ=\"\r\nNOOP \"tag\"\r\nLOGOUT\r\n"),
        ("bad", &[0x11, 1], b"PUTSCRIPT \"a\" {999999999}\r\nFOO\r\n\"unterminated\r\nAUTHENTICATE \"PLAIN\" \"AGJvYgB3cm9uZw==\"\r\n"),
    ];
    for (name, pre, body) in ms {
        put("managesieve", name, &cat(&[pre, body]));
    }
}

fn authn() {
    use fuzz_common::authn::{ed_key, rsa_key, Zone};
    let rec: &[(&str, &[u8])] = &[
        ("dkim-sig", b" v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=rsa; t=1700000000; x=1800000000; l=10;\r\n h=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; i=@example.com;\r\n b=dGVzdA=="),
        ("dkim-key", b"v=DKIM1; k=ed25519; h=sha256; t=y:s; s=email; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
        ("spf", b"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a:%{d} mx/24//64 ptr include:_spf.%{o} exists:%{ir}.%{l1r+-}._spf.%{d} ?all redirect=x.example exp=exp.%{d}"),
        ("dmarc", b"v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=50; rua=mailto:a@example.com!10m,mailto:b@example.org; ruf=mailto:f@example.com; fo=1:d; ri=3600"),
        ("srs", b"SRS0=HHH=TT=example.org=alice@fwd.example"),
        ("srs1", b"SRS1=HHH=orig.example==HHH=TT=example.org=alice@fwd.example"),
        ("header", b"From: \"A\" <a@example.com>\r\nSubject:  x \r\n\tfolded\r\n\r\nbody \r\n\r\n"),
        ("arc-ams", b"i=2; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=arc; h=from; bh=AAAA; b=AAAA"),
        ("psl", b"www.example.co.uk"),
    ];
    for (name, v) in rec {
        put("authn_records", name, v);
    }
    let msg: &[u8] = b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hello\r\nDate: Mon, 6 Jan 2025 10:11:12 +0100\r\nMessage-ID: <1@example.com>\r\n\r\nHello  there \r\n\r\n\r\n";
    let mut signer = mail_authn::dkim::Signer::new();
    signer.add_key("example.com", "ed", ed_key()).add_key("example.com", "rsa", rsa_key());
    let sigs = signer.sign(msg, 1_700_000_000).unwrap().concat();
    let signed = cat(&[sigs.as_bytes(), msg]);
    // An ARC set over the signed message.
    let zone = Zone { spf: b"v=spf1 -all", dmarc: b"v=DMARC1; p=none" };
    let mut a = arc::verify(&signed);
    let chain = loop {
        match a.poll() {
            ArcStep::Query(q) => a.answer(zone.answer(&q)),
            ArcStep::Done(o) => break o,
        }
    };
    let mut ar = mail_authn::auth_results::AuthResults::new("mx.example.org");
    ar.dkim(&[]);
    let seal = Sealer::new("example.com", "arc", ed_key()).seal(&signed, 1_700_000_000, &chain, &ar).unwrap();
    let sealed = cat(&[seal.as_bytes(), &signed]);
    let spf: &[u8] = b"v=spf1 ip4:192.0.2.0/24 include:inc.example.com exists:%{i}.nx.example.com ~all";
    let dmarc: &[u8] = b"v=DMARC1; p=reject; adkim=s; pct=100";
    for (name, flags, m) in [("signed", 0u8, &signed), ("sealed", 6, &sealed), ("plain", 1, &msg.to_vec())] {
        put("authn_verify", name, &cat(&[&[flags, 3], spf, b"\n", dmarc, b"\n", m]));
    }
    put(
        "authn_verify",
        "redirect",
        &cat(&[
            &[1, 0],
            b"v=spf1 redirect=loop.example.com exp=exp.example.com\nv=DMARC1; p=quarantine; sp=none\n",
            msg,
        ]),
    );
}

fn dns() {
    let n = |s: &str| Name::from_ascii(s).unwrap();
    let reply = |qname: &str, t: RecordType, rcode: ResponseCode, tc: bool, ans: Vec<Record>, auth: Vec<Record>| {
        let mut m = Message::new(0x4242, MessageType::Response, OpCode::Query);
        m.metadata.response_code = rcode;
        m.metadata.recursion_desired = true;
        m.metadata.recursion_available = true;
        m.metadata.truncation = tc;
        m.add_query(Query::query(n(qname), t));
        m.insert_answers(ans);
        m.insert_authorities(auth);
        m.to_vec().unwrap()
    };
    let rec = |name: &str, ttl: u32, d: RData| Record::from_rdata(n(name), ttl, d);
    let soa = || {
        rec(
            "example.org.",
            60,
            RData::SOA(SOA::new(n("ns.example.org."), n("h.example.org."), 1, 3600, 600, 86400, 30)),
        )
    };
    let frame = |sel: u8, replies: &[Vec<u8>]| {
        let mut v = vec![sel];
        for r in replies {
            v.extend_from_slice(&(r.len() as u16).to_be_bytes());
            v.extend_from_slice(r);
        }
        v
    };
    let q = "example.org.";
    let ok = ResponseCode::NoError;
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "a",
            frame(0, &[reply(q, RecordType::A, ok, false, vec![rec(q, 300, RData::A(A::new(192, 0, 2, 1)))], vec![])]),
        ),
        (
            "aaaa",
            frame(
                1,
                &[reply(
                    q,
                    RecordType::AAAA,
                    ok,
                    false,
                    vec![rec(q, 300, RData::AAAA(AAAA("2001:db8::1".parse().unwrap())))],
                    vec![],
                )],
            ),
        ),
        (
            "mx",
            frame(
                2,
                &[reply(
                    q,
                    RecordType::MX,
                    ok,
                    false,
                    vec![
                        rec(q, 300, RData::MX(MX::new(10, n("mx.example.org.")))),
                        rec(q, 300, RData::MX(MX::new(20, n("mx2.example.org.")))),
                    ],
                    vec![],
                )],
            ),
        ),
        (
            "null-mx",
            frame(2, &[reply(q, RecordType::MX, ok, false, vec![rec(q, 300, RData::MX(MX::new(0, n("."))))], vec![])]),
        ),
        (
            "txt",
            frame(
                3,
                &[reply(
                    q,
                    RecordType::TXT,
                    ok,
                    false,
                    vec![rec(q, 300, RData::TXT(TXT::new(vec!["v=spf1 ip4:192.0.2.0/24 ".into(), "-all".into()])))],
                    vec![],
                )],
            ),
        ),
        (
            "ptr",
            frame(
                4,
                &[reply(
                    q,
                    RecordType::PTR,
                    ok,
                    false,
                    vec![rec(q, 300, RData::PTR(PTR(n("mx.example.org."))))],
                    vec![],
                )],
            ),
        ),
        (
            "tlsa",
            frame(
                0x85,
                &[reply(
                    "_25._tcp.mx.example.org.",
                    RecordType::TLSA,
                    ok,
                    false,
                    vec![rec(
                        "_25._tcp.mx.example.org.",
                        300,
                        RData::TLSA(TLSA::new(
                            tlsa::CertUsage::DaneEe,
                            tlsa::Selector::Spki,
                            tlsa::Matching::Sha256,
                            vec![0xab; 32],
                        )),
                    )],
                    vec![],
                )],
            ),
        ),
        (
            "cname",
            frame(
                6,
                &[reply(
                    q,
                    RecordType::CNAME,
                    ok,
                    false,
                    vec![rec(q, 300, RData::CNAME(CNAME(n("www.example.org."))))],
                    vec![],
                )],
            ),
        ),
        (
            "cname-chain",
            frame(
                0,
                &[
                    reply(
                        q,
                        RecordType::A,
                        ok,
                        false,
                        vec![rec(q, 100, RData::CNAME(CNAME(n("alias.example.org."))))],
                        vec![],
                    ),
                    reply(
                        "alias.example.org.",
                        RecordType::A,
                        ok,
                        false,
                        vec![
                            rec("alias.example.org.", 100, RData::CNAME(CNAME(n("t.example.org.")))),
                            rec("t.example.org.", 50, RData::A(A::new(192, 0, 2, 9))),
                        ],
                        vec![],
                    ),
                ],
            ),
        ),
        ("nxdomain", frame(2, &[reply(q, RecordType::MX, ResponseCode::NXDomain, false, vec![], vec![soa()])])),
        ("nodata", frame(3, &[reply(q, RecordType::TXT, ok, false, vec![], vec![soa()])])),
        (
            "servfail-then-ok",
            frame(
                0,
                &[
                    reply(q, RecordType::A, ResponseCode::ServFail, false, vec![], vec![]),
                    reply(q, RecordType::A, ok, false, vec![rec(q, 0, RData::A(A::new(192, 0, 2, 2)))], vec![]),
                ],
            ),
        ),
        (
            "truncated-then-tcp",
            frame(
                3,
                &[
                    reply(q, RecordType::TXT, ok, true, vec![], vec![]),
                    reply(
                        q,
                        RecordType::TXT,
                        ok,
                        false,
                        (0..20)
                            .map(|i| rec(q, 300, RData::TXT(TXT::new(vec![format!("{i:02}-{}", "x".repeat(60))]))))
                            .collect(),
                        vec![],
                    ),
                ],
            ),
        ),
    ];
    for (name, v) in seeds {
        put("dns_message", name, &v);
    }
}

fn config() {
    put("config", "default", mail_config::DEFAULT_CONFIG.as_bytes());
    let t = fs::read_to_string(repo("mail/config/tests/parse.rs")).unwrap();
    // The complete example between r#" and "# in good_text().
    let start = t.find("r#\"# A complete configuration").unwrap() + 3;
    let end = start + t[start..].find("\"#,").unwrap();
    let text = t[start..end].replace("{{", "{").replace("}}", "}").replace(
        "{pw}",
        "{SHA512-CRYPT}$6$.jPC2asei3dL5rPE$pmflEVzSXlQM9I0HXxVWw6BFnK7yPsyZRTjg71G1CH.kG/kCtBnTf4JLgk665dphVRC47YcpoqVndginLELlV.",
    );
    put("config", "complete", text.as_bytes());
    put("config", "small", b"[server]\nhostname = mail.example.org\ndomains = example.org\n\n[user alice@example.org]\npassword = {PLAIN}x\n\n[aliases]\n@example.org = alice@example.org\nloop@example.org = loop@example.org\n");
}

fn disk_targets() {
    put("ext2_image", "mount-rw", &[0]);
    put("ext2_image", "mount-ro", &[1]);
    put("ext2_image", "recount-noindex", &[6]);
    // A patch that rewrites the root inode's first block pointer with itself (no-op).
    let img = fuzz_common::EXT2_BASE;
    let off = 1024 * 5 + 256 + 40; // inode table of group 0 is near block 5 on this image; harmless if not
    let mut p = vec![0x22u8, (off >> 16) as u8, (off >> 8) as u8, off as u8, 4];
    p.extend_from_slice(&img[off..off + 4]);
    put("ext2_image", "noop-patch", &p);
    put("ext2_image", "superblock-magic", &[0, 0, 0x04, 0x38, 2, 0x53, 0xef]);

    let good: &[u8] = b"unimail-queue 1\nsender a@example.org\narrival 1700000000\nsize 20\nwarned 0\nrcpt P 0 0 0 b@example.net\t\nrcpt T 1 1700000500 0 c@example.com\t451 4.7.1 later\nrcpt F 0 1700000400 0 d@example.com\t550 5.1.1 no\nrcpt D 0 0 0 e@example.com\t250 ok\n";
    let msg: &[u8] = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: x\r\n\r\nbody\r\n";
    put("outbound_queue", "good", &cat(&[good, b"\0", msg]));
    put(
        "outbound_queue",
        "bounce",
        &cat(&[
            b"unimail-queue 1\nsender \narrival 1700000000\nsize 5\nwarned 1\nrcpt T 3 1700000000 0 x@y.z\t421 busy\n",
            b"\0",
            b"hello",
        ]),
    );

    let uidlist: &[u8] = b"3 V1700000000 N5 G3085f01b7f4c6c5b\n1 :1700000000.M1R1.mx,S=40\n2 :1700000001.M2R2.mx,S=41,W=42\n4 :1700000003.M4R4.mx\n";
    let names: &[u8] = b"cur/1700000000.M1R1.mx,S=40:2,S\nnew/1700000001.M2R2.mx,S=41,W=42\ncur/1700000002.M3R3.mx:2,FRa\ncur/1700000003.M4R4.mx:2,\n.Sent/cur/1700000004.M5R5.mx:2,S\n";
    let cmds = "s SELECT INBOX\r\nf FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER])\r\nt STORE 1:* +FLAGS (\\Deleted $Junk kw2)\r\nc COPY 1 Sent\r\nm MOVE 2 Sent\r\ne EXPUNGE\r\nl LIST \"\" *\r\nu STATUS Sent (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)\r\na APPEND Sent (\\Seen) {11}\r\nSubject: x\r\nn CREATE New/Sub\r\nr RENAME Sent Old\r\nd DELETE Old\r\n";
    put(
        "maildir",
        "good",
        &cat(&[
            uidlist,
            b"\0",
            b"0 $Junk\n1 kw2\n",
            b"\0",
            b"Sent\nArchive\n",
            b"\0",
            b"65a1b2c3",
            b"\0",
            names,
            b"\0",
            cmds.as_bytes(),
        ]),
    );
    put("maildir", "empty", &cat(&[b"\0\0\0\0\0", cmds.as_bytes()]));
}

fn main() {
    smtp();
    imap();
    mime();
    sieve();
    authn();
    dns();
    config();
    disk_targets();
    println!("seeds written under {}", Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").display());
}

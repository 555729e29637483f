//! The sample reports in tests/reports, shaped like the RFC's schema and
//! like Google's, Yahoo's and Microsoft's reports, read plain, gzipped,
//! zipped and as message attachments.

use mail_dmarc_report::*;
use std::net::IpAddr;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/reports/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn report(name: &str) -> Report {
    parse_report(&sample(name), &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn row<'a>(s: &'a Summary, org: &str, addr: &str) -> &'a SourceRow {
    s.rows.iter().find(|r| r.org == org && r.source_ip == ip(addr)).unwrap_or_else(|| panic!("{org} {addr}"))
}

#[test]
fn rfc_shaped_report() {
    let r = report("rfc7489-example.xml");
    assert_eq!((r.org_name.as_str(), r.report_id.as_str()), ("acme.com", "9391651994964116463"));
    assert_eq!((r.begin, r.end), (1335571200, 1335657599));
    assert_eq!(r.email.as_deref(), Some("noreply-dmarc-support@acme.com"));
    assert_eq!(r.policy.domain, "example.com");
    assert_eq!(
        (r.policy.p, r.policy.sp, r.policy.pct, r.policy.adkim_strict),
        (Disposition::None, Some(Disposition::None), 100, false)
    );
    let rec = &r.records[0];
    assert_eq!((rec.source_ip, rec.count, rec.disposition), (ip("72.150.241.94"), 2, Disposition::None));
    assert_eq!((rec.dkim_aligned, rec.spf_aligned), (false, true));
    assert_eq!(rec.dkim[0], DkimAuth { domain: "example.com".into(), selector: None, result: AuthResult::Fail });
    assert_eq!(rec.spf[0].result, AuthResult::Pass);
    assert_eq!(classify(rec).0, Class::AlignedPass);
}

#[test]
fn google_report_mailing_list_and_spoofer() {
    let s = Summary::from_reports(&[report("google.xml")]);
    assert_eq!(s.totals(), [15, 4, 7]);
    let own = row(&s, "google.com", "192.0.2.10");
    assert_eq!((own.class, own.messages, own.dkim_aligned, own.spf_aligned), (Class::AlignedPass, 12, 12, 12));
    assert_eq!(own.dkim_domains, ["example.org=pass"]);
    let list = row(&s, "google.com", "209.85.220.41");
    assert_eq!((list.class, list.why), (Class::Forwarded, "SPF fails, unaligned DKIM passes (relay re-signed)"));
    assert_eq!((list.dkim_pass, list.dkim_aligned, list.spf_pass), (4, 0, 4));
    let spoof = row(&s, "google.com", "203.0.113.66");
    assert_eq!((spoof.class, spoof.messages, spoof.disposition), (Class::Spoofing, 7, [7, 0, 0]));
    assert_eq!(spoof.spf_domains, ["example.org=softfail"]);
    assert_eq!(
        s.rows.iter().map(|r| r.class).collect::<Vec<_>>(),
        [Class::AlignedPass, Class::AlignedPass, Class::Forwarded, Class::Spoofing]
    );
}

#[test]
fn yahoo_report_forwarding_relay_fails_spf_and_dkim() {
    let s = Summary::from_reports(&[report("yahoo.xml")]);
    let relay = row(&s, "Yahoo", "198.51.100.25");
    assert_eq!((relay.dkim_pass, relay.spf_pass), (0, 0), "the relay fails both");
    assert_eq!((relay.class, relay.why), (Class::Forwarded, "own DKIM signature broken in transit"));
    assert_eq!(relay.disposition, [0, 2, 0]);
    assert_eq!(row(&s, "Yahoo", "203.0.113.99").class, Class::Spoofing);
    assert_eq!(s.totals(), [5, 2, 1]);
    assert_eq!(s.reports[0].policy, Disposition::Quarantine);
}

#[test]
fn outlook_report_namespaces_cdata_arc_override() {
    let r = report("outlook.xml");
    assert_eq!(r.report_id, "a3c1f0e2d9b84f7e9d2b1c0a&b");
    let arc = &r.records[0];
    assert_eq!(arc.envelope_from.as_deref(), Some("lists.example.net"));
    assert_eq!(arc.spf[0].scope.as_deref(), Some("mfrom"));
    assert_eq!(classify(arc), (Class::Forwarded, "ARC pass (local policy override)"));
    assert_eq!(classify(&r.records[1]).0, Class::Spoofing);
}

#[test]
fn several_reports_one_summary_text_and_json() {
    let reps: Vec<Report> = ["google.xml", "yahoo.xml", "outlook.xml"].iter().map(|n| report(n)).collect();
    let mut s = Summary::from_reports(&reps);
    assert_eq!(s.totals(), [20, 7, 11]);
    // The same spoofer seen by two orgs stays two rows.
    assert_eq!(s.rows.iter().filter(|r| r.source_ip == ip("203.0.113.66")).count(), 2);
    for r in s.failing() {
        r.reverse = Some(format!("host-{}.example.net", r.messages));
    }
    let t = s.to_text();
    assert!(t.contains("3 reports"), "{t}");
    assert!(t.contains("google.com  id 10786454323447155315  domain example.org  2026-11-21 00:00 .. 2026-11-21 23:59  p=none  4 records, 26 messages"), "{t}");
    assert!(t.contains("forwarded: 7 messages from 3 sources"), "{t}");
    assert!(t.contains("spoofing: 11 messages from 3 sources"), "{t}");
    assert!(t.contains("reverse host-7.example.net"), "{t}");
    let j = s.to_json();
    assert!(j.starts_with("{\"reports\":[{\"org\":\"google.com\""), "{j}");
    assert!(j.contains("\"totals\":{\"aligned-pass\":20,\"forwarded\":7,\"spoofing\":11}"), "{j}");
    assert!(j.contains("\"report_id\":\"a3c1f0e2d9b84f7e9d2b1c0a&b\""), "{j}");
    assert!(j.contains("\"begin_utc\":\"2026-11-21T00:00:00Z\""), "{j}");

    let mut c = Counters::default();
    c.add(&s);
    c.add_error();
    let mut p = String::new();
    c.prometheus(&mut p);
    assert!(p.contains("unimail_dmarc_reports_total 3\n"), "{p}");
    assert!(p.contains("unimail_dmarc_report_errors_total 1\n"), "{p}");
    assert!(p.contains("unimail_dmarc_messages_total{class=\"forwarded\"} 7\n"), "{p}");
    assert!(p.contains("unimail_dmarc_messages_total{class=\"aligned_pass\"} 20\n"), "{p}");
    assert!(p.contains("unimail_dmarc_disposition_total{disposition=\"reject\"} 3\n"), "{p}");
}

/// RFC 1952 gzip member, built with miniz_oxide's deflate.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    v.extend(miniz_oxide::deflate::compress_to_vec(data, 9));
    v.extend(container::crc32(data).to_le_bytes());
    v.extend((data.len() as u32).to_le_bytes());
    v
}

#[test]
fn gzip_report() {
    let g = gzip(&sample("google.xml"));
    assert_eq!(parse_report(&g, &Limits::default()).unwrap(), report("google.xml"));
    let small = Limits { max_xml: 1000, ..Limits::default() };
    assert_eq!(parse_report(&g, &small), Err(Error::Container(ContainerError::TooLarge(1000))));
    assert_eq!(parse_report(&sample("google.xml"), &small), Err(Error::TooLarge(1000)));
}

#[test]
fn malformed_xml_is_an_error_with_a_position() {
    let e = parse_report(&sample("malformed.xml"), &Limits::default()).unwrap_err();
    assert_eq!(e.to_string(), "XML error at line 8, column 1: end tag does not match the start tag");
    // Well-formed but not a report.
    let e = parse_report(b"<feedback><report_metadata/></feedback>", &Limits::default()).unwrap_err();
    assert_eq!(e.to_string(), "not a DMARC aggregate report: feedback/report_metadata/date_range: missing");
    let x = String::from_utf8(sample("google.xml")).unwrap().replace("<count>7</count>", "<count>seven</count>");
    let e = parse_report(x.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(e.to_string(), "not a DMARC aggregate report: feedback/record[4]/row/count: not a number");
    // Any truncation is an error, never a panic.
    let g = sample("outlook.xml");
    for n in (0..g.len()).step_by(7) {
        assert!(parse_report(&g[..n], &Limits::default()).is_err(), "{n}");
    }
}

fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            s.push(if k <= c.len() { A[(n >> (18 - 6 * k) & 63) as usize] as char } else { '=' });
        }
        if i % 19 == 18 {
            s.push_str("\r\n");
        }
    }
    s
}

/// A report message as Google sends it: multipart with the gzip attached.
fn message(ct: &str, name: &str, body: &[u8]) -> Vec<u8> {
    format!(
        "From: noreply-dmarc-support@google.com\r\nTo: postmaster@example.org\r\nSubject: Report domain: example.org Submitter: google.com Report-ID: 10786454323447155315\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"000b\"\r\n\r\n--000b\r\nContent-Type: text/plain\r\n\r\nThis is an aggregate report from google.com.\r\n--000b\r\nContent-Type: {ct}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--000b--\r\n",
        b64(body)
    )
    .into_bytes()
}

#[test]
fn report_from_a_message() {
    let g = gzip(&sample("google.xml"));
    let m = message("application/gzip", "google.com!example.org!1795219200!1795305599.xml.gz", &g);
    let s = summarise_message(&m).unwrap();
    assert_eq!(s.totals(), [15, 4, 7]);
    // Yahoo attaches the zip as application/zip (the zip from the crate's own writer is in container.rs tests).
    let m = message("application/octet-stream", "yahoo.xml", &sample("yahoo.xml"));
    assert_eq!(summarise_message(&m).unwrap().totals(), [5, 2, 1]);
    let m = message("application/gzip", "bad.xml.gz", &g[..g.len() - 20]);
    let e = summarise_message(&m).unwrap_err();
    assert!(matches!(e, Error::Attachment(ref n, _) if n == "bad.xml.gz"), "{e}");
    let e = summarise_message(b"From: a@b\r\nSubject: hi\r\n\r\nno report here\r\n").unwrap_err();
    assert_eq!(e, Error::NoReport);
}

/// Deterministic mutations (xorshift) of every sample, plain, gzipped,
/// zipped and as a message: errors are fine, panics and hangs are not.
#[test]
fn mutated_inputs_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut inputs = Vec::new();
    for n in ["rfc7489-example.xml", "google.xml", "yahoo.xml", "outlook.xml"] {
        let x = sample(n);
        inputs.push(gzip(&x));
        inputs.push(message("application/gzip", "r.xml.gz", &gzip(&x)));
        inputs.push(x);
    }
    let mut ok = 0;
    for input in &inputs {
        for _ in 0..300 {
            let mut m = input.clone();
            for _ in 0..1 + rnd() % 4 {
                let i = (rnd() as usize) % m.len();
                match rnd() % 3 {
                    0 => m[i] = rnd() as u8,
                    1 => {
                        m.remove(i);
                    }
                    _ => m.insert(i, b"<>&;/\"'\0]"[(rnd() % 9) as usize]),
                }
            }
            let r = if m.starts_with(b"From:") {
                summarise_message(&m).map(|_| ())
            } else {
                parse_report(&m, &Limits::default()).map(|_| ())
            };
            ok += r.is_ok() as usize;
        }
    }
    // Some mutations land in text and still parse.
    assert!(ok > 0);
}

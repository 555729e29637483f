//! MIME / RFC 5322 parsing (mail-mime): `Message::parse_with` under the
//! default and tight limits, then every accessor (decoded bodies, text,
//! envelope, sections, header fields, addresses, dates, parameters) and
//! the structural invariants mail-mime documents (ranges nested and in
//! bounds, children in order, section paths resolve back).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mail_mime::{
    decode_text, parse_address_list, parse_date, Body, ContentType, Disposition, Limits, Message, Section,
};

/// Runs every accessor and checks structural invariants.
fn exercise(raw: &[u8], limits: &Limits) {
    let m = Message::parse_with(raw, limits);
    assert!(!m.parts.is_empty());
    assert!(m.parts.len() <= limits.max_parts.max(1));
    let len = raw.len();
    for (i, p) in m.parts.iter().enumerate() {
        assert!(p.header.range.start <= p.header.range.end && p.header.range.end <= len);
        assert!(p.body.start <= p.body.end && p.body.end <= len);
        assert_eq!(p.header.range.end, p.body.start);
        assert!(p.depth <= limits.max_depth + 1);
        for f in &p.header.fields {
            assert!(f.range.start >= p.header.range.start && f.range.end <= p.header.range.end);
            let _ = (f.text(), f.unfolded());
        }
        if let Some(parent) = p.parent {
            assert!(parent < i);
            let pp = &m.parts[parent];
            assert!(p.range().start >= pp.body.start && p.range().end <= pp.body.end);
        }
        if let Body::Multipart { children, preamble, epilogue } = &p.kind {
            assert!(!children.is_empty());
            assert!(preamble.start <= preamble.end && epilogue.start <= epilogue.end && epilogue.end <= len);
            let mut last = p.body.start;
            for &c in children {
                assert!(m.parts[c].range().start >= last);
                last = m.parts[c].range().end;
            }
        }
        let _ = (m.text(i), m.decoded_body(i), m.body_raw(i), m.envelope(i));
        let _ = (p.content_id(), p.description(), p.encoding_name(), p.md5(), p.languages(), p.location());
        let _ = (p.is_attachment(), p.filename(), p.charset(), p.lines, p.size());
        let path = m.section_path(i);
        if !(p.is_message && p.is_multipart()) {
            // A numbered entity resolves back to itself.
            assert_eq!(m.resolve(&path), Some(i), "path {path:?}");
        }
        for spec in [Section::Full, Section::Header, Section::Text, Section::Mime] {
            if let Some(r) = m.section(&path, spec) {
                assert!(r.start <= r.end && r.end <= len);
            }
        }
        let _ = m.header_fields(&path, &[b"subject", b"from"], false);
        let _ = m.header_fields(&path, &[b"subject"], true);
    }
    let _ = (m.subject(), m.date(), m.from(), m.to(), m.addresses("cc"), m.body_parts(false), m.body_parts(true));
    // The stand-alone parsers on the raw header values.
    for f in &m.header().fields {
        let _ = parse_address_list(f.value, limits.max_addresses);
        let _ = parse_date(f.value);
        let _ = ContentType::parse(f.value, limits.max_params);
        let _ = Disposition::parse(f.value, limits.max_params);
        let _ = decode_text(f.value);
        if let Some(d) = parse_date(f.value) {
            let _ = (d.to_rfc5322(), d.to_imap());
            assert_eq!(mail_mime::parse_imap_date_time(d.to_imap().as_bytes()), Some(d));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, raw)) = data.split_first() else { return };
    let limits = if sel & 1 == 0 {
        Limits::default()
    } else {
        Limits {
            max_header_fields: 1 + (sel as usize >> 1 & 7),
            max_header_bytes: 200,
            max_depth: 1 + (sel as usize >> 4 & 3),
            max_parts: 4,
            max_params: 2,
            max_addresses: 2,
        }
    };
    exercise(raw, &limits);
});

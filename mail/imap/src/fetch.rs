//! FETCH response data (RFC 3501 7.4.2, RFC 9051 7.5.2): ENVELOPE,
//! BODY/BODYSTRUCTURE and section texts, built from the [`crate::mime`]
//! part tree.

use alloc::vec::Vec;

use crate::command::{FetchAttr, Section, SectionText};
use crate::mime::{self, Addr, Part};
use crate::resp::Out;

fn upper(v: &[u8]) -> Vec<u8> {
    v.to_ascii_uppercase()
}

/// RFC 3501 7.4.2 ENVELOPE.
pub fn envelope(out: &mut Out, msg: &[u8], part: &Part) {
    let header = &msg[part.header.clone()];
    let get = |n: &str| mime::header_value(header, n);
    out.s("(");
    out.nstring(get("Date").as_deref()).s(" ");
    out.nstring(get("Subject").as_deref()).s(" ");
    let from = get("From");
    addr_list(out, from.as_deref());
    out.s(" ");
    // RFC 3501 7.4.2: Sender and Reply-To default to From.
    addr_list(out, get("Sender").or_else(|| from.clone()).as_deref());
    out.s(" ");
    addr_list(out, get("Reply-To").or_else(|| from.clone()).as_deref());
    for n in ["To", "Cc", "Bcc"] {
        out.s(" ");
        addr_list(out, get(n).as_deref());
    }
    out.s(" ");
    out.nstring(get("In-Reply-To").as_deref()).s(" ");
    out.nstring(get("Message-ID").as_deref());
    out.s(")");
}

fn addr_list(out: &mut Out, v: Option<&[u8]>) {
    let addrs = v.map(mime::parse_addresses).unwrap_or_default();
    if addrs.is_empty() {
        out.s("NIL");
        return;
    }
    out.s("(");
    for a in &addrs {
        match a {
            Addr::Mailbox { name, route, local, domain } => {
                out.s("(");
                out.nstring(name.as_deref()).s(" ");
                out.nstring(route.as_deref()).s(" ");
                // RFC 3501 7.4.2: NIL host means group syntax, so an
                // address without a domain gets a placeholder (as Dovecot).
                out.string(if local.is_empty() { b"MISSING_MAILBOX" } else { local }).s(" ");
                out.string(domain.as_deref().unwrap_or(b"MISSING_DOMAIN")).s(")");
            }
            Addr::GroupStart(name) => {
                out.s("(NIL NIL ").string(name).s(" NIL)");
            }
            Addr::GroupEnd => {
                out.s("(NIL NIL NIL NIL)");
            }
        }
    }
    out.s(")");
}

fn params(out: &mut Out, p: &mime::Params) {
    if p.params.is_empty() {
        out.s("NIL");
        return;
    }
    out.s("(");
    for (i, (k, v)) in p.params.iter().enumerate() {
        if i > 0 {
            out.s(" ");
        }
        out.string(&upper(k)).s(" ").string(v);
    }
    out.s(")");
}

/// body-fld-lines: the number of line breaks, as Dovecot counts them
/// (a final line without a break does not count).
fn count_lines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// RFC 3501 7.4.2 BODY / BODYSTRUCTURE; `ext` adds the extension data.
pub fn body_structure(out: &mut Out, msg: &[u8], part: &Part, ext: bool) {
    let header = &msg[part.header.clone()];
    let get = |n: &str| mime::header_value(header, n);
    let ct = get("Content-Type").map(|v| mime::parse_params(&v)).unwrap_or_default();
    if part.is_multipart() && !part.children.is_empty() {
        out.s("(");
        for c in &part.children {
            body_structure(out, msg, c, ext);
        }
        out.s(" ").string(&upper(&part.subtype));
        if ext {
            out.s(" ");
            params(out, &ct);
            ext_tail(out, header);
        }
        out.s(")");
        return;
    }
    out.s("(");
    out.string(&upper(&part.mtype)).s(" ").string(&upper(&part.subtype)).s(" ");
    if ct.params.is_empty() && part.mtype == b"text" {
        out.s("(\"CHARSET\" \"US-ASCII\")");
    } else {
        params(out, &ct);
    }
    out.s(" ");
    out.nstring(get("Content-ID").as_deref()).s(" ");
    out.nstring(get("Content-Description").as_deref()).s(" ");
    let enc = get("Content-Transfer-Encoding").map(|v| upper(mime::trim(&v))).unwrap_or_else(|| b"7BIT".to_vec());
    out.string(&enc).s(" ");
    let body = &msg[part.body.clone()];
    out.num(body.len());
    if part.is_message() {
        if let Some(m) = &part.message {
            out.s(" ");
            envelope(out, msg, m);
            out.s(" ");
            body_structure(out, msg, m, ext);
            out.s(" ").num(count_lines(body));
        }
    } else if part.mtype == b"text" {
        out.s(" ").num(count_lines(body));
    }
    if ext {
        out.s(" ");
        out.nstring(get("Content-MD5").as_deref());
        ext_tail(out, header);
    }
    out.s(")");
}

/// body-fld-dsp SP body-fld-lang SP body-fld-loc.
fn ext_tail(out: &mut Out, header: &[u8]) {
    let get = |n: &str| mime::header_value(header, n);
    out.s(" ");
    match get("Content-Disposition") {
        Some(d) => {
            let p = mime::parse_params(&d);
            out.s("(").string(&upper(&p.value)).s(" ");
            params(out, &p);
            out.s(")");
        }
        None => {
            out.s("NIL");
        }
    }
    out.s(" ");
    match get("Content-Language") {
        Some(l) => {
            let langs: Vec<&[u8]> = l.split(|&c| c == b',').map(mime::trim).filter(|s| !s.is_empty()).collect();
            if langs.len() == 1 {
                out.string(langs[0]);
            } else {
                out.s("(");
                for (i, x) in langs.iter().enumerate() {
                    if i > 0 {
                        out.s(" ");
                    }
                    out.string(x);
                }
                out.s(")");
            }
        }
        None => {
            out.s("NIL");
        }
    }
    out.s(" ");
    out.nstring(get("Content-Location").as_deref());
}

/// The response name of a section, e.g. `BODY[1.HEADER.FIELDS (FROM)]<0>`.
pub fn section_name(out: &mut Out, prefix: &str, section: &Section, partial: Option<(u32, u32)>) {
    out.s(prefix).s("[");
    for (i, p) in section.part.iter().enumerate() {
        if i > 0 {
            out.s(".");
        }
        out.num(p);
    }
    if let Some(t) = &section.text {
        if !section.part.is_empty() {
            out.s(".");
        }
        let list = |out: &mut Out, kw: &str, names: &[alloc::string::String]| {
            out.s(kw).s(" (");
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    out.s(" ");
                }
                out.astring(n.as_bytes());
            }
            out.s(")");
        };
        match t {
            SectionText::Header => {
                out.s("HEADER");
            }
            SectionText::Text => {
                out.s("TEXT");
            }
            SectionText::Mime => {
                out.s("MIME");
            }
            SectionText::HeaderFields(n) => list(out, "HEADER.FIELDS", n),
            SectionText::HeaderFieldsNot(n) => list(out, "HEADER.FIELDS.NOT", n),
        }
    }
    out.s("]");
    if let Some((start, _)) = partial {
        out.s("<").num(start).s(">");
    }
}

/// RFC 3501 6.4.5 partial: `<start.len>` clipped to the data.
pub fn apply_partial(data: &[u8], partial: Option<(u32, u32)>) -> &[u8] {
    match partial {
        None => data,
        Some((start, len)) => {
            let s = (start as usize).min(data.len());
            let e = s.saturating_add(len as usize).min(data.len());
            &data[s..e]
        }
    }
}

/// Whether an attribute needs the message text.
pub fn needs_content(a: &FetchAttr) -> bool {
    !matches!(a, FetchAttr::Flags | FetchAttr::InternalDate | FetchAttr::Rfc822Size | FetchAttr::Uid | FetchAttr::ModSeq)
}

/// Whether fetching the attribute sets \Seen (RFC 3501 6.4.5).
pub fn sets_seen(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Rfc822 | FetchAttr::Rfc822Text | FetchAttr::Section { peek: false, .. } | FetchAttr::Binary { peek: false, .. }
    )
}

//! FETCH response data (RFC 3501 7.4.2, RFC 9051 7.5.2): ENVELOPE,
//! BODY/BODYSTRUCTURE and section texts, built from the [`crate::mime`]
//! part tree.

use alloc::vec::Vec;

use crate::command::{FetchAttr, Section, SectionText};
use crate::mime::{self, Address, Body, Message};
use crate::resp::Out;

fn upper(v: &[u8]) -> Vec<u8> {
    v.to_ascii_uppercase()
}

/// RFC 3501 7.4.2 ENVELOPE of message entity `idx` (0 = the message).
pub fn envelope(out: &mut Out, m: &Message<'_>, idx: usize) {
    let Some(e) = m.envelope(idx) else {
        out.s("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
        return;
    };
    out.s("(");
    out.nstring(e.date.as_deref()).s(" ");
    out.nstring(e.subject.as_deref()).s(" ");
    for (i, list) in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc].into_iter().enumerate() {
        if i > 0 {
            out.s(" ");
        }
        addr_list(out, list);
    }
    out.s(" ");
    out.nstring(e.in_reply_to.as_deref()).s(" ");
    out.nstring(e.message_id.as_deref());
    out.s(")");
}

fn addr_list(out: &mut Out, addrs: &[Address]) {
    if addrs.is_empty() {
        out.s("NIL");
        return;
    }
    out.s("(");
    for a in addrs {
        match a {
            Address::Mailbox(mb) => {
                out.s("(");
                out.nstring(mb.raw_name.as_deref()).s(" NIL ");
                // RFC 3501 7.4.2: NIL host means group syntax, so an
                // address without a domain gets a placeholder (as Dovecot).
                let local = if mb.local.is_empty() { "MISSING_MAILBOX" } else { mb.local.as_str() };
                let domain = if mb.domain.is_empty() { "MISSING_DOMAIN" } else { mb.domain.as_str() };
                out.string(local.as_bytes()).s(" ").string(domain.as_bytes()).s(")");
            }
            Address::GroupStart(name) => {
                out.s("(NIL NIL ").string(name.as_bytes()).s(" NIL)");
            }
            Address::GroupEnd => {
                out.s("(NIL NIL NIL NIL)");
            }
        }
    }
    out.s(")");
}

fn params(out: &mut Out, p: &mail_mime::Params) {
    if p.raw.is_empty() {
        out.s("NIL");
        return;
    }
    out.s("(");
    for (i, rp) in p.raw.iter().enumerate() {
        if i > 0 {
            out.s(" ");
        }
        out.string(&upper(rp.name.as_bytes())).s(" ").string(&rp.value);
    }
    out.s(")");
}

/// RFC 3501 7.4.2 BODY / BODYSTRUCTURE of entity `idx`; `ext` adds the
/// extension data.
pub fn body_structure(out: &mut Out, m: &Message<'_>, idx: usize, ext: bool) {
    let p = &m.parts[idx];
    let ct = &p.content_type;
    if let Body::Multipart { children, .. } = &p.kind {
        if !children.is_empty() {
            out.s("(");
            for &c in children {
                body_structure(out, m, c, ext);
            }
            out.s(" ").string(&upper(ct.sub.as_bytes()));
            if ext {
                out.s(" ");
                params(out, &ct.params);
                ext_tail(out, p);
            }
            out.s(")");
            return;
        }
    }
    if mime::is_boundaryless_multipart(p) {
        out.s("((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0");
        if ext {
            out.s(" NIL NIL NIL NIL");
        }
        out.s(") ").string(&upper(ct.sub.as_bytes()));
        if ext {
            out.s(" ");
            params(out, &ct.params);
            ext_tail(out, p);
        }
        out.s(")");
        return;
    }
    // A multipart without usable parts is described as text/plain.
    let (main, sub) = if p.is_multipart() { ("text", "plain") } else { (ct.main.as_str(), ct.sub.as_str()) };
    out.s("(");
    out.string(&upper(main.as_bytes())).s(" ").string(&upper(sub.as_bytes())).s(" ");
    if (ct.params.raw.is_empty() || p.is_multipart()) && main == "text" {
        // Dovecot (and RFC 2045 5.2's default) name the charset.
        out.s("(\"CHARSET\" \"US-ASCII\")");
    } else {
        params(out, &ct.params);
    }
    out.s(" ");
    out.nstring(p.content_id().as_deref()).s(" ");
    out.nstring(p.description().as_deref()).s(" ");
    out.string(&upper(&p.encoding_name())).s(" ");
    let body = m.body_raw(idx);
    out.num(body.len());
    if let Body::Message { child } = p.kind {
        out.s(" ");
        envelope(out, m, child);
        out.s(" ");
        body_structure(out, m, child, ext);
        out.s(" ").num(mime::count_lines(body));
    } else if main == "text" {
        out.s(" ").num(mime::count_lines(body));
    }
    if ext {
        out.s(" ");
        out.nstring(p.md5().as_deref());
        ext_tail(out, p);
    }
    out.s(")");
}

/// body-fld-dsp SP body-fld-lang SP body-fld-loc.
fn ext_tail(out: &mut Out, p: &mail_mime::Part<'_>) {
    out.s(" ");
    match &p.disposition {
        Some(d) => {
            out.s("(").string(&upper(d.kind.as_bytes())).s(" ");
            params(out, &d.params);
            out.s(")");
        }
        None => {
            out.s("NIL");
        }
    }
    out.s(" ");
    let langs = p.languages();
    match langs.len() {
        0 => {
            out.s("NIL");
        }
        1 => {
            out.string(langs[0].as_bytes());
        }
        _ => {
            out.s("(");
            for (i, x) in langs.iter().enumerate() {
                if i > 0 {
                    out.s(" ");
                }
                out.string(x.as_bytes());
            }
            out.s(")");
        }
    }
    out.s(" ");
    out.nstring(p.location().as_deref());
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

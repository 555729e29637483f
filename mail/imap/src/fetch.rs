//! FETCH response data (RFC 3501 7.4.2, RFC 9051 7.5.2): ENVELOPE,
//! BODY/BODYSTRUCTURE and section texts, built from the [`crate::mime`]
//! part tree.

use alloc::string::String;
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
    let h = &m.parts[idx].header;
    let text = |name: &str| h.get(name).map(|f| unfold_like_dovecot(f.value));
    out.s("(");
    out.nstring(text("date").as_deref()).s(" ");
    out.nstring(text("subject").as_deref()).s(" ");
    // RFC 3501 7.4.2: Sender and Reply-To absent *or empty* take From.
    let sender = if e.sender.is_empty() { &e.from } else { &e.sender };
    let reply_to = if e.reply_to.is_empty() { &e.from } else { &e.reply_to };
    for (i, list) in [&e.from, sender, reply_to, &e.to, &e.cc, &e.bcc].into_iter().enumerate() {
        if i > 0 {
            out.s(" ");
        }
        addr_list(out, list);
    }
    out.s(" ");
    out.nstring(text("in-reply-to").as_deref()).s(" ");
    out.nstring(text("message-id").as_deref());
    out.s(")");
}

/// ENVELOPE strings: a line break and the whitespace after it become one
/// space, outer whitespace is trimmed (what Dovecot sends; RFC 5322 2.2.3
/// unfolding alone would keep the folding whitespace).
fn unfold_like_dovecot(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        if c == b'\r' || c == b'\n' {
            while i < v.len() && matches!(v[i], b'\r' | b'\n' | b' ' | b'\t') {
                i += 1;
            }
            out.push(b' ');
            continue;
        }
        out.push(c);
        i += 1;
    }
    let start = out.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(out.len());
    let end = out.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |p| p + 1);
    out[start..end].to_vec()
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
                out.nstring(mb.raw_name.as_deref()).s(" ");
                // RFC 3501 7.4.2: the adl is the obs-route ("@a,@b").
                out.nstring(mb.route.as_deref().map(str::as_bytes)).s(" ");
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

/// body-fld-param. RFC 2231 continuations (`name*0*`, `name*1*`, ...)
/// are joined into one `name*` (or `name`) parameter with the raw,
/// still-encoded value, as Dovecot does.
fn params(out: &mut Out, p: &mail_mime::Params) {
    if p.raw.is_empty() {
        out.s("NIL");
        return;
    }
    let mut joined: Vec<(String, Vec<u8>)> = Vec::new();
    let mut seen_cont: Vec<String> = Vec::new();
    for rp in &p.raw {
        match continuation(&rp.name) {
            Some((base, _, _)) => {
                if seen_cont.iter().any(|b| b == base) {
                    continue;
                }
                seen_cont.push(base.into());
                let mut segs: Vec<(u32, bool, &[u8])> = p
                    .raw
                    .iter()
                    .filter_map(|q| {
                        continuation(&q.name).filter(|c| c.0 == base).map(|c| (c.1, c.2, q.value.as_slice()))
                    })
                    .collect();
                segs.sort_by_key(|x| x.0);
                let extended = segs.first().map_or(false, |x| x.1);
                let name = if extended { alloc::format!("{}*", base) } else { base.into() };
                joined.push((name, segs.iter().flat_map(|x| x.2.iter().copied()).collect()));
            }
            None => joined.push((rp.name.clone(), rp.value.clone())),
        }
    }
    out.s("(");
    for (i, (k, v)) in joined.iter().enumerate() {
        if i > 0 {
            out.s(" ");
        }
        out.string(&upper(k.as_bytes())).s(" ").string(v);
    }
    out.s(")");
}

/// `name*3*` -> ("name", 3, true); `name*0` -> ("name", 0, false).
fn continuation(name: &str) -> Option<(&str, u32, bool)> {
    let (rest, ext) = match name.strip_suffix('*') {
        Some(r) => (r, true),
        None => (name, false),
    };
    let star = rest.rfind('*')?;
    let n: u32 = rest[star + 1..].parse().ok()?;
    Some((&rest[..star], n, ext))
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
    } else if main == "message" && (sub == "rfc822" || sub == "global") {
        // Not parsed as a message (e.g. a base64-encoded message/rfc822,
        // which RFC 2046 5.2.1 forbids): body-type-msg still needs an
        // envelope, a body and lines; like Dovecot, send empty ones.
        out.s(" (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0");
        if ext {
            out.s(" NIL NIL NIL NIL");
        }
        out.s(") ").num(mime::count_lines(body));
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
    !matches!(
        a,
        FetchAttr::Flags | FetchAttr::InternalDate | FetchAttr::Rfc822Size | FetchAttr::Uid | FetchAttr::ModSeq
    )
}

/// Whether the attribute needs only the message header (ENVELOPE,
/// RFC822.HEADER, BODY[HEADER], BODY[HEADER.FIELDS ...]).
pub fn header_only(a: &FetchAttr) -> bool {
    match a {
        FetchAttr::Envelope | FetchAttr::Rfc822Header => true,
        FetchAttr::Section { section, .. } => {
            section.part.is_empty()
                && matches!(
                    section.text,
                    Some(SectionText::Header | SectionText::HeaderFields(_) | SectionText::HeaderFieldsNot(_))
                )
        }
        _ => !needs_content(a),
    }
}

/// Whether fetching the attribute sets \Seen (RFC 3501 6.4.5).
pub fn sets_seen(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Rfc822
            | FetchAttr::Rfc822Text
            | FetchAttr::Section { peek: false, .. }
            | FetchAttr::Binary { peek: false, .. }
    )
}

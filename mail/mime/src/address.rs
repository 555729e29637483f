//! RFC 5322 3.4 address lists: mailboxes, display names, angle addresses,
//! groups, comments; lenient with real-world junk.

use alloc::string::String;
use alloc::vec::Vec;

use crate::encoded_word::{decode_text, unfold};

/// One mailbox. `local`/`domain` are what IMAP ENVELOPE calls mailbox and
/// host, `route` its at-domain-list (RFC 3501 7.4.2 adl).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Mailbox {
    /// Display name as written (quotes and escapes removed, encoded words
    /// kept): for IMAP ENVELOPE, which passes names through.
    pub raw_name: Option<Vec<u8>>,
    /// Display name with RFC 2047 words decoded: for display, Sieve.
    pub name: Option<String>,
    /// Local part, unquoted.
    pub local: String,
    /// Domain; empty when the address had none (e.g. `To: postmaster`).
    pub domain: String,
    /// RFC 5322 4.4 obs-route `@a,@b` (without its final colon), kept for
    /// IMAP ENVELOPE's adl; `None` for the modern forms.
    pub route: Option<String>,
}

impl Mailbox {
    /// `local@domain`, quoting the local part when it needs it
    /// (RFC 5322 3.4.1); just `local` without a domain.
    pub fn addr(&self) -> String {
        let mut s = String::new();
        let dot_atom = !self.local.is_empty()
            && !self.local.starts_with('.')
            && !self.local.ends_with('.')
            && !self.local.contains("..")
            && self.local.bytes().all(|b| is_atext(b) || b == b'.');
        if dot_atom {
            s.push_str(&self.local);
        } else {
            s.push('"');
            for c in self.local.chars() {
                if c == '"' || c == '\\' {
                    s.push('\\');
                }
                s.push(c);
            }
            s.push('"');
        }
        if !self.domain.is_empty() {
            s.push('@');
            s.push_str(&self.domain);
        }
        s
    }
}

/// An address-list item in the order IMAP ENVELOPE emits them: a group is
/// a start marker, its mailboxes, and an end marker (RFC 3501 7.4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    Mailbox(Mailbox),
    /// Group start, with the group's display name (raw as written).
    GroupStart(String),
    GroupEnd,
}

impl Address {
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            Address::Mailbox(m) => Some(m),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// Atom or dot-atom text (lenient: any non-special run).
    Atom(Vec<u8>),
    Quoted(Vec<u8>),
    Comment(Vec<u8>),
    /// `[...]` domain literal, brackets included.
    Literal(Vec<u8>),
    Special(u8),
}

/// A token and whether whitespace preceded it.
type Spaced = (bool, Tok);

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

/// RFC 5322 3.2: lexing into atoms, quoted strings, comments, literals and
/// the specials that structure an address list.
fn lex(s: &[u8], max_tokens: usize) -> Vec<Spaced> {
    let mut toks = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < s.len() && toks.len() < max_tokens {
        let c = s[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                space = true;
                i += 1;
                continue;
            }
            b'(' => {
                let mut depth = 0usize;
                let mut text = Vec::new();
                while i < s.len() {
                    let c = s[i];
                    i += 1;
                    match c {
                        b'\\' => {
                            if let Some(&n) = s.get(i) {
                                text.push(n);
                                i += 1;
                            }
                        }
                        b'(' => {
                            if depth > 0 {
                                text.push(c);
                            }
                            depth += 1;
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            text.push(c);
                        }
                        _ => text.push(c),
                    }
                }
                toks.push((space, Tok::Comment(text)));
            }
            b'"' => {
                i += 1;
                let mut text = Vec::new();
                while i < s.len() {
                    let c = s[i];
                    i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            if let Some(&n) = s.get(i) {
                                text.push(n);
                                i += 1;
                            }
                        }
                        _ => text.push(c),
                    }
                }
                toks.push((space, Tok::Quoted(text)));
            }
            b'[' => {
                let start = i;
                while i < s.len() && s[i] != b']' {
                    i += 1;
                }
                i = (i + 1).min(s.len());
                toks.push((space, Tok::Literal(s[start..i].to_vec())));
            }
            b'<' | b'>' | b'@' | b',' | b':' | b';' => {
                toks.push((space, Tok::Special(c)));
                i += 1;
            }
            // A ')' outside a comment closes nothing: skip it. (The atom
            // arm below stops at it without moving, which used to fill the
            // token budget with empty atoms and drop the rest of the field.)
            b')' => {
                i += 1;
                continue;
            }
            _ => {
                let start = i;
                while i < s.len() && !b" \t\r\n()\"[<>@,:;".contains(&s[i]) {
                    i += 1;
                }
                toks.push((space, Tok::Atom(s[start..i].to_vec())));
            }
        }
        space = false;
    }
    toks
}

/// Parses an address-list header value (From, To, Cc, Reply-To, ...).
/// Never fails; at most `max_items` items are returned.
pub fn parse_address_list(value: &[u8], max_items: usize) -> Vec<Address> {
    let v = unfold(value);
    // A generous token bound: a few tokens per item, plus slack.
    let toks = lex(&v, max_items.saturating_mul(16).saturating_add(64));
    let mut out: Vec<Address> = Vec::new();
    let mut cur: Vec<Spaced> = Vec::new();
    let mut angle = false;
    let mut in_group = false;
    // Whether `cur` holds an '@', kept as tokens arrive: scanning `cur` at
    // every ':' made a long field of colons quadratic (a 32 KB field took
    // 90 ms).
    let mut cur_has_at = false;
    for t in toks {
        if out.len() >= max_items {
            break;
        }
        match t.1 {
            Tok::Special(b'<') => {
                angle = true;
                cur.push(t);
            }
            Tok::Special(b'>') => {
                angle = false;
                cur.push(t);
            }
            // RFC 5322 3.4: group = display-name ":" [group-list] ";"
            Tok::Special(b':') if !angle => {
                if !in_group && !cur_has_at {
                    let name = phrase(&cur);
                    out.push(Address::GroupStart(String::from_utf8_lossy(&name).into_owned()));
                    in_group = true;
                    cur.clear();
                }
            }
            Tok::Special(b';') if !angle => {
                flush(&mut cur, &mut out);
                cur_has_at = false;
                if in_group {
                    out.push(Address::GroupEnd);
                    in_group = false;
                }
            }
            Tok::Special(b',') if !angle => {
                flush(&mut cur, &mut out);
                cur_has_at = false;
            }
            _ => {
                cur_has_at |= t.1 == Tok::Special(b'@');
                cur.push(t);
            }
        }
    }
    flush(&mut cur, &mut out);
    if in_group {
        out.push(Address::GroupEnd);
    }
    out.truncate(max_items);
    out
}

/// Joins phrase words (atoms and quoted strings) with single spaces; a word
/// not preceded by whitespace is glued to the previous one.
fn phrase(toks: &[Spaced]) -> Vec<u8> {
    let mut out = Vec::new();
    for (space, t) in toks {
        let w: &[u8] = match t {
            Tok::Atom(w) | Tok::Quoted(w) => w,
            Tok::Special(b'@') => b"@",
            _ => continue,
        };
        if !out.is_empty() && *space {
            out.push(b' ');
        }
        out.extend_from_slice(w);
    }
    out
}

fn flush(cur: &mut Vec<Spaced>, out: &mut Vec<Address>) {
    if cur.is_empty() {
        return;
    }
    if let Some(m) = mailbox(cur) {
        out.push(Address::Mailbox(m));
    }
    cur.clear();
}

fn make_name(raw: Vec<u8>) -> (Option<Vec<u8>>, Option<String>) {
    let trimmed = crate::charset::trim(&raw);
    if trimmed.is_empty() {
        return (None, None);
    }
    let name = String::from(decode_text(trimmed).trim());
    (Some(trimmed.to_vec()), Some(name))
}

/// RFC 5322 3.4: `name-addr = [display-name] angle-addr`, or a bare
/// `addr-spec` optionally followed by a comment naming it (RFC 822 style).
fn mailbox(toks: &[Spaced]) -> Option<Mailbox> {
    let mut route = None;
    let lt = toks.iter().position(|t| t.1 == Tok::Special(b'<'));
    let (name_raw, spec): (Vec<u8>, &[Spaced]) = match lt {
        Some(lt) => {
            let inner = &toks[lt + 1..];
            let gt = inner.iter().position(|t| t.1 == Tok::Special(b'>')).unwrap_or(inner.len());
            let mut inner = &inner[..gt];
            // RFC 5322 4.4 obs-route: "@a,@b:" before the address.
            if let Some(colon) = inner.iter().rposition(|t| t.1 == Tok::Special(b':')) {
                route = Some(route_text(&inner[..colon]));
                inner = &inner[colon + 1..];
            }
            let mut name = phrase(&toks[..lt]);
            if name.is_empty() {
                name = first_comment(&toks[..lt]).unwrap_or_default();
            }
            (name, inner)
        }
        None => {
            // Bare addr-spec. Lenient: words before the local part that are
            // separated by spaces ("John Doe john@x") are a display name.
            let at = toks.iter().rposition(|t| t.1 == Tok::Special(b'@'));
            let words: Vec<usize> = toks
                .iter()
                .enumerate()
                .filter(|(_, t)| matches!(t.1, Tok::Atom(_) | Tok::Quoted(_)))
                .map(|(i, _)| i)
                .collect();
            let mut split = 0;
            if let Some(at) = at {
                // The local part starts after the last spaced word before '@'.
                for &i in words.iter().filter(|&&i| i < at) {
                    if toks[i].0 && i > 0 {
                        split = i;
                    }
                }
            }
            let name = if split > 0 { phrase(&toks[..split]) } else { first_comment(toks).unwrap_or_default() };
            (name, &toks[split..])
        }
    };
    let (local, domain) = addr_spec(spec);
    let (raw_name, name) = make_name(name_raw);
    if local.is_empty() && domain.is_empty() {
        return None;
    }
    Some(Mailbox { raw_name, name, local, domain, route: route.filter(|r| !r.is_empty()) })
}

/// The obs-domain-list as IMAP ENVELOPE shows it (RFC 3501 7.4.2 adl,
/// e.g. `@a,@b`): its words, `@` and `,` only; comments and spaces go.
fn route_text(toks: &[Spaced]) -> String {
    let mut out = String::new();
    for (_, t) in toks {
        match t {
            Tok::Atom(w) | Tok::Quoted(w) | Tok::Literal(w) => out.push_str(&String::from_utf8_lossy(w)),
            Tok::Special(c @ (b'@' | b',')) => out.push(char::from(*c)),
            _ => {}
        }
    }
    out
}

fn first_comment(toks: &[Spaced]) -> Option<Vec<u8>> {
    toks.iter().find_map(|t| match &t.1 {
        Tok::Comment(c) if !crate::charset::trim(c).is_empty() => Some(c.clone()),
        _ => None,
    })
}

/// RFC 5322 3.4.1: `local-part "@" domain`; comments and whitespace inside
/// are dropped (CFWS is allowed around the dots).
fn addr_spec(toks: &[Spaced]) -> (String, String) {
    let at = toks.iter().rposition(|t| t.1 == Tok::Special(b'@'));
    let (l, d) = match at {
        Some(at) => (&toks[..at], &toks[at + 1..]),
        None => (toks, &[][..]),
    };
    (join(l), join(d))
}

fn join(toks: &[Spaced]) -> String {
    let mut out = Vec::new();
    for (_, t) in toks {
        match t {
            Tok::Atom(w) | Tok::Quoted(w) | Tok::Literal(w) => out.extend_from_slice(w),
            Tok::Special(b'@') => out.push(b'@'),
            _ => {}
        }
    }
    let mut s = String::new();
    crate::charset::decode_8bit_guess(&out, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn mb(name: Option<&str>, local: &str, domain: &str) -> Address {
        let m = Mailbox {
            raw_name: None,
            name: name.map(String::from),
            local: String::from(local),
            domain: String::from(domain),
            route: None,
        };
        Address::Mailbox(m)
    }

    /// Compares ignoring raw_name.
    fn parse(s: &str) -> Vec<Address> {
        parse_address_list(s.as_bytes(), 100)
            .into_iter()
            .map(|a| match a {
                Address::Mailbox(mut m) => {
                    m.raw_name = None;
                    Address::Mailbox(m)
                }
                x => x,
            })
            .collect()
    }

    #[test]
    fn simple_forms() {
        assert_eq!(parse("a@b.c"), vec![mb(None, "a", "b.c")]);
        assert_eq!(parse("<a@b.c>"), vec![mb(None, "a", "b.c")]);
        assert_eq!(parse("John Doe <jdoe@example.com>"), vec![mb(Some("John Doe"), "jdoe", "example.com")]);
        assert_eq!(
            parse("\"Doe, John\" <jdoe@example.com>, x@y"),
            vec![mb(Some("Doe, John"), "jdoe", "example.com"), mb(None, "x", "y")]
        );
        assert_eq!(parse("jdoe@example.com (John Doe)"), vec![mb(Some("John Doe"), "jdoe", "example.com")]);
        assert_eq!(parse("\"john doe\"@example.com"), vec![mb(None, "john doe", "example.com")]);
        assert_eq!(parse("postmaster"), vec![mb(None, "postmaster", "")]);
        assert_eq!(parse("a@[192.0.2.1]"), vec![mb(None, "a", "[192.0.2.1]")]);
    }

    #[test]
    fn rfc5322_appendix_a() {
        // A.1.2
        assert_eq!(
            parse("\"Joe Q. Public\" <john.q.public@example.com>"),
            vec![mb(Some("Joe Q. Public"), "john.q.public", "example.com")]
        );
        assert_eq!(
            parse("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"),
            vec![
                mb(Some("Mary Smith"), "mary", "x.test"),
                mb(None, "jdoe", "example.org"),
                mb(Some("Who?"), "one", "y.test")
            ]
        );
        assert_eq!(
            parse("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>"),
            vec![mb(None, "boss", "nil.test"), mb(Some("Giant; \"Big\" Box"), "sysservices", "example.net")]
        );
        // A.1.3 groups
        assert_eq!(
            parse("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"),
            vec![
                Address::GroupStart(String::from("A Group")),
                mb(Some("Ed Jones"), "c", "a.test"),
                mb(None, "joe", "where.test"),
                mb(Some("John"), "jdoe", "one.test"),
                Address::GroupEnd
            ]
        );
        assert_eq!(
            parse("Undisclosed recipients:;"),
            vec![Address::GroupStart(String::from("Undisclosed recipients")), Address::GroupEnd]
        );
        // A.5 white space and comments
        assert_eq!(
            parse("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
            vec![mb(Some("Pete"), "pete", "silly.test")]
        );
        assert_eq!(
            parse("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)"),
            vec![
                Address::GroupStart(String::from("A Group")),
                mb(Some("Chris Jones"), "c", "public.example"),
                mb(None, "joe", "example.org"),
                mb(Some("John"), "jdoe", "one.test"),
                Address::GroupEnd
            ]
        );
        // A.6.1 obsolete route: kept apart for IMAP's adl (RFC 3501 7.4.2).
        let routed = |r: &str| match mb(None, "john", "example.net") {
            Address::Mailbox(m) => Address::Mailbox(Mailbox { route: Some(r.into()), ..m }),
            a => a,
        };
        assert_eq!(parse("<@node.test:john@example.net>"), vec![routed("@node.test")]);
        assert_eq!(parse("<@a.test, @b.test (c):john@example.net>"), vec![routed("@a.test,@b.test")]);
    }

    #[test]
    fn encoded_and_junk() {
        assert_eq!(parse("=?utf-8?q?J=C3=B6rg?= <j@x.de>"), vec![mb(Some("Jörg"), "j", "x.de")]);
        assert_eq!(parse("\"=?iso-8859-1?q?Andr=E9?=\" <a@x>"), vec![mb(Some("André"), "a", "x")]);
        assert_eq!(parse("John Doe john@x.org"), vec![mb(Some("John Doe"), "john", "x.org")]);
        assert_eq!(parse(",,, a@b ,,"), vec![mb(None, "a", "b")]);
        assert_eq!(parse("<a@b"), vec![mb(None, "a", "b")]);
        assert_eq!(parse("\"unterminated <a@b>"), vec![mb(None, "unterminated <a@b>", "")]);
        assert_eq!(
            parse("grp: a@b"),
            vec![Address::GroupStart(String::from("grp")), mb(None, "a", "b"), Address::GroupEnd]
        );
        assert_eq!(parse(""), vec![]);
        assert_eq!(parse("<>"), vec![]);
        let r = parse_address_list(b"a@b, c@d, e@f", 2);
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn stray_close_paren_is_skipped() {
        assert_eq!(parse("a@b) , c@d"), vec![mb(None, "a", "b"), mb(None, "c", "d")]);
        assert_eq!(parse(")x@y"), vec![mb(None, "x", "y")]);
        assert_eq!(lex(b")))", 100), vec![]);
    }

    /// Colons after the group start, or after an '@', start no group; a
    /// field made of thousands of them parses in one pass (it used to
    /// rescan the pending tokens at each colon).
    #[test]
    fn colons_that_start_no_group() {
        let g = |s: &str| Address::GroupStart(String::from(s));
        assert_eq!(
            parse("g: a : b@c : d, e@f;"),
            vec![g("g"), mb(Some("a"), "b", "cd"), mb(None, "e", "f"), Address::GroupEnd]
        );
        assert_eq!(parse("a@b : c, d: e@f"), vec![mb(None, "a", "bc"), g("d"), mb(None, "e", "f"), Address::GroupEnd]);
        assert_eq!(parse("x: y:; z@w"), vec![g("x"), mb(None, "y", ""), Address::GroupEnd, mb(None, "z", "w")]);
        let mut long = String::from("grp:");
        long.push_str(&" a :".repeat(8000));
        long.push_str(" b@c");
        let r = parse_address_list(long.as_bytes(), 1000);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], g("grp"));
        assert!(matches!(&r[1], Address::Mailbox(m) if m.local == "b" && m.domain == "c"));
    }

    #[test]
    fn addr_quoting() {
        let m = Mailbox { local: String::from("john doe"), domain: String::from("x"), ..Default::default() };
        assert_eq!(m.addr(), "\"john doe\"@x");
        let m = Mailbox { local: String::from("j.d"), domain: String::from("x"), ..Default::default() };
        assert_eq!(m.addr(), "j.d@x");
    }
}

//! RFC 3501 9 / RFC 9051 9 formal syntax, client side: parses one complete
//! command as produced by the [`crate::framer::Framer`] (lines ending in
//! CRLF, literal data inline after each `{n}` CRLF).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::command::*;
use crate::datetime;
use crate::types::{SeqRange, SeqSet, STAR};

/// A syntax error; the session answers `tag BAD msg`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The tag if it could be read, else `*`.
    pub tag: String,
    pub msg: &'static str,
}

type R<T> = Result<T, &'static str>;

/// Bound on nesting of search keys (parentheses, NOT, OR) so a hostile
/// command cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

struct P<'a> {
    b: &'a [u8],
    i: usize,
}

/// RFC 3501 9: atom-specials are "(" ")" "{" SP CTL list-wildcards
/// quoted-specials resp-specials.
fn is_atom_char(c: u8) -> bool {
    c > 0x20 && c < 0x7f && !matches!(c, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}
fn is_astring_char(c: u8) -> bool {
    is_atom_char(c) || c == b']'
}
fn is_list_char(c: u8) -> bool {
    is_atom_char(c) || matches!(c, b'%' | b'*' | b']')
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8, msg: &'static str) -> R<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(msg)
        }
    }
    fn sp(&mut self) -> R<()> {
        self.expect(b' ', "Expected space")
    }
    fn crlf(&mut self) -> R<()> {
        if self.b[self.i..] == *b"\r\n" {
            self.i += 2;
            Ok(())
        } else {
            Err("Unexpected extra arguments")
        }
    }
    fn at_end(&self) -> bool {
        self.b[self.i..] == *b"\r\n"
    }
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let s = self.i;
        while self.i < self.b.len() && f(self.b[self.i]) {
            self.i += 1;
        }
        &self.b[s..self.i]
    }
    fn atom(&mut self) -> R<&'a [u8]> {
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            Err("Expected atom")
        } else {
            Ok(a)
        }
    }
    /// Case-insensitive keyword match that does not consume on failure.
    fn keyword(&mut self, kw: &str) -> bool {
        let end = self.i + kw.len();
        if end <= self.b.len()
            && self.b[self.i..end].eq_ignore_ascii_case(kw.as_bytes())
            && !self.b.get(end).map_or(false, |c| c.is_ascii_alphanumeric())
        {
            self.i = end;
            true
        } else {
            false
        }
    }
    fn number(&mut self) -> R<u32> {
        let d = self.take_while(|c| c.is_ascii_digit());
        if d.is_empty() || d.len() > 10 {
            return Err("Expected number");
        }
        let v = d.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64);
        u32::try_from(v).map_err(|_| "Number too large")
    }
    fn number64(&mut self) -> R<u64> {
        let d = self.take_while(|c| c.is_ascii_digit());
        if d.is_empty() || d.len() > 19 {
            return Err("Expected number");
        }
        Ok(d.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64))
    }
    fn nz_number(&mut self) -> R<u32> {
        match self.number()? {
            0 => Err("Zero is not a valid number here"),
            n => Ok(n),
        }
    }
    /// RFC 3501 4.3: quoted string with `\"` and `\\` escapes.
    fn quoted(&mut self) -> R<Vec<u8>> {
        self.expect(b'"', "Expected quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r') | Some(b'\n') | Some(0) => return Err("Unterminated quoted string"),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.i += 1;
                        }
                        _ => return Err("Invalid escape in quoted string"),
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
    /// RFC 3501 4.3 literal / RFC 7888 `{n+}` / RFC 3516 literal8 `~{n}`.
    /// The framer already checked the size and delivered the data.
    fn literal(&mut self, allow8: bool) -> R<Vec<u8>> {
        if allow8 {
            self.eat(b'~');
        }
        self.expect(b'{', "Expected literal")?;
        let n = self.number()? as usize;
        self.eat(b'+');
        self.expect(b'}', "Bad literal")?;
        if self.b[self.i..].len() < 2 + n || &self.b[self.i..self.i + 2] != b"\r\n" {
            return Err("Bad literal");
        }
        self.i += 2;
        let v = self.b[self.i..self.i + n].to_vec();
        self.i += n;
        Ok(v)
    }
    fn string(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal(false),
            _ => Err("Expected string"),
        }
    }
    fn astring(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.string(),
            _ => {
                let a = self.take_while(is_astring_char);
                if a.is_empty() {
                    Err("Expected string")
                } else {
                    Ok(a.to_vec())
                }
            }
        }
    }
    fn nstring(&mut self) -> R<Option<Vec<u8>>> {
        if self.keyword("NIL") {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }
    fn mailbox(&mut self) -> R<Vec<u8>> {
        self.astring()
    }
    /// RFC 3501 9 list-mailbox: list-chars or a string.
    fn list_mailbox(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.string(),
            _ => {
                let a = self.take_while(is_list_char);
                if a.is_empty() {
                    Err("Expected mailbox pattern")
                } else {
                    Ok(a.to_vec())
                }
            }
        }
    }
    fn utf8(v: Vec<u8>) -> R<String> {
        String::from_utf8(v).map_err(|_| "Invalid UTF-8")
    }
    /// RFC 3501 9 flag: `\System`, `\Extension` or a keyword atom.
    fn flag(&mut self) -> R<String> {
        let start = self.i;
        self.eat(b'\\');
        if self.i > start && self.peek() == Some(b'*') {
            self.i += 1; // \* appears only in PERMANENTFLAGS, reject below
            return Err("Invalid flag");
        }
        self.atom()?;
        Ok(String::from_utf8_lossy(&self.b[start..self.i]).into_owned())
    }
    fn flag_list(&mut self) -> R<Vec<String>> {
        self.expect(b'(', "Expected flag list")?;
        let mut v = Vec::new();
        if self.eat(b')') {
            return Ok(v);
        }
        loop {
            v.push(self.flag()?);
            if self.eat(b')') {
                return Ok(v);
            }
            self.sp()?;
        }
    }
    fn seq_number(&mut self) -> R<u32> {
        if self.eat(b'*') {
            Ok(STAR)
        } else {
            self.nz_number()
        }
    }
    /// RFC 3501 9 sequence-set, RFC 5182 `$`.
    fn seq_set(&mut self) -> R<SeqSet> {
        if self.eat(b'$') {
            return Ok(SeqSet::Saved);
        }
        let mut v = Vec::new();
        loop {
            let lo = self.seq_number()?;
            let hi = if self.eat(b':') { self.seq_number()? } else { lo };
            v.push(SeqRange { lo, hi });
            if v.len() > 10_000 {
                return Err("Sequence set too long");
            }
            if !self.eat(b',') {
                return Ok(SeqSet::Ranges(v));
            }
        }
    }
    /// RFC 3501 9 date: date-text or quoted date-text.
    fn date(&mut self) -> R<i64> {
        let quoted = self.eat(b'"');
        let d = self.take_while(|c| c.is_ascii_alphanumeric() || c == b'-');
        let v = datetime::parse_date(d).ok_or("Invalid date")?;
        if quoted {
            self.expect(b'"', "Invalid date")?;
        }
        Ok(v)
    }
    fn section_part(&mut self) -> R<Vec<u32>> {
        let mut part = Vec::new();
        while self.peek().map_or(false, |c| c.is_ascii_digit()) {
            part.push(self.nz_number()?);
            if part.len() > 64 {
                return Err("Section too deep");
            }
            if !self.eat(b'.') {
                break;
            }
        }
        Ok(part)
    }
    /// RFC 3501 9 section: "[" [section-spec] "]".
    fn section(&mut self) -> R<Section> {
        self.expect(b'[', "Expected section")?;
        let part = self.section_part()?;
        let trailing_dot = self.b[self.i - 1] == b'.';
        let text = if self.peek() == Some(b']') {
            if trailing_dot {
                return Err("Invalid section");
            }
            None
        } else if !part.is_empty() && !trailing_dot {
            return Err("Invalid section");
        } else if self.keyword("HEADER.FIELDS.NOT") {
            self.sp()?;
            Some(SectionText::HeaderFieldsNot(self.header_list()?))
        } else if self.keyword("HEADER.FIELDS") {
            self.sp()?;
            Some(SectionText::HeaderFields(self.header_list()?))
        } else if self.keyword("HEADER") {
            Some(SectionText::Header)
        } else if self.keyword("TEXT") {
            Some(SectionText::Text)
        } else if self.keyword("MIME") && !part.is_empty() {
            Some(SectionText::Mime)
        } else {
            return Err("Invalid section");
        };
        self.expect(b']', "Expected ]")?;
        Ok(Section { part, text })
    }
    fn header_list(&mut self) -> R<Vec<String>> {
        self.expect(b'(', "Expected header list")?;
        let mut v = Vec::new();
        loop {
            let h = self.astring()?;
            v.push(Self::utf8(h)?);
            if self.eat(b')') {
                return Ok(v);
            }
            self.sp()?;
        }
    }
    fn partial(&mut self) -> R<Option<(u32, u32)>> {
        if !self.eat(b'<') {
            return Ok(None);
        }
        let start = self.number()?;
        self.expect(b'.', "Expected partial length")?;
        let len = self.nz_number()?;
        self.expect(b'>', "Expected >")?;
        Ok(Some((start, len)))
    }
    fn fetch_att(&mut self, out: &mut Vec<FetchAttr>) -> R<()> {
        let a = if self.keyword("ENVELOPE") {
            FetchAttr::Envelope
        } else if self.keyword("FLAGS") {
            FetchAttr::Flags
        } else if self.keyword("INTERNALDATE") {
            FetchAttr::InternalDate
        } else if self.keyword("RFC822.HEADER") {
            FetchAttr::Rfc822Header
        } else if self.keyword("RFC822.SIZE") {
            FetchAttr::Rfc822Size
        } else if self.keyword("RFC822.TEXT") {
            FetchAttr::Rfc822Text
        } else if self.keyword("RFC822") {
            FetchAttr::Rfc822
        } else if self.keyword("BODYSTRUCTURE") {
            FetchAttr::BodyStructure
        } else if self.keyword("BODY.PEEK") {
            let section = self.section()?;
            FetchAttr::Section { peek: true, section, partial: self.partial()? }
        } else if self.keyword("BODY") {
            if self.peek() == Some(b'[') {
                let section = self.section()?;
                FetchAttr::Section { peek: false, section, partial: self.partial()? }
            } else {
                FetchAttr::Body
            }
        } else if self.keyword("UID") {
            FetchAttr::Uid
        } else if self.keyword("BINARY.SIZE") {
            FetchAttr::BinarySize(self.binary_section()?)
        } else if self.keyword("BINARY.PEEK") {
            let part = self.binary_section()?;
            FetchAttr::Binary { peek: true, part, partial: self.partial()? }
        } else if self.keyword("BINARY") {
            let part = self.binary_section()?;
            FetchAttr::Binary { peek: false, part, partial: self.partial()? }
        } else if self.keyword("MODSEQ") {
            FetchAttr::ModSeq
        } else if self.keyword("ALL") || self.keyword("FAST") || self.keyword("FULL") {
            return Err("Macro not allowed inside a list");
        } else {
            return Err("Unknown fetch attribute");
        };
        if !out.contains(&a) {
            out.push(a);
        }
        Ok(())
    }
    fn binary_section(&mut self) -> R<Vec<u32>> {
        self.expect(b'[', "Expected section")?;
        let part = self.section_part()?;
        if self.b[self.i - 1] == b'.' {
            return Err("Invalid section");
        }
        self.expect(b']', "Expected ]")?;
        Ok(part)
    }
    /// RFC 3501 6.4.5: ALL / FAST / FULL macros, one attribute, or a list.
    fn fetch_items(&mut self) -> R<Vec<FetchAttr>> {
        use FetchAttr::*;
        let mut v = Vec::new();
        if self.keyword("ALL") {
            v.extend([Flags, InternalDate, Rfc822Size, Envelope]);
        } else if self.keyword("FAST") {
            v.extend([Flags, InternalDate, Rfc822Size]);
        } else if self.keyword("FULL") {
            v.extend([Flags, InternalDate, Rfc822Size, Envelope, Body]);
        } else if self.eat(b'(') {
            loop {
                self.fetch_att(&mut v)?;
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
        } else {
            self.fetch_att(&mut v)?;
        }
        Ok(v)
    }
    fn search_string(&mut self) -> R<Vec<u8>> {
        self.sp()?;
        self.astring()
    }
    /// RFC 3501 6.4.4 search-key.
    fn search_key(&mut self, depth: usize) -> R<SearchKey> {
        use SearchKey::*;
        if depth > MAX_DEPTH {
            return Err("Search too complex");
        }
        if self.eat(b'(') {
            let mut v = Vec::new();
            loop {
                v.push(self.search_key(depth + 1)?);
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
            return Ok(if v.len() == 1 { v.pop().unwrap() } else { And(v) });
        }
        if matches!(self.peek(), Some(b'0'..=b'9' | b'*' | b'$')) {
            return Ok(SeqSet(self.seq_set()?));
        }
        let word = self.atom()?;
        let mut up = [0u8; 16];
        if word.len() > up.len() {
            return Err("Unknown search key");
        }
        up[..word.len()].copy_from_slice(word);
        up[..word.len()].make_ascii_uppercase();
        let k = match &up[..word.len()] {
            b"ALL" => All,
            b"ANSWERED" => Answered,
            b"BCC" => Bcc(self.search_string()?),
            b"BEFORE" => {
                self.sp()?;
                Before(self.date()?)
            }
            b"BODY" => Body(self.search_string()?),
            b"CC" => Cc(self.search_string()?),
            b"DELETED" => Deleted,
            b"DRAFT" => Draft,
            b"FLAGGED" => Flagged,
            b"FROM" => From(self.search_string()?),
            b"HEADER" => {
                let name = Self::utf8(self.search_string()?)?;
                Header(name, self.search_string()?)
            }
            b"KEYWORD" => {
                self.sp()?;
                Keyword(self.flag()?)
            }
            b"LARGER" => {
                self.sp()?;
                Larger(self.number()?)
            }
            b"NEW" => New,
            b"NOT" => {
                self.sp()?;
                Not(Box::new(self.search_key(depth + 1)?))
            }
            b"OLD" => Old,
            b"ON" => {
                self.sp()?;
                On(self.date()?)
            }
            b"OR" => {
                self.sp()?;
                let a = self.search_key(depth + 1)?;
                self.sp()?;
                let b = self.search_key(depth + 1)?;
                Or(Box::new(a), Box::new(b))
            }
            b"RECENT" => Recent,
            b"SEEN" => Seen,
            b"SENTBEFORE" => {
                self.sp()?;
                SentBefore(self.date()?)
            }
            b"SENTON" => {
                self.sp()?;
                SentOn(self.date()?)
            }
            b"SENTSINCE" => {
                self.sp()?;
                SentSince(self.date()?)
            }
            b"SINCE" => {
                self.sp()?;
                Since(self.date()?)
            }
            b"SMALLER" => {
                self.sp()?;
                Smaller(self.number()?)
            }
            b"SUBJECT" => Subject(self.search_string()?),
            b"TEXT" => Text(self.search_string()?),
            b"TO" => To(self.search_string()?),
            b"UID" => {
                self.sp()?;
                Uid(self.seq_set()?)
            }
            b"UNANSWERED" => Unanswered,
            b"UNDELETED" => Undeleted,
            b"UNDRAFT" => Undraft,
            b"UNFLAGGED" => Unflagged,
            b"UNKEYWORD" => {
                self.sp()?;
                Unkeyword(self.flag()?)
            }
            b"UNSEEN" => Unseen,
            b"MODSEQ" => {
                self.sp()?;
                // RFC 7162 3.1.5: optional entry name and type are ignored.
                if self.peek() == Some(b'"') {
                    self.quoted()?;
                    self.sp()?;
                    self.atom()?;
                    self.sp()?;
                }
                ModSeq(self.number64()?)
            }
            _ => return Err("Unknown search key"),
        };
        Ok(k)
    }
    fn search(&mut self, uid: bool) -> R<SearchCommand> {
        self.sp()?;
        let mut ret = None;
        if self.keyword("RETURN") {
            self.sp()?;
            self.expect(b'(', "Expected (")?;
            let mut r = SearchReturn::default();
            while !self.eat(b')') {
                if self.keyword("MIN") {
                    r.min = true
                } else if self.keyword("MAX") {
                    r.max = true
                } else if self.keyword("ALL") {
                    r.all = true
                } else if self.keyword("COUNT") {
                    r.count = true
                } else if self.keyword("SAVE") {
                    r.save = true
                } else {
                    return Err("Unknown search return option");
                }
                self.eat(b' ');
            }
            // RFC 4731 3.1: RETURN () means RETURN (ALL).
            if !(r.min || r.max || r.count || r.save) {
                r.all = true;
            }
            ret = Some(r);
            self.sp()?;
        }
        let mut charset = None;
        if self.keyword("CHARSET") {
            self.sp()?;
            charset = Some(Self::utf8(self.astring()?)?);
            self.sp()?;
        }
        let mut keys = Vec::new();
        loop {
            keys.push(self.search_key(0)?);
            if self.at_end() {
                break;
            }
            self.sp()?;
        }
        let key = if keys.len() == 1 { keys.pop().unwrap() } else { SearchKey::And(keys) };
        Ok(SearchCommand { uid, charset, key, ret })
    }
    fn store(&mut self, uid: bool) -> R<StoreCommand> {
        self.sp()?;
        let set = self.seq_set()?;
        self.sp()?;
        let mut unchanged_since = None;
        if self.eat(b'(') {
            if !self.keyword("UNCHANGEDSINCE") {
                return Err("Unknown store modifier");
            }
            self.sp()?;
            unchanged_since = Some(self.number64()?);
            self.expect(b')', "Expected )")?;
            self.sp()?;
        }
        let mode = if self.eat(b'+') {
            StoreMode::Add
        } else if self.eat(b'-') {
            StoreMode::Remove
        } else {
            StoreMode::Replace
        };
        if !self.keyword("FLAGS") {
            return Err("Expected FLAGS");
        }
        let silent = self.keyword(".SILENT");
        self.sp()?;
        let flags = if self.peek() == Some(b'(') {
            self.flag_list()?
        } else {
            let mut v = alloc::vec![self.flag()?];
            while self.eat(b' ') {
                v.push(self.flag()?);
            }
            v
        };
        Ok(StoreCommand { uid, set, mode, silent, flags, unchanged_since })
    }
    fn status_items(&mut self) -> R<Vec<StatusItem>> {
        self.expect(b'(', "Expected (")?;
        let mut v = Vec::new();
        loop {
            let it = if self.keyword("MESSAGES") {
                StatusItem::Messages
            } else if self.keyword("RECENT") {
                StatusItem::Recent
            } else if self.keyword("UIDNEXT") {
                StatusItem::UidNext
            } else if self.keyword("UIDVALIDITY") {
                StatusItem::UidValidity
            } else if self.keyword("UNSEEN") {
                StatusItem::Unseen
            } else if self.keyword("SIZE") {
                StatusItem::Size
            } else if self.keyword("DELETED") {
                StatusItem::Deleted
            } else if self.keyword("HIGHESTMODSEQ") {
                StatusItem::HighestModSeq
            } else {
                return Err("Unknown status item");
            };
            if !v.contains(&it) {
                v.push(it);
            }
            if self.eat(b')') {
                return Ok(v);
            }
            self.sp()?;
        }
    }
    /// RFC 5258 3: LIST [SP list-select-opts] SP mailbox SP mbox-or-pat
    /// [SP list-return-opts].
    fn list(&mut self) -> R<ListCommand> {
        let mut l = ListCommand::default();
        self.sp()?;
        if self.eat(b'(') {
            l.extended = true;
            while !self.eat(b')') {
                if self.keyword("SUBSCRIBED") {
                    l.select_subscribed = true;
                } else if self.keyword("SPECIAL-USE") {
                    l.select_special_use = true;
                } else if self.keyword("RECURSIVEMATCH") {
                    l.recursive_match = true;
                } else if self.keyword("REMOTE") {
                } else {
                    return Err("Unknown LIST selection option");
                }
                self.eat(b' ');
            }
            self.sp()?;
        }
        l.reference = self.mailbox()?;
        self.sp()?;
        if self.eat(b'(') {
            l.extended = true;
            loop {
                l.patterns.push(self.list_mailbox()?);
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
        } else {
            l.patterns.push(self.list_mailbox()?);
        }
        if self.eat(b' ') {
            if !self.keyword("RETURN") {
                return Err("Expected RETURN");
            }
            l.extended = true;
            self.sp()?;
            self.expect(b'(', "Expected (")?;
            while !self.eat(b')') {
                if self.keyword("SUBSCRIBED") {
                    l.return_subscribed = true;
                } else if self.keyword("CHILDREN") {
                    l.return_children = true;
                } else if self.keyword("SPECIAL-USE") {
                    l.return_special_use = true;
                } else if self.keyword("STATUS") {
                    self.sp()?;
                    l.return_status = Some(self.status_items()?);
                } else {
                    return Err("Unknown LIST return option");
                }
                self.eat(b' ');
            }
        }
        Ok(l)
    }
    fn id_params(&mut self) -> R<Option<Vec<(String, Option<String>)>>> {
        if self.keyword("NIL") {
            return Ok(None);
        }
        self.expect(b'(', "Expected (")?;
        let mut v = Vec::new();
        while !self.eat(b')') {
            let k = String::from_utf8_lossy(&self.string()?).into_owned();
            self.sp()?;
            let val = self.nstring()?.map(|s| String::from_utf8_lossy(&s).into_owned());
            // RFC 2971 3.3: at most 30 field-value pairs.
            if v.len() >= 30 {
                return Err("Too many ID fields");
            }
            v.push((k, val));
            self.eat(b' ');
        }
        Ok(Some(v))
    }
    fn append(&mut self) -> R<CommandBody> {
        self.sp()?;
        let mailbox = self.mailbox()?;
        self.sp()?;
        let mut flags = Vec::new();
        if self.peek() == Some(b'(') {
            flags = self.flag_list()?;
            self.sp()?;
        }
        let mut date = None;
        if self.peek() == Some(b'"') {
            let d = self.quoted()?;
            date = Some(datetime::parse_date_time(&d).ok_or("Invalid date-time")?);
            self.sp()?;
        }
        // RFC 6855 4: after ENABLE UTF8=ACCEPT, `UTF8 (literal8)`.
        let message = if self.keyword("UTF8") {
            self.sp()?;
            self.expect(b'(', "Expected (")?;
            let m = self.literal(true)?;
            self.expect(b')', "Expected )")?;
            m
        } else {
            self.literal(true)?
        };
        Ok(CommandBody::Append { mailbox, flags, date, message })
    }

    fn command(&mut self) -> R<CommandBody> {
        use CommandBody::*;
        let name = self.atom()?;
        let mut up = [0u8; 16];
        if name.len() > up.len() {
            return Err("Unknown command");
        }
        up[..name.len()].copy_from_slice(name);
        up[..name.len()].make_ascii_uppercase();
        let body = match &up[..name.len()] {
            b"CAPABILITY" => Capability,
            b"NOOP" => Noop,
            b"LOGOUT" => Logout,
            b"STARTTLS" => StartTls,
            b"LOGIN" => {
                self.sp()?;
                let user = self.astring()?;
                self.sp()?;
                Login { user, password: self.astring()? }
            }
            b"AUTHENTICATE" => {
                self.sp()?;
                let mechanism = String::from_utf8_lossy(self.atom()?).to_ascii_uppercase();
                let initial = if self.eat(b' ') {
                    let v = self.take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='));
                    if v.is_empty() {
                        return Err("Invalid initial response");
                    }
                    Some(v.to_vec())
                } else {
                    None
                };
                Authenticate { mechanism, initial }
            }
            b"ENABLE" => {
                let mut v = Vec::new();
                while self.eat(b' ') {
                    v.push(String::from_utf8_lossy(self.atom()?).to_ascii_uppercase());
                }
                if v.is_empty() {
                    return Err("Expected capability");
                }
                Enable(v)
            }
            b"SELECT" | b"EXAMINE" => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                let mut condstore = false;
                if self.eat(b' ') {
                    self.expect(b'(', "Expected (")?;
                    while !self.eat(b')') {
                        if self.keyword("CONDSTORE") {
                            condstore = true;
                        } else {
                            return Err("Unknown select parameter");
                        }
                        self.eat(b' ');
                    }
                }
                Select { mailbox, read_only: up[0] == b'E', condstore }
            }
            b"CREATE" => {
                self.sp()?;
                let m = self.mailbox()?;
                // RFC 4466 create-param (e.g. USE (\Sent)) is accepted and ignored.
                if self.eat(b' ') {
                    self.skip_parens()?;
                }
                Create(m)
            }
            b"DELETE" => {
                self.sp()?;
                Delete(self.mailbox()?)
            }
            b"RENAME" => {
                self.sp()?;
                let from = self.mailbox()?;
                self.sp()?;
                Rename { from, to: self.mailbox()? }
            }
            b"SUBSCRIBE" => {
                self.sp()?;
                Subscribe(self.mailbox()?)
            }
            b"UNSUBSCRIBE" => {
                self.sp()?;
                Unsubscribe(self.mailbox()?)
            }
            b"LIST" => List(self.list()?),
            b"LSUB" => {
                self.sp()?;
                let reference = self.mailbox()?;
                self.sp()?;
                Lsub { reference, pattern: self.list_mailbox()? }
            }
            b"NAMESPACE" => Namespace,
            b"STATUS" => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                self.sp()?;
                Status { mailbox, items: self.status_items()? }
            }
            b"APPEND" => self.append()?,
            b"CHECK" => Check,
            b"CLOSE" => Close,
            b"UNSELECT" => Unselect,
            b"EXPUNGE" => Expunge { uids: None },
            b"SEARCH" => Search(self.search(false)?),
            b"FETCH" => self.fetch(false)?,
            b"STORE" => Store(self.store(false)?),
            b"COPY" => {
                let (set, mailbox) = self.set_and_mailbox()?;
                Copy { uid: false, set, mailbox }
            }
            b"MOVE" => {
                let (set, mailbox) = self.set_and_mailbox()?;
                Move { uid: false, set, mailbox }
            }
            b"UID" => {
                self.sp()?;
                let sub = self.atom()?.to_ascii_uppercase();
                match sub.as_slice() {
                    b"FETCH" => self.fetch(true)?,
                    b"SEARCH" => Search(self.search(true)?),
                    b"STORE" => Store(self.store(true)?),
                    b"COPY" => {
                        let (set, mailbox) = self.set_and_mailbox()?;
                        Copy { uid: true, set, mailbox }
                    }
                    b"MOVE" => {
                        let (set, mailbox) = self.set_and_mailbox()?;
                        Move { uid: true, set, mailbox }
                    }
                    b"EXPUNGE" => {
                        self.sp()?;
                        Expunge { uids: Some(self.seq_set()?) }
                    }
                    _ => return Err("Unknown UID command"),
                }
            }
            b"IDLE" => Idle,
            b"ID" => {
                self.sp()?;
                Id(self.id_params()?)
            }
            _ => return Err("Unknown command"),
        };
        Ok(body)
    }
    fn skip_parens(&mut self) -> R<()> {
        self.expect(b'(', "Expected (")?;
        let mut depth = 1;
        while depth > 0 {
            match self.peek() {
                Some(b'(') => depth += 1,
                Some(b')') => depth -= 1,
                Some(b'\r') | None => return Err("Unbalanced parentheses"),
                _ => {}
            }
            self.i += 1;
        }
        Ok(())
    }
    fn set_and_mailbox(&mut self) -> R<(SeqSet, Vec<u8>)> {
        self.sp()?;
        let set = self.seq_set()?;
        self.sp()?;
        Ok((set, self.mailbox()?))
    }
    fn fetch(&mut self, uid: bool) -> R<CommandBody> {
        self.sp()?;
        let set = self.seq_set()?;
        self.sp()?;
        let items = self.fetch_items()?;
        let mut changed_since = None;
        if self.eat(b' ') {
            self.expect(b'(', "Expected (")?;
            while !self.eat(b')') {
                if self.keyword("CHANGEDSINCE") {
                    self.sp()?;
                    changed_since = Some(self.number64()?);
                } else if self.keyword("VANISHED") {
                    // QRESYNC is not advertised.
                    return Err("VANISHED requires QRESYNC");
                } else {
                    return Err("Unknown fetch modifier");
                }
                self.eat(b' ');
            }
        }
        Ok(CommandBody::Fetch { uid, set, items, changed_since })
    }
}

/// Parses one complete command (as framed, ending in CRLF).
pub fn parse_command(input: &[u8]) -> Result<Command, ParseError> {
    let mut p = P { b: input, i: 0 };
    let tag_bytes = p.take_while(|c| is_astring_char(c) && c != b'+');
    let tag = String::from_utf8_lossy(tag_bytes).into_owned();
    if tag.is_empty() || p.peek() != Some(b' ') {
        return Err(ParseError { tag: String::from("*"), msg: "Missing or invalid tag" });
    }
    p.i += 1;
    let body = p.command().and_then(|b| p.crlf().map(|_| b));
    match body {
        Ok(body) => Ok(Command { tag, body }),
        Err(msg) => Err(ParseError { tag, msg }),
    }
}

/// Parses a mailbox-level astring the same way a command argument is
/// parsed (used for AUTHENTICATE continuation lines that are not base64).
pub fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.bytes().all(|c| is_astring_char(c) && c != b'+')
}

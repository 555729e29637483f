//! Semantic validation (RFC 5228 2.10.5: errors are found before the script
//! runs) turning the generic tree into a typed program.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::CompileError;
use crate::lexer::{tokenize, Pos};
use crate::matching::{Comparator, MatchType, Rel};
use crate::parser::{parse, Arg, CommandNode, Limits, TestNode};

/// The extensions this implementation knows (the `SIEVE` capability of
/// ManageSieve lists the enabled ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Ext {
    Fileinto = 1 << 0,
    Envelope = 1 << 1,
    Mailbox = 1 << 2,
    Imap4flags = 1 << 3,
    Variables = 1 << 4,
    Vacation = 1 << 5,
    Relational = 1 << 6,
    Subaddress = 1 << 7,
    Copy = 1 << 8,
    Body = 1 << 9,
    /// RFC 4790 / RFC 5228 2.7.3: `comparator-i;ascii-numeric`
    Numeric = 1 << 10,
    /// RFC 5293
    Editheader = 1 << 11,
    /// RFC 5260 4-5
    Date = 1 << 12,
    /// RFC 5260 6
    Index = 1 << 13,
    /// RFC 5228 2.4.2.4
    EncodedCharacter = 1 << 14,
    /// draft-ietf-sieve-regex-01 (as Pigeonhole implements it)
    Regex = 1 << 15,
}

pub const ALL_EXTS: [(Ext, &str); 16] = [
    (Ext::Fileinto, "fileinto"),
    (Ext::Envelope, "envelope"),
    (Ext::Mailbox, "mailbox"),
    (Ext::Imap4flags, "imap4flags"),
    (Ext::Variables, "variables"),
    (Ext::Vacation, "vacation"),
    (Ext::Relational, "relational"),
    (Ext::Subaddress, "subaddress"),
    (Ext::Copy, "copy"),
    (Ext::Body, "body"),
    (Ext::Numeric, "comparator-i;ascii-numeric"),
    (Ext::Editheader, "editheader"),
    (Ext::Date, "date"),
    (Ext::Index, "index"),
    (Ext::EncodedCharacter, "encoded-character"),
    (Ext::Regex, "regex"),
];

/// A set of extensions (bit set over [`Ext`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtSet(u32);

impl ExtSet {
    pub const fn empty() -> Self {
        ExtSet(0)
    }
    pub fn all() -> Self {
        let mut s = ExtSet(0);
        for (e, _) in ALL_EXTS {
            s.insert(e);
        }
        s
    }
    pub fn insert(&mut self, e: Ext) {
        self.0 |= e as u32;
    }
    pub fn remove(&mut self, e: Ext) {
        self.0 &= !(e as u32);
    }
    pub fn contains(self, e: Ext) -> bool {
        self.0 & (e as u32) != 0
    }
    pub fn by_name(name: &str) -> Option<Ext> {
        ALL_EXTS.iter().find(|(_, n)| *n == name).map(|(e, _)| *e)
    }
    /// Space-separated names, for the ManageSieve `SIEVE` capability.
    pub fn names(self) -> String {
        let mut s = String::new();
        for (e, n) in ALL_EXTS {
            if self.contains(e) {
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(n);
            }
        }
        s
    }
}

/// Bounds applied while compiling untrusted scripts.
#[derive(Debug, Clone, Copy)]
pub struct CompileLimits {
    pub max_tokens: usize,
    pub max_depth: usize,
    pub max_list: usize,
}

impl Default for CompileLimits {
    fn default() -> Self {
        CompileLimits { max_tokens: 100_000, max_depth: 32, max_list: 1024 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrPart {
    All,
    Localpart,
    Domain,
    /// RFC 5233
    User,
    Detail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub cmp: Comparator,
    pub mt: MatchType,
}

/// RFC 5173 5: body transforms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyTransform {
    Raw,
    /// MIME parts whose Content-Type matches one of these (`""` = all,
    /// `"text"` = type only, `"text/html"` = full type).
    Content(Vec<String>),
    Text,
}

/// RFC 5260 6: `:index n [:last]` picks one occurrence of a header field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Index {
    pub n: u64,
    pub last: bool,
}

/// RFC 5260 4.1: the zone a date is shown in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Zone {
    /// The server's local zone (the caller's `now()` offset).
    Local,
    /// `:originalzone`: the zone written in the header.
    Original,
    /// `:zone "+hhmm"` (may contain variables: checked at run time).
    Given(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Test {
    True,
    False,
    Not(Box<Test>),
    AllOf(Vec<Test>),
    AnyOf(Vec<Test>),
    Address {
        part: AddrPart,
        m: Match,
        headers: Vec<String>,
        keys: Vec<String>,
        index: Option<Index>,
    },
    Envelope {
        part: AddrPart,
        m: Match,
        parts: Vec<String>,
        keys: Vec<String>,
    },
    Header {
        m: Match,
        headers: Vec<String>,
        keys: Vec<String>,
        index: Option<Index>,
    },
    /// RFC 5260 4
    Date {
        zone: Zone,
        m: Match,
        header: String,
        part: String,
        keys: Vec<String>,
        index: Option<Index>,
    },
    /// RFC 5260 5
    CurrentDate {
        zone: Zone,
        m: Match,
        part: String,
        keys: Vec<String>,
    },
    Exists(Vec<String>),
    Size {
        over: bool,
        limit: u64,
    },
    /// RFC 5229 5
    Str {
        m: Match,
        sources: Vec<String>,
        keys: Vec<String>,
    },
    /// RFC 5232 4
    HasFlag {
        m: Match,
        vars: Option<Vec<String>>,
        keys: Vec<String>,
    },
    /// RFC 5490 3.1
    MailboxExists(Vec<String>),
    /// RFC 5173
    Body {
        m: Match,
        transform: BodyTransform,
        keys: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagOp {
    Set,
    Add,
    Remove,
}

/// RFC 5229 4.1 modifiers, kept in application order (highest precedence first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Modifier {
    Lower,
    Upper,
    LowerFirst,
    UpperFirst,
    QuoteWildcard,
    Length,
}

impl Modifier {
    fn precedence(self) -> u8 {
        match self {
            Modifier::Lower | Modifier::Upper => 40,
            Modifier::LowerFirst | Modifier::UpperFirst => 30,
            Modifier::QuoteWildcard => 20,
            Modifier::Length => 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VacationCmd {
    pub days: u64,
    pub subject: Option<String>,
    pub from: Option<String>,
    pub addresses: Vec<String>,
    pub mime: bool,
    pub handle: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cmd {
    If(Vec<(Test, Vec<Cmd>)>, Option<Vec<Cmd>>),
    Stop,
    Keep {
        flags: Option<Vec<String>>,
    },
    Discard,
    Redirect {
        addr: String,
        copy: bool,
    },
    FileInto {
        mailbox: String,
        create: bool,
        copy: bool,
        flags: Option<Vec<String>>,
    },
    Flag {
        op: FlagOp,
        var: Option<String>,
        flags: Vec<String>,
    },
    Set {
        name: String,
        value: String,
        mods: Vec<Modifier>,
    },
    Vacation(Box<VacationCmd>),
    /// RFC 5293 5
    AddHeader {
        last: bool,
        name: String,
        value: String,
    },
    /// RFC 5293 6
    DeleteHeader {
        m: Match,
        name: String,
        patterns: Option<Vec<String>>,
        index: Option<Index>,
    },
}

/// A compiled, validated script, ready to evaluate any number of times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub(crate) cmds: Vec<Cmd>,
    pub(crate) required: ExtSet,
}

impl Script {
    /// The extensions named by the script's `require` commands.
    pub fn required(&self) -> ExtSet {
        self.required
    }
}

/// Compiles `src` with the given extensions enabled.
pub fn compile(src: &str, enabled: ExtSet) -> Result<Script, CompileError> {
    compile_with(src, enabled, &CompileLimits::default())
}

pub fn compile_with(src: &str, enabled: ExtSet, lim: &CompileLimits) -> Result<Script, CompileError> {
    let toks = tokenize(src, lim.max_tokens)?;
    let end = end_pos(src);
    let tree = parse(&toks, end, &Limits { max_depth: lim.max_depth, max_list: lim.max_list })?;
    let mut cx = Cx { enabled, required: ExtSet::empty() };
    let cmds = cx.block(&tree, true)?;
    Ok(Script { cmds, required: cx.required })
}

fn end_pos(src: &str) -> Pos {
    let mut p = Pos { line: 1, col: 1 };
    for b in src.bytes() {
        if b == b'\n' {
            p.line += 1;
            p.col = 1;
        } else {
            p.col += 1;
        }
    }
    p
}

struct Cx {
    enabled: ExtSet,
    required: ExtSet,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flag,
    Str,
    StrList,
    Num,
}

/// Tagged argument specification: name, value kind, extension needed.
type Spec = (&'static str, Kind, Option<Ext>);

const MATCH_TAGS: [Spec; 7] = [
    ("is", Kind::Flag, None),
    ("contains", Kind::Flag, None),
    ("matches", Kind::Flag, None),
    ("regex", Kind::Flag, Some(Ext::Regex)),
    ("value", Kind::Str, Some(Ext::Relational)),
    ("count", Kind::Str, Some(Ext::Relational)),
    ("comparator", Kind::Str, None),
];
const INDEX_TAGS: [Spec; 2] = [("index", Kind::Num, Some(Ext::Index)), ("last", Kind::Flag, Some(Ext::Index))];
const ADDR_TAGS: [Spec; 5] = [
    ("all", Kind::Flag, None),
    ("localpart", Kind::Flag, None),
    ("domain", Kind::Flag, None),
    ("user", Kind::Flag, Some(Ext::Subaddress)),
    ("detail", Kind::Flag, Some(Ext::Subaddress)),
];

struct Parsed {
    tags: Vec<(String, Pos, Option<Arg>)>,
    pos: Vec<Arg>,
    at: Pos,
}

impl Parsed {
    fn has(&self, t: &str) -> bool {
        self.tags.iter().any(|(n, _, _)| n == t)
    }
    fn tag_val(&self, t: &str) -> Option<&Arg> {
        self.tags.iter().find(|(n, _, _)| n == t).and_then(|(_, _, v)| v.as_ref())
    }
    fn tag_str(&self, t: &str) -> Option<String> {
        match self.tag_val(t) {
            Some(Arg::Strings { items, .. }) => items.first().cloned(),
            _ => None,
        }
    }
    fn tag_list(&self, t: &str) -> Option<Vec<String>> {
        match self.tag_val(t) {
            Some(Arg::Strings { items, .. }) => Some(items.clone()),
            _ => None,
        }
    }
    fn tag_num(&self, t: &str) -> Option<u64> {
        match self.tag_val(t) {
            Some(Arg::Number(n, _)) => Some(*n),
            _ => None,
        }
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Flag => "nothing",
        Kind::Str => "a string",
        Kind::StrList => "a string list",
        Kind::Num => "a number",
    }
}

impl Cx {
    fn need(&self, e: Ext, at: Pos, what: &str) -> Result<(), CompileError> {
        if self.required.contains(e) {
            Ok(())
        } else {
            let name = ALL_EXTS.iter().find(|(x, _)| *x == e).map(|(_, n)| *n).unwrap_or("?");
            Err(CompileError::owned(at, format!("{what} requires 'require \"{name}\"'")))
        }
    }

    /// RFC 5228 2.6.2: tagged arguments precede positional ones.
    fn split(&self, what: &str, at: Pos, args: &[Arg], spec: &[&[Spec]]) -> Result<Parsed, CompileError> {
        let mut p = Parsed { tags: Vec::new(), pos: Vec::new(), at };
        let mut i = 0;
        while i < args.len() {
            let Arg::Tag(t, tp) = &args[i] else { break };
            let s = spec.iter().flat_map(|s| s.iter()).find(|(n, _, _)| *n == t.as_str());
            let Some((_, kind, ext)) = s else {
                return Err(CompileError::owned(*tp, format!("unknown tagged argument ':{t}' for {what}")));
            };
            if let Some(e) = ext {
                self.need(*e, *tp, &format!("':{t}'"))?;
            }
            if p.has(t) {
                return Err(CompileError::owned(*tp, format!("tagged argument ':{t}' given twice")));
            }
            i += 1;
            let val = if *kind == Kind::Flag {
                None
            } else {
                let v = args.get(i).cloned();
                let ok = matches!(
                    (&v, kind),
                    (Some(Arg::Number(..)), Kind::Num)
                        | (Some(Arg::Strings { list: false, .. }), Kind::Str)
                        | (Some(Arg::Strings { .. }), Kind::StrList)
                );
                if !ok {
                    return Err(CompileError::owned(*tp, format!(":{t} must be followed by {}", kind_name(*kind))));
                }
                i += 1;
                v
            };
            p.tags.push((t.clone(), *tp, val));
        }
        for a in &args[i..] {
            if let Arg::Tag(t, tp) = a {
                return Err(CompileError::owned(*tp, format!("tagged argument ':{t}' after positional arguments")));
            }
            p.pos.push(a.clone());
        }
        Ok(p)
    }

    /// Checks the positional arguments' count and kinds; returns their values.
    fn positional(&self, what: &str, p: &Parsed, kinds: &[Kind]) -> Result<Vec<Vec<String>>, CompileError> {
        if p.pos.len() != kinds.len() {
            let at = p.pos.get(kinds.len()).map(|a| a.pos()).unwrap_or(p.at);
            return Err(CompileError::owned(
                at,
                format!("{what} takes {} positional argument(s), {} given", kinds.len(), p.pos.len()),
            ));
        }
        let mut out = Vec::new();
        for (a, k) in p.pos.iter().zip(kinds) {
            match (a, k) {
                (Arg::Strings { list: false, items, .. }, Kind::Str) => out.push(items.clone()),
                (Arg::Strings { items, .. }, Kind::StrList) => out.push(items.clone()),
                (Arg::Number(n, _), Kind::Num) => out.push(alloc::vec![format!("{n}")]),
                _ => return Err(CompileError::owned(a.pos(), format!("{what}: expected {} here", kind_name(*k)))),
            }
        }
        Ok(out)
    }

    fn no_tests(&self, what: &str, at: Pos, tests: &[TestNode]) -> Result<(), CompileError> {
        if let Some(t) = tests.first() {
            return Err(CompileError::owned(t.pos, format!("{what} takes no test")));
        }
        let _ = at;
        Ok(())
    }

    fn match_of(&self, p: &Parsed) -> Result<Match, CompileError> {
        let mut mt = None;
        for (t, tp, v) in &p.tags {
            let this = match t.as_str() {
                "is" => MatchType::Is,
                "contains" => MatchType::Contains,
                "matches" => MatchType::Matches,
                "regex" => MatchType::Regex,
                "value" | "count" => {
                    let s = match v {
                        Some(Arg::Strings { items, .. }) => items[0].clone(),
                        _ => String::new(),
                    };
                    let r = Rel::parse(&s)
                        .ok_or_else(|| CompileError::owned(*tp, format!("invalid relational operator \"{s}\"")))?;
                    if t == "value" {
                        MatchType::Value(r)
                    } else {
                        MatchType::Count(r)
                    }
                }
                _ => continue,
            };
            if mt.is_some() {
                return Err(CompileError::new(*tp, "more than one match type given"));
            }
            mt = Some(this);
        }
        let mut cmp = Comparator::AsciiCasemap;
        if let Some(name) = p.tag_str("comparator") {
            let at = p.tags.iter().find(|(n, _, _)| n == "comparator").map(|x| x.1).unwrap_or(p.at);
            cmp = Comparator::parse(&name)
                .ok_or_else(|| CompileError::owned(at, format!("unknown comparator \"{name}\"")))?;
            if cmp == Comparator::AsciiNumeric {
                self.need(Ext::Numeric, at, "comparator \"i;ascii-numeric\"")?;
            }
            let mt = mt.unwrap_or(MatchType::Is);
            if cmp == Comparator::AsciiNumeric
                && matches!(mt, MatchType::Contains | MatchType::Matches | MatchType::Regex)
            {
                return Err(CompileError::new(
                    at,
                    "comparator \"i;ascii-numeric\" supports only :is, :value and :count",
                ));
            }
        }
        Ok(Match { cmp, mt: mt.unwrap_or(MatchType::Is) })
    }

    /// RFC 5260 6: `:last` only together with `:index`; indexes start at 1.
    fn index_of(&self, p: &Parsed) -> Result<Option<Index>, CompileError> {
        match (p.tag_num("index"), p.has("last")) {
            (None, false) => Ok(None),
            (None, true) => Err(CompileError::new(p.at, ":last requires :index")),
            (Some(0), _) => Err(CompileError::new(p.at, ":index must be at least 1")),
            (Some(n), last) => Ok(Some(Index { n, last })),
        }
    }

    fn zone_of(&self, p: &Parsed, allow_original: bool) -> Result<Zone, CompileError> {
        if p.has("originalzone") {
            if !allow_original || p.has("zone") {
                return Err(CompileError::new(p.at, ":originalzone cannot be used here"));
            }
            return Ok(Zone::Original);
        }
        match p.tag_str("zone") {
            None => Ok(Zone::Local),
            Some(z) => {
                if !z.contains("${") && parse_zone(&z).is_none() {
                    return Err(CompileError::owned(p.at, format!("invalid time zone \"{z}\"")));
                }
                Ok(Zone::Given(z))
            }
        }
    }

    fn addr_part(&self, p: &Parsed) -> Result<AddrPart, CompileError> {
        let mut part = None;
        for (t, tp, _) in &p.tags {
            let this = match t.as_str() {
                "all" => AddrPart::All,
                "localpart" => AddrPart::Localpart,
                "domain" => AddrPart::Domain,
                "user" => AddrPart::User,
                "detail" => AddrPart::Detail,
                _ => continue,
            };
            if part.is_some() {
                return Err(CompileError::new(*tp, "more than one address part given"));
            }
            part = Some(this);
        }
        Ok(part.unwrap_or(AddrPart::All))
    }

    fn block(&mut self, cmds: &[CommandNode], top: bool) -> Result<Vec<Cmd>, CompileError> {
        let mut out: Vec<Cmd> = Vec::new();
        let mut seen_other = false;
        let mut i = 0;
        while i < cmds.len() {
            let c = &cmds[i];
            i += 1;
            if c.name == "require" {
                // RFC 5228 3.2: require only at the start of the script.
                if !top || seen_other {
                    return Err(CompileError::new(c.pos, "require must come before any other command"));
                }
                self.require(c)?;
                continue;
            }
            seen_other = true;
            if c.name == "if" {
                let mut branches = Vec::new();
                let t = self.cond("if", c)?;
                branches.push((t, self.sub_block("if", c)?));
                let mut els = None;
                // RFC 5228 3.1: elsif/else attach to the preceding if.
                while i < cmds.len() && (cmds[i].name == "elsif" || cmds[i].name == "else") {
                    let e = &cmds[i];
                    i += 1;
                    if e.name == "elsif" {
                        let t = self.cond("elsif", e)?;
                        branches.push((t, self.sub_block("elsif", e)?));
                    } else {
                        if !e.args.is_empty() || !e.tests.is_empty() {
                            return Err(CompileError::new(e.pos, "else takes no arguments"));
                        }
                        els = Some(self.sub_block("else", e)?);
                        break;
                    }
                }
                out.push(Cmd::If(branches, els));
                continue;
            }
            if c.name == "elsif" || c.name == "else" {
                return Err(CompileError::owned(c.pos, format!("{} without a preceding if", c.name)));
            }
            if c.block.is_some() {
                return Err(CompileError::owned(c.pos, format!("{} does not take a block", c.name)));
            }
            out.push(self.action(c)?);
        }
        Ok(out)
    }

    fn cond(&mut self, what: &str, c: &CommandNode) -> Result<Test, CompileError> {
        if !c.args.is_empty() {
            return Err(CompileError::owned(c.args[0].pos(), format!("{what} takes only a test")));
        }
        if c.tests.len() != 1 || c.test_list {
            return Err(CompileError::owned(c.pos, format!("{what} needs exactly one test")));
        }
        self.test(&c.tests[0])
    }

    fn sub_block(&mut self, what: &str, c: &CommandNode) -> Result<Vec<Cmd>, CompileError> {
        match &c.block {
            Some(b) => self.block(b, false),
            None => Err(CompileError::owned(c.pos, format!("{what} needs a block"))),
        }
    }

    fn require(&mut self, c: &CommandNode) -> Result<(), CompileError> {
        self.no_tests("require", c.pos, &c.tests)?;
        let p = self.split("require", c.pos, &c.args, &[])?;
        let v = self.positional("require", &p, &[Kind::StrList])?;
        for name in &v[0] {
            let at = p.pos[0].pos();
            match ExtSet::by_name(name) {
                Some(e) if self.enabled.contains(e) => self.required.insert(e),
                _ => return Err(CompileError::owned(at, format!("unsupported extension \"{name}\""))),
            }
        }
        Ok(())
    }

    fn action(&mut self, c: &CommandNode) -> Result<Cmd, CompileError> {
        let n = c.name.as_str();
        self.no_tests(n, c.pos, &c.tests)?;
        let flags_tag: [Spec; 1] = [("flags", Kind::StrList, Some(Ext::Imap4flags))];
        let copy_tag: [Spec; 1] = [("copy", Kind::Flag, Some(Ext::Copy))];
        Ok(match n {
            "stop" => {
                let p = self.split(n, c.pos, &c.args, &[])?;
                self.positional(n, &p, &[])?;
                Cmd::Stop
            }
            "discard" => {
                let p = self.split(n, c.pos, &c.args, &[])?;
                self.positional(n, &p, &[])?;
                Cmd::Discard
            }
            "keep" => {
                let p = self.split(n, c.pos, &c.args, &[&flags_tag])?;
                self.positional(n, &p, &[])?;
                Cmd::Keep { flags: p.tag_list("flags") }
            }
            "fileinto" => {
                self.need(Ext::Fileinto, c.pos, "fileinto")?;
                let create: [Spec; 1] = [("create", Kind::Flag, Some(Ext::Mailbox))];
                let p = self.split(n, c.pos, &c.args, &[&flags_tag, &copy_tag, &create])?;
                let v = self.positional(n, &p, &[Kind::Str])?;
                let mailbox = v[0][0].clone();
                if mailbox.is_empty() {
                    return Err(CompileError::new(p.pos[0].pos(), "fileinto: empty mailbox name"));
                }
                Cmd::FileInto { mailbox, create: p.has("create"), copy: p.has("copy"), flags: p.tag_list("flags") }
            }
            "redirect" => {
                let p = self.split(n, c.pos, &c.args, &[&copy_tag])?;
                let v = self.positional(n, &p, &[Kind::Str])?;
                let addr = v[0][0].clone();
                // RFC 5228 4.2: the address must be a valid RFC 5322 address;
                // literal ones are checked here, variable ones at run time.
                if !addr.contains("${") && crate::address::parse_mailbox(&addr).is_none() {
                    return Err(CompileError::owned(p.pos[0].pos(), format!("redirect: invalid address \"{addr}\"")));
                }
                Cmd::Redirect { addr, copy: p.has("copy") }
            }
            "setflag" | "addflag" | "removeflag" => {
                self.need(Ext::Imap4flags, c.pos, n)?;
                let p = self.split(n, c.pos, &c.args, &[])?;
                let op = match n {
                    "setflag" => FlagOp::Set,
                    "addflag" => FlagOp::Add,
                    _ => FlagOp::Remove,
                };
                // RFC 5232 3: optional variable name first (needs variables).
                if p.pos.len() == 2 {
                    self.need(Ext::Variables, c.pos, "a flag variable name")?;
                    let v = self.positional(n, &p, &[Kind::Str, Kind::StrList])?;
                    let var = v[0][0].clone();
                    check_var_name(&var, p.pos[0].pos())?;
                    Cmd::Flag { op, var: Some(var), flags: v[1].clone() }
                } else {
                    let v = self.positional(n, &p, &[Kind::StrList])?;
                    Cmd::Flag { op, var: None, flags: v[0].clone() }
                }
            }
            "set" => {
                self.need(Ext::Variables, c.pos, "set")?;
                let spec: [Spec; 6] = [
                    ("lower", Kind::Flag, None),
                    ("upper", Kind::Flag, None),
                    ("lowerfirst", Kind::Flag, None),
                    ("upperfirst", Kind::Flag, None),
                    ("quotewildcard", Kind::Flag, None),
                    ("length", Kind::Flag, None),
                ];
                let p = self.split(n, c.pos, &c.args, &[&spec])?;
                let v = self.positional(n, &p, &[Kind::Str, Kind::Str])?;
                let name = v[0][0].clone();
                check_var_name(&name, p.pos[0].pos())?;
                let mut mods: Vec<Modifier> = Vec::new();
                for (t, tp, _) in &p.tags {
                    let m = match t.as_str() {
                        "lower" => Modifier::Lower,
                        "upper" => Modifier::Upper,
                        "lowerfirst" => Modifier::LowerFirst,
                        "upperfirst" => Modifier::UpperFirst,
                        "quotewildcard" => Modifier::QuoteWildcard,
                        _ => Modifier::Length,
                    };
                    // RFC 5229 4.1: one modifier per precedence level.
                    if mods.iter().any(|x| x.precedence() == m.precedence()) {
                        return Err(CompileError::new(*tp, "conflicting modifiers of the same precedence"));
                    }
                    mods.push(m);
                }
                mods.sort_by_key(|m| core::cmp::Reverse(m.precedence()));
                Cmd::Set { name: name.to_ascii_lowercase(), value: v[1][0].clone(), mods }
            }
            "vacation" => {
                self.need(Ext::Vacation, c.pos, "vacation")?;
                let spec: [Spec; 6] = [
                    ("days", Kind::Num, None),
                    ("subject", Kind::Str, None),
                    ("from", Kind::Str, None),
                    ("addresses", Kind::StrList, None),
                    ("mime", Kind::Flag, None),
                    ("handle", Kind::Str, None),
                ];
                let p = self.split(n, c.pos, &c.args, &[&spec])?;
                let v = self.positional(n, &p, &[Kind::Str])?;
                if let Some(f) = p.tag_str("from") {
                    if !f.contains("${") && crate::address::parse_mailbox(&f).is_none() {
                        return Err(CompileError::owned(p.at, format!("vacation: invalid :from address \"{f}\"")));
                    }
                }
                Cmd::Vacation(Box::new(VacationCmd {
                    days: p.tag_num("days").unwrap_or(7),
                    subject: p.tag_str("subject"),
                    from: p.tag_str("from"),
                    addresses: p.tag_list("addresses").unwrap_or_default(),
                    mime: p.has("mime"),
                    handle: p.tag_str("handle"),
                    reason: v[0][0].clone(),
                }))
            }
            "addheader" => {
                self.need(Ext::Editheader, c.pos, n)?;
                let spec: [Spec; 1] = [("last", Kind::Flag, None)];
                let p = self.split(n, c.pos, &c.args, &[&spec])?;
                let v = self.positional(n, &p, &[Kind::Str, Kind::Str])?;
                let name = v[0][0].clone();
                if !name.contains("${") && !valid_field_name(&name) {
                    return Err(CompileError::owned(
                        p.pos[0].pos(),
                        format!("addheader: invalid header name \"{name}\""),
                    ));
                }
                Cmd::AddHeader { last: p.has("last"), name, value: v[1][0].clone() }
            }
            "deleteheader" => {
                self.need(Ext::Editheader, c.pos, n)?;
                let p = self.split(n, c.pos, &c.args, &[&MATCH_TAGS, &INDEX_TAGS])?;
                let index = self.index_of(&p)?;
                let m = self.match_of(&p)?;
                let (name, patterns) = if p.pos.len() == 2 {
                    let v = self.positional(n, &p, &[Kind::Str, Kind::StrList])?;
                    (v[0][0].clone(), Some(v[1].clone()))
                } else {
                    let v = self.positional(n, &p, &[Kind::Str])?;
                    (v[0][0].clone(), None)
                };
                Cmd::DeleteHeader { m, name, patterns, index }
            }
            _ => return Err(CompileError::owned(c.pos, format!("unknown command '{n}'"))),
        })
    }

    fn test(&mut self, t: &TestNode) -> Result<Test, CompileError> {
        let x = self.test_inner(t)?;
        check_regex_keys(&x, t)?;
        Ok(x)
    }

    fn test_inner(&mut self, t: &TestNode) -> Result<Test, CompileError> {
        let n = t.name.as_str();
        let leaf = |s: &Self| -> Result<(), CompileError> {
            if let Some(x) = t.tests.first() {
                return Err(CompileError::owned(x.pos, format!("test '{n}' takes no sub-test")));
            }
            let _ = s;
            Ok(())
        };
        Ok(match n {
            "true" | "false" => {
                leaf(self)?;
                let p = self.split(n, t.pos, &t.args, &[])?;
                self.positional(n, &p, &[])?;
                if n == "true" {
                    Test::True
                } else {
                    Test::False
                }
            }
            "not" => {
                if !t.args.is_empty() || t.tests.len() != 1 || t.test_list {
                    return Err(CompileError::new(t.pos, "not takes exactly one test"));
                }
                Test::Not(Box::new(self.test(&t.tests[0])?))
            }
            "allof" | "anyof" => {
                if !t.args.is_empty() || !t.test_list {
                    return Err(CompileError::owned(t.pos, format!("{n} takes a test list in parentheses")));
                }
                let mut v = Vec::new();
                for x in &t.tests {
                    v.push(self.test(x)?);
                }
                if n == "allof" {
                    Test::AllOf(v)
                } else {
                    Test::AnyOf(v)
                }
            }
            "address" => {
                leaf(self)?;
                let p = self.split(n, t.pos, &t.args, &[&MATCH_TAGS, &ADDR_TAGS, &INDEX_TAGS])?;
                let v = self.positional(n, &p, &[Kind::StrList, Kind::StrList])?;
                Test::Address {
                    part: self.addr_part(&p)?,
                    m: self.match_of(&p)?,
                    headers: v[0].clone(),
                    keys: v[1].clone(),
                    index: self.index_of(&p)?,
                }
            }
            "envelope" => {
                self.need(Ext::Envelope, t.pos, "envelope")?;
                leaf(self)?;
                let p = self.split(n, t.pos, &t.args, &[&MATCH_TAGS, &ADDR_TAGS])?;
                let v = self.positional(n, &p, &[Kind::StrList, Kind::StrList])?;
                for part in &v[0] {
                    let l = part.to_ascii_lowercase();
                    if l != "from" && l != "to" {
                        return Err(CompileError::owned(p.pos[0].pos(), format!("envelope: unknown part \"{part}\"")));
                    }
                }
                Test::Envelope {
                    part: self.addr_part(&p)?,
                    m: self.match_of(&p)?,
                    parts: v[0].clone(),
                    keys: v[1].clone(),
                }
            }
            "header" => {
                leaf(self)?;
                let p = self.split(n, t.pos, &t.args, &[&MATCH_TAGS, &INDEX_TAGS])?;
                let v = self.positional(n, &p, &[Kind::StrList, Kind::StrList])?;
                Test::Header {
                    m: self.match_of(&p)?,
                    headers: v[0].clone(),
                    keys: v[1].clone(),
                    index: self.index_of(&p)?,
                }
            }
            "date" | "currentdate" => {
                self.need(Ext::Date, t.pos, n)?;
                leaf(self)?;
                let spec: [Spec; 2] = [("zone", Kind::Str, None), ("originalzone", Kind::Flag, None)];
                let cur = n == "currentdate";
                let p = if cur {
                    self.split(n, t.pos, &t.args, &[&MATCH_TAGS, &spec])?
                } else {
                    self.split(n, t.pos, &t.args, &[&MATCH_TAGS, &spec, &INDEX_TAGS])?
                };
                let zone = self.zone_of(&p, !cur)?;
                let m = self.match_of(&p)?;
                let kinds: &[Kind] =
                    if cur { &[Kind::Str, Kind::StrList] } else { &[Kind::Str, Kind::Str, Kind::StrList] };
                let v = self.positional(n, &p, kinds)?;
                let part = v[v.len() - 2][0].clone();
                if !part.contains("${") && !DATE_PARTS.contains(&part.to_ascii_lowercase().as_str()) {
                    let at = p.pos[p.pos.len() - 2].pos();
                    return Err(CompileError::owned(at, format!("unknown date part \"{part}\"")));
                }
                let keys = v[v.len() - 1].clone();
                if cur {
                    Test::CurrentDate { zone, m, part, keys }
                } else {
                    Test::Date { zone, m, header: v[0][0].clone(), part, keys, index: self.index_of(&p)? }
                }
            }
            "exists" => {
                leaf(self)?;
                let p = self.split(n, t.pos, &t.args, &[])?;
                let v = self.positional(n, &p, &[Kind::StrList])?;
                Test::Exists(v[0].clone())
            }
            "size" => {
                leaf(self)?;
                let spec: [Spec; 2] = [("over", Kind::Flag, None), ("under", Kind::Flag, None)];
                let p = self.split(n, t.pos, &t.args, &[&spec])?;
                let over = p.has("over");
                if over == p.has("under") {
                    return Err(CompileError::new(t.pos, "size needs exactly one of :over or :under"));
                }
                self.positional(n, &p, &[Kind::Num])?;
                let Some(Arg::Number(limit, _)) = p.pos.first() else { unreachable!() };
                Test::Size { over, limit: *limit }
            }
            "string" => {
                self.need(Ext::Variables, t.pos, "string")?;
                leaf(self)?;
                let p = self.split(n, t.pos, &t.args, &[&MATCH_TAGS])?;
                let v = self.positional(n, &p, &[Kind::StrList, Kind::StrList])?;
                Test::Str { m: self.match_of(&p)?, sources: v[0].clone(), keys: v[1].clone() }
            }
            "hasflag" => {
                self.need(Ext::Imap4flags, t.pos, "hasflag")?;
                leaf(self)?;
                let p = self.split(n, t.pos, &t.args, &[&MATCH_TAGS])?;
                if p.pos.len() == 2 {
                    self.need(Ext::Variables, t.pos, "a flag variable list")?;
                    let v = self.positional(n, &p, &[Kind::StrList, Kind::StrList])?;
                    Test::HasFlag { m: self.match_of(&p)?, vars: Some(v[0].clone()), keys: v[1].clone() }
                } else {
                    let v = self.positional(n, &p, &[Kind::StrList])?;
                    Test::HasFlag { m: self.match_of(&p)?, vars: None, keys: v[0].clone() }
                }
            }
            "mailboxexists" => {
                self.need(Ext::Mailbox, t.pos, "mailboxexists")?;
                leaf(self)?;
                let p = self.split(n, t.pos, &t.args, &[])?;
                let v = self.positional(n, &p, &[Kind::StrList])?;
                Test::MailboxExists(v[0].clone())
            }
            "body" => {
                self.need(Ext::Body, t.pos, "body")?;
                leaf(self)?;
                let spec: [Spec; 3] =
                    [("raw", Kind::Flag, None), ("content", Kind::StrList, None), ("text", Kind::Flag, None)];
                let p = self.split(n, t.pos, &t.args, &[&MATCH_TAGS, &spec])?;
                let count = ["raw", "content", "text"].iter().filter(|x| p.has(x)).count();
                if count > 1 {
                    return Err(CompileError::new(t.pos, "body: more than one transform given"));
                }
                let transform = if p.has("raw") {
                    BodyTransform::Raw
                } else if let Some(c) = p.tag_list("content") {
                    BodyTransform::Content(c)
                } else {
                    BodyTransform::Text
                };
                let v = self.positional(n, &p, &[Kind::StrList])?;
                Test::Body { m: self.match_of(&p)?, transform, keys: v[0].clone() }
            }
            _ => return Err(CompileError::owned(t.pos, format!("unknown test '{n}'"))),
        })
    }
}

/// Literal `:regex` keys must compile (PUTSCRIPT rejects them early); keys
/// with variables are compiled at run time.
fn check_regex_keys(t: &Test, node: &TestNode) -> Result<(), CompileError> {
    let (m, keys) = match t {
        Test::Address { m, keys, .. }
        | Test::Envelope { m, keys, .. }
        | Test::Header { m, keys, .. }
        | Test::Str { m, keys, .. }
        | Test::HasFlag { m, keys, .. }
        | Test::Body { m, keys, .. }
        | Test::Date { m, keys, .. }
        | Test::CurrentDate { m, keys, .. } => (m, keys),
        _ => return Ok(()),
    };
    if m.mt != MatchType::Regex {
        return Ok(());
    }
    for k in keys.iter().filter(|k| !k.contains("${")) {
        if let Err(e) = crate::matching::regex_compile(k, m.cmp) {
            let at = node.args.last().map(|a| a.pos()).unwrap_or(node.pos);
            let first = e.lines().next().unwrap_or("");
            return Err(CompileError::owned(at, format!("invalid regular expression \"{k}\": {first}")));
        }
    }
    Ok(())
}

/// RFC 5260 4.2 date-part names.
pub(crate) const DATE_PARTS: [&str; 13] = [
    "year", "month", "day", "date", "julian", "hour", "minute", "second", "time", "iso8601", "std11", "zone", "weekday",
];

/// RFC 5260 4.1: "+hhmm" / "-hhmm" to minutes east of UTC.
pub(crate) fn parse_zone(z: &str) -> Option<i16> {
    let b = z.as_bytes();
    if b.len() != 5 || !(b[0] == b'+' || b[0] == b'-') || !b[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let h = i16::from(b[1] - b'0') * 10 + i16::from(b[2] - b'0');
    let m = i16::from(b[3] - b'0') * 10 + i16::from(b[4] - b'0');
    if h > 23 || m > 59 {
        return None;
    }
    let v = h * 60 + m;
    Some(if b[0] == b'-' { -v } else { v })
}

/// RFC 5229 3: variable-name = (ALPHA / "_") *(ALPHA / DIGIT / "_")
fn check_var_name(n: &str, at: Pos) -> Result<(), CompileError> {
    let b = n.as_bytes();
    let ok = !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if ok {
        Ok(())
    } else {
        Err(CompileError::owned(at, format!("invalid variable name \"{n}\"")))
    }
}

/// RFC 5322 3.6.8: field-name = 1*ftext (printable ASCII except ':').
pub(crate) fn valid_field_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|c| (33..=126).contains(&c) && c != b':')
}

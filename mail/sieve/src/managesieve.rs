//! ManageSieve (RFC 5804) server state machine, sans-IO.
//!
//! The caller feeds received bytes with [`Session::feed`], then drains
//! [`Session::poll`] for [`Event`]s: bytes to write, a [`Request`] to the
//! script store or the password checker (answered with [`Session::reply`];
//! no further command is read until then), `StartTls`, or `Close`.
//! PUTSCRIPT and CHECKSCRIPT are validated with this crate's compiler, so a
//! script that would fail to compile never reaches the store.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::compile::{compile, ExtSet};

/// Server configuration and limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// RFC 5804 1.7 IMPLEMENTATION capability.
    pub implementation: String,
    pub extensions: ExtSet,
    /// Whether STARTTLS can be offered (a certificate exists).
    pub tls_available: bool,
    /// Allow AUTHENTICATE PLAIN on a cleartext connection.
    pub allow_plain_without_tls: bool,
    /// Longest command line (outside literals).
    pub max_line: usize,
    /// Largest literal, and so the largest script.
    pub max_script_size: usize,
    /// RFC 5804 1.7 MAXREDIRECTS capability.
    pub max_redirects: u32,
    pub max_auth_failures: u32,
    pub max_bad_commands: u32,
    /// Longest script name (RFC 5804 1.6).
    pub max_name_len: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            implementation: "unimail".to_string(),
            extensions: ExtSet::all(),
            tls_available: true,
            allow_plain_without_tls: false,
            max_line: 8192,
            max_script_size: 256 * 1024,
            max_redirects: 4,
            max_auth_failures: 3,
            max_bad_commands: 10,
            max_name_len: 255,
        }
    }
}

/// A question for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// SASL PLAIN credentials (RFC 4616). Answer `AuthOk` or `AuthFailed`.
    Authenticate { authzid: String, user: String, password: String },
    /// Answer `Scripts`.
    ListScripts,
    /// Answer `Script` or `NotFound`.
    GetScript { name: String },
    /// Already validated. Answer `Done` or `Quota`.
    PutScript { name: String, content: String },
    /// Answer `Done`, `NotFound` or `Active` (RFC 5804 2.10: the active
    /// script cannot be deleted).
    DeleteScript { name: String },
    /// Answer `Done`, `NotFound` or `AlreadyExists`.
    RenameScript { old: String, new: String },
    /// `None` deactivates (SETACTIVE ""). Answer `Done` or `NotFound`.
    SetActive { name: Option<String> },
    /// RFC 5804 2.5: would a script of this size fit? Answer `Done` or `Quota`.
    HaveSpace { name: String, size: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    /// Too many scripts (QUOTA/MAXSCRIPTS).
    MaxScripts,
    /// Script too large (QUOTA/MAXSIZE).
    MaxSize,
    /// Storage quota (QUOTA).
    Other,
}

/// The caller's answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    AuthOk,
    AuthFailed,
    /// Script names with their active flag.
    Scripts(Vec<(String, bool)>),
    Script(String),
    Done,
    NotFound,
    AlreadyExists,
    Active,
    Quota(QuotaKind),
    /// Storage failure: `NO` with this text (the connection stays usable).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Write(Vec<u8>),
    Request(Request),
    /// Start the TLS handshake now, then call [`Session::tls_established`].
    StartTls,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    NotAuth,
    /// Waiting for the client's SASL response to our empty challenge.
    AuthContinue,
    Auth,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Atom(String),
    Str(Vec<u8>),
}

/// Incremental reader of one command (RFC 5804 4: atoms, quoted strings
/// and literals `{n}` / `{n+}`, both taken without a continuation).
#[derive(Debug, Default)]
struct Reader {
    buf: Vec<u8>,
    /// Where to continue looking for CRLF in `buf`.
    scan: usize,
    toks: Vec<Tok>,
    /// Literal being read: remaining octets.
    lit: Option<usize>,
    /// Discarding an oversized literal, then the rest of its line.
    skip: usize,
    skip_line: bool,
    /// Total octets of the current command (bounded).
    total: usize,
}

enum ReadResult {
    Need,
    Command(Vec<Tok>),
    /// Syntax or limit error; the offending command has been dropped.
    Bad(&'static str),
    TooBig,
}

impl Reader {
    fn next(&mut self, max_line: usize, max_lit: usize) -> ReadResult {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(self.buf.len());
                self.buf.drain(..n);
                self.skip -= n;
                if self.skip > 0 {
                    return ReadResult::Need;
                }
            }
            if let Some(rem) = self.lit {
                if self.buf.len() < rem {
                    return ReadResult::Need;
                }
                let data: Vec<u8> = self.buf.drain(..rem).collect();
                self.toks.push(Tok::Str(data));
                self.lit = None;
                self.scan = 0;
            }
            // Find the end of the current line segment.
            let from = self.scan;
            let pos = self.buf[from..].windows(2).position(|w| w == b"\r\n").map(|p| p + from);
            let Some(end) = pos else {
                if self.buf.len() > max_line {
                    // Overlong line: drop everything up to the next CRLF.
                    self.buf.clear();
                    self.scan = 0;
                    self.toks.clear();
                    self.skip_line = true;
                    return ReadResult::Bad("line too long");
                }
                self.scan = self.buf.len().saturating_sub(1);
                return ReadResult::Need;
            };
            let line: Vec<u8> = self.buf.drain(..end + 2).collect();
            self.scan = 0;
            if self.skip_line {
                self.skip_line = false;
                self.toks.clear();
                self.total = 0;
                continue;
            }
            if line.len() - 2 > max_line {
                self.toks.clear();
                return ReadResult::Bad("line too long");
            }
            self.total += line.len();
            match tokenize_line(&line[..line.len() - 2], &mut self.toks) {
                Err(e) => {
                    self.toks.clear();
                    self.total = 0;
                    return ReadResult::Bad(e);
                }
                Ok(Some(n)) => {
                    if n > max_lit || self.total + n > max_lit + max_line {
                        self.toks.clear();
                        self.total = 0;
                        self.skip = n;
                        self.skip_line = true;
                        return ReadResult::TooBig;
                    }
                    self.total += n;
                    self.lit = Some(n);
                    continue;
                }
                Ok(None) => {
                    self.total = 0;
                    return ReadResult::Command(core::mem::take(&mut self.toks));
                }
            }
        }
    }
}

/// Tokenizes one line segment; returns the literal length if it ends with
/// a literal header.
fn tokenize_line(l: &[u8], out: &mut Vec<Tok>) -> Result<Option<usize>, &'static str> {
    let mut i = 0;
    while i < l.len() {
        match l[i] {
            b' ' => i += 1,
            b'"' => {
                // RFC 5804 4: quoted = DQUOTE *QUOTED-CHAR DQUOTE
                i += 1;
                let mut s = Vec::new();
                loop {
                    match l.get(i) {
                        None => return Err("unterminated quoted string"),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            match l.get(i + 1) {
                                Some(c @ (b'"' | b'\\')) => s.push(*c),
                                _ => return Err("bad escape in quoted string"),
                            }
                            i += 2;
                        }
                        Some(c) => {
                            s.push(*c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            b'{' => {
                let close = l[i..].iter().position(|c| *c == b'}').ok_or("bad literal")? + i;
                if close != l.len() - 1 {
                    return Err("literal header must end the line");
                }
                let inner = &l[i + 1..close];
                let inner = inner.strip_suffix(b"+").unwrap_or(inner);
                if inner.is_empty() || inner.len() > 10 || !inner.iter().all(u8::is_ascii_digit) {
                    return Err("bad literal length");
                }
                let n = core::str::from_utf8(inner)
                    .ok()
                    .and_then(|s| s.parse::<usize>().ok())
                    .ok_or("bad literal length")?;
                return Ok(Some(n));
            }
            _ => {
                let start = i;
                while i < l.len() && l[i] != b' ' && l[i] != b'"' && l[i] != b'{' {
                    if l[i] < 0x21 || l[i] > 0x7e {
                        return Err("bad character in atom");
                    }
                    i += 1;
                }
                out.push(Tok::Atom(String::from_utf8_lossy(&l[start..i]).into_owned()));
            }
        }
    }
    Ok(None)
}

/// Formats a string for a response: quoted when it can be, else a literal.
fn sieve_string(s: &str) -> String {
    if s.len() < 1024 && !s.contains(['\r', '\n', '\0']) {
        let mut o = String::from("\"");
        for c in s.chars() {
            if c == '"' || c == '\\' {
                o.push('\\');
            }
            o.push(c);
        }
        o.push('"');
        o
    } else {
        format!("{{{}}}\r\n{}", s.len(), s)
    }
}

/// RFC 5804 1.6: script names are UTF-8 without control characters.
fn valid_name(n: &str, max: usize) -> bool {
    !n.is_empty() && n.len() <= max && !n.chars().any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

#[derive(Debug, Clone)]
enum Pending {
    Auth,
    List,
    Get,
    Put,
    Delete,
    Rename,
    SetActive,
    HaveSpace,
}

/// One ManageSieve connection.
#[derive(Debug)]
pub struct Session {
    cfg: Config,
    state: State,
    tls: bool,
    user: Option<String>,
    rd: Reader,
    out: VecDeque<Event>,
    pending: Option<Pending>,
    auth_failures: u32,
    bad: u32,
    /// STARTTLS issued: wait for `tls_established`, read nothing.
    tls_wait: bool,
}

impl Session {
    /// A new connection; `tls` is true on an implicit-TLS port. The greeting
    /// (RFC 5804 1.7: capabilities then OK) is queued.
    pub fn new(cfg: Config, tls: bool) -> Self {
        let mut s = Session {
            cfg,
            state: State::NotAuth,
            tls,
            user: None,
            rd: Reader::default(),
            out: VecDeque::new(),
            pending: None,
            auth_failures: 0,
            bad: 0,
            tls_wait: false,
        };
        let mut g = s.capabilities();
        g.push_str("OK \"ManageSieve ready.\"\r\n");
        s.write(g);
        s
    }

    /// The authenticated user, once AUTHENTICATE succeeded.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Bytes received from the client. Input beyond the limits is answered
    /// with protocol errors, never buffered without bound.
    pub fn feed(&mut self, data: &[u8]) {
        if self.state == State::Closed || self.tls_wait {
            return;
        }
        let room = self.cfg.max_line + self.cfg.max_script_size + 4096;
        if self.rd.buf.len() + data.len() > room * 2 && self.rd.skip == 0 {
            self.bye("Input buffer overflow");
            return;
        }
        self.rd.buf.extend_from_slice(data);
        self.process();
    }

    /// Next thing for the caller to do.
    pub fn poll(&mut self) -> Option<Event> {
        self.out.pop_front()
    }

    /// After STARTTLS: the handshake completed. RFC 5804 2.2: the server
    /// re-issues its capabilities.
    pub fn tls_established(&mut self) {
        self.tls = true;
        self.tls_wait = false;
        self.rd = Reader::default();
        let mut c = self.capabilities();
        c.push_str("OK \"TLS negotiation successful.\"\r\n");
        self.write(c);
    }

    /// The answer to the outstanding [`Request`].
    pub fn reply(&mut self, r: Reply) {
        let Some(p) = self.pending.take() else { return };
        let text = match (p, r) {
            (_, Reply::Failed(m)) => format!("NO {}\r\n", sieve_string(&m)),
            (Pending::Auth, Reply::AuthOk) => {
                self.state = State::Auth;
                String::from("OK \"Logged in.\"\r\n")
            }
            (Pending::Auth, _) => {
                self.user = None;
                self.state = State::NotAuth;
                self.auth_failures += 1;
                if self.auth_failures >= self.cfg.max_auth_failures {
                    self.bye("Too many authentication failures");
                    return;
                }
                String::from("NO \"Authentication failed.\"\r\n")
            }
            (Pending::List, Reply::Scripts(list)) => {
                let mut s = String::new();
                for (n, active) in list {
                    s.push_str(&sieve_string(&n));
                    if active {
                        s.push_str(" ACTIVE");
                    }
                    s.push_str("\r\n");
                }
                s.push_str("OK \"Listscripts completed.\"\r\n");
                s
            }
            (Pending::Get, Reply::Script(c)) => {
                // RFC 5804 2.9: the script is returned as a literal.
                format!("{{{}}}\r\n{}\r\nOK \"Getscript completed.\"\r\n", c.len(), c)
            }
            (_, Reply::NotFound) => String::from("NO (NONEXISTENT) \"There is no script by that name.\"\r\n"),
            (_, Reply::AlreadyExists) => {
                String::from("NO (ALREADYEXISTS) \"A script with that name already exists.\"\r\n")
            }
            (_, Reply::Active) => String::from("NO (ACTIVE) \"You may not delete the active script.\"\r\n"),
            (_, Reply::Quota(k)) => match k {
                QuotaKind::MaxScripts => String::from("NO (QUOTA/MAXSCRIPTS) \"Too many scripts.\"\r\n"),
                QuotaKind::MaxSize => String::from("NO (QUOTA/MAXSIZE) \"Script too large.\"\r\n"),
                QuotaKind::Other => String::from("NO (QUOTA) \"Quota exceeded.\"\r\n"),
            },
            (_, Reply::Done) => String::from("OK \"Done.\"\r\n"),
            (_, _) => String::from("NO \"Internal error: unexpected reply.\"\r\n"),
        };
        self.write(text);
        // Commands pipelined behind the request may now run.
        self.process();
    }

    fn write(&mut self, s: String) {
        self.out.push_back(Event::Write(s.into_bytes()));
    }

    fn bye(&mut self, why: &str) {
        self.write(format!("BYE {}\r\n", sieve_string(why)));
        self.out.push_back(Event::Close);
        self.state = State::Closed;
        self.rd = Reader::default();
    }

    /// RFC 5804 1.7: capability response (without the final OK).
    fn capabilities(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("\"IMPLEMENTATION\" {}\r\n", sieve_string(&self.cfg.implementation)));
        let sasl = if self.tls || self.cfg.allow_plain_without_tls { "PLAIN" } else { "" };
        if self.state != State::Auth {
            s.push_str(&format!("\"SASL\" \"{sasl}\"\r\n"));
        }
        s.push_str(&format!("\"SIEVE\" {}\r\n", sieve_string(&self.cfg.extensions.names())));
        if !self.tls && self.cfg.tls_available && self.state != State::Auth {
            s.push_str("\"STARTTLS\"\r\n");
        }
        s.push_str(&format!("\"MAXREDIRECTS\" \"{}\"\r\n", self.cfg.max_redirects));
        if let (State::Auth, Some(u)) = (self.state, &self.user) {
            s.push_str(&format!("\"OWNER\" {}\r\n", sieve_string(u)));
        }
        s.push_str("\"VERSION\" \"1.0\"\r\n");
        s
    }

    fn process(&mut self) {
        while self.pending.is_none() && !self.tls_wait && self.state != State::Closed {
            match self.rd.next(self.cfg.max_line, self.cfg.max_script_size) {
                ReadResult::Need => return,
                ReadResult::Bad(why) => {
                    self.write(format!("NO {}\r\n", sieve_string(why)));
                    self.strike();
                }
                ReadResult::TooBig => {
                    self.write(String::from("NO (QUOTA/MAXSIZE) \"Literal too large.\"\r\n"));
                    self.strike();
                }
                ReadResult::Command(toks) => self.command(toks),
            }
        }
    }

    fn strike(&mut self) {
        self.bad += 1;
        if self.bad >= self.cfg.max_bad_commands {
            self.bye("Too many invalid commands");
        }
    }

    fn no(&mut self, msg: &str) {
        self.write(format!("NO {}\r\n", sieve_string(msg)));
        self.strike();
    }

    fn request(&mut self, p: Pending, r: Request) {
        self.pending = Some(p);
        self.out.push_back(Event::Request(r));
    }

    fn command(&mut self, toks: Vec<Tok>) {
        if self.state == State::AuthContinue {
            return self.auth_response(toks);
        }
        let mut it = toks.into_iter();
        let Some(Tok::Atom(cmd)) = it.next() else {
            return self.no("Expected a command name");
        };
        let cmd = cmd.to_ascii_uppercase();
        let args: Vec<Tok> = it.collect();
        // String arguments as UTF-8.
        let mut strs: Vec<String> = Vec::new();
        for a in &args {
            match a {
                Tok::Str(b) => match String::from_utf8(b.clone()) {
                    Ok(s) => strs.push(s),
                    Err(_) => return self.no("Strings must be UTF-8"),
                },
                Tok::Atom(_) if cmd == "HAVESPACE" => {}
                Tok::Atom(_) => return self.no("Expected a string argument"),
            }
        }
        let auth = self.state == State::Auth;
        let nargs = |n: usize| strs.len() == n && args.len() == n;
        match cmd.as_str() {
            "CAPABILITY" if nargs(0) => {
                let mut c = self.capabilities();
                c.push_str("OK \"Capability completed.\"\r\n");
                self.write(c);
            }
            "NOOP" if args.len() <= 1 && strs.len() == args.len() => {
                // RFC 5804 2.11: an argument comes back as a TAG response code.
                match strs.first() {
                    Some(t) => self.write(format!("OK (TAG {}) \"Done\"\r\n", sieve_string(t))),
                    None => self.write(String::from("OK \"NOOP completed.\"\r\n")),
                }
            }
            "LOGOUT" if nargs(0) => {
                self.write(String::from("OK \"Logout completed.\"\r\n"));
                self.out.push_back(Event::Close);
                self.state = State::Closed;
            }
            "STARTTLS" if nargs(0) => {
                if self.tls || !self.cfg.tls_available || auth {
                    return self.no("STARTTLS not available");
                }
                // RFC 5804 2.2: nothing read before the handshake survives it.
                self.write(String::from("OK \"Begin TLS negotiation now.\"\r\n"));
                self.out.push_back(Event::StartTls);
                self.tls_wait = true;
                self.rd = Reader::default();
            }
            "AUTHENTICATE" if !auth && (strs.len() == 1 || strs.len() == 2) && strs.len() == args.len() => {
                if !strs[0].eq_ignore_ascii_case("PLAIN") {
                    return self.no("Unsupported SASL mechanism");
                }
                if !self.tls && !self.cfg.allow_plain_without_tls {
                    self.write(String::from("NO (ENCRYPT-NEEDED) \"Use STARTTLS first.\"\r\n"));
                    return self.strike();
                }
                if strs.len() == 2 {
                    let ir = strs[1].clone();
                    self.plain(ir.as_bytes());
                } else {
                    // RFC 5804 2.1: empty challenge, client answers with a string.
                    self.state = State::AuthContinue;
                    self.write(String::from("\"\"\r\n"));
                }
            }
            "AUTHENTICATE" if auth => self.no("Already authenticated"),
            "UNAUTHENTICATE" if auth && nargs(0) => {
                // RFC 5804 2.14
                self.state = State::NotAuth;
                self.user = None;
                self.write(String::from("OK \"Unauthenticate completed.\"\r\n"));
            }
            "LISTSCRIPTS" | "GETSCRIPT" | "PUTSCRIPT" | "CHECKSCRIPT" | "SETACTIVE" | "DELETESCRIPT"
            | "RENAMESCRIPT" | "HAVESPACE" | "UNAUTHENTICATE"
                if !auth =>
            {
                self.no("Authenticate first")
            }
            "LISTSCRIPTS" if nargs(0) => self.request(Pending::List, Request::ListScripts),
            "GETSCRIPT" if nargs(1) => {
                let name = strs.remove(0);
                self.request(Pending::Get, Request::GetScript { name })
            }
            "PUTSCRIPT" if nargs(2) => {
                let content = strs.remove(1);
                let name = strs.remove(0);
                if !valid_name(&name, self.cfg.max_name_len) {
                    return self.no("Invalid script name");
                }
                if let Some(e) = self.check(&content) {
                    return self.write(format!("NO {}\r\n", sieve_string(&e)));
                }
                self.request(Pending::Put, Request::PutScript { name, content })
            }
            "CHECKSCRIPT" if nargs(1) => match self.check(&strs[0]) {
                Some(e) => self.write(format!("NO {}\r\n", sieve_string(&e))),
                None => self.write(String::from("OK \"Script is valid.\"\r\n")),
            },
            "SETACTIVE" if nargs(1) => {
                let name = strs.remove(0);
                let name = if name.is_empty() { None } else { Some(name) };
                self.request(Pending::SetActive, Request::SetActive { name })
            }
            "DELETESCRIPT" if nargs(1) => {
                let name = strs.remove(0);
                self.request(Pending::Delete, Request::DeleteScript { name })
            }
            "RENAMESCRIPT" if nargs(2) => {
                let new = strs.remove(1);
                let old = strs.remove(0);
                if !valid_name(&new, self.cfg.max_name_len) {
                    return self.no("Invalid script name");
                }
                self.request(Pending::Rename, Request::RenameScript { old, new })
            }
            "HAVESPACE" => {
                // RFC 5804 2.5: HAVESPACE <name: string> <size: number>
                let (Some(Tok::Str(n)), Some(Tok::Atom(sz)), 2) = (args.first(), args.get(1), args.len()) else {
                    return self.no("Syntax: HAVESPACE <name> <size>");
                };
                let Ok(size) = sz.parse::<u64>() else { return self.no("Invalid size") };
                let name = String::from_utf8_lossy(n).into_owned();
                if size > self.cfg.max_script_size as u64 {
                    return self.write(String::from("NO (QUOTA/MAXSIZE) \"Script too large.\"\r\n"));
                }
                self.request(Pending::HaveSpace, Request::HaveSpace { name, size })
            }
            "CAPABILITY" | "NOOP" | "LOGOUT" | "STARTTLS" | "AUTHENTICATE" | "LISTSCRIPTS" | "GETSCRIPT"
            | "PUTSCRIPT" | "CHECKSCRIPT" | "SETACTIVE" | "DELETESCRIPT" | "RENAMESCRIPT" | "UNAUTHENTICATE" => {
                self.no("Wrong number or type of arguments")
            }
            _ => self.no("Unknown command"),
        }
    }

    /// Compiles a script for PUTSCRIPT/CHECKSCRIPT; the error names the
    /// line and column.
    fn check(&self, content: &str) -> Option<String> {
        if content.len() > self.cfg.max_script_size {
            return Some(String::from("Script too large"));
        }
        compile(content, self.cfg.extensions).err().map(|e| format!("{e}"))
    }

    fn auth_response(&mut self, toks: Vec<Tok>) {
        self.state = State::NotAuth;
        let data = match toks.as_slice() {
            [Tok::Str(b)] => b.clone(),
            [Tok::Atom(a)] => a.as_bytes().to_vec(),
            _ => return self.no("Expected a SASL response string"),
        };
        // RFC 5804 2.1: "*" aborts the exchange.
        if data == b"*" {
            self.write(String::from("NO \"Authentication aborted.\"\r\n"));
            return;
        }
        self.plain(&data);
    }

    /// RFC 4616: base64(authzid NUL authcid NUL passwd).
    fn plain(&mut self, b64: &[u8]) {
        let Some(raw) = base64_decode(b64) else { return self.no("Invalid base64") };
        let parts: Vec<&[u8]> = raw.split(|c| *c == 0).collect();
        if parts.len() != 3 {
            return self.no("Invalid PLAIN message");
        }
        let s = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
        let (Some(authzid), Some(user), Some(password)) = (s(parts[0]), s(parts[1]), s(parts[2])) else {
            return self.no("Invalid PLAIN message");
        };
        if user.is_empty() {
            return self.no("Invalid PLAIN message");
        }
        self.user = Some(user.clone());
        self.request(Pending::Auth, Request::Authenticate { authzid, user, password });
    }
}

fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut pad = 0;
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            _ => return None,
        };
        if pad > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if pad > 2 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests;

//! The IMAP session state machine (RFC 3501 3, RFC 9051 3): bytes in,
//! bytes and requests out. Storage calls go straight to the caller's
//! [`Store`]; password checks and TLS are requests the caller answers.
//!
//! ```text
//!   greeting ─► NotAuthenticated ──LOGIN/AUTHENTICATE──► Authenticated
//!                    │                                   │   ▲
//!                 STARTTLS                         SELECT│   │CLOSE/UNSELECT/
//!                    ▼                                   ▼   │failed SELECT
//!               (TLS by caller)                        Selected
//!   any state ──LOGOUT──► Logout (closed)
//! ```

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::base64;
use crate::command::*;
use crate::fetch;
use crate::framer::{Frame, Framer, Limits};
use crate::mime::{self, Binary};
use crate::parser::{self, ParseError};
use crate::resp::Out;
use crate::search;
use crate::store::{MessageMeta, Store, StoreError, Uid, DELIMITER};
use crate::types::{Flags, SeqSet, SystemFlag, STAR};
use crate::utf7;

/// Session settings chosen by the caller.
#[derive(Clone, Debug)]
pub struct Config {
    pub limits: Limits,
    /// Server name in the greeting.
    pub hostname: String,
    /// TLS is already on (implicit TLS, port 993, RFC 8314).
    pub tls_active: bool,
    /// STARTTLS can be offered (a certificate is configured).
    pub starttls_available: bool,
    /// Allow LOGIN/AUTHENTICATE on a cleartext connection (tests only).
    /// Otherwise LOGINDISABLED is advertised until TLS is on.
    pub allow_plaintext_auth: bool,
    /// RFC 6154 folders created (and subscribed) at login if missing.
    pub special_use: Vec<(String, &'static str)>,
    pub create_special_use: bool,
    /// Failed authentications before the session says BYE.
    pub max_auth_failures: u32,
    /// Unprocessed input the session buffers at most (see [`Session::feed`]).
    pub max_input: usize,
    /// Output the session buffers before asking the caller to write it
    /// ([`Action::Write`]); one message's response may exceed it.
    pub max_output: usize,
    /// Keywords a message may carry (Maildir maps them to the 26 letters
    /// a-z, as Dovecot does); more are refused with NO [LIMIT].
    pub max_keywords: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            hostname: String::from("localhost"),
            tls_active: false,
            starttls_available: true,
            allow_plaintext_auth: false,
            special_use: vec![
                ("Sent".into(), "\\Sent"),
                ("Drafts".into(), "\\Drafts"),
                ("Junk".into(), "\\Junk"),
                ("Trash".into(), "\\Trash"),
                ("Archive".into(), "\\Archive"),
            ],
            create_special_use: true,
            max_auth_failures: 3,
            max_input: 256 * 1024,
            max_keywords: 26,
            max_output: 256 * 1024,
        }
    }
}

/// What the caller must do next (returned by [`Session::process`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write [`Session::take_output`] and wait for more input or events.
    Wait,
    /// Check these credentials, then call [`Session::auth_result`] and
    /// [`Session::process`] again. Delays for failures are the caller's.
    Authenticate { authzid: Option<String>, user: String, password: Vec<u8> },
    /// Write the pending output (the tagged OK), then run the TLS
    /// handshake; bytes after it are TLS application data. Call
    /// [`Session::tls_started`] once it succeeded.
    StartTls,
    /// Write the pending output, then close the connection.
    Close,
    /// The output buffer reached `Config::max_output`: write it, then call
    /// [`Session::process`] again (a long FETCH continues in batches).
    Write,
}

/// The caller's verdict on an [`Action::Authenticate`] request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthResult {
    Ok,
    /// Wrong user or password: `NO [AUTHENTICATIONFAILED]`.
    Failed,
    /// Temporary failure: `NO [UNAVAILABLE]`.
    Unavailable,
}

#[derive(Clone, Debug)]
struct Slot {
    meta: MessageMeta,
    /// Expunged by another session but not yet announced (RFC 3501
    /// 7.4.1: no EXPUNGE during FETCH/STORE/SEARCH).
    gone: bool,
}

#[derive(Debug)]
struct Selected {
    name: String,
    read_only: bool,
    uid_validity: u32,
    slots: Vec<Slot>,
    recent: BTreeSet<Uid>,
    /// RFC 5182 saved search result (UIDs, ascending).
    saved: Vec<Uid>,
    /// RFC 9051 removed \Recent: not shown once IMAP4rev2 is enabled.
    show_recent: bool,
    /// Keywords announced in FLAGS (RFC 3501 7.2.6: a new one means a
    /// new FLAGS response).
    keywords: Vec<String>,
}

impl Selected {
    fn max_uid(&self) -> Uid {
        self.slots.last().map_or(0, |s| s.meta.uid)
    }
    /// RFC 3501 7.2.6: announces keywords not yet in the FLAGS list.
    fn announce_keywords<'f>(&mut self, out: &mut Out, flags: impl Iterator<Item = &'f Flags>) {
        let mut new = false;
        for f in flags {
            for k in f.keywords() {
                if !self.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) && self.keywords.len() < 256 {
                    self.keywords.push(k.clone());
                    new = true;
                }
            }
        }
        if new {
            let mut list = String::from("\\Answered \\Flagged \\Deleted \\Seen \\Draft");
            for k in &self.keywords {
                list.push(' ');
                list.push_str(k);
            }
            out.s("* FLAGS (").s(&list).s(")\r\n");
            if !self.read_only {
                out.s("* OK [PERMANENTFLAGS (").s(&list).s(" \\*)] Flags permitted\r\n");
            }
        }
    }

    fn flags_out(&self, out: &mut Out, s: &Slot) {
        let mut st = String::new();
        s.meta.flags.write_list(&mut st, self.show_recent && self.recent.contains(&s.meta.uid));
        out.s("FLAGS ").s(&st);
    }
}

#[derive(Debug)]
enum State {
    NotAuthenticated,
    Authenticated,
    Selected(Selected),
    Logout,
}

#[derive(Debug)]
enum Mode {
    Commands,
    /// AUTHENTICATE PLAIN sent `+ `; waiting for the client's response line.
    SaslResponse { tag: String },
    /// An authentication request is out; waiting for auth_result.
    AuthPending { tag: String, req: Option<Action>, user: String },
    AuthAnswered { tag: String, user: String, result: AuthResult },
    Idle { tag: String },
    /// A FETCH in progress: resumed after the caller drained the output
    /// (responses are produced in bounded batches).
    Fetching(alloc::boxed::Box<FetchJob>),
}

#[derive(Debug)]
struct FetchJob {
    tag: String,
    uid: bool,
    items: Vec<FetchAttr>,
    changed_since: Option<u64>,
    /// Slot indexes still to answer, from `pos` on.
    idx: Vec<usize>,
    pos: usize,
    unknown_cte: bool,
}

/// Tagged completion of a command.
struct Done {
    status: &'static str,
    code: Option<String>,
    text: String,
}

fn ok(text: impl Into<String>) -> Done {
    Done { status: "OK", code: None, text: text.into() }
}
fn ok_code(code: impl Into<String>, text: impl Into<String>) -> Done {
    Done { status: "OK", code: Some(code.into()), text: text.into() }
}
fn no(text: impl Into<String>) -> Done {
    Done { status: "NO", code: None, text: text.into() }
}
fn no_code(code: impl Into<String>, text: impl Into<String>) -> Done {
    Done { status: "NO", code: Some(code.into()), text: text.into() }
}
fn bad(text: impl Into<String>) -> Done {
    Done { status: "BAD", code: None, text: text.into() }
}

fn store_err(e: StoreError) -> Done {
    match e {
        StoreError::NotFound => no_code("NONEXISTENT", "Mailbox or message does not exist"),
        StoreError::AlreadyExists => no_code("ALREADYEXISTS", "Mailbox already exists"),
        StoreError::NotAllowed => no_code("CANNOT", "Operation not permitted"),
        StoreError::OverQuota => no_code("OVERQUOTA", "Quota exceeded"),
        StoreError::Failed => no_code("SERVERBUG", "Internal storage error"),
    }
}

/// One IMAP connection.
pub struct Session {
    cfg: Config,
    state: State,
    mode: Mode,
    framer: Framer,
    inbuf: Vec<u8>,
    inpos: usize,
    out: Vec<u8>,
    user: Option<String>,
    auth_failures: u32,
    rev2: bool,
    utf8: bool,
    condstore: bool,
    /// Set by [`Session::mailbox_changed`]; acted on in IDLE.
    changed: bool,
    closing: bool,
}

impl Session {
    /// Creates a session; the greeting is queued in the output.
    pub fn new(cfg: Config) -> Self {
        let framer = Framer::new(cfg.limits);
        let mut s = Session {
            cfg,
            state: State::NotAuthenticated,
            mode: Mode::Commands,
            framer,
            inbuf: Vec::new(),
            inpos: 0,
            out: Vec::new(),
            user: None,
            auth_failures: 0,
            rev2: false,
            utf8: false,
            condstore: false,
            changed: false,
            closing: false,
        };
        // RFC 3501 7.1.1: greeting with the capability list as a code.
        let caps = s.capabilities();
        let line = format!("* OK [CAPABILITY {}] {} IMAP server ready\r\n", caps, s.cfg.hostname);
        s.out.extend_from_slice(line.as_bytes());
        s
    }

    /// Creates a session that starts authenticated (PREAUTH greeting,
    /// RFC 3501 7.1.4), e.g. for local tools.
    pub fn new_preauth(cfg: Config, user: &str) -> Self {
        let mut s = Session::new(cfg);
        s.out.clear();
        s.state = State::Authenticated;
        s.user = Some(user.to_string());
        let line = format!("* PREAUTH [CAPABILITY {}] Logged in as {}\r\n", s.capabilities(), user);
        s.out.extend_from_slice(line.as_bytes());
        s
    }

    /// The authenticated user, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The selected mailbox, if any.
    pub fn selected(&self) -> Option<&str> {
        match &self.state {
            State::Selected(s) => Some(&s.name),
            _ => None,
        }
    }

    /// Whether the session is idling (RFC 2177).
    pub fn is_idle(&self) -> bool {
        matches!(self.mode, Mode::Idle { .. })
    }

    /// Buffers input; returns how many bytes were accepted (the rest must
    /// be fed again later: the session applies backpressure while it
    /// waits for an authentication verdict).
    pub fn feed(&mut self, input: &[u8]) -> usize {
        if self.closing {
            return input.len();
        }
        if self.inpos > 0 && self.inpos == self.inbuf.len() {
            self.inbuf.clear();
            self.inpos = 0;
        }
        let room = self.cfg.max_input.saturating_sub(self.inbuf.len() - self.inpos);
        let n = room.min(input.len());
        if self.inpos > 0 && self.inpos >= self.inbuf.len() / 2 {
            self.inbuf.drain(..self.inpos);
            self.inpos = 0;
        }
        self.inbuf.extend_from_slice(&input[..n]);
        n
    }

    /// Ends the session from the server side (autologout timer, RFC 3501
    /// 5.4; shutdown): queues an untagged BYE; the next
    /// [`Session::process`] returns [`Action::Close`].
    pub fn shutdown(&mut self, reason: &str) {
        if !self.closing {
            let line = format!("* BYE {}\r\n", reason);
            self.out.extend_from_slice(line.as_bytes());
            self.state = State::Logout;
            self.closing = true;
        }
    }

    /// Takes the bytes to send to the client.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }

    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Tells the session its TLS layer is up (after STARTTLS).
    pub fn tls_started(&mut self) {
        self.cfg.tls_active = true;
    }

    /// The caller's answer to [`Action::Authenticate`].
    pub fn auth_result(&mut self, result: AuthResult) {
        if let Mode::AuthPending { tag, user, .. } = core::mem::replace(&mut self.mode, Mode::Commands) {
            self.mode = Mode::AuthAnswered { tag, user, result };
        }
    }

    /// Tells the session that the selected mailbox may have changed
    /// (a delivery, another session's STORE/EXPUNGE). Untagged updates
    /// are sent right away while idling, otherwise with the next command
    /// completion (RFC 3501 5.2, RFC 2177).
    pub fn mailbox_changed(&mut self) {
        self.changed = true;
    }

    /// Runs as far as the buffered input and pending events allow.
    pub fn process(&mut self, store: &mut dyn Store) -> Action {
        loop {
            if self.closing {
                return Action::Close;
            }
            match &mut self.mode {
                Mode::AuthPending { req, .. } => {
                    return match req.take() {
                        Some(a) => a,
                        None => Action::Wait,
                    };
                }
                Mode::AuthAnswered { .. } => {
                    let Mode::AuthAnswered { tag, user, result } = core::mem::replace(&mut self.mode, Mode::Commands)
                    else {
                        unreachable!()
                    };
                    self.finish_auth(store, &tag, user, result);
                    continue;
                }
                Mode::Fetching(_) => {
                    if self.out.len() >= self.cfg.max_output {
                        return Action::Write;
                    }
                    let Mode::Fetching(mut job) = core::mem::replace(&mut self.mode, Mode::Commands) else {
                        unreachable!()
                    };
                    match self.fetch(store, &mut job) {
                        Some(done) => {
                            let (tag, uid) = (job.tag.clone(), job.uid);
                            self.complete(store, &tag, done, uid, "FETCH");
                        }
                        None => self.mode = Mode::Fetching(job),
                    }
                    continue;
                }
                Mode::Idle { .. } if self.changed => {
                    self.changed = false;
                    self.sync(store, true);
                }
                _ => {}
            }
            if self.inpos >= self.inbuf.len() {
                return Action::Wait;
            }
            let (n, frame) = self.framer.push(&self.inbuf[self.inpos..]);
            self.inpos += n;
            let Some(frame) = frame else { continue };
            match frame {
                Frame::Continue => self.out.extend_from_slice(b"+ Ready for literal data\r\n"),
                Frame::TooLong => {
                    self.out.extend_from_slice(b"* BYE [TOOBIG] Command line too long\r\n");
                    self.state = State::Logout;
                    self.closing = true;
                }
                Frame::LiteralTooBig { tag, non_sync, append } => {
                    if non_sync {
                        // RFC 7888 4: reject a too-large non-synchronizing
                        // literal with BAD [TOOBIG]; its data is in flight,
                        // so the connection is closed.
                        self.tagged(&tag, &Done { status: "BAD", code: Some("TOOBIG".into()), text: "Literal too big".into() });
                        self.out.extend_from_slice(b"* BYE [TOOBIG] Literal too big\r\n");
                        self.state = State::Logout;
                        self.closing = true;
                    } else {
                        let text = if append { "Message too big" } else { "Literal too big" };
                        self.tagged(&tag, &no_code("TOOBIG", text));
                    }
                }
                Frame::Line(line) => self.handle_line(store, line),
                Frame::Command(buf) => {
                    if let Some(a) = self.handle_command(store, &buf) {
                        return a;
                    }
                }
            }
        }
    }

    // ---- output helpers -------------------------------------------------

    fn tagged(&mut self, tag: &str, d: &Done) {
        let mut line = String::with_capacity(64);
        line.push_str(tag);
        line.push(' ');
        line.push_str(d.status);
        line.push(' ');
        if let Some(c) = &d.code {
            line.push('[');
            line.push_str(c);
            line.push_str("] ");
        }
        line.push_str(&d.text);
        line.push_str("\r\n");
        self.out.extend_from_slice(line.as_bytes());
    }

    fn untagged(&mut self, s: &str) {
        self.out.extend_from_slice(b"* ");
        self.out.extend_from_slice(s.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    fn tls_ok(&self) -> bool {
        self.cfg.tls_active || self.cfg.allow_plaintext_auth
    }

    /// RFC 3501 7.2.1 / RFC 9051 7.2.2 capability list for the current state.
    pub fn capabilities(&self) -> String {
        let mut c = String::from("IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE");
        if matches!(self.state, State::NotAuthenticated) {
            if self.cfg.starttls_available && !self.cfg.tls_active {
                c.push_str(" STARTTLS");
            }
            if self.tls_ok() {
                c.push_str(" AUTH=PLAIN");
            } else {
                c.push_str(" LOGINDISABLED");
            }
        } else {
            c.push_str(
                " NAMESPACE UIDPLUS UNSELECT CHILDREN MOVE SPECIAL-USE LIST-EXTENDED LIST-STATUS \
                 ESEARCH SEARCHRES STATUS=SIZE BINARY UTF8=ACCEPT CONDSTORE",
            );
            c.push_str(&format!(" APPENDLIMIT={}", self.cfg.limits.max_append));
        }
        c
    }

    fn mbox_in(&self, raw: &[u8]) -> Result<String, Done> {
        let name = if self.utf8 {
            String::from_utf8(raw.to_vec()).ok()
        } else {
            utf7::decode(raw).or_else(|| String::from_utf8(raw.to_vec()).ok())
        };
        let mut name = name.ok_or_else(|| bad("Invalid mailbox name encoding"))?;
        // RFC 3501 5.1: INBOX is case-insensitive.
        if name.eq_ignore_ascii_case("INBOX") {
            name = String::from("INBOX");
        } else if name.len() > 6 && name[..6].eq_ignore_ascii_case("INBOX/") {
            name.replace_range(..5, "INBOX");
        }
        Ok(name)
    }

    fn mbox_out(&self, out: &mut Out, name: &str) {
        if self.utf8 {
            out.string(name.as_bytes());
        } else {
            out.string(utf7::encode(name).as_bytes());
        }
    }

    /// Checks a name for CREATE/RENAME targets: no empty levels, no
    /// control characters, bounded length and depth.
    fn valid_new_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 255
            && name.split(DELIMITER).count() <= 16
            && name.split(DELIMITER).all(|p| !p.is_empty() && p != "." && p != "..")
            && !name.chars().any(|c| c.is_control() || c == '*' || c == '%')
    }

    fn special_use_of(&self, name: &str) -> Option<&'static str> {
        self.cfg.special_use.iter().find(|(n, _)| n == name).map(|(_, a)| *a)
    }

    // ---- command dispatch -----------------------------------------------

    fn handle_command(&mut self, store: &mut dyn Store, buf: &[u8]) -> Option<Action> {
        let cmd = match parser::parse_command(buf) {
            Ok(c) => c,
            Err(ParseError { tag, msg }) => {
                self.tagged(&tag, &bad(msg));
                return None;
            }
        };
        let tag = cmd.tag.clone();
        let name = cmd.body.name();
        // RFC 3501 7.4.1: no EXPUNGE responses during FETCH, STORE or
        // SEARCH (the UID forms are exempt).
        let allow_expunge = match &cmd.body {
            CommandBody::Fetch { uid, .. } => *uid,
            CommandBody::Store(s) => s.uid,
            CommandBody::Search(s) => s.uid,
            _ => true,
        };
        // Changes by others are reported after the command, from a fresh
        // listing (as Dovecot does): a command works on the snapshot the
        // client knows, so sequence numbers mean what the client thinks.
        let result = self.execute(store, &tag, cmd.body);
        match result {
            Exec::Done(d) => {
                self.complete(store, &tag, d, allow_expunge, name);
                None
            }
            Exec::Pending => None,
            Exec::Action(a) => Some(a),
        }
    }

    /// Finishes a command: untagged updates first (RFC 3501 7), then the
    /// tagged completion.
    fn complete(&mut self, store: &mut dyn Store, tag: &str, d: Done, allow_expunge: bool, name: &str) {
        if matches!(self.state, State::Selected(_)) && d.status != "BAD" {
            self.sync(store, allow_expunge);
        }
        let d = if d.status == "OK" && d.text.is_empty() { ok(format!("{} completed", name)) } else { d };
        self.tagged(tag, &d);
    }

    fn execute(&mut self, store: &mut dyn Store, tag: &str, body: CommandBody) -> Exec {
        use CommandBody::*;
        let authed = matches!(self.state, State::Authenticated | State::Selected(_));
        let selected = matches!(self.state, State::Selected(_));
        match body {
            Capability => {
                let caps = self.capabilities();
                self.untagged(&format!("CAPABILITY {}", caps));
                Exec::Done(ok(""))
            }
            Noop => Exec::Done(ok("")),
            Logout => {
                self.untagged("BYE Logging out");
                self.tagged(tag, &ok("LOGOUT completed"));
                self.state = State::Logout;
                self.closing = true;
                Exec::Action(Action::Close)
            }
            Id(_) => {
                // RFC 2971 3.2: the server answers with its own fields.
                self.untagged("ID (\"name\" \"unimail\")");
                Exec::Done(ok(""))
            }
            StartTls => {
                if !matches!(self.state, State::NotAuthenticated) {
                    return Exec::Done(bad("STARTTLS only before authentication"));
                }
                if self.cfg.tls_active || !self.cfg.starttls_available {
                    return Exec::Done(bad("TLS is not available or already active"));
                }
                self.tagged(tag, &ok("Begin TLS negotiation now"));
                // RFC 3501 6.2.1 / RFC 2595 3.1: bytes pipelined after
                // STARTTLS were sent in cleartext; drop them (command
                // injection defence).
                self.inbuf.clear();
                self.inpos = 0;
                self.framer.reset();
                Exec::Action(Action::StartTls)
            }
            Login { user, password } => {
                if !matches!(self.state, State::NotAuthenticated) {
                    return Exec::Done(bad("Already authenticated"));
                }
                if !self.tls_ok() {
                    return Exec::Done(no_code("PRIVACYREQUIRED", "LOGIN is disabled before STARTTLS"));
                }
                let user = String::from_utf8_lossy(&user).into_owned();
                self.request_auth(tag, None, user, password);
                Exec::Pending
            }
            Authenticate { mechanism, initial } => {
                if !matches!(self.state, State::NotAuthenticated) {
                    return Exec::Done(bad("Already authenticated"));
                }
                if !self.tls_ok() {
                    return Exec::Done(no_code("PRIVACYREQUIRED", "Authentication is disabled before STARTTLS"));
                }
                if mechanism != "PLAIN" {
                    return Exec::Done(no("Unsupported authentication mechanism"));
                }
                match initial {
                    // RFC 4959: "=" is an empty initial response.
                    Some(ir) => {
                        let data = if ir == b"=" { Some(Vec::new()) } else { base64::decode(&ir) };
                        self.sasl_plain(tag, data)
                    }
                    None => {
                        self.out.extend_from_slice(b"+ \r\n");
                        self.mode = Mode::SaslResponse { tag: tag.to_string() };
                        self.framer.set_raw(true);
                        Exec::Pending
                    }
                }
            }
            _ if !authed => Exec::Done(bad("Command not valid in this state")),
            Enable(caps) => {
                let mut enabled = Vec::new();
                for c in caps {
                    match c.as_str() {
                        "IMAP4REV2" if !self.rev2 => {
                            self.rev2 = true;
                            if let State::Selected(sel) = &mut self.state {
                                sel.show_recent = false;
                            }
                            enabled.push("IMAP4rev2");
                        }
                        "UTF8=ACCEPT" if !self.utf8 => {
                            self.utf8 = true;
                            enabled.push("UTF8=ACCEPT");
                        }
                        "CONDSTORE" if !self.condstore => {
                            self.condstore = true;
                            enabled.push("CONDSTORE");
                        }
                        _ => {}
                    }
                }
                self.untagged(&format!("ENABLED{}{}", if enabled.is_empty() { "" } else { " " }, enabled.join(" ")));
                Exec::Done(ok(""))
            }
            Select { mailbox, read_only, condstore } => Exec::Done(self.select(store, &mailbox, read_only, condstore)),
            Create(m) => Exec::Done(self.create(store, &m)),
            Delete(m) => Exec::Done(self.delete(store, &m)),
            Rename { from, to } => Exec::Done(self.rename(store, &from, &to)),
            Subscribe(m) => Exec::Done(self.subscribe(store, &m, true)),
            Unsubscribe(m) => Exec::Done(self.subscribe(store, &m, false)),
            List(l) => Exec::Done(self.list(store, l)),
            Lsub { reference, pattern } => Exec::Done(self.lsub(store, &reference, &pattern)),
            Namespace => {
                // RFC 2342: one personal namespace, no others.
                self.untagged(&format!("NAMESPACE ((\"\" \"{}\")) NIL NIL", DELIMITER));
                Exec::Done(ok(""))
            }
            Status { mailbox, items } => Exec::Done(self.status(store, &mailbox, &items)),
            Append { mailbox, flags, date, message } => Exec::Done(self.append(store, &mailbox, &flags, date, &message)),
            Idle => {
                self.out.extend_from_slice(b"+ idling\r\n");
                self.mode = Mode::Idle { tag: tag.to_string() };
                self.framer.set_raw(true);
                // Report anything pending right away (RFC 2177 3).
                self.sync(store, true);
                self.changed = false;
                Exec::Pending
            }
            _ if !selected => Exec::Done(bad("No mailbox selected")),
            Check => Exec::Done(ok("")),
            Close | Unselect => {
                let State::Selected(sel) = core::mem::replace(&mut self.state, State::Authenticated) else {
                    unreachable!()
                };
                // RFC 3501 6.4.2: CLOSE expunges silently (read-write only).
                if matches!(body, Close) && !sel.read_only {
                    let del: Vec<Uid> = sel
                        .slots
                        .iter()
                        .filter(|s| !s.gone && s.meta.flags.has(SystemFlag::Deleted))
                        .map(|s| s.meta.uid)
                        .collect();
                    if !del.is_empty() {
                        if let Err(e) = store.expunge(&sel.name, &del) {
                            return Exec::Done(store_err(e));
                        }
                    }
                }
                Exec::Done(ok(""))
            }
            Expunge { uids } => Exec::Done(self.expunge(store, uids.as_ref())),
            Search(s) => Exec::Done(self.search(store, tag, s)),
            Fetch { uid, set, items, changed_since } => {
                let idx = match self.resolve(&set, uid) {
                    Ok(v) => v,
                    Err(d) => return Exec::Done(d),
                };
                if changed_since.is_some() {
                    self.condstore = true;
                }
                let job = FetchJob { tag: tag.to_string(), uid, items, changed_since, idx, pos: 0, unknown_cte: false };
                self.mode = Mode::Fetching(alloc::boxed::Box::new(job));
                Exec::Pending
            }
            Store(s) => Exec::Done(self.store(store, s)),
            Copy { uid, set, mailbox } => Exec::Done(self.copy_move(store, uid, &set, &mailbox, false)),
            Move { uid, set, mailbox } => Exec::Done(self.copy_move(store, uid, &set, &mailbox, true)),
        }
    }
}

enum Exec {
    Done(Done),
    /// The command continues (SASL, auth verdict, IDLE).
    Pending,
    Action(Action),
}

/// Matches a LIST pattern (RFC 3501 6.3.8): `*` matches anything, `%`
/// anything but the hierarchy delimiter.
fn pattern_match(pat: &[char], name: &[char]) -> bool {
    match pat.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|i| pattern_match(&pat[1..], &name[i..])),
        Some('%') => {
            let mut i = 0;
            loop {
                if pattern_match(&pat[1..], &name[i..]) {
                    return true;
                }
                if i == name.len() || name[i] == DELIMITER {
                    return false;
                }
                i += 1;
            }
        }
        Some(c) => name.first() == Some(c) && pattern_match(&pat[1..], &name[1..]),
    }
}

fn list_matches(pattern: &str, name: &str) -> bool {
    // Wildcard runs make matching exponential; collapse them first.
    let mut pat: Vec<char> = Vec::new();
    for c in pattern.chars() {
        if (c == '*' || c == '%') && matches!(pat.last(), Some('*')) {
            continue;
        }
        if c == '*' && matches!(pat.last(), Some('%')) {
            pat.pop();
        }
        pat.push(c);
    }
    let n: Vec<char> = name.chars().collect();
    // RFC 3501 5.1: "INBOX" matches case-insensitively.
    if name == "INBOX" || name.starts_with("INBOX/") {
        let up: Vec<char> = pat
            .iter()
            .enumerate()
            .map(|(i, c)| if i < 5 { c.to_ascii_uppercase() } else { *c })
            .collect();
        if pattern_match(&up, &n) {
            return true;
        }
    }
    pattern_match(&pat, &n)
}

impl Session {
    // ---- authentication -------------------------------------------------

    fn request_auth(&mut self, tag: &str, authzid: Option<String>, user: String, password: Vec<u8>) {
        let req = Action::Authenticate { authzid, user: user.clone(), password };
        self.mode = Mode::AuthPending { tag: tag.to_string(), req: Some(req), user };
    }

    /// RFC 4616 PLAIN: `[authzid] NUL authcid NUL passwd`.
    fn sasl_plain(&mut self, tag: &str, data: Option<Vec<u8>>) -> Exec {
        let Some(data) = data else {
            return Exec::Done(bad("Invalid base64 data"));
        };
        let parts: Vec<&[u8]> = data.split(|&b| b == 0).collect();
        if parts.len() != 3 || parts[1].is_empty() {
            return Exec::Done(bad("Invalid PLAIN response"));
        }
        let (Ok(authz), Ok(user)) = (core::str::from_utf8(parts[0]), core::str::from_utf8(parts[1])) else {
            return Exec::Done(bad("Invalid PLAIN response"));
        };
        let authz = if authz.is_empty() { None } else { Some(authz.to_string()) };
        self.request_auth(tag, authz, user.to_string(), parts[2].to_vec());
        Exec::Pending
    }

    fn finish_auth(&mut self, store: &mut dyn Store, tag: &str, user: String, result: AuthResult) {
        match result {
            AuthResult::Ok => {
                self.state = State::Authenticated;
                self.user = Some(user);
                if self.cfg.create_special_use {
                    // Issue 4: Sent, Drafts, Junk, Trash, Archive exist from
                    // the first login on; failures here do not fail login.
                    let existing = store.list_folders().unwrap_or_default();
                    let wanted: Vec<String> = self.cfg.special_use.iter().map(|(n, _)| n.clone()).collect();
                    for name in wanted {
                        if !existing.contains(&name) && store.create_folder(&name).is_ok() {
                            let _ = store.set_subscribed(&name, true);
                        }
                    }
                }
                let caps = self.capabilities();
                self.tagged(tag, &ok_code(format!("CAPABILITY {}", caps), "Logged in"));
            }
            AuthResult::Failed => {
                self.auth_failures += 1;
                self.tagged(tag, &no_code("AUTHENTICATIONFAILED", "Authentication failed"));
                if self.auth_failures >= self.cfg.max_auth_failures {
                    self.untagged("BYE Too many failed authentication attempts");
                    self.state = State::Logout;
                    self.closing = true;
                }
            }
            AuthResult::Unavailable => {
                self.tagged(tag, &no_code("UNAVAILABLE", "Authentication temporarily unavailable"));
            }
        }
    }

    /// A raw line: the SASL response or IDLE's DONE.
    fn handle_line(&mut self, store: &mut dyn Store, line: Vec<u8>) {
        self.framer.set_raw(false);
        match core::mem::replace(&mut self.mode, Mode::Commands) {
            Mode::SaslResponse { tag } => {
                // RFC 3501 6.2.2: "*" cancels the exchange.
                if line == b"*" {
                    self.tagged(&tag, &bad("Authentication cancelled"));
                    return;
                }
                if let Exec::Done(d) = self.sasl_plain(&tag, base64::decode(&line)) {
                    self.tagged(&tag, &d);
                }
            }
            Mode::Idle { tag } => {
                if line.eq_ignore_ascii_case(b"DONE") {
                    self.sync(store, true);
                    self.tagged(&tag, &ok("IDLE terminated"));
                } else {
                    self.tagged(&tag, &bad("Expected DONE"));
                }
            }
            other => self.mode = other,
        }
    }

    // ---- mailbox commands -----------------------------------------------

    fn select(&mut self, store: &mut dyn Store, raw: &[u8], read_only: bool, condstore: bool) -> Done {
        if matches!(self.state, State::Selected(_)) {
            self.state = State::Authenticated;
            // RFC 9051 7.1: [CLOSED] marks the end of the old mailbox's responses.
            self.untagged("OK [CLOSED] Previous mailbox closed");
        }
        if condstore {
            self.condstore = true;
        }
        let name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        let (uid_validity, list) = match store.list_messages(&name) {
            Ok(v) => v,
            Err(e) => return store_err(e),
        };
        let recent: BTreeSet<Uid> = if read_only {
            store.peek_recent(&name).unwrap_or_default().into_iter().collect()
        } else {
            store.claim_recent(&name).unwrap_or_default().into_iter().collect()
        };
        let status = store.folder_status(&name).unwrap_or_default();
        let uid_next = list.last().map_or(1, |m| m.uid + 1).max(status.uid_next);
        // RFC 3501 6.3.1: FLAGS, EXISTS, RECENT, UNSEEN, PERMANENTFLAGS,
        // UIDNEXT, UIDVALIDITY.
        let mut kw: Vec<String> = Vec::new();
        for m in &list {
            for k in m.flags.keywords() {
                if !kw.iter().any(|x| x.eq_ignore_ascii_case(k)) && kw.len() < 256 {
                    kw.push(k.clone());
                }
            }
        }
        let mut flags = String::from("\\Answered \\Flagged \\Deleted \\Seen \\Draft");
        for k in &kw {
            flags.push(' ');
            flags.push_str(k);
        }
        // The order Dovecot uses (any order is valid).
        self.untagged(&format!("FLAGS ({})", flags));
        if read_only {
            self.untagged("OK [PERMANENTFLAGS ()] Read-only mailbox");
        } else {
            self.untagged(&format!("OK [PERMANENTFLAGS ({} \\*)] Flags permitted", flags));
        }
        self.untagged(&format!("{} EXISTS", list.len()));
        if !self.rev2 {
            self.untagged(&format!("{} RECENT", recent.len()));
            if let Some(p) = list.iter().position(|m| !m.flags.has(SystemFlag::Seen)) {
                self.untagged(&format!("OK [UNSEEN {}] First unseen", p + 1));
            }
        }
        self.untagged(&format!("OK [UIDVALIDITY {}] UIDs valid", uid_validity));
        self.untagged(&format!("OK [UIDNEXT {}] Predicted next UID", uid_next));
        if self.condstore {
            let hm = status.highest_modseq.max(list.iter().map(|m| m.modseq).max().unwrap_or(0)).max(1);
            self.untagged(&format!("OK [HIGHESTMODSEQ {}] Highest", hm));
        }
        if self.rev2 {
            // RFC 9051 6.3.2: a LIST response with accurate attributes.
            let folders = store.list_folders().unwrap_or_default();
            let prefix = format!("{}{}", name, DELIMITER);
            let mut attrs: Vec<&str> = Vec::new();
            attrs.push(if folders.iter().any(|f| f.starts_with(&prefix)) { "\\HasChildren" } else { "\\HasNoChildren" });
            if let Some(su) = self.special_use_of(&name) {
                attrs.push(su);
            }
            let mut o = Out::default();
            o.s("* LIST (").s(&attrs.join(" ")).s(") \"/\" ");
            self.mbox_out(&mut o, &name);
            o.s("\r\n");
            self.out.extend_from_slice(&o.buf);
        }
        let slots = list.into_iter().map(|meta| Slot { meta, gone: false }).collect();
        let show_recent = !self.rev2;
        self.state = State::Selected(Selected {
            name,
            read_only,
            uid_validity,
            slots,
            recent,
            saved: Vec::new(),
            show_recent,
            keywords: kw,
        });
        if read_only {
            ok_code("READ-ONLY", "EXAMINE completed")
        } else {
            ok_code("READ-WRITE", "SELECT completed")
        }
    }

    fn create(&mut self, store: &mut dyn Store, raw: &[u8]) -> Done {
        let mut name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        // RFC 3501 6.3.3: a trailing delimiter only declares intent.
        while name.ends_with(DELIMITER) {
            name.pop();
        }
        if name == "INBOX" {
            return no_code("ALREADYEXISTS", "INBOX always exists");
        }
        if !Self::valid_new_name(&name) {
            return no_code("CANNOT", "Invalid mailbox name");
        }
        let existing = match store.list_folders() {
            Ok(v) => v,
            Err(e) => return store_err(e),
        };
        if existing.contains(&name) {
            return no_code("ALREADYEXISTS", "Mailbox already exists");
        }
        // RFC 3501 6.3.3: create superior hierarchy levels as needed.
        let mut acc = String::new();
        let levels: Vec<&str> = name.split(DELIMITER).collect();
        for (i, level) in levels.iter().enumerate() {
            if i > 0 {
                acc.push(DELIMITER);
            }
            acc.push_str(level);
            if i + 1 < levels.len() && !existing.contains(&acc) {
                if let Err(e) = store.create_folder(&acc) {
                    if e != StoreError::AlreadyExists {
                        return store_err(e);
                    }
                }
            }
        }
        match store.create_folder(&name) {
            Ok(()) => ok(""),
            Err(e) => store_err(e),
        }
    }

    fn delete(&mut self, store: &mut dyn Store, raw: &[u8]) -> Done {
        let name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        if name == "INBOX" {
            return no_code("CANNOT", "INBOX cannot be deleted");
        }
        if self.selected() == Some(name.as_str()) {
            // RFC 9051 6.3.4: deleting the selected mailbox deselects it.
            self.state = State::Authenticated;
            self.untagged("OK [CLOSED] Mailbox deleted");
        }
        match store.delete_folder(&name) {
            Ok(()) => {
                let _ = store.set_subscribed(&name, false);
                ok("")
            }
            Err(e) => store_err(e),
        }
    }

    fn rename(&mut self, store: &mut dyn Store, from: &[u8], to: &[u8]) -> Done {
        let (from, mut to) = match (self.mbox_in(from), self.mbox_in(to)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(d), _) | (_, Err(d)) => return d,
        };
        while to.ends_with(DELIMITER) {
            to.pop();
        }
        if !Self::valid_new_name(&to) || to == "INBOX" {
            return no_code("CANNOT", "Invalid target mailbox name");
        }
        if to.starts_with(&format!("{}{}", from, DELIMITER)) {
            return no_code("CANNOT", "Cannot rename a mailbox into itself");
        }
        match store.rename_folder(&from, &to) {
            Ok(()) => {
                if let Ok(subs) = store.subscriptions() {
                    if subs.contains(&from) && from != "INBOX" {
                        let _ = store.set_subscribed(&from, false);
                        let _ = store.set_subscribed(&to, true);
                    }
                }
                if self.selected() == Some(from.as_str()) && from != "INBOX" {
                    self.state = State::Authenticated;
                    self.untagged("OK [CLOSED] Mailbox renamed");
                }
                ok("")
            }
            Err(e) => store_err(e),
        }
    }

    fn subscribe(&mut self, store: &mut dyn Store, raw: &[u8], on: bool) -> Done {
        let name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        if on && !store.list_folders().unwrap_or_default().contains(&name) {
            return no_code("NONEXISTENT", "No such mailbox");
        }
        match store.set_subscribed(&name, on) {
            Ok(()) => ok(""),
            Err(e) => store_err(e),
        }
    }

    fn list(&mut self, store: &mut dyn Store, l: ListCommand) -> Done {
        let reference = match self.mbox_in(&l.reference) {
            Ok(n) => n,
            Err(_) if l.reference.is_empty() => String::new(),
            Err(d) => return d,
        };
        // RFC 3501 6.3.8: an empty pattern asks for the delimiter.
        if l.patterns.len() == 1 && l.patterns[0].is_empty() {
            self.untagged(&format!("LIST (\\Noselect) \"{}\" \"\"", DELIMITER));
            return ok("");
        }
        let folders = match store.list_folders() {
            Ok(v) => v,
            Err(e) => return store_err(e),
        };
        let subs = store.subscriptions().unwrap_or_default();
        // Candidates: folders, their implied parents, and (for SUBSCRIBED
        // selection) subscriptions to folders that no longer exist.
        let mut all: BTreeSet<String> = BTreeSet::new();
        for f in &folders {
            let mut acc = String::new();
            for (i, level) in f.split(DELIMITER).enumerate() {
                if i > 0 {
                    acc.push(DELIMITER);
                }
                acc.push_str(level);
                all.insert(acc.clone());
            }
        }
        if l.select_subscribed {
            all.extend(subs.iter().cloned());
        }
        let mut patterns = Vec::new();
        for p in &l.patterns {
            let p = if self.utf8 { String::from_utf8(p.clone()).ok() } else { utf7::decode(p).or_else(|| String::from_utf8(p.clone()).ok()) };
            match p {
                Some(p) => patterns.push(format!("{}{}", reference, p)),
                None => return bad("Invalid pattern encoding"),
            }
        }
        let mut lines: Vec<(String, Vec<String>)> = Vec::new();
        for name in &all {
            if !patterns.iter().any(|p| list_matches(p, name)) {
                continue;
            }
            let exists = folders.contains(name);
            let subscribed = subs.contains(name);
            let special = self.special_use_of(name);
            if l.select_subscribed && !subscribed {
                continue;
            }
            if l.select_special_use && special.is_none() {
                continue;
            }
            let mut attrs: Vec<String> = Vec::new();
            if !exists {
                // RFC 5258 3: \NonExistent implies \Noselect.
                attrs.push(if l.extended { "\\NonExistent".into() } else { "\\Noselect".into() });
            }
            let prefix = format!("{}{}", name, DELIMITER);
            let has_children = all.iter().any(|f| f.starts_with(&prefix));
            attrs.push(if has_children { "\\HasChildren".into() } else { "\\HasNoChildren".into() });
            if let Some(s) = special {
                attrs.push(s.into());
            }
            if subscribed && (l.return_subscribed || l.select_subscribed) {
                attrs.push("\\Subscribed".into());
            }
            lines.push((name.clone(), attrs));
        }
        for (name, attrs) in lines {
            let mut o = Out::default();
            o.s("* LIST (").s(&attrs.join(" ")).s(") \"/\" ");
            self.mbox_out(&mut o, &name);
            o.s("\r\n");
            self.out.extend_from_slice(&o.buf);
            // RFC 5819 LIST-STATUS.
            if let Some(items) = &l.return_status {
                if folders.contains(&name) {
                    if let Some(line) = self.status_line(store, &name, items) {
                        self.out.extend_from_slice(&line);
                    }
                }
            }
        }
        ok("")
    }

    fn lsub(&mut self, store: &mut dyn Store, reference: &[u8], pattern: &[u8]) -> Done {
        let reference = self.mbox_in(reference).unwrap_or_default();
        let pattern = match self.mbox_in(pattern) {
            Ok(p) => p,
            Err(d) => return d,
        };
        let pat = format!("{}{}", reference, pattern);
        let subs = store.subscriptions().unwrap_or_default();
        let folders = store.list_folders().unwrap_or_default();
        let mut subs_sorted = subs.clone();
        subs_sorted.sort();
        for name in subs_sorted {
            if !list_matches(&pat, &name) {
                continue;
            }
            let mut o = Out::default();
            let attrs = if folders.contains(&name) { "" } else { "\\Noselect" };
            o.s("* LSUB (").s(attrs).s(") \"/\" ");
            self.mbox_out(&mut o, &name);
            o.s("\r\n");
            self.out.extend_from_slice(&o.buf);
        }
        ok("")
    }

    fn status_line(&self, store: &mut dyn Store, name: &str, items: &[StatusItem]) -> Option<Vec<u8>> {
        let st = store.folder_status(name).ok()?;
        let mut o = Out::default();
        o.s("* STATUS ");
        self.mbox_out(&mut o, name);
        o.s(" (");
        // In a fixed order, as Dovecot answers.
        const ORDER: [StatusItem; 8] = [
            StatusItem::Messages,
            StatusItem::Recent,
            StatusItem::UidNext,
            StatusItem::UidValidity,
            StatusItem::Unseen,
            StatusItem::HighestModSeq,
            StatusItem::Size,
            StatusItem::Deleted,
        ];
        let items = ORDER.iter().filter(|x| items.contains(x));
        for (i, it) in items.enumerate() {
            if i > 0 {
                o.s(" ");
            }
            match it {
                StatusItem::Messages => o.s("MESSAGES ").num(st.messages),
                // \Recent belongs to the session that claims it; STATUS
                // does not claim, so it reports none.
                StatusItem::Recent => o.s("RECENT 0"),
                StatusItem::UidNext => o.s("UIDNEXT ").num(st.uid_next),
                StatusItem::UidValidity => o.s("UIDVALIDITY ").num(st.uid_validity),
                StatusItem::Unseen => o.s("UNSEEN ").num(st.unseen),
                StatusItem::Size => o.s("SIZE ").num(st.size),
                StatusItem::Deleted => o.s("DELETED ").num(st.deleted),
                StatusItem::HighestModSeq => o.s("HIGHESTMODSEQ ").num(st.highest_modseq),
            };
        }
        o.s(")\r\n");
        Some(o.buf)
    }

    fn status(&mut self, store: &mut dyn Store, raw: &[u8], items: &[StatusItem]) -> Done {
        let name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        match self.status_line(store, &name, items) {
            Some(line) => {
                self.out.extend_from_slice(&line);
                ok("")
            }
            None => no_code("NONEXISTENT", "No such mailbox"),
        }
    }

    fn append(&mut self, store: &mut dyn Store, raw: &[u8], flags: &[String], date: Option<i64>, msg: &[u8]) -> Done {
        let name = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        if !store.list_folders().unwrap_or_default().contains(&name) {
            // RFC 3501 6.3.11: TRYCREATE tells the client to CREATE first.
            return no_code("TRYCREATE", "No such mailbox");
        }
        let mut f = Flags::new();
        for fl in flags {
            f.add_named(fl);
        }
        if f.keywords().len() > self.cfg.max_keywords {
            return no_code("LIMIT", "Too many keywords");
        }
        match store.append(&name, &f, date, msg) {
            // RFC 4315 3: APPENDUID.
            Ok((validity, uid)) => ok_code(format!("APPENDUID {} {}", validity, uid), "APPEND completed"),
            Err(e) => store_err(e),
        }
    }

    // ---- selected state -------------------------------------------------

    /// Brings the snapshot of the selected mailbox up to date with the
    /// store and emits the untagged responses (RFC 3501 5.2, 7.3.1, 7.4.1).
    fn sync(&mut self, store: &mut dyn Store, allow_expunge: bool) {
        let State::Selected(sel) = &mut self.state else { return };
        let Ok((validity, list)) = store.list_messages(&sel.name) else {
            // The mailbox vanished under us (deleted by another session).
            self.out.extend_from_slice(b"* BYE Selected mailbox was deleted\r\n");
            self.state = State::Logout;
            self.closing = true;
            return;
        };
        if validity != sel.uid_validity {
            // RFC 3501 2.3.1.1: UIDs are no longer valid; the client must
            // start over.
            self.out.extend_from_slice(b"* BYE UIDVALIDITY changed\r\n");
            self.state = State::Logout;
            self.closing = true;
            return;
        }
        let mut out = Out::default();
        let recent_start = sel.recent.len();
        let old = core::mem::take(&mut sel.slots);
        let mut kept: Vec<Slot> = Vec::with_capacity(list.len());
        let mut expunged_seqs: Vec<u32> = Vec::new();
        // Indexes (in the new numbering) of messages whose flags changed.
        let mut flag_changed: Vec<usize> = Vec::new();
        let mut new_iter = list.into_iter().peekable();
        for (i, slot) in old.into_iter().enumerate() {
            while new_iter.peek().map_or(false, |m| m.uid < slot.meta.uid) {
                // A UID below a known one cannot be new; skip it.
                new_iter.next();
            }
            match new_iter.peek() {
                Some(m) if m.uid == slot.meta.uid => {
                    let m = new_iter.next().unwrap();
                    if m.flags != slot.meta.flags && !slot.gone {
                        flag_changed.push(kept.len());
                    }
                    kept.push(Slot { meta: m, gone: slot.gone });
                }
                _ => {
                    if allow_expunge {
                        expunged_seqs.push(i as u32 + 1);
                        sel.recent.remove(&slot.meta.uid);
                    } else {
                        kept.push(Slot { meta: slot.meta, gone: true });
                    }
                }
            }
        }
        let before = kept.len();
        kept.extend(new_iter.map(|meta| Slot { meta, gone: false }));
        let arrived = kept.len() > before;
        // Descending order keeps every number valid when it is sent.
        for seq in expunged_seqs.iter().rev() {
            out.s("* ").num(seq).s(" EXPUNGE\r\n");
        }
        sel.slots = kept;
        if arrived {
            // EXAMINE must not take \Recent away from others: peek.
            let r = if sel.read_only { store.peek_recent(&sel.name) } else { store.claim_recent(&sel.name) };
            if let Ok(r) = r {
                sel.recent.extend(r);
            }
            out.s("* ").num(sel.slots.len()).s(" EXISTS\r\n");
        }
        // RFC 3501 7.3.2: RECENT when the number changes (also after
        // expunges of recent messages), as Dovecot does.
        if !self.rev2 && sel.recent.len() != recent_start {
            out.s("* ").num(sel.recent.len()).s(" RECENT\r\n");
        }
        let touched: Vec<Flags> = flag_changed
            .iter()
            .map(|&i| sel.slots[i].meta.flags.clone())
            .chain(sel.slots[before..].iter().map(|s| s.meta.flags.clone()))
            .collect();
        sel.announce_keywords(&mut out, touched.iter());
        for i in flag_changed {
            // Unsolicited flag updates carry no UID (as Dovecot without
            // QRESYNC); MODSEQ once CONDSTORE is on (RFC 7162 3.2).
            out.s("* ").num(i + 1).s(" FETCH (");
            sel.flags_out(&mut out, &sel.slots[i]);
            if self.condstore {
                out.s(" MODSEQ (").num(sel.slots[i].meta.modseq).s(")");
            }
            out.s(")\r\n");
        }
        self.out.extend_from_slice(&out.buf);
    }

    /// Resolves a sequence or UID set to slot indexes (ascending).
    fn resolve(&self, set: &SeqSet, uid: bool) -> Result<Vec<usize>, Done> {
        let State::Selected(sel) = &self.state else { return Ok(Vec::new()) };
        if let SeqSet::Saved = set {
            return Ok(sel
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| sel.saved.binary_search(&s.meta.uid).is_ok())
                .map(|(i, _)| i)
                .collect());
        }
        if uid {
            let norm = set.normalize(sel.max_uid());
            return Ok(sel
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| SeqSet::in_normalized(&norm, s.meta.uid))
                .map(|(i, _)| i)
                .collect());
        }
        let n = sel.slots.len() as u32;
        if let SeqSet::Ranges(r) = set {
            // RFC 9051 6.4: a message sequence number beyond the mailbox
            // is a client error.
            // `*` in an empty mailbox names no message either (Dovecot
            // answers BAD too).
            if n == 0 || r.iter().any(|r| (r.lo != STAR && r.lo > n) || (r.hi != STAR && r.hi > n)) {
                return Err(bad("Invalid message sequence number"));
            }
        }
        let norm = set.normalize(n);
        Ok((0..sel.slots.len()).filter(|&i| SeqSet::in_normalized(&norm, i as u32 + 1)).collect())
    }

    fn expunge(&mut self, store: &mut dyn Store, uids: Option<&SeqSet>) -> Done {
        // See concurrent changes (including other sessions' \Deleted) first.
        self.sync(store, true);
        let limit = match uids {
            Some(set) => match self.resolve(set, true) {
                Ok(v) => Some(v),
                Err(d) => return d,
            },
            None => None,
        };
        let State::Selected(sel) = &mut self.state else { return bad("No mailbox selected") };
        if sel.read_only {
            return no_code("READ-ONLY", "Mailbox is read-only");
        }
        let mut in_limit = alloc::vec![limit.is_none(); sel.slots.len()];
        for &i in limit.iter().flatten() {
            in_limit[i] = true;
        }
        let idx: Vec<usize> = (0..sel.slots.len())
            .filter(|&i| in_limit[i])
            .filter(|&i| sel.slots[i].meta.flags.has(SystemFlag::Deleted) && !sel.slots[i].gone)
            .collect();
        let uids: Vec<Uid> = idx.iter().map(|&i| sel.slots[i].meta.uid).collect();
        if !uids.is_empty() {
            if let Err(e) = store.expunge(&sel.name, &uids) {
                return store_err(e);
            }
        }
        let mut o = Out::default();
        let recent_start = sel.recent.len();
        for &i in idx.iter().rev() {
            o.s("* ").num(i + 1).s(" EXPUNGE\r\n");
            let s = sel.slots.remove(i);
            sel.recent.remove(&s.meta.uid);
        }
        if !self.rev2 && sel.recent.len() != recent_start {
            o.s("* ").num(sel.recent.len()).s(" RECENT\r\n");
        }
        self.out.extend_from_slice(&o.buf);
        ok("")
    }

    fn search(&mut self, store: &mut dyn Store, tag: &str, mut s: SearchCommand) -> Done {
        if let Some(cs) = &s.charset {
            // RFC 3501 6.4.4: UTF-8 (and US-ASCII) must be supported; the
            // single-byte charsets mail-mime knows are converted to UTF-8.
            match mail_mime::Charset::from_label(cs.as_bytes()) {
                Some(mail_mime::Charset::Utf8) | Some(mail_mime::Charset::UsAscii) => {}
                Some(c) => search::convert_charset(&mut s.key, c),
                None => {
                    return no_code(
                        "BADCHARSET (UTF-8 US-ASCII ISO-8859-1 ISO-8859-15 WINDOWS-1252)",
                        "Unsupported charset",
                    )
                }
            }
        }
        // Sequence numbers beyond the mailbox are not an error in SEARCH.
        let State::Selected(sel) = &self.state else { return bad("No mailbox selected") };
        let need = s.key.needs_content();
        let max_seq = sel.slots.len() as u32;
        let max_uid = sel.max_uid();
        let name = sel.name.clone();
        let mut hits: Vec<(u32, Uid)> = Vec::new();
        for (i, slot) in sel.slots.iter().enumerate() {
            if slot.gone {
                continue;
            }
            let data = if need { store.read_message(&name, slot.meta.uid).ok() } else { None };
            let crlf = data.as_deref().map(mime::to_crlf);
            let parsed = crlf.as_deref().map(mime::parse);
            let ctx = search::Ctx {
                seq: i as u32 + 1,
                meta: &slot.meta,
                recent: sel.recent.contains(&slot.meta.uid),
                max_seq,
                max_uid,
                msg: parsed.as_ref(),
                saved: &sel.saved,
            };
            if search::matches(&s.key, &ctx) {
                hits.push((i as u32 + 1, slot.meta.uid));
            }
        }
        let nums: Vec<u32> = hits.iter().map(|&(q, u)| if s.uid { u } else { q }).collect();
        let ret = match (&s.ret, self.rev2) {
            (Some(r), _) => Some(r.clone()),
            // RFC 9051 6.4.4: IMAP4rev2 answers SEARCH with ESEARCH.
            (None, true) => Some(SearchReturn { all: true, ..Default::default() }),
            (None, false) => None,
        };
        let mut o = Out::default();
        match ret {
            None => {
                o.s("* SEARCH");
                for n in &nums {
                    o.s(" ").num(n);
                }
                o.s("\r\n");
            }
            Some(r) => {
                if r.save {
                    if let State::Selected(sel) = &mut self.state {
                        // RFC 5182 2.1: MIN/MAX alone save only those.
                        sel.saved = if r.all || r.count || (r.min == r.max) {
                            hits.iter().map(|h| h.1).collect()
                        } else {
                            let mut v = Vec::new();
                            if r.min {
                                v.extend(hits.first().map(|h| h.1));
                            }
                            if r.max {
                                v.extend(hits.last().map(|h| h.1));
                            }
                            v
                        };
                    }
                }
                // RFC 5182 2.1: SAVE alone produces no ESEARCH response.
                if r.min || r.max || r.all || r.count {
                    o.s("* ESEARCH (TAG ").string(tag.as_bytes()).s(")");
                    if s.uid {
                        o.s(" UID");
                    }
                    if !nums.is_empty() {
                        if r.min {
                            o.s(" MIN ").num(nums[0]);
                        }
                        if r.max {
                            o.s(" MAX ").num(nums[nums.len() - 1]);
                        }
                        if r.all {
                            o.s(" ALL ").s(&SeqSet::format(&nums));
                        }
                    }
                    if r.count {
                        o.s(" COUNT ").num(nums.len());
                    }
                    o.s("\r\n");
                }
            }
        }
        self.out.extend_from_slice(&o.buf);
        ok("")
    }

    /// Answers messages of a FETCH until the output reaches
    /// `max_output` (at least one per call); `Some` when done.
    fn fetch(&mut self, store: &mut dyn Store, job: &mut FetchJob) -> Option<Done> {
        let (uid, changed_since) = (job.uid, job.changed_since);
        let items = &job.items[..];
        let max_output = self.cfg.max_output;
        let condstore = self.condstore;
        let State::Selected(sel) = &mut self.state else { return Some(bad("No mailbox selected")) };
        let need_content = items.iter().any(fetch::needs_content);
        let mut unknown_cte = job.unknown_cte;
        let want_seen = !sel.read_only && items.iter().any(fetch::sets_seen);
        let mut answered = 0;
        while job.pos < job.idx.len() {
            if answered > 0 && self.out.len() >= max_output {
                job.unknown_cte = unknown_cte;
                return None;
            }
            let i = job.idx[job.pos];
            job.pos += 1;
            answered += 1;
            if sel.slots[i].gone {
                continue;
            }
            if let Some(cs) = changed_since {
                if sel.slots[i].meta.modseq <= cs {
                    continue;
                }
            }
            let uidv = sel.slots[i].meta.uid;
            let data = if need_content {
                match store.read_message(&sel.name, uidv) {
                    Ok(d) => Some(d),
                    // Expunged meanwhile: RFC 3501 7.4.1 lets us skip it.
                    Err(_) => continue,
                }
            } else {
                None
            };
            let mut flags_added = false;
            if want_seen && !sel.slots[i].meta.flags.has(SystemFlag::Seen) {
                let mut f = sel.slots[i].meta.flags.clone();
                f.set(SystemFlag::Seen, true);
                if store.set_flags(&sel.name, uidv, &f).is_ok() {
                    sel.slots[i].meta.flags = f;
                    flags_added = true;
                }
            }
            let msg = data.as_deref().map(mime::to_crlf);
            let msg_bytes: &[u8] = msg.as_deref().unwrap_or(&[]);
            let tree = if need_content { Some(mime::parse(msg_bytes)) } else { None };
            let mut o = Out::default();
            o.s("* ").num(i + 1).s(" FETCH (");
            let mut first = true;
            let mut sep = |o: &mut Out| {
                if !first {
                    o.s(" ");
                }
                first = false;
            };
            // RFC 3501 6.4.8: UID FETCH always includes UID.
            if uid && !items.contains(&FetchAttr::Uid) {
                sep(&mut o);
                o.s("UID ").num(uidv);
            }
            let slot = &sel.slots[i];
            for a in items {
                sep(&mut o);
                match a {
                    FetchAttr::Uid => {
                        o.s("UID ").num(uidv);
                    }
                    FetchAttr::Flags => sel.flags_out(&mut o, slot),
                    FetchAttr::InternalDate => {
                        let mut s = String::new();
                        crate::datetime::format_internal(slot.meta.internal_date, &mut s);
                        o.s("INTERNALDATE ").s(&s);
                    }
                    FetchAttr::Rfc822Size => {
                        o.s("RFC822.SIZE ").num(slot.meta.size);
                    }
                    FetchAttr::ModSeq => {
                        o.s("MODSEQ (").num(slot.meta.modseq).s(")");
                    }
                    FetchAttr::Envelope => {
                        o.s("ENVELOPE ");
                        fetch::envelope(&mut o, tree.as_ref().unwrap(), 0);
                    }
                    FetchAttr::Body => {
                        o.s("BODY ");
                        fetch::body_structure(&mut o, tree.as_ref().unwrap(), 0, false);
                    }
                    FetchAttr::BodyStructure => {
                        o.s("BODYSTRUCTURE ");
                        fetch::body_structure(&mut o, tree.as_ref().unwrap(), 0, true);
                    }
                    FetchAttr::Rfc822 => {
                        o.s("RFC822 ").literal(msg_bytes);
                    }
                    FetchAttr::Rfc822Header => {
                        let h = tree.as_ref().unwrap().root().header.range.clone();
                        o.s("RFC822.HEADER ").literal(&msg_bytes[h]);
                    }
                    FetchAttr::Rfc822Text => {
                        let b = tree.as_ref().unwrap().root().body.clone();
                        o.s("RFC822.TEXT ").literal(&msg_bytes[b]);
                    }
                    FetchAttr::Section { section, partial, .. } => {
                        fetch::section_name(&mut o, "BODY", section, *partial);
                        o.s(" ");
                        let bytes = mime::section_bytes(tree.as_ref().unwrap(), section).unwrap_or_default();
                        let bytes: &[u8] = &bytes;
                        o.literal(fetch::apply_partial(&bytes, *partial));
                    }
                    FetchAttr::Binary { part, partial, .. } => {
                        let sec = Section { part: part.clone(), text: None };
                        fetch::section_name(&mut o, "BINARY", &sec, *partial);
                        o.s(" ");
                        let bytes = match mime::binary(tree.as_ref().unwrap(), part) {
                            Binary::Data(b) => b,
                            // A part that does not exist is empty (as Dovecot).
                            Binary::NoPart => Vec::new(),
                            Binary::UnknownCte => {
                                unknown_cte = true;
                                Vec::new()
                            }
                        };
                        let b = fetch::apply_partial(&bytes, *partial);
                        // RFC 3516 4.3: literal8 when it holds NUL.
                        if b.contains(&0) {
                            o.s("~");
                        }
                        o.literal(b);
                    }
                    FetchAttr::BinarySize(part) => {
                        o.s("BINARY.SIZE[");
                        o.s(&part.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("."));
                        o.s("] ");
                        let n = match mime::binary(tree.as_ref().unwrap(), part) {
                            Binary::Data(b) => b.len(),
                            Binary::NoPart => 0,
                            Binary::UnknownCte => {
                                unknown_cte = true;
                                0
                            }
                        };
                        o.num(n);
                    }
                }
            }
            if flags_added && !items.contains(&FetchAttr::Flags) {
                sep(&mut o);
                sel.flags_out(&mut o, slot);
            }
            // RFC 7162 3.2: once CONDSTORE is on, FETCH responses that
            // carry FLAGS also carry MODSEQ.
            let has_flags = flags_added || items.contains(&FetchAttr::Flags);
            if condstore && !items.contains(&FetchAttr::ModSeq) && (changed_since.is_some() || has_flags) {
                sep(&mut o);
                o.s("MODSEQ (").num(slot.meta.modseq).s(")");
            }
            o.s(")\r\n");
            self.out.extend_from_slice(&o.buf);
        }
        if unknown_cte {
            // RFC 3516 4.2: a transfer encoding we cannot decode.
            return Some(no_code("UNKNOWN-CTE", "Cannot decode the content transfer encoding"));
        }
        Some(ok(""))
    }

    fn store(&mut self, store: &mut dyn Store, s: StoreCommand) -> Done {
        let idx = match self.resolve(&s.set, s.uid) {
            Ok(v) => v,
            Err(d) => return d,
        };
        if s.unchanged_since.is_some() {
            self.condstore = true;
        }
        let condstore = self.condstore;
        let max_keywords = self.cfg.max_keywords;
        let State::Selected(sel) = &mut self.state else { return bad("No mailbox selected") };
        if sel.read_only {
            return no_code("READ-ONLY", "Mailbox is read-only");
        }
        let mut given = Flags::new();
        for f in &s.flags {
            given.add_named(f);
        }
        let mut modified: Vec<u32> = Vec::new();
        let mut o = Out::default();
        if s.mode != StoreMode::Remove {
            sel.announce_keywords(&mut o, core::iter::once(&given));
        }
        for i in idx {
            if sel.slots[i].gone {
                continue;
            }
            let slot = &sel.slots[i];
            // RFC 7162 3.2: UNCHANGEDSINCE fails for messages changed later.
            if let Some(us) = s.unchanged_since {
                if slot.meta.modseq > us {
                    modified.push(if s.uid { slot.meta.uid } else { i as u32 + 1 });
                    continue;
                }
            }
            let mut f = slot.meta.flags.clone();
            match s.mode {
                StoreMode::Replace => f = given.clone(),
                StoreMode::Add => f.union(&given),
                StoreMode::Remove => f.subtract(&given),
            }
            if f.keywords().len() > max_keywords {
                self.out.extend_from_slice(&o.buf);
                return no_code("LIMIT", "Too many keywords");
            }
            let uid = slot.meta.uid;
            if f != slot.meta.flags {
                if let Err(e) = store.set_flags(&sel.name, uid, &f) {
                    if e == StoreError::NotFound {
                        continue;
                    }
                    return store_err(e);
                }
                sel.slots[i].meta.flags = f;
                if condstore {
                    // Learn the new MODSEQ so we do not echo our own change.
                    if let Ok((_, list)) = store.list_messages(&sel.name) {
                        if let Some(m) = list.iter().find(|m| m.uid == uid) {
                            sel.slots[i].meta.modseq = m.modseq;
                        }
                    }
                }
            }
            if !s.silent {
                o.s("* ").num(i + 1).s(" FETCH (");
                if s.uid {
                    o.s("UID ").num(uid).s(" ");
                }
                sel.flags_out(&mut o, &sel.slots[i]);
                if condstore {
                    o.s(" MODSEQ (").num(sel.slots[i].meta.modseq).s(")");
                }
                o.s(")\r\n");
            }
        }
        self.out.extend_from_slice(&o.buf);
        if !modified.is_empty() {
            return ok_code(format!("MODIFIED {}", SeqSet::format(&modified)), "Conditional STORE failed");
        }
        ok("")
    }

    fn copy_move(&mut self, store: &mut dyn Store, uid: bool, set: &SeqSet, raw: &[u8], is_move: bool) -> Done {
        let idx = match self.resolve(set, uid) {
            Ok(v) => v,
            Err(d) => return d,
        };
        let target = match self.mbox_in(raw) {
            Ok(n) => n,
            Err(d) => return d,
        };
        let State::Selected(sel) = &mut self.state else { return bad("No mailbox selected") };
        if is_move && sel.read_only {
            return no_code("READ-ONLY", "Mailbox is read-only");
        }
        if !store.list_folders().unwrap_or_default().contains(&target) {
            return no_code("TRYCREATE", "No such mailbox");
        }
        let idx: Vec<usize> = idx.into_iter().filter(|&i| !sel.slots[i].gone).collect();
        let uids: Vec<Uid> = idx.iter().map(|&i| sel.slots[i].meta.uid).collect();
        if uids.is_empty() {
            return ok("No messages");
        }
        let r = if is_move {
            store.move_messages(&sel.name, &uids, &target)
        } else {
            store.copy(&sel.name, &uids, &target)
        };
        let (validity, new) = match r {
            Ok(v) => v,
            Err(e) => return store_err(e),
        };
        // RFC 4315 3: COPYUID (source set, destination set, same order).
        let code = if new.len() == uids.len() {
            Some(format!("COPYUID {} {} {}", validity, uid_set(&uids), uid_set(&new)))
        } else {
            None
        };
        if !is_move {
            return match code {
                Some(c) => ok_code(c, "COPY completed"),
                None => ok("COPY completed"),
            };
        }
        // RFC 6851 3.3: COPYUID goes in an untagged OK, then EXPUNGEs.
        let mut o = Out::default();
        if let Some(c) = code {
            o.s("* OK [").s(&c).s("] Moved\r\n");
        }
        let recent_start = sel.recent.len();
        for &i in idx.iter().rev() {
            o.s("* ").num(i + 1).s(" EXPUNGE\r\n");
            let s = sel.slots.remove(i);
            sel.recent.remove(&s.meta.uid);
        }
        if !self.rev2 && sel.recent.len() != recent_start {
            o.s("* ").num(sel.recent.len()).s(" RECENT\r\n");
        }
        self.out.extend_from_slice(&o.buf);
        ok("MOVE completed")
    }
}

/// A UID list in compact form (`1:3,7`) when ascending, else as given:
/// COPYUID's two sets must list corresponding UIDs in the same order.
fn uid_set(v: &[Uid]) -> String {
    if v.windows(2).all(|w| w[0] < w[1]) {
        SeqSet::format(v)
    } else {
        v.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(",")
    }
}


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

mod auth;
mod mailbox;
mod selected;

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
    /// Offer CONDSTORE (RFC 7162). Only for a Store that keeps real
    /// per-message MODSEQs (MemStore does); with `false` the capability is
    /// not advertised and the session never turns it on.
    pub condstore: bool,
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
            condstore: false,
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
    SaslResponse {
        tag: String,
    },
    /// An authentication request is out; waiting for auth_result.
    AuthPending {
        tag: String,
        req: Option<Action>,
        user: String,
    },
    AuthAnswered {
        tag: String,
        user: String,
        result: AuthResult,
    },
    Idle {
        tag: String,
    },
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
    /// UTF8=ACCEPT was ENABLEd explicitly (IMAP4rev2 implies UTF-8 names
    /// but a later ENABLE UTF8=ACCEPT is still acknowledged once).
    utf8_enabled: bool,
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
            utf8_enabled: false,
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
                            if self.changed {
                                self.complete(store, &tag, done, uid, "FETCH");
                            } else {
                                self.tagged_done(&tag, done, "FETCH");
                            }
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
                        self.tagged(
                            &tag,
                            &Done { status: "BAD", code: Some("TOOBIG".into()), text: "Literal too big".into() },
                        );
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
                 ESEARCH SEARCHRES STATUS=SIZE BINARY UTF8=ACCEPT",
            );
            if self.cfg.condstore {
                c.push_str(" CONDSTORE");
            }
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
        } else if name.len() > 6 && name.as_bytes()[..6].eq_ignore_ascii_case(b"INBOX/") {
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
        // FETCH, STORE and SEARCH keep the session's snapshot up to date
        // themselves; the folder is listed again after them only when
        // [`Session::mailbox_changed`] said someone else changed it (a
        // listing costs a directory scan: it dominated these commands).
        // SELECT/EXAMINE has just listed the folder itself.
        let own_view = matches!(
            cmd.body,
            CommandBody::Fetch { .. } | CommandBody::Store(_) | CommandBody::Search(_) | CommandBody::Select { .. }
        );
        // A STORE (or a FETCH that sets \Seen) computes new flags from the
        // snapshot: bring it up to date first when another session changed
        // the folder, or its +FLAGS/-FLAGS would undo their change.
        let writes_flags = match &cmd.body {
            CommandBody::Store(_) => true,
            CommandBody::Fetch { items, .. } => items.iter().any(fetch::sets_seen),
            _ => false,
        };
        if writes_flags && self.changed && matches!(self.state, State::Selected(_)) {
            // RFC 3501 7.4.1: no EXPUNGE now; those wait for a later sync.
            self.sync(store, false);
        }
        // Changes by others are reported after the command, from a fresh
        // listing (as Dovecot does): a command works on the snapshot the
        // client knows, so sequence numbers mean what the client thinks.
        let result = self.execute(store, &tag, cmd.body);
        match result {
            Exec::Done(d) => {
                if own_view && !self.changed {
                    self.tagged_done(&tag, d, name);
                } else {
                    self.complete(store, &tag, d, allow_expunge, name);
                }
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
        self.tagged_done(tag, d, name);
    }

    fn tagged_done(&mut self, tag: &str, d: Done, name: &str) {
        let d = if d.status == "OK" && d.text.is_empty() { ok(format!("{} completed", name)) } else { d };
        self.tagged(tag, &d);
    }

    /// RFC 7162 3.1: the first CONDSTORE-enabling command while a mailbox
    /// is selected is answered with its HIGHESTMODSEQ.
    fn enable_condstore(&mut self, store: &mut dyn Store) {
        if self.condstore {
            return;
        }
        self.condstore = true;
        if let State::Selected(sel) = &self.state {
            let known = sel.slots.iter().map(|s| s.meta.modseq).max().unwrap_or(0);
            let hm = store.folder_status(&sel.name).map_or(0, |st| st.highest_modseq).max(known).max(1);
            self.untagged(&format!("OK [HIGHESTMODSEQ {}] Highest", hm));
        }
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
                            // RFC 9755 1: IMAP4rev2 includes UTF8=ACCEPT
                            // (UTF-8 mailbox names, no modified UTF-7).
                            self.utf8 = true;
                            if let State::Selected(sel) = &mut self.state {
                                sel.show_recent = false;
                            }
                            enabled.push("IMAP4rev2");
                        }
                        "UTF8=ACCEPT" if !self.utf8_enabled => {
                            self.utf8 = true;
                            self.utf8_enabled = true;
                            enabled.push("UTF8=ACCEPT");
                        }
                        "CONDSTORE" if !self.condstore && self.cfg.condstore => {
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
            Append { mailbox, flags, date, message } => {
                Exec::Done(self.append(store, &mailbox, &flags, date, &message))
            }
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
                // RFC 7162 3.1: CHANGEDSINCE and the MODSEQ item enable CONDSTORE.
                if changed_since.is_some() || items.contains(&FetchAttr::ModSeq) {
                    if !self.cfg.condstore {
                        return Exec::Done(bad("CONDSTORE is not supported"));
                    }
                    self.enable_condstore(store);
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

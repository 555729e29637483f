//! The evaluator: runs a compiled [`Script`] over a message and produces the
//! list of actions (RFC 5228 2.10), never performing them itself.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::address::{parse_list, parse_mailbox, Addr, Item};
use crate::compile::{
    parse_zone, AddrPart, BodyTransform, Cmd, Ext, FlagOp, Index, Match, Modifier, Script, Test, VacationCmd, Zone,
};
use crate::matching::{match_cost, match_one, match_values, MatchType};
pub use mail_mime::DateTime;

/// What the evaluator needs to know about the message. The caller's MIME
/// parser implements it; the crate never sees raw bytes.
pub trait Message {
    /// Values of all header fields named `name` (case-insensitive), in
    /// message order, unfolded, RFC 2047-decoded, leading and trailing white
    /// space removed.
    fn header(&self, name: &str) -> Vec<String>;
    /// Message size in octets (RFC 5228 5.9).
    fn size(&self) -> u64;
    /// RFC 5173: the body as the transform selects it: `Raw` is the whole
    /// undecoded body, `Text` the decoded text parts, `Content(types)` the
    /// decoded parts whose Content-Type matches one of `types`.
    fn body(&self, transform: &BodyTransform) -> Vec<String>;
}

/// What the evaluator needs from the delivery context. The calls are plain
/// questions the caller answers from state it already holds.
pub trait Environment {
    /// SMTP MAIL FROM (the return path); `""` for the null sender.
    fn envelope_from(&self) -> &str;
    /// SMTP RCPT TO of this delivery.
    fn envelope_to(&self) -> &str;
    /// Other addresses of the script owner (for vacation, RFC 5230 4.5).
    fn own_addresses(&self) -> Vec<String> {
        Vec::new()
    }
    /// RFC 5490 3.1 mailboxexists.
    fn mailbox_exists(&mut self, mailbox: &str) -> bool;
    /// RFC 5230 4.2: was a vacation reply with this handle sent to this
    /// sender within the last `days` days?
    fn vacation_sent_recently(&mut self, sender: &str, handle: &str, days: u32) -> bool;
    /// RFC 5260: the current time, in the server's local zone offset (also
    /// the zone dates are shown in without `:zone`). `None`: currentdate
    /// tests are false and dates are shown in UTC.
    fn now(&self) -> Option<DateTime> {
        None
    }
}

/// Bounds on one run (RFC 5228 2.10.6 lets implementations limit actions).
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// Commands plus tests executed.
    pub max_instructions: u32,
    pub max_redirects: u32,
    pub max_actions: u32,
    /// Longest variable value (RFC 5229 3: may be truncated).
    pub max_variable_len: usize,
    pub max_variables: usize,
    /// Character steps all match tests of a run may cost (see
    /// `matching::match_cost`): bounds `:contains`/`:matches` over big bodies.
    pub max_match_work: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            max_instructions: 10_000,
            max_redirects: 4,
            max_actions: 32,
            max_variable_len: 4096,
            max_variables: 255,
            max_match_work: 256 << 20,
        }
    }
}

/// A vacation reply to send (RFC 5230 5). The caller builds the message
/// (In-Reply-To, References, Auto-Submitted: auto-replied) and records
/// `(to, handle)` for `days` so the next `vacation_sent_recently` says yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VacationReply {
    pub to: String,
    pub from: Option<String>,
    /// The `:subject`, else RFC 5230 5.4's default: "Auto: " and the
    /// original subject.
    pub subject: String,
    /// RFC 5230 5.5 / RFC 3834 3.1.4: the original Message-ID, for the
    /// reply's In-Reply-To and References.
    pub in_reply_to: Option<String>,
    pub reason: String,
    pub mime: bool,
    pub handle: String,
    pub days: u32,
}

impl VacationReply {
    /// The reply as an RFC 5322 message (CRLF line ends), ready for the
    /// outbound queue with the null envelope sender (RFC 5230 5.1 /
    /// RFC 3834 3.3). `own` is used when no `:from` was given; `date` is an
    /// RFC 5322 date and `message_id` a fresh `<id@host>`, both from the
    /// caller (no clock or randomness here).
    pub fn compose(&self, own: &str, date: &str, message_id: &str) -> String {
        let clean = |s: &str| s.replace(['\r', '\n'], " ");
        let mut m = String::new();
        m.push_str(&format!("From: {}\r\n", clean(self.from.as_deref().unwrap_or(own))));
        m.push_str(&format!("To: <{}>\r\n", clean(&self.to)));
        m.push_str(&format!("Subject: {}\r\n", clean(&self.subject)));
        m.push_str(&format!("Date: {}\r\n", clean(date)));
        m.push_str(&format!("Message-ID: {}\r\n", clean(message_id)));
        if let Some(id) = &self.in_reply_to {
            // RFC 5230 5.5 / RFC 3834 3.1.4
            m.push_str(&format!("In-Reply-To: {}\r\nReferences: {}\r\n", clean(id), clean(id)));
        }
        // RFC 3834 5: marks the reply as automatic so no one answers it.
        m.push_str("Auto-Submitted: auto-replied (vacation)\r\n");
        m.push_str("Precedence: bulk\r\n");
        m.push_str("MIME-Version: 1.0\r\n");
        let body = self.reason.replace("\r\n", "\n").replace('\n', "\r\n");
        if self.mime {
            // RFC 5230 4.7 :mime: the reason carries its own MIME header.
            m.push_str(&body);
        } else {
            m.push_str("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
            m.push_str(&body);
        }
        if !m.ends_with("\r\n") {
            m.push_str("\r\n");
        }
        m
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Store in the default mailbox (INBOX), explicit or implicit keep.
    Keep {
        flags: Vec<String>,
    },
    FileInto {
        mailbox: String,
        flags: Vec<String>,
        create: bool,
    },
    Redirect {
        address: String,
    },
    /// Explicit discard (only cancels the implicit keep).
    Discard,
    Vacation(VacationReply),
}

/// RFC 5293 header edits, to apply before storing the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    Add {
        name: String,
        value: String,
        last: bool,
    },
    /// Delete every field `name` whose (decoded) value is `value`.
    Delete {
        name: String,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// In execution order; an implicit keep is the last entry.
    pub actions: Vec<Action>,
    pub header_edits: Vec<HeaderEdit>,
    /// A runtime error: `actions` is then just a keep into INBOX
    /// (RFC 5228 2.10.6), and this says why.
    pub error: Option<String>,
}

enum Flow {
    Go,
    Stop,
}

struct Run<'a> {
    script: &'a Script,
    msg: &'a dyn Message,
    env: &'a mut dyn Environment,
    lim: RunLimits,
    vars: BTreeMap<String, String>,
    caps: Vec<String>,
    flags: Vec<String>,
    actions: Vec<Action>,
    edits: Vec<HeaderEdit>,
    edited: BTreeMap<String, Vec<String>>,
    implicit_keep: bool,
    steps: u32,
    work: u64,
    redirects: u32,
    vacation_done: bool,
    /// A previous script of the sequence already answered.
    vacation_earlier: bool,
    /// Actions before this index come from earlier scripts of a sequence:
    /// they are final, a duplicate store no longer changes their flags.
    committed: usize,
}

/// Runs `script` over `msg` (RFC 5228 2.10).
pub fn evaluate(script: &Script, msg: &dyn Message, env: &mut dyn Environment, lim: &RunLimits) -> Outcome {
    evaluate_sequence(&[script], msg, env, lim)
}

/// Runs scripts one after another the way Pigeonhole runs `sieve_before`
/// scripts and then the user's script: actions accumulate; each script has
/// its own variables but the imap4flags internal variable and header edits
/// carry over; the next script runs only while the message is still kept
/// (implicit keep in force or an explicit keep done; `stop` ends only the
/// current script); the implicit keep of a script is deferred to the next,
/// so only the last script's decides. A second vacation in a later script
/// is ignored. A run-time error anywhere gives "keep in INBOX" plus the
/// error (RFC 5228 2.10.6), dropping the other actions.
pub fn evaluate_sequence(
    scripts: &[&Script],
    msg: &dyn Message,
    env: &mut dyn Environment,
    lim: &RunLimits,
) -> Outcome {
    let empty = Script { cmds: Vec::new(), required: crate::compile::ExtSet::empty() };
    let mut r = Run {
        script: scripts.first().copied().unwrap_or(&empty),
        msg,
        env,
        lim: *lim,
        vars: BTreeMap::new(),
        caps: Vec::new(),
        flags: Vec::new(),
        actions: Vec::new(),
        edits: Vec::new(),
        edited: BTreeMap::new(),
        implicit_keep: true,
        steps: 0,
        work: 0,
        redirects: 0,
        vacation_done: false,
        vacation_earlier: false,
        committed: 0,
    };
    for (i, script) in scripts.iter().enumerate() {
        r.script = script;
        r.vars.clear();
        r.caps.clear();
        r.implicit_keep = true;
        r.vacation_earlier = r.vacation_done;
        r.vacation_done = false;
        r.committed = r.actions.len();
        if let Err(e) = r.block(&script.cmds) {
            // RFC 5228 2.10.6: on a run-time error the implicit keep is taken.
            return Outcome {
                actions: alloc::vec![Action::Keep { flags: Vec::new() }],
                header_edits: Vec::new(),
                error: Some(e),
            };
        }
        r.vacation_done |= r.vacation_earlier;
        let kept = r.implicit_keep || r.actions.iter().any(|a| matches!(a, Action::Keep { .. }));
        if !kept || i + 1 == scripts.len() {
            break;
        }
    }
    // RFC 5228 2.10.2: implicit keep unless cancelled; RFC 5232 5: it
    // carries the current value of the internal flags variable.
    if r.implicit_keep {
        let flags = r.flags.clone();
        r.push_keep(flags);
    }
    Outcome { actions: r.actions, header_edits: r.edits, error: None }
}

type R<T> = Result<T, String>;

/// Splits flag strings at spaces into a set without duplicates
/// (RFC 5232 3: flags compare case-insensitively).
fn flag_set(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in items {
        for f in s.split(' ').filter(|f| !f.is_empty()) {
            if !out.iter().any(|x| x.eq_ignore_ascii_case(f)) {
                out.push(f.to_string());
            }
        }
    }
    out
}

fn addr_part(a: &Addr, part: AddrPart) -> Option<String> {
    match part {
        AddrPart::All => Some(a.full()),
        AddrPart::Localpart => Some(a.local.clone()),
        AddrPart::Domain => Some(a.domain.clone()),
        // RFC 5233 4: user is the part before the first '+', detail after;
        // without a separator :detail matches nothing.
        AddrPart::User => Some(a.local.split('+').next().unwrap_or("").to_string()),
        AddrPart::Detail => a.local.split_once('+').map(|(_, d)| d.to_string()),
    }
}

impl<'a> Run<'a> {
    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.lim.max_instructions {
            return Err(String::from("instruction limit exceeded"));
        }
        Ok(())
    }

    fn vars_on(&self) -> bool {
        self.script.required.contains(Ext::Variables)
    }

    /// RFC 5229 3: `${name}` / `${N}` expansion in string arguments.
    fn expand(&self, s: &str) -> String {
        if !s.contains("${") {
            return s.to_string();
        }
        // RFC 5228 2.4.2.4: encoded characters come first.
        let decoded;
        let s = if self.script.required.contains(Ext::EncodedCharacter) {
            decoded = crate::encoded::decode(s);
            decoded.as_str()
        } else {
            s
        };
        if !self.vars_on() {
            return s.to_string();
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(j) = after.find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let name = &after[..j];
            if let Some(v) = self.lookup(name) {
                out.push_str(&v);
                rest = &after[j + 1..];
            } else {
                // Not a variable reference: keep "${" literally, rescan after it.
                out.push_str("${");
                rest = after;
            }
            if out.len() > self.lim.max_variable_len * 4 {
                break;
            }
        }
        out.push_str(rest);
        out
    }

    fn lookup(&self, name: &str) -> Option<String> {
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            // RFC 5229 3.2: ${0}..${9}; unset ones are empty.
            let n: usize = name.parse().unwrap_or(usize::MAX);
            return Some(self.caps.get(n).cloned().unwrap_or_default());
        }
        let b = name.as_bytes();
        let ident = !b.is_empty()
            && (b[0].is_ascii_alphabetic() || b[0] == b'_')
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
        if !ident {
            return None; // namespaces ("a.b") are not supported: left literal
        }
        Some(self.vars.get(&name.to_ascii_lowercase()).cloned().unwrap_or_default())
    }

    fn ex_list(&self, l: &[String]) -> Vec<String> {
        l.iter().map(|s| self.expand(s)).collect()
    }

    fn add_action(&mut self, a: Action) -> R<()> {
        if self.actions.len() as u32 >= self.lim.max_actions {
            return Err(String::from("too many actions"));
        }
        self.actions.push(a);
        Ok(())
    }

    /// RFC 5228 4.2 / 2.10.3: keeping or filing into the same mailbox twice
    /// stores one copy; like Pigeonhole, the last action's flags win.
    fn push_keep(&mut self, flags: Vec<String>) {
        let committed = self.committed;
        for (i, a) in self.actions.iter_mut().enumerate() {
            let final_ = i < committed;
            match a {
                Action::Keep { .. } | Action::FileInto { .. } if final_ && is_inbox(a) => return,
                Action::Keep { flags: f } => {
                    *f = flags;
                    return;
                }
                Action::FileInto { mailbox, flags: f, .. } if mailbox.eq_ignore_ascii_case("INBOX") => {
                    *f = flags;
                    return;
                }
                _ => {}
            }
        }
        self.actions.push(Action::Keep { flags });
    }

    fn block(&mut self, cmds: &[Cmd]) -> R<Flow> {
        for c in cmds {
            self.step()?;
            if let Flow::Stop = self.cmd(c)? {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Go)
    }

    fn cmd(&mut self, c: &Cmd) -> R<Flow> {
        match c {
            Cmd::If(branches, els) => {
                for (t, b) in branches {
                    if self.test(t)? {
                        return self.block(b);
                    }
                }
                if let Some(b) = els {
                    return self.block(b);
                }
            }
            Cmd::Stop => return Ok(Flow::Stop),
            Cmd::Keep { flags } => {
                let f = match flags {
                    Some(l) => flag_set(&self.ex_list(l)),
                    None => self.flags.clone(),
                };
                self.implicit_keep = false;
                if self.actions.len() as u32 >= self.lim.max_actions {
                    return Err(String::from("too many actions"));
                }
                self.push_keep(f);
            }
            Cmd::Discard => {
                self.implicit_keep = false;
                if !self.actions.contains(&Action::Discard) {
                    self.add_action(Action::Discard)?;
                }
            }
            Cmd::FileInto { mailbox, create, copy, flags } => {
                let mailbox = self.expand(mailbox);
                if mailbox.is_empty() || mailbox.len() > 1024 || mailbox.contains(|c: char| c.is_control()) {
                    return Err(format!("fileinto: invalid mailbox name \"{mailbox}\""));
                }
                let f = match flags {
                    Some(l) => flag_set(&self.ex_list(l)),
                    None => self.flags.clone(),
                };
                if !copy {
                    self.implicit_keep = false;
                }
                if mailbox.eq_ignore_ascii_case("INBOX")
                    && self.actions.iter().any(|a| matches!(a, Action::Keep { .. }))
                {
                    self.push_keep(f);
                } else if let Some((i, Action::FileInto { flags: ef, create: ec, .. })) = self
                    .actions
                    .iter_mut()
                    .enumerate()
                    .find(|(_, a)| matches!(a, Action::FileInto { mailbox: m, .. } if *m == mailbox))
                {
                    // A store done by an earlier script of the sequence is final.
                    if i >= self.committed {
                        *ef = f;
                        *ec |= *create;
                    }
                } else {
                    self.add_action(Action::FileInto { mailbox, flags: f, create: *create })?;
                }
            }
            Cmd::Redirect { addr, copy } => {
                let address = self.expand(addr);
                let Some(a) = parse_mailbox(&address) else {
                    return Err(format!("redirect: invalid address \"{address}\""));
                };
                let address = a.full();
                if !copy {
                    self.implicit_keep = false;
                }
                // RFC 5228 4.2: no duplicate redirects to the same address.
                let dup = self
                    .actions
                    .iter()
                    .any(|x| matches!(x, Action::Redirect { address: y } if y.eq_ignore_ascii_case(&address)));
                if !dup {
                    self.redirects += 1;
                    if self.redirects > self.lim.max_redirects {
                        return Err(String::from("too many redirects"));
                    }
                    self.add_action(Action::Redirect { address })?;
                }
            }
            Cmd::Flag { op, var, flags } => {
                let new = flag_set(&self.ex_list(flags));
                let cur = match var {
                    Some(v) => flag_set(&[self.vars.get(&v.to_ascii_lowercase()).cloned().unwrap_or_default()]),
                    None => self.flags.clone(),
                };
                // RFC 5232 3.1-3.3
                let res = match op {
                    FlagOp::Set => new,
                    FlagOp::Add => {
                        let mut c = cur;
                        merge_flags(&mut c, &new);
                        c
                    }
                    FlagOp::Remove => {
                        cur.into_iter().filter(|f| !new.iter().any(|n| n.eq_ignore_ascii_case(f))).collect()
                    }
                };
                match var {
                    Some(v) => {
                        let s = res.join(" ");
                        self.set_var(v, s)?;
                    }
                    None => self.flags = res,
                }
            }
            Cmd::Set { name, value, mods } => {
                let mut v = self.expand(value);
                for m in mods {
                    v = apply_modifier(*m, &v);
                }
                self.set_var(name, v)?;
            }
            Cmd::Vacation(v) => self.vacation(v)?,
            Cmd::AddHeader { last, name, value } => {
                let name = self.expand(name);
                let value = self.expand(value);
                if !crate::compile::valid_field_name(&name) {
                    return Err(format!("addheader: invalid header name \"{name}\""));
                }
                let mut cur = self.header_values(&name);
                if *last {
                    cur.push(value.clone());
                } else {
                    cur.insert(0, value.clone());
                }
                self.edited.insert(name.to_ascii_lowercase(), cur);
                self.edits.push(HeaderEdit::Add { name, value, last: *last });
            }
            Cmd::DeleteHeader { m, name, patterns, index } => {
                let name = self.expand(name);
                // RFC 5293 7: Received and Auto-Submitted are never deleted.
                let l = name.to_ascii_lowercase();
                if l == "received" || l == "auto-submitted" {
                    return Ok(Flow::Go);
                }
                let cur = self.header_values(&name);
                let pats = patterns.as_ref().map(|p| self.ex_list(p));
                let mut keep = Vec::new();
                // RFC 5293 6 with RFC 5260 6: :index limits it to one occurrence.
                let only = index.and_then(|ix| {
                    let n = ix.n as usize;
                    (n >= 1 && n <= cur.len()).then(|| if ix.last { cur.len() - n } else { n - 1 })
                });
                let limited = index.is_some();
                for (i, v) in cur.into_iter().enumerate() {
                    let hit = (!limited || only == Some(i))
                        && match &pats {
                            None => true,
                            Some(p) => p.iter().any(|k| match_one(m.cmp, m.mt, &v, k, None)),
                        };
                    if hit {
                        self.edits.push(HeaderEdit::Delete { name: name.clone(), value: v });
                    } else {
                        keep.push(v);
                    }
                }
                self.edited.insert(l, keep);
            }
        }
        Ok(Flow::Go)
    }

    /// The zone to show a date in; `None` for an invalid run-time `:zone`.
    fn zone(&self, z: &Zone) -> Option<Option<i16>> {
        match z {
            Zone::Local => Some(Some(self.env.now().map_or(0, |n| n.offset_minutes))),
            Zone::Original => Some(None),
            Zone::Given(s) => parse_zone(&self.expand(s)).map(Some),
        }
    }

    fn set_var(&mut self, name: &str, mut v: String) -> R<()> {
        if v.len() > self.lim.max_variable_len {
            let mut cut = self.lim.max_variable_len;
            while !v.is_char_boundary(cut) {
                cut -= 1;
            }
            v.truncate(cut);
        }
        let k = name.to_ascii_lowercase();
        if !self.vars.contains_key(&k) && self.vars.len() >= self.lim.max_variables {
            return Err(String::from("too many variables"));
        }
        self.vars.insert(k, v);
        Ok(())
    }

    fn header_values(&self, name: &str) -> Vec<String> {
        match self.edited.get(&name.to_ascii_lowercase()) {
            Some(v) => v.clone(),
            None => self.msg.header(name),
        }
    }

    fn do_match(&mut self, m: &Match, values: &[String], keys: &[String]) -> R<bool> {
        let keys = self.ex_list(keys);
        self.work = self.work.saturating_add(match_cost(m.mt, values, &keys));
        if self.work > self.lim.max_match_work {
            return Err(String::from("match work limit exceeded"));
        }
        let mut caps = None;
        let hit = match_values(m.cmp, m.mt, values, &keys, &mut caps);
        // RFC 5229 3.2: match variables come from the last successful :matches.
        if let Some(c) = caps {
            self.caps = c;
        }
        Ok(hit)
    }

    fn test(&mut self, t: &Test) -> R<bool> {
        self.step()?;
        Ok(match t {
            Test::True => true,
            Test::False => false,
            Test::Not(x) => !self.test(x)?,
            Test::AllOf(v) => {
                for x in v {
                    if !self.test(x)? {
                        return Ok(false);
                    }
                }
                true
            }
            Test::AnyOf(v) => {
                for x in v {
                    if self.test(x)? {
                        return Ok(true);
                    }
                }
                false
            }
            Test::Header { m, headers, keys, index } => {
                let mut values = Vec::new();
                for h in self.ex_list(headers) {
                    values.extend(select(self.header_values(&h), *index));
                }
                self.do_match(m, &values, keys)?
            }
            Test::Date { zone, m, header, part, keys, index } => {
                let header = self.expand(header);
                let part = self.expand(part).to_ascii_lowercase();
                let Some(zone) = self.zone(zone) else { return Ok(false) };
                let mut values = Vec::new();
                // Without :index the first occurrence is used (as Pigeonhole does).
                let all = self.header_values(&header);
                let picked = if index.is_some() { select(all, *index) } else { all.into_iter().take(1).collect() };
                for hv in picked {
                    // RFC 5260 4: in Received the date follows the last ';'.
                    let text = if header.eq_ignore_ascii_case("received") {
                        hv.rsplit(';').next().unwrap_or("").to_string()
                    } else {
                        hv
                    };
                    if let Some(d) = mail_mime::parse_date(text.as_bytes()) {
                        values.extend(date_part(&d, zone, &part));
                    }
                }
                if values.is_empty() && !matches!(m.mt, MatchType::Count(_)) {
                    return Ok(false);
                }
                self.do_match(m, &values, keys)?
            }
            Test::CurrentDate { zone, m, part, keys } => {
                let part = self.expand(part).to_ascii_lowercase();
                let Some(now) = self.env.now() else { return Ok(false) };
                let Some(zone) = self.zone(zone) else { return Ok(false) };
                let values: Vec<String> = date_part(&now, zone, &part).into_iter().collect();
                self.do_match(m, &values, keys)?
            }
            Test::Address { part, m, headers, keys, index } => {
                let mut values = Vec::new();
                for h in self.ex_list(headers) {
                    for hv in select(self.header_values(&h), *index) {
                        for item in parse_list(&hv, 256) {
                            match item {
                                Item::Ok(a) => values.extend(addr_part(&a, *part)),
                                // RFC 5228 5.1: invalid addresses match only :all.
                                Item::Invalid(raw) if *part == AddrPart::All => values.push(raw),
                                Item::Invalid(_) => {}
                            }
                        }
                    }
                }
                self.do_match(m, &values, keys)?
            }
            Test::Envelope { part, m, parts, keys } => {
                let mut values = Vec::new();
                for p in self.ex_list(parts) {
                    let raw = if p.eq_ignore_ascii_case("from") {
                        self.env.envelope_from().to_string()
                    } else {
                        self.env.envelope_to().to_string()
                    };
                    // RFC 5228 5.4: the null reverse-path is the empty string.
                    if raw.is_empty() || raw == "<>" {
                        if *part == AddrPart::All {
                            values.push(String::new());
                        }
                        continue;
                    }
                    let raw = raw.trim_start_matches('<').trim_end_matches('>');
                    if let Some(a) = parse_mailbox(raw) {
                        values.extend(addr_part(&a, *part));
                    }
                }
                self.do_match(m, &values, keys)?
            }
            Test::Exists(headers) => {
                let hs = self.ex_list(headers);
                hs.iter().all(|h| !self.header_values(h).is_empty())
            }
            Test::Size { over, limit } => {
                let s = self.msg.size();
                if *over {
                    s > *limit
                } else {
                    s < *limit
                }
            }
            Test::Str { m, sources, keys } => {
                let mut values = self.ex_list(sources);
                // RFC 5229 5: :count counts only non-empty strings.
                if matches!(m.mt, MatchType::Count(_)) {
                    values.retain(|s| !s.is_empty());
                }
                self.do_match(m, &values, keys)?
            }
            Test::HasFlag { m, vars, keys } => {
                let values = match vars {
                    Some(vs) => {
                        let raw: Vec<String> = vs
                            .iter()
                            .map(|v| self.vars.get(&self.expand(v).to_ascii_lowercase()).cloned().unwrap_or_default())
                            .collect();
                        flag_set(&raw)
                    }
                    None => self.flags.clone(),
                };
                // RFC 5232 4: each key is itself a space-separated flag list.
                let keys: Vec<String> = flag_set(&self.ex_list(keys));
                if matches!(m.mt, MatchType::Count(_)) {
                    self.do_match(m, &values, &keys)?
                } else {
                    keys.iter().any(|k| values.iter().any(|v| match_one(m.cmp, m.mt, v, k, None)))
                }
            }
            Test::MailboxExists(names) => {
                let names = self.ex_list(names);
                let mut all = true;
                for n in names {
                    if !self.env.mailbox_exists(&n) {
                        all = false;
                    }
                }
                all
            }
            Test::Body { m, transform, keys } => {
                let tr = match transform {
                    BodyTransform::Content(l) => BodyTransform::Content(self.ex_list(l)),
                    x => x.clone(),
                };
                let values = self.msg.body(&tr);
                self.do_match(m, &values, keys)?
            }
        })
    }

    /// RFC 5230 4: decides whether to reply at all, then hands the caller a
    /// reply to send.
    fn vacation(&mut self, v: &VacationCmd) -> R<()> {
        // RFC 5230 4.6 (and Pigeonhole): one vacation action per run.
        if self.vacation_done {
            return Err(String::from("vacation: only one vacation action allowed"));
        }
        self.vacation_done = true;
        if self.vacation_earlier {
            return Ok(());
        }
        let reason = self.expand(&v.reason);
        let subject = v.subject.as_ref().map(|s| self.expand(s));
        let from = v.from.as_ref().map(|s| self.expand(s));
        let addresses = self.ex_list(&v.addresses);
        let sender_raw = self.env.envelope_from().trim_start_matches('<').trim_end_matches('>').to_string();
        // RFC 5230 4.1 / 5.3: never to the null sender.
        let Some(sender) = parse_mailbox(&sender_raw) else { return Ok(()) };
        let local = sender.local.to_ascii_lowercase();
        // RFC 5230 4.6 / RFC 3834 2: no replies to automatic senders and lists.
        if local == "mailer-daemon"
            || local == "listserv"
            || local == "majordomo"
            || local.starts_with("owner-")
            || local.ends_with("-request")
        {
            return Ok(());
        }
        for h in self.msg.header("auto-submitted") {
            if !h.trim().eq_ignore_ascii_case("no") {
                return Ok(());
            }
        }
        for h in self.msg.header("precedence") {
            let l = h.trim().to_ascii_lowercase();
            if l == "bulk" || l == "list" || l == "junk" {
                return Ok(());
            }
        }
        for h in
            ["list-id", "list-owner", "list-unsubscribe", "list-subscribe", "list-post", "list-help", "list-archive"]
        {
            if !self.msg.header(h).is_empty() {
                return Ok(());
            }
        }
        // Own addresses: the recipient, the caller's list, :addresses.
        let mut own: Vec<String> = Vec::new();
        let to = self.env.envelope_to().trim_start_matches('<').trim_end_matches('>').to_string();
        own.push(to);
        own.extend(self.env.own_addresses());
        own.extend(addresses);
        let own: Vec<Addr> = own.iter().filter_map(|a| parse_mailbox(a)).collect();
        let same =
            |a: &Addr, b: &Addr| a.local.eq_ignore_ascii_case(&b.local) && a.domain.eq_ignore_ascii_case(&b.domain);
        // RFC 5230 4.5: not to ourselves.
        if own.iter().any(|o| same(o, &sender)) {
            return Ok(());
        }
        // RFC 5230 4.5: only if one of our addresses is in a recipient header.
        let mut addressed = false;
        for h in ["to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"] {
            for hv in self.msg.header(h) {
                for item in parse_list(&hv, 256) {
                    if let Item::Ok(a) = item {
                        if own.iter().any(|o| same(o, &a)) {
                            addressed = true;
                        }
                    }
                }
            }
        }
        if !addressed {
            return Ok(());
        }
        let days = v.days.clamp(1, 365) as u32;
        // RFC 5230 4.2: the default handle covers reason, subject, from, mime.
        let handle = match &v.handle {
            Some(h) => self.expand(h),
            None => {
                let mut s = String::new();
                s.push_str(&reason);
                s.push_str(subject.as_deref().unwrap_or(""));
                s.push_str(from.as_deref().unwrap_or(""));
                s.push_str(if v.mime { "1" } else { "0" });
                format!("{:016x}", fnv64(s.as_bytes()))
            }
        };
        let sender_s = sender.full();
        if self.env.vacation_sent_recently(&sender_s, &handle, days) {
            return Ok(());
        }
        let subject = match subject {
            Some(s) => s,
            None => format!("Auto: {}", self.msg.header("subject").into_iter().next().unwrap_or_default()),
        };
        let in_reply_to = self.msg.header("message-id").into_iter().next();
        self.add_action(Action::Vacation(VacationReply {
            to: sender_s,
            from,
            subject,
            in_reply_to,
            reason,
            mime: v.mime,
            handle,
            days,
        }))
    }
}

fn is_inbox(a: &Action) -> bool {
    match a {
        Action::Keep { .. } => true,
        Action::FileInto { mailbox, .. } => mailbox.eq_ignore_ascii_case("INBOX"),
        _ => false,
    }
}

/// RFC 5260 6: `:index n` picks the nth occurrence (from the end with `:last`).
fn select(mut v: Vec<String>, index: Option<Index>) -> Vec<String> {
    let Some(ix) = index else { return v };
    let n = ix.n as usize;
    if n == 0 || n > v.len() {
        return Vec::new();
    }
    let i = if ix.last { v.len() - n } else { n - 1 };
    alloc::vec![v.swap_remove(i)]
}

/// RFC 5260 4.2: one date part of `d`, shown in `zone` (`None`: its own).
fn date_part(d: &DateTime, zone: Option<i16>, part: &str) -> Option<String> {
    let d = match zone {
        Some(z) => d.with_offset(z)?,
        None => *d,
    };
    let c = d.civil();
    let o = d.offset_minutes;
    let (sign, oa) = (if o < 0 { '-' } else { '+' }, o.unsigned_abs());
    Some(match part {
        "year" => format!("{:04}", c.year),
        "month" => format!("{:02}", c.month),
        "day" => format!("{:02}", c.day),
        "date" => format!("{:04}-{:02}-{:02}", c.year, c.month, c.day),
        // Modified Julian Day: days since 1858-11-17.
        "julian" => {
            format!("{}", mail_mime::days_from_civil(c.year, c.month, c.day) - mail_mime::days_from_civil(1858, 11, 17))
        }
        "hour" => format!("{:02}", c.hour),
        "minute" => format!("{:02}", c.minute),
        "second" => format!("{:02}", c.second),
        "time" => format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second),
        // RFC 3339 date-time; "Z" for UTC like Pigeonhole.
        "iso8601" if o == 0 => {
            format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
        }
        "iso8601" => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            sign,
            oa / 60,
            oa % 60
        ),
        "std11" => d.to_rfc5322(),
        "zone" => format!("{}{:02}{:02}", sign, oa / 60, oa % 60),
        "weekday" => format!("{}", c.weekday),
        _ => return None,
    })
}

fn merge_flags(into: &mut Vec<String>, add: &[String]) {
    for f in add {
        if !into.iter().any(|x| x.eq_ignore_ascii_case(f)) {
            into.push(f.clone());
        }
    }
}

fn fnv64(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in b {
        h ^= u64::from(*x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// RFC 5229 4.1 modifiers.
fn apply_modifier(m: Modifier, v: &str) -> String {
    match m {
        Modifier::Lower => v.to_lowercase(),
        Modifier::Upper => v.to_uppercase(),
        Modifier::LowerFirst | Modifier::UpperFirst => {
            let mut c = v.chars();
            match c.next() {
                None => String::new(),
                Some(f) => {
                    let mut s: String =
                        if m == Modifier::LowerFirst { f.to_lowercase().collect() } else { f.to_uppercase().collect() };
                    s.push_str(c.as_str());
                    s
                }
            }
        }
        Modifier::QuoteWildcard => {
            let mut s = String::new();
            for c in v.chars() {
                if matches!(c, '*' | '?' | '\\') {
                    s.push('\\');
                }
                s.push(c);
            }
            s
        }
        // RFC 5229 4.1.3: length in characters.
        Modifier::Length => format!("{}", v.chars().count()),
    }
}

//! Sieve at delivery: the system "before" script from the config, then the
//! user's active script from the mail disk (`/mail/<domain>/<local>/sieve/
//! <name>.sieve`, the active one named in `sieve/.active`, which ManageSieve
//! maintains), evaluated with Pigeonhole's multiscript semantics into the
//! folders and flags the message is stored with.
//!
//! Never loses mail: a script that fails to load, compile or run leaves the
//! message in INBOX and logs why (RFC 5228 2.10.6). Redirects and vacation
//! replies are handed back to the caller, which puts them in the outbound
//! queue on the disk (sending from the queue is issue 8). Vacation replies
//! are remembered per sender and handle in `sieve/.vacation` so a sender
//! gets one reply per period (RFC 5230 4.2).

use alloc::string::String;
use alloc::vec::Vec;
use mail_sieve::{Action, ExtSet, MimeMessage, RunLimits, Script};

use crate::storage::MailFs;

/// The Sieve extensions delivery supports. editheader is left out: its
/// edits are not applied to stored messages yet, so scripts asking for it
/// are refused (at upload by ManageSieve, which uses the same set) rather
/// than silently half-run.
pub fn extensions() -> ExtSet {
    let mut e = ExtSet::all();
    e.remove(mail_sieve::Ext::Editheader);
    e
}

/// Largest user script read from the disk.
const MAX_SCRIPT: usize = 1 << 20;

/// Where one copy goes.
pub struct Destination {
    pub folder: String,
    /// Maildir flag letters (`S`, `F`, …).
    pub flags: String,
    /// Create the folder if missing (`fileinto :create`, or INBOX).
    pub create: bool,
}

pub fn compile_system(src: &[u8]) -> Result<Script, String> {
    let text = core::str::from_utf8(src).map_err(|_| String::from("system sieve script: not UTF-8"))?;
    mail_sieve::compile(text, extensions())
        .map_err(|e| alloc::format!("system sieve script:{}:{}: {}", e.line, e.col, e.msg))
}

/// The user's active script, if any (compile errors are logged and ignored:
/// ManageSieve refuses bad scripts, so this only happens after a host edit).
pub fn user_script(fs: &mut MailFs, user: &str) -> Option<Script> {
    let mut store = disk::sievestore::SieveStore::new(fs, "/mail", user, usize::MAX, MAX_SCRIPT, 0);
    let (name, text) = store.active_script().ok()??;
    match mail_sieve::compile(&text, extensions()) {
        Ok(s) => Some(s),
        Err(e) => {
            log::warn!("sieve: {user}: script `{name}` does not compile ({}:{}: {}): ignored", e.line, e.col, e.msg);
            None
        }
    }
}

/// Something to send: the caller queues it.
pub enum Outbound {
    Redirect(String),
    Vacation(mail_sieve::VacationReply),
}

/// Vacation replies already sent: (unix time, sender, handle).
pub struct VacationLog(pub Vec<(u64, String, String)>);

/// At most this many remembered replies per user (oldest dropped).
const MAX_VACATION_LOG: usize = 2000;

impl VacationLog {
    fn path(user: &str) -> String {
        alloc::format!("/mail/{user}/sieve/.vacation")
    }

    pub fn load(fs: &mut MailFs, user: &str) -> VacationLog {
        let mut v = Vec::new();
        if let Ok(b) = disk::FileSystem::read_file(fs, &Self::path(user), 1 << 20) {
            for line in String::from_utf8_lossy(&b).lines() {
                let mut w = line.splitn(3, ' ');
                if let (Some(t), Some(s), Some(h)) = (w.next(), w.next(), w.next()) {
                    if let Ok(t) = t.parse() {
                        v.push((t, s.into(), h.into()));
                    }
                }
            }
        }
        VacationLog(v)
    }

    pub fn record(&mut self, fs: &mut MailFs, user: &str, sender: &str, handle: &str, now: u64) {
        self.0.push((now, sender.into(), handle.replace(['\r', '\n'], " ")));
        if self.0.len() > MAX_VACATION_LOG {
            let cut = self.0.len() - MAX_VACATION_LOG;
            self.0.drain(..cut);
        }
        let mut text = String::new();
        for (t, s, h) in &self.0 {
            text.push_str(&alloc::format!("{t} {s} {h}\n"));
        }
        let dir = alloc::format!("/mail/{user}/sieve");
        let _ = disk::FileSystem::mkdir(fs, &dir, now as u32);
        let p = Self::path(user);
        if let Err(e) = disk::FileSystem::replace_file(fs, &p, &alloc::format!("{p}.tmp"), text.as_bytes(), now as u32)
        {
            log::warn!("sieve: {user}: recording a vacation reply: {e:?}");
        }
    }
}

struct Env<'a> {
    from: &'a str,
    to: &'a str,
    folders: Vec<String>,
    vacation: &'a VacationLog,
    now: u64,
}

impl mail_sieve::Environment for Env<'_> {
    fn envelope_from(&self) -> &str {
        self.from
    }
    fn envelope_to(&self) -> &str {
        self.to
    }
    fn mailbox_exists(&mut self, mailbox: &str) -> bool {
        mailbox.eq_ignore_ascii_case("INBOX") || self.folders.iter().any(|f| f == mailbox)
    }
    fn vacation_sent_recently(&mut self, sender: &str, handle: &str, days: u32) -> bool {
        let since = self.now.saturating_sub(days as u64 * 86_400);
        self.vacation.0.iter().any(|(t, s, h)| *t >= since && s.eq_ignore_ascii_case(sender) && h == handle)
    }
}

fn flag_letters(flags: &[String]) -> String {
    let mut s = String::new();
    for f in flags {
        let l = match f.to_ascii_lowercase().as_str() {
            "\\seen" => 'S',
            "\\answered" => 'R',
            "\\flagged" => 'F',
            "\\deleted" => 'T',
            "\\draft" => 'D',
            _ => {
                log::info!("sieve: keyword flag `{f}` not stored at delivery (not supported yet)");
                continue;
            }
        };
        if !s.contains(l) {
            s.push(l);
        }
    }
    s
}

/// Runs the scripts; returns where the message goes (empty: discarded) and
/// what to send.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    scripts: &[&Script],
    message: &[u8],
    from: &str,
    to: &str,
    folders: Vec<String>,
    user: &str,
    max_redirects: u32,
    vacation: &VacationLog,
    now: u64,
) -> (Vec<Destination>, Vec<Outbound>) {
    let msg = MimeMessage::parse(message);
    let mut env = Env { from, to, folders, vacation, now };
    let mut send = Vec::new();
    let mut lim = RunLimits::default();
    lim.max_redirects = max_redirects;
    let out = mail_sieve::evaluate_sequence(scripts, &msg, &mut env, &lim);
    if let Some(e) = &out.error {
        log::warn!("sieve: {user}: runtime error, kept in INBOX: {e}");
    }
    let mut dests: Vec<Destination> = Vec::new();
    let mut add = |folder: &str, flags: &[String], create: bool| {
        if !dests.iter().any(|d| d.folder.eq_ignore_ascii_case(folder)) {
            dests.push(Destination { folder: folder.into(), flags: flag_letters(flags), create });
        }
    };
    for a in &out.actions {
        match a {
            Action::Keep { flags } => add("INBOX", flags, true),
            Action::FileInto { mailbox, flags, create } => add(mailbox, flags, *create),
            Action::Redirect { address } => send.push(Outbound::Redirect(address.clone())),
            Action::Vacation(v) => send.push(Outbound::Vacation(v.clone())),
            Action::Discard => log::info!("sieve: {user}: discarded by script"),
        }
    }
    (dests, send)
}

//! Sieve at delivery: the system "before" script from the config, then the
//! user's active script from the mail disk (`/mail/<domain>/<local>/sieve/
//! <name>.sieve`, the active one named in `sieve/.active`, which ManageSieve
//! maintains), evaluated with Pigeonhole's multiscript semantics into the
//! folders and flags the message is stored with.
//!
//! Never loses mail: a script that fails to load, compile or run leaves the
//! message in INBOX and logs why (RFC 5228 2.10.6). Redirect and vacation
//! need the outbound queue, which is not built yet: a redirect is logged
//! and the message is kept in INBOX as well; a vacation reply is logged and
//! not sent.

use alloc::string::String;
use alloc::vec::Vec;
use mail_sieve::{Action, ExtSet, MimeMessage, RunLimits, Script};

use crate::storage::MailFs;

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
    mail_sieve::compile(text, ExtSet::all())
        .map_err(|e| alloc::format!("system sieve script:{}:{}: {}", e.line, e.col, e.msg))
}

/// The user's active script, if any (compile errors are logged and ignored:
/// ManageSieve refuses bad scripts, so this only happens after a host edit).
pub fn user_script(fs: &mut MailFs, user: &str) -> Option<Script> {
    let mut store = disk::sievestore::SieveStore::new(fs, "/mail", user, usize::MAX, MAX_SCRIPT, 0);
    let (name, text) = store.active_script().ok()??;
    match mail_sieve::compile(&text, ExtSet::all()) {
        Ok(s) => Some(s),
        Err(e) => {
            log::warn!("sieve: {user}: script `{name}` does not compile ({}:{}: {}): ignored", e.line, e.col, e.msg);
            None
        }
    }
}

struct Env<'a> {
    from: &'a str,
    to: &'a str,
    folders: Vec<String>,
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
    fn vacation_sent_recently(&mut self, _sender: &str, _handle: &str, _days: u32) -> bool {
        // No outbound queue yet: answer "already sent" so no reply is made.
        true
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

/// Runs the scripts; returns where the message goes (empty: discarded).
pub fn decide(
    scripts: &[&Script],
    message: &[u8],
    from: &str,
    to: &str,
    folders: Vec<String>,
    user: &str,
    max_redirects: u32,
) -> Vec<Destination> {
    let msg = MimeMessage::parse(message);
    let mut env = Env { from, to, folders };
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
            Action::Redirect { address } => {
                log::warn!("sieve: {user}: redirect to {address} not possible yet (no outbound queue): kept in INBOX");
                add("INBOX", &[], true);
            }
            Action::Vacation(v) => log::info!("sieve: {user}: vacation reply to {} not sent (no outbound queue)", v.to),
            Action::Discard => log::info!("sieve: {user}: discarded by script"),
        }
    }
    dests
}

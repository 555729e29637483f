//! The IMAP service: `mail-imap` sessions on 143 (STARTTLS) and 993
//! (implicit TLS, RFC 8314), each command run against the logged-in user's
//! Maildir through `mail-store`. Every mutating command is flushed before its
//! tagged OK is sent (`MaildirStore` flushes at the end of each call).
//! Each session keeps its folder listing between commands (`ListingCache`)
//! until another session or a delivery may have changed the mailboxes.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::IpAddr;
use disk::maildir::Maildir;
use mail_config::Config as MailConfig;
use mail_imap::{Action, AuthResult, NoStore, Session};
use mail_store::{ListingCache, MaildirStore};
use net::{ListenerId, Stack};

use crate::link::{Link, Read};
use crate::nic::VirtioPhy;
use crate::storage::MailFs;

const MAX_INBUF: usize = 64 * 1024;
/// A failed login is answered after this long (brute-force brake).
const AUTH_FAIL_DELAY_MS: u64 = 2000;

struct ImapSession {
    link: Link,
    session: Session,
    peer: IpAddr,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    /// `<domain>/<local>` once logged in.
    user: Option<String>,
    /// The selected folder's listing from the last command.
    cache: Option<ListingCache>,
    handshaking: bool,
    /// The handshake in progress follows a STARTTLS command.
    starttls: bool,
    /// A failed login's answer waits until this time.
    auth_delay_until: Option<u64>,
    last_activity: u64,
    closing: bool,
    dead: bool,
}

pub struct ImapService {
    listeners: Vec<(ListenerId, bool)>,
    sessions: Vec<ImapSession>,
    tls: Option<Arc<rustls::ServerConfig>>,
    template: mail_imap::Config,
    maildir: Maildir,
    max_sessions: usize,
    idle_ms: u64,
    /// Failed logins per client address (logged; the delay applies to each).
    failures: alloc::collections::BTreeMap<IpAddr, u32>,
    /// Messages the users moved into Junk (spam) or out of it (ham), for
    /// the Bayes classifier (RFC 6785 IMAPSieve's behaviour in rspamd's
    /// setup); the main loop hands them to the content filter.
    pub learn: Vec<(mail_filter::Learn, Vec<u8>)>,
}

/// At most this many messages wait for learning, each at most this big
/// (larger ones are skipped, as rspamd's `max_size` does).
const MAX_LEARN_QUEUE: usize = 256;
const MAX_LEARN_BYTES: usize = 2 << 20;

/// Which class a COPY/MOVE between two folders teaches: into Junk is spam,
/// out of Junk (except into Trash) is ham.
fn learn_class(from: &str, to: &str) -> Option<mail_filter::Learn> {
    let junk = |f: &str| f.eq_ignore_ascii_case("Junk");
    match (junk(from), junk(to)) {
        (false, true) => Some(mail_filter::Learn::Spam),
        (true, false) if !to.eq_ignore_ascii_case("Trash") => Some(mail_filter::Learn::Ham),
        _ => None,
    }
}

impl ImapService {
    pub fn new(
        stack: &mut Stack<VirtioPhy>,
        cfg: &MailConfig,
        plain: Option<u16>,
        implicit: Option<u16>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<Self, String> {
        let mut listeners = Vec::new();
        if let Some(p) = plain {
            listeners.push((stack.listen(p, 4).map_err(|e| alloc::format!("imap: listen on {p}: {e}"))?, false));
        }
        if let (Some(p), Some(_)) = (implicit, tls.as_ref()) {
            listeners.push((stack.listen(p, 4).map_err(|e| alloc::format!("imaps: listen on {p}: {e}"))?, true));
        }
        let mut t = mail_imap::Config::default();
        t.hostname = cfg.hostname.clone();
        t.starttls_available = tls.is_some();
        t.max_auth_failures = cfg.limits.auth_failures.max(1);
        // RFC 7162: mail-store keeps MODSEQs in each folder's log.
        t.condstore = true;
        Ok(ImapService {
            listeners,
            sessions: Vec::new(),
            tls,
            template: t,
            maildir: Maildir::new("/mail", &cfg.hostname, crate::rand::u64() as u32, Default::default()),
            max_sessions: cfg.limits.connections as usize,
            idle_ms: cfg.limits.imap_idle_timeout.as_millis() as u64,
            failures: Default::default(),
            learn: Vec::new(),
        })
    }

    /// New mail or another session's change: every session rechecks.
    pub fn mailboxes_changed(&mut self) {
        for s in &mut self.sessions {
            s.cache = None;
            s.session.mailbox_changed();
        }
    }

    pub fn poll(&mut self, stack: &mut Stack<VirtioPhy>, cfg: &MailConfig, fs: &mut MailFs, now: u64) -> bool {
        let mut active = false;
        for &(l, implicit) in &self.listeners {
            while let Some(c) = stack.accept(l) {
                active = true;
                let peer = match stack.peer(c) {
                    Ok(ep) => crate::smtp::ip_of(ep.addr),
                    Err(_) => {
                        stack.abort(c);
                        continue;
                    }
                };
                let mut conf = self.template.clone();
                conf.tls_active = implicit;
                let link = match Link::new(c, if implicit { self.tls.as_ref() } else { None }) {
                    Ok(l) => l,
                    Err(e) => {
                        log::warn!("imap: {peer}: {e}");
                        stack.abort(c);
                        continue;
                    }
                };
                let mut session = Session::new(conf);
                if self.sessions.len() >= self.max_sessions {
                    log::warn!("imap: {peer}: too many connections, refused");
                    session.shutdown("Too many connections");
                }
                self.sessions.push(ImapSession {
                    link,
                    session,
                    peer,
                    inbuf: Vec::new(),
                    outbuf: Vec::new(),
                    user: None,
                    cache: None,
                    handshaking: implicit,
                    starttls: false,
                    auth_delay_until: None,
                    last_activity: now,
                    closing: false,
                    dead: false,
                });
            }
        }
        for i in 0..self.sessions.len() {
            let (a, c) = self.run(i, stack, cfg, fs, now);
            active |= a;
            if c {
                // A session changed a mailbox: the others look again (its
                // own view and listing are already up to date).
                for (j, o) in self.sessions.iter_mut().enumerate() {
                    if j != i {
                        o.cache = None;
                        o.session.mailbox_changed();
                    }
                }
            }
        }
        let before = self.sessions.len();
        self.sessions.retain(|s| !s.dead);
        active | (before != self.sessions.len())
    }

    /// Returns (activity, mailbox changed by this session).
    fn run(
        &mut self,
        i: usize,
        stack: &mut Stack<VirtioPhy>,
        cfg: &MailConfig,
        fs: &mut MailFs,
        now: u64,
    ) -> (bool, bool) {
        let s = &mut self.sessions[i];
        let mut active = false;
        let mut changed = false;
        if s.dead {
            return (false, false);
        }
        if !s.closing && s.inbuf.len() < MAX_INBUF {
            let mut buf = [0u8; 4096];
            let room = (MAX_INBUF - s.inbuf.len()).min(buf.len());
            match s.link.read(stack, &mut buf[..room]) {
                Read::Data(n) => {
                    s.inbuf.extend_from_slice(&buf[..n]);
                    s.last_activity = now;
                    active = true;
                }
                Read::Nothing => {}
                Read::Eof => s.closing = true,
                Read::Failed(e) => {
                    log::info!("imap: {}: connection ended: {e}", s.peer);
                    s.closing = true;
                }
            }
        }
        if s.handshaking && !s.link.is_handshaking() && s.link.tls_info().is_some() {
            s.handshaking = false;
            if core::mem::take(&mut s.starttls) {
                s.session.tls_started();
            }
            active = true;
        }
        if let Some(t) = s.auth_delay_until {
            if now < t {
                return (active, false);
            }
            s.auth_delay_until = None;
            s.session.auth_result(AuthResult::Failed);
        }
        if !s.handshaking && !s.closing {
            if !s.inbuf.is_empty() {
                let used = s.session.feed(&s.inbuf);
                s.inbuf.drain(..used);
            }
            loop {
                let action = match &s.user {
                    Some(u) => {
                        let mut store = MaildirStore::new(fs, &mut self.maildir, u, crate::time::unix_time() as u32)
                            .with_cache(s.cache.take());
                        let a = s.session.process(&mut store);
                        for t in store.take_transfers() {
                            let Some(class) = learn_class(&t.from, &t.to) else { continue };
                            for uid in &t.uids {
                                if self.learn.len() >= MAX_LEARN_QUEUE {
                                    log::warn!("bayes: learning queue full: {} to {} not learned", t.from, t.to);
                                    break;
                                }
                                match mail_imap::Store::read_message(&mut store, &t.to, *uid) {
                                    Ok(b) if b.len() <= MAX_LEARN_BYTES => self.learn.push((class, b)),
                                    _ => {}
                                }
                            }
                        }
                        s.cache = store.into_cache();
                        // Anything written (flags, \Seen by a FETCH, new
                        // MODSEQ records): other sessions look again.
                        changed |= store.wrote();
                        a
                    }
                    None => s.session.process(&mut NoStore),
                };
                let out = s.session.take_output();
                if !out.is_empty() {
                    active = true;
                }
                s.outbuf.extend_from_slice(&out);
                match action {
                    Action::Wait => break,
                    Action::Write => {
                        if let Err(e) = s.link.write(stack, &mut s.outbuf) {
                            log::info!("imap: {}: {e}", s.peer);
                            s.closing = true;
                            break;
                        }
                        if !s.outbuf.is_empty() {
                            break; // TCP is full: continue on a later pass
                        }
                    }
                    Action::Authenticate { user, password, .. } => match cfg.authenticate(&user, &password) {
                        Some(u) => {
                            let path = alloc::format!("{}/{}", u.address.domain(), u.address.local());
                            log::info!("imap: {}: {} logged in", s.peer, u.address);
                            s.user = Some(path);
                            s.session.auth_result(AuthResult::Ok);
                        }
                        None => {
                            if self.failures.len() >= 10_000 && !self.failures.contains_key(&s.peer) {
                                self.failures.clear(); // bounded; forgetting counts is safe
                            }
                            let n = self.failures.entry(s.peer).or_insert(0);
                            *n += 1;
                            log::warn!("imap: {}: failed login for `{user}` ({} from this address)", s.peer, n);
                            s.auth_delay_until = Some(now + AUTH_FAIL_DELAY_MS);
                            break;
                        }
                    },
                    Action::StartTls => {
                        let _ = s.link.write(stack, &mut s.outbuf);
                        match self.tls.as_ref().map(|c| s.link.start_tls(c)) {
                            Some(Ok(())) => {
                                s.handshaking = true;
                                s.starttls = true;
                                s.inbuf.clear(); // RFC 3501 6.2.1: no plaintext after STARTTLS
                            }
                            _ => s.closing = true,
                        }
                        break;
                    }
                    Action::Close => {
                        s.closing = true;
                        break;
                    }
                }
            }
        }
        if !s.closing && !s.session.is_idle() && now.saturating_sub(s.last_activity) > self.idle_ms {
            s.session.shutdown("Idle timeout");
            s.outbuf.extend_from_slice(&s.session.take_output());
            s.closing = true;
        }
        let (moved, dead) = s.link.finish_pass(stack, &mut s.outbuf, &mut s.closing);
        active |= moved;
        s.dead = dead;
        (active, changed)
    }
}

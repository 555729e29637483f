//! The MX service: `mail-smtp` sessions on port 25, recipients routed by the
//! config, messages streamed into each local recipient's Maildir `tmp/` as
//! they arrive, and group commit: all messages completed in one pass of the
//! poll loop share one flush, are renamed into `new/`, flushed again, and
//! only then answered `250` (DESIGN.md rule 4, "acknowledged means durable").

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::IpAddr;
use disk::maildir::{Flags, Maildir, MessageInfo, Staged};
use mail_config::{Config as MailConfig, RouteError, Target};
use mail_smtp::delivery::{loop_reply, trace_block, HopCounter, TraceInfo};
use mail_smtp::{Enhanced, Envelope, Event, Mailbox, Reply, Server, TlsInfo};
use net::{ListenerId, Stack};

use crate::link::{Link, Read};
use crate::nic::VirtioPhy;
use crate::storage::MailFs;

/// Unconsumed input kept per session; `feed` takes what it can.
const MAX_INBUF: usize = 16 * 1024;
/// Hop limit (Postfix's hopcount_limit).
const MAX_HOPS: usize = 50;

/// One recipient mailbox of the current transaction.
struct Rcpt {
    /// `<domain>/<local>`: the Maildir owner.
    user: String,
    /// The envelope address, for Delivered-To.
    envelope: Mailbox,
}

/// A message file in `tmp/` and where it goes on commit.
struct StagedFor {
    st: Staged,
    user: String,
    folder: String,
    /// Maildir flag letters set right after delivery (Sieve imap4flags).
    flags: String,
}

struct Session {
    link: Link,
    server: Server,
    mode: Mode,
    /// Submission: recipients outside our domains (queued for delivery).
    remote: Vec<String>,
    /// Submission: the authenticated login.
    auth_user: Option<String>,
    /// A failed AUTH answered only at this time (brute-force brake).
    auth_delay: Option<u64>,
    /// Implicit TLS: the handshake precedes everything.
    implicit_pending: bool,
    peer: IpAddr,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    rcpts: Vec<Rcpt>,
    staged: Vec<StagedFor>,
    /// The message being received. Authentication-Results and Sieve need
    /// all of it before anything is written, so it is collected here
    /// (bounded by the size limit, `try_reserve`d) rather than streamed.
    body: Vec<u8>,
    hops: HopCounter,
    /// A disk problem while staging: the answer to give at end of data.
    failed: Option<Reply>,
    /// Complete and staged, waiting for the group commit.
    complete: Option<Envelope>,
    /// Complete, waiting for SPF/DKIM/DMARC (DNS) before filtering.
    checking: Option<(crate::authcheck::Checks, Envelope)>,
    queue_id: String,
    last_activity: u64,
    tls_info: Option<TlsInfo>,
    handshaking: bool,
    closing: bool,
    dead: bool,
    /// Port 25 before the greeting: the pre-greet and DNSBL tests.
    screening: Option<crate::screen::Screening>,
    /// After-220 tests (pipelining, non-SMTP commands, bare newlines).
    observer: Option<mail_screen::ProtocolObserver>,
    /// A failed test with action `enforce`: every RCPT TO gets this.
    enforce: Option<Reply>,
    /// The DNS lists' summed weight (the content filter counts it).
    dnsbl_score: i32,
    /// Access list or DNSWL: not greylisted.
    allowlisted: bool,
}

/// A `mail-screen` reply as a `mail-smtp` one.
fn screen_reply(r: &mail_screen::reply::ScreenReply) -> Reply {
    let (a, b, c) = r.enhanced;
    Reply::new(r.code, Enhanced(a, b, c), r.text.clone())
}

/// Which service a connection came in on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Port 25: the MX for our domains, no AUTH, no relaying.
    Mx,
    /// Ports 587 (STARTTLS) and 465 (implicit TLS): authenticated users
    /// send anywhere (RFC 6409, RFC 8314).
    Submission { implicit_tls: bool },
}

pub struct SmtpService {
    listeners: Vec<(ListenerId, Mode)>,
    submission_template: mail_smtp::Config,
    /// Sender rewriting for forwarded mail (postsrsd's scheme).
    srs: Option<mail_authn::srs::Srs>,
    /// DKIM signers per From domain (every configured selector).
    signers: alloc::collections::BTreeMap<String, mail_authn::dkim::Signer>,
    /// Failed AUTH attempts per client address: (count, last failure ms).
    auth_failures: alloc::collections::BTreeMap<IpAddr, (u32, u64)>,
    max_auth_failures: u32,
    sessions: Vec<Session>,
    template: mail_smtp::Config,
    tls: Option<Arc<rustls::ServerConfig>>,
    maildir: Maildir,
    max_sessions: usize,
    max_per_ip: usize,
    idle_ms: u64,
    next_id: u64,
    system_sieve: Option<mail_sieve::Script>,
    max_redirects: u32,
    /// Outbound queue on the mail disk (Sieve redirects and vacation
    /// replies; sending from it is issue 8).
    queue: mail_outbound::queue::Queue,
    outbound: crate::outbound::Outbound,
    /// Screen and greylist of port 25 (always present; `enabled` says
    /// whether the pre-greet/DNSBL screen runs).
    pub screen: crate::screen::ScreenService,
    /// Antivirus, Bayes and the verdict (`mail-filter`).
    pub filter: mail_filter::Engine,
    thresholds: mail_config::FilterThresholds,
    last_bayes_save: u64,
    /// `[stats] dmarc_reports`: mail to it is read as DMARC aggregate reports.
    dmarc_rua: Option<String>,
    pub dmarc: mail_dmarc_report::Counters,
    pub delivered: u64,
}

fn user_path(a: &mail_config::Address) -> String {
    alloc::format!("{}/{}", a.domain(), a.local())
}

/// The envelope sender as text (`""` for the null sender `<>`).
fn sender_string(p: &mail_smtp::ReversePath) -> String {
    match p {
        mail_smtp::ReversePath::Null => String::new(),
        mail_smtp::ReversePath::Mailbox(m) => m.to_string(),
    }
}

/// The facts of this session and transaction for our trace headers.
fn trace_info<'a>(
    s: &'a Session,
    env: &'a Envelope,
    facts: &'a mail_smtp::SessionFacts,
    host: &'a str,
    now: u64,
) -> TraceInfo<'a> {
    TraceInfo {
        sender: &env.sender,
        client_ip: s.peer,
        client_rdns: None,
        helo: &facts.helo,
        esmtp: facts.esmtp,
        tls: s.tls_info.as_ref(),
        auth_user: s.auth_user.as_deref(),
        smtputf8: env.smtputf8,
        our_host: host,
        queue_id: &s.queue_id,
        unix_time: now as i64,
    }
}

/// The Bayes token store on the mail disk.
pub const BAYES_TOKENS: &str = "/bayes/tokens";

/// `"5.7.1"` as an enhanced code.
fn parse_enhanced(e: &str) -> Enhanced {
    let mut it = e.split('.').map(|x| x.parse::<u16>().unwrap_or(0));
    let (a, b, c) = (it.next().unwrap_or(0), it.next().unwrap_or(0), it.next().unwrap_or(0));
    Enhanced(a as u8, b, c)
}

fn temp_fail() -> Reply {
    Reply::new(452, Enhanced(4, 3, 1), "Insufficient system storage")
}

impl SmtpService {
    pub fn new(
        stack: &mut Stack<VirtioPhy>,
        cfg: &MailConfig,
        port: u16,
        tls: Option<Arc<rustls::ServerConfig>>,
        fs: &mut MailFs,
        system_sieve: Option<mail_sieve::Script>,
        signers: alloc::collections::BTreeMap<String, mail_authn::dkim::Signer>,
        srs: Option<mail_authn::srs::Srs>,
        filter: mail_filter::Engine,
    ) -> Result<Self, String> {
        let listener = stack.listen(port, 8).map_err(|e| alloc::format!("smtp: listen on port {port}: {e}"))?;
        let mut listeners = alloc::vec![(listener, Mode::Mx)];
        if tls.is_some() {
            for (p, implicit) in [(cfg.listeners.submission, false), (cfg.listeners.submissions, true)] {
                if let Some(p) = p {
                    let l = stack.listen(p, 4).map_err(|e| alloc::format!("submission: listen on port {p}: {e}"))?;
                    listeners.push((l, Mode::Submission { implicit_tls: implicit }));
                }
            }
        } else {
            log::warn!("submission: no TLS certificate: ports 587/465 stay closed (AUTH needs TLS)");
        }
        let mut t = mail_smtp::Config::new(&cfg.hostname);
        t.banner = String::from("ESMTP unimail");
        t.max_message_size = cfg.limits.message_size;
        t.max_recipients = cfg.limits.recipients as usize;
        t.max_errors = cfg.limits.errors;
        t.starttls = tls.is_some();
        let mut sub = t.clone();
        sub.auth = mail_smtp::AuthPolicy::TlsOnly;
        sub.require_auth = true;
        sub.check_sender = true;
        let now = crate::time::unix_time() as u32;
        let maildir = Maildir::new("/mail", &cfg.hostname, crate::rand::u64() as u32, Default::default());
        for u in &cfg.users {
            maildir
                .create_user(fs, &user_path(&u.address), now, now)
                .map_err(|e| alloc::format!("mail disk: creating the Maildir of {}: {e:?}", u.address))?;
        }
        disk::FileSystem::flush(fs).map_err(|e| alloc::format!("mail disk: flush: {e:?}"))?;
        let (queue, scan) =
            mail_outbound::queue::Queue::open(fs, "/queue", Default::default(), crate::time::unix_time())
                .map_err(|e| alloc::format!("mail disk: outbound queue: {e:?}"))?;
        log::info!("queue: {} messages waiting ({scan:?})", queue.len());
        let screen = crate::screen::ScreenService::new(cfg, fs);
        Ok(SmtpService {
            listeners,
            submission_template: sub,
            srs,
            signers,
            auth_failures: Default::default(),
            max_auth_failures: cfg.limits.auth_failures.max(1),
            sessions: Vec::new(),
            template: t,
            tls,
            maildir,
            max_sessions: cfg.limits.connections as usize,
            max_per_ip: cfg.limits.connections_per_ip as usize,
            idle_ms: cfg.limits.smtp_idle_timeout.as_millis() as u64,
            next_id: crate::rand::u64() & 0xffff_ffff,
            delivered: 0,
            system_sieve,
            max_redirects: cfg.sieve.max_redirects,
            queue,
            screen,
            filter,
            thresholds: cfg.filter.clone(),
            last_bayes_save: 0,
            dmarc_rua: cfg.stats.dmarc_reports.clone(),
            dmarc: Default::default(),
            outbound: crate::outbound::Outbound::new(
                &cfg.hostname,
                stack.config().ipv4.is_some(),
                stack.config().ipv6.is_some(),
                &cfg.queue,
            ),
        })
    }

    /// One pass: accept, read, run sessions, group-commit, write.
    pub fn poll(
        &mut self,
        stack: &mut Stack<VirtioPhy>,
        cfg: &MailConfig,
        fs: &mut MailFs,
        mut dns: Option<&mut net::dns::DnsClient>,
        now: u64,
    ) -> bool {
        let mut active = false;
        for li in 0..self.listeners.len() {
            let (l, mode) = self.listeners[li];
            while let Some(c) = stack.accept(l) {
                active = true;
                let peer = match stack.peer(c) {
                    Ok(ep) => ip_of(ep.addr),
                    Err(_) => {
                        stack.abort(c);
                        continue;
                    }
                };
                let (link, mut server, handshaking) = match mode {
                    Mode::Mx => (Link::Plain(c), Server::new(self.template.clone()), false),
                    Mode::Submission { implicit_tls: false } => {
                        (Link::Plain(c), Server::new(self.submission_template.clone()), false)
                    }
                    Mode::Submission { implicit_tls: true } => match Link::new(c, self.tls.as_ref()) {
                        // RFC 8314 3.3: TLS from the first byte; the greeting waits for it.
                        Ok(link) => {
                            let info = TlsInfo { version: "TLS".into(), cipher: "pending".into() };
                            (link, Server::with_tls(self.submission_template.clone(), Some(info)), true)
                        }
                        Err(e) => {
                            log::warn!("submissions: {peer}: {e}");
                            stack.abort(c);
                            continue;
                        }
                    },
                };
                let from_peer = self.sessions.iter().filter(|s| s.peer == peer && !s.closing).count();
                let mut screening = None;
                if self.sessions.len() >= self.max_sessions {
                    log::warn!("smtp: {peer}: too many connections ({}), refused", self.sessions.len());
                    server.refuse(Reply::new(421, Enhanced(4, 3, 2), "All server ports are busy"));
                } else if from_peer >= self.max_per_ip {
                    // Postfix's smtpd_client_connection_count_limit: one
                    // address cannot take every slot.
                    log::warn!("smtp: {peer}: too many connections from this address ({from_peer}), refused");
                    server.refuse(Reply::new(421, Enhanced(4, 7, 0), "Too many connections from your address"));
                } else if mode == Mode::Mx && self.screen.enabled {
                    let load = mail_screen::Load::default();
                    screening = Some(self.screen.connect(peer, load, dns.as_deref_mut(), now));
                }
                self.sessions.push(Session {
                    link,
                    server,
                    mode,
                    peer,
                    inbuf: Vec::new(),
                    outbuf: Vec::new(),
                    rcpts: Vec::new(),
                    remote: Vec::new(),
                    auth_user: None,
                    auth_delay: None,
                    staged: Vec::new(),
                    body: Vec::new(),
                    hops: HopCounter::new(),
                    failed: None,
                    complete: None,
                    checking: None,
                    queue_id: String::new(),
                    last_activity: now,
                    tls_info: None,
                    handshaking,
                    implicit_pending: handshaking,
                    closing: false,
                    dead: false,
                    screening,
                    observer: None,
                    enforce: None,
                    dnsbl_score: 0,
                    allowlisted: false,
                });
            }
        }

        for i in 0..self.sessions.len() {
            active |= self.run_screen(i, stack, dns.as_deref_mut(), now);
            active |= self.run_session(i, stack, cfg, fs, now);
            active |= self.run_checks(i, dns.as_deref_mut(), fs, now);
        }

        // Group commit: one flush for everything staged, renames, one flush,
        // then the 250s.
        let ready: Vec<usize> = (0..self.sessions.len()).filter(|&i| self.sessions[i].complete.is_some()).collect();
        if !ready.is_empty() {
            active = true;
            let ok = disk::FileSystem::flush(fs).is_ok();
            let now_s = crate::time::unix_time() as u32;
            let mut results = Vec::with_capacity(ready.len());
            for &i in &ready {
                let s = &mut self.sessions[i];
                let mut res = ok;
                for sf in s.staged.drain(..) {
                    if !res {
                        let _ = self.maildir.abort(fs, sf.st, now_s);
                        continue;
                    }
                    let size = sf.st.size();
                    match self.maildir.commit(fs, sf.st, now_s) {
                        Ok(d) if !sf.flags.is_empty() => {
                            let mut info = MessageInfo {
                                uid: d.uid,
                                name: d.name,
                                in_new: true,
                                flags: Flags::empty(),
                                size,
                                internal_date: now_s,
                            };
                            if let Err(e) = self.maildir.set_flags(
                                fs,
                                &sf.user,
                                &sf.folder,
                                &mut info,
                                Flags::parse(&sf.flags),
                                now_s,
                            ) {
                                // Delivered without its flags: not a loss.
                                log::warn!("smtp: {}: setting flags {}: {e:?}", s.queue_id, sf.flags);
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            log::error!("smtp: {}: commit failed: {e:?}", s.queue_id);
                            res = false;
                        }
                    }
                }
                results.push(res);
            }
            let flushed = disk::FileSystem::flush(fs).is_ok();
            for (&i, res) in ready.iter().zip(results) {
                let s = &mut self.sessions[i];
                let env = s.complete.take().unwrap();
                let reply = if res && flushed {
                    self.delivered += 1;
                    let sender = sender_string(&env.sender);
                    log::info!(
                        "smtp: {} from=<{}> rcpts={} size={} delivered to {} mailboxes",
                        s.queue_id,
                        sender,
                        env.recipients.len(),
                        env.size,
                        s.rcpts.len()
                    );
                    Reply::queued(&s.queue_id)
                } else {
                    log::error!("smtp: {}: not delivered: disk error", s.queue_id);
                    temp_fail()
                };
                s.rcpts.clear();
                let _ = s.server.answer_message(reply);
                Self::pump_output(s, stack);
            }
        }

        for s in self.sessions.iter_mut().filter(|s| s.dead) {
            if let Some(mut sc) = s.screening.take() {
                sc.cancel(stack, dns.as_deref_mut());
                self.screen.stats.record_hangup();
            }
            if let Some(o) = s.observer.take() {
                self.screen.session_ended(&o);
            }
        }
        self.screen.save_if_due(fs, now);
        self.save_bayes_if_due(fs, now);
        let before = self.sessions.len();
        self.sessions.retain(|s| !s.dead);
        active | (before != self.sessions.len())
    }

    /// Drives the screen of a port-25 connection until its verdict, then
    /// hands the connection to the SMTP session (or closes it).
    fn run_screen(
        &mut self,
        i: usize,
        stack: &mut Stack<VirtioPhy>,
        dns: Option<&mut net::dns::DnsClient>,
        now: u64,
    ) -> bool {
        let s = &mut self.sessions[i];
        let Some(sc) = s.screening.as_mut() else { return false };
        let policy = &self.screen.policy;
        let mut active = sc.poll(policy, dns);
        let mut buf = [0u8; 1024];
        if sc.screen.verdict().is_none() {
            match s.link.read(stack, &mut buf) {
                Read::Data(n) => {
                    sc.screen.feed(&self.screen.policy, &buf[..n], crate::time::unix_ms());
                    s.last_activity = now;
                    active = true;
                }
                r @ (Read::Eof | Read::Failed(_)) => {
                    // postscreen's HANGUP: the client left during the tests.
                    let why = match r {
                        Read::Failed(e) => alloc::format!(" ({e})"),
                        _ => String::new(),
                    };
                    log::info!("screen: HANGUP [{}] before the verdict{why}", s.peer);
                    s.closing = true;
                    s.dead = true; // the poll loop cancels the queries and counts the hang-up
                    s.link.close(stack);
                    return true;
                }
                Read::Nothing => {}
            }
        }
        let out = sc.screen.take_output();
        if !out.is_empty() {
            s.outbuf.extend_from_slice(&out);
            active = true;
        }
        if let Err(e) = s.link.write(stack, &mut s.outbuf) {
            log::info!("screen: {}: {e}", s.peer);
            s.outbuf.clear();
            s.closing = true;
        }
        let Some(verdict) = sc.screen.verdict().cloned() else { return active };
        let sc = s.screening.take().unwrap();
        self.screen.finished(&sc.screen);
        let _ = s.server.take_output(); // the screen sent the greeting
        match verdict {
            mail_screen::Verdict::Drop(_) | mail_screen::Verdict::TempFail(_) => {
                s.server.shutdown();
                let _ = s.server.take_output();
                s.closing = true;
            }
            mail_screen::Verdict::Pass | mail_screen::Verdict::Enforce(_) => {
                if let mail_screen::Verdict::Enforce(r) = &verdict {
                    s.enforce = Some(screen_reply(r));
                }
                s.allowlisted = sc.screen.allowlisted();
                s.dnsbl_score = sc.screen.score().total;
                let mut sc = sc;
                let early = sc.screen.take_early_input();
                s.observer = sc.screen.observer(&self.screen.policy);
                if let Some(o) = s.observer.as_mut() {
                    if !early.is_empty() {
                        for v in o.feed(&early) {
                            Self::protocol_violation(&mut self.screen, s, &v);
                        }
                    }
                }
                s.inbuf.splice(0..0, early);
            }
        }
        true
    }

    /// A failed after-220 test: log it, count it, and act.
    fn protocol_violation(svc: &mut crate::screen::ScreenService, s: &mut Session, v: &mail_screen::Violation) {
        svc.stats.record_violation(v);
        log::info!("screen: {}: {} test failed ({})", s.peer, v.test.as_str(), v.action.as_str());
        match v.action {
            mail_screen::Action::Drop => s.server.refuse(screen_reply(&v.reply)),
            mail_screen::Action::Enforce => s.enforce = Some(screen_reply(&v.reply)),
            mail_screen::Action::Ignore => {}
        }
    }

    fn run_session(
        &mut self,
        i: usize,
        stack: &mut Stack<VirtioPhy>,
        cfg: &MailConfig,
        fs: &mut MailFs,
        now: u64,
    ) -> bool {
        let mut active = false;
        let s = &mut self.sessions[i];
        if s.dead {
            return false;
        }
        if s.screening.is_some() {
            return false; // run_screen has the connection until its verdict
        }
        // Read.
        if s.inbuf.len() < MAX_INBUF && !s.closing {
            let mut buf = [0u8; 4096];
            let room = (MAX_INBUF - s.inbuf.len()).min(buf.len());
            match s.link.read(stack, &mut buf[..room]) {
                Read::Eof => s.closing = true,
                Read::Data(n) => {
                    s.inbuf.extend_from_slice(&buf[..n]);
                    s.last_activity = now;
                    active = true;
                    if let Some(o) = s.observer.as_mut() {
                        for v in o.feed(&buf[..n]) {
                            Self::protocol_violation(&mut self.screen, s, &v);
                        }
                    }
                }
                Read::Nothing => {}
                Read::Failed(e) => {
                    log::info!("smtp: {}: connection ended: {e}", s.peer);
                    s.closing = true;
                }
            }
        }
        // TLS handshake finished?
        if s.handshaking && !s.link.is_handshaking() {
            if let Some((version, cipher)) = s.link.tls_info() {
                s.handshaking = false;
                let info = TlsInfo { version, cipher };
                s.tls_info = Some(info.clone());
                if !core::mem::take(&mut s.implicit_pending) {
                    let _ = s.server.tls_established(info);
                }
                active = true;
            }
        }
        if let Some(t) = s.auth_delay {
            if now >= t {
                s.auth_delay = None;
                let _ = s.server.answer_auth(mail_smtp::AuthAnswer::Invalid);
                active = true;
            }
        }
        // Feed and handle events until nothing moves.
        loop {
            let mut progressed = false;
            if !s.handshaking && !s.inbuf.is_empty() {
                let used = s.server.feed(&s.inbuf);
                if used > 0 {
                    s.inbuf.drain(..used);
                    progressed = true;
                }
            }
            while let Some(ev) = s.server.poll_event() {
                progressed = true;
                match ev {
                    Event::CheckRecipient(m) => {
                        let local = m.host.as_ref().map(|h| cfg.is_local_domain(&h.to_string())).unwrap_or(true);
                        let reply = if let Some(r) = s.enforce.clone() {
                            // postscreen `enforce`: the failed test, named at every RCPT.
                            r
                        } else if s.mode != Mode::Mx && !local {
                            // RFC 6409: authenticated users may send anywhere.
                            if s.remote.len() >= self.template.max_recipients {
                                Reply::new(452, Enhanced(4, 5, 3), "Too many recipients")
                            } else {
                                s.remote.push(m.to_string());
                                Reply::rcpt_ok()
                            }
                        } else {
                            let rcpt = m.to_string();
                            // RFC 6647: greylist only what would be accepted.
                            let grey = if s.mode == Mode::Mx && cfg.resolve(&rcpt).is_ok() {
                                let sender = s.server.envelope().map(|e| sender_string(&e.sender)).unwrap_or_default();
                                self.screen
                                    .greylist(&mail_screen::GreylistRequest {
                                        ip: s.peer,
                                        sender: &sender,
                                        recipient: &rcpt,
                                        authenticated: s.auth_user.is_some(),
                                        allowlisted: s.allowlisted,
                                    })
                                    .map(|r| (r, sender))
                            } else {
                                None
                            };
                            match grey {
                                Some((r, sender)) => {
                                    log::info!("greylist: {} from <{sender}> to <{rcpt}>: {}", s.peer, r.text);
                                    screen_reply(&r)
                                }
                                None => Self::route(s, cfg, self.srs.as_ref(), &m),
                            }
                        };
                        let _ = s.server.answer_recipient(reply);
                    }
                    Event::CheckSender { sender, .. } => {
                        let reply = match (&sender, &s.auth_user) {
                            (mail_smtp::ReversePath::Mailbox(m), Some(login))
                                if cfg.may_send_as(login, &m.to_string()) =>
                            {
                                Reply::sender_ok()
                            }
                            _ => {
                                Reply::new(553, Enhanced(5, 7, 1), "Sender address not owned by the authenticated user")
                            }
                        };
                        let _ = s.server.answer_sender(reply);
                    }
                    Event::MessageStart => {
                        self.next_id += 1;
                        s.queue_id = alloc::format!("{:08X}", self.next_id & 0xffff_ffff);
                        s.hops = HopCounter::new();
                        s.failed = None;
                        s.body.clear();
                    }
                    Event::Data(chunk) => {
                        s.hops.feed(&chunk);
                        if s.failed.is_none() {
                            if s.body.try_reserve(chunk.len()).is_err() {
                                log::error!("smtp: {}: out of memory for the message", s.queue_id);
                                s.failed = Some(temp_fail());
                                s.body = Vec::new();
                            } else {
                                s.body.extend_from_slice(&chunk);
                            }
                        }
                    }
                    Event::MessageComplete(env) => {
                        if let Some(r) = s.failed.take() {
                            Self::abort_staged(&self.maildir, s, fs);
                            let _ = s.server.answer_message(r);
                        } else if s.hops.is_loop(MAX_HOPS) {
                            log::warn!("smtp: {}: mail loop (over {MAX_HOPS} Received headers)", s.queue_id);
                            Self::abort_staged(&self.maildir, s, fs);
                            let _ = s.server.answer_message(loop_reply());
                        } else if let Some(virus) = (s.mode != Mode::Mx)
                            .then(|| self.filter.av.scan_message(&s.body, &self.filter.scan_limits))
                            .and_then(|v| v.virus().map(String::from))
                        {
                            log::warn!("submission: {}: virus {virus} from {:?}", s.queue_id, s.auth_user);
                            s.remote.clear();
                            Self::abort_staged(&self.maildir, s, fs);
                            let _ = s.server.answer_message(Reply::new(
                                554,
                                Enhanced(5, 7, 1),
                                alloc::format!("Message rejected: virus found: {virus}"),
                            ));
                        } else if s.mode != Mode::Mx {
                            match Self::prepare_submission(&self.signers, s, cfg, &env, &self.template.hostname) {
                                Ok(()) => {
                                    // Queue the remote copy first: delivery consumes the message.
                                    if !s.remote.is_empty() {
                                        let from = sender_string(&env.sender);
                                        let rcpts: Vec<&str> = s.remote.iter().map(|r| r.as_str()).collect();
                                        let now_s = crate::time::unix_time();
                                        match self.queue.enqueue(
                                            fs,
                                            &from,
                                            &rcpts,
                                            &s.body,
                                            now_s,
                                            crate::rand::u64() as u32,
                                        ) {
                                            Ok(id) => log::info!(
                                                "submission: {}: {} remote recipients queued as {id}",
                                                s.queue_id,
                                                rcpts.len()
                                            ),
                                            Err(e) => {
                                                log::error!("submission: {}: queueing: {e:?}", s.queue_id);
                                                s.failed = Some(temp_fail());
                                            }
                                        }
                                    }
                                    if s.failed.is_none() {
                                        Self::filter_and_stage(
                                            &mut self.maildir,
                                            &mut self.queue,
                                            s,
                                            &self.template.hostname,
                                            self.system_sieve.as_ref(),
                                            self.max_redirects,
                                            fs,
                                            "",
                                        );
                                    }
                                    match s.failed.take() {
                                        Some(r) => {
                                            Self::abort_staged(&self.maildir, s, fs);
                                            let _ = s.server.answer_message(r);
                                        }
                                        None => s.complete = Some(env),
                                    }
                                }
                                Err(r) => {
                                    let _ = s.server.answer_message(r);
                                }
                            }
                            s.remote.clear();
                        } else {
                            let facts = s.server.facts();
                            let from = sender_string(&env.sender);
                            let checks = crate::authcheck::Checks::new(
                                s.peer,
                                &from,
                                &facts.helo,
                                &s.body,
                                crate::time::unix_time(),
                            );
                            s.checking = Some((checks, env));
                        }
                    }
                    Event::MessageAborted(reason) => {
                        log::info!("smtp: {}: message aborted: {reason:?}", s.queue_id);
                        Self::abort_staged(&self.maildir, s, fs);
                        s.rcpts.clear();
                    }
                    Event::StartTls => {
                        // The 220 goes out in clear, then the handshake.
                        s.outbuf.extend_from_slice(&s.server.take_output());
                        if let Err(e) = s.link.write(stack, &mut s.outbuf) {
                            log::info!("smtp: {}: {e}", s.peer);
                        }
                        match self.tls.as_ref().map(|cfg| s.link.start_tls(cfg)) {
                            Some(Ok(())) => {
                                s.handshaking = true;
                                // RFC 3207 4: discard anything pipelined after STARTTLS.
                                s.inbuf.clear();
                            }
                            _ => s.closing = true,
                        }
                    }
                    Event::Authenticate(req) => {
                        let (count, last) = self.auth_failures.get(&s.peer).copied().unwrap_or((0, 0));
                        // Lockout: too many failures from this address in the last 15 minutes.
                        if count >= self.max_auth_failures * 3 && now.saturating_sub(last) < 900_000 {
                            log::warn!("submission: {}: locked out after {count} failed logins", s.peer);
                            let _ = s.server.answer_auth(mail_smtp::AuthAnswer::TempFail);
                        } else if !req.authzid.is_empty() && req.authzid != req.username {
                            let _ = s.server.answer_auth(mail_smtp::AuthAnswer::Invalid);
                        } else {
                            match cfg.authenticate(&req.username, req.password.as_bytes()) {
                                Some(u) => {
                                    let login = u.address.to_string();
                                    log::info!("submission: {}: {login} authenticated ({})", s.peer, req.mechanism);
                                    self.auth_failures.remove(&s.peer);
                                    s.auth_user = Some(login.clone());
                                    let _ = s.server.answer_auth(mail_smtp::AuthAnswer::Success(login));
                                }
                                None => {
                                    let c = if now.saturating_sub(last) < 900_000 { count + 1 } else { 1 };
                                    self.auth_failures.insert(s.peer, (c, now));
                                    if self.auth_failures.len() > 10_000 {
                                        self.auth_failures.clear(); // bounded; forgetting is safe
                                    }
                                    log::warn!("submission: {}: failed login for `{}` ({c})", s.peer, req.username);
                                    s.auth_delay = Some(now + 2000);
                                }
                            }
                        }
                    }
                    Event::Close => s.closing = true,
                    Event::Helo { .. } => {}
                }
            }
            if !progressed || s.complete.is_some() || s.checking.is_some() {
                break;
            }
        }
        // Idle timeout.
        if !s.closing && now.saturating_sub(s.last_activity) > self.idle_ms {
            log::info!("smtp: {}: idle timeout", s.peer);
            s.server.timeout();
            s.last_activity = now;
        }
        active |= Self::pump_output(s, stack);
        if s.server.is_closed() || s.closing {
            s.closing = true;
            if s.outbuf.is_empty() && s.complete.is_none() && s.checking.is_none() {
                Self::abort_staged(&self.maildir, s, fs);
                s.link.close(stack);
                s.dead = true;
                active = true;
            }
        }
        active
    }

    fn route(s: &mut Session, cfg: &MailConfig, srs: Option<&mail_authn::srs::Srs>, m: &Mailbox) -> Reply {
        let addr = m.to_string();
        // A bounce to an address we rewrote when forwarding: send it back
        // to the original sender (the hash and age are checked).
        if let (Some(srs), Some(h)) = (srs, m.host.as_ref()) {
            if mail_authn::srs::Srs::is_srs(&addr)
                && h.to_string().eq_ignore_ascii_case(&cfg.srs.as_ref().map(|x| x.domain.clone()).unwrap_or_default())
            {
                return match srs.reverse(&addr, crate::time::unix_time()) {
                    Ok(orig) => {
                        if s.remote.len() < 1000 && !s.remote.contains(&orig) {
                            s.remote.push(orig);
                        }
                        Reply::rcpt_ok()
                    }
                    Err(e) => {
                        log::info!("smtp: {addr}: bad SRS address: {e:?}");
                        Reply::user_unknown()
                    }
                };
            }
        }
        match cfg.resolve(&addr) {
            Ok(targets) => {
                for t in &targets {
                    if let Target::External(a) = t {
                        let a = a.to_string();
                        if s.remote.len() >= 1000 {
                            return Reply::new(452, Enhanced(4, 5, 3), "Too many recipients");
                        }
                        if !s.remote.contains(&a) {
                            s.remote.push(a);
                        }
                    }
                }
                let mut users = BTreeSet::new();
                for r in &s.rcpts {
                    users.insert(r.user.clone());
                }
                for t in targets {
                    if let Target::LocalUser { user, .. } = t {
                        let p = user_path(&user);
                        if users.insert(p.clone()) {
                            s.rcpts.push(Rcpt { user: p, envelope: m.clone() });
                        }
                    }
                }
                Reply::rcpt_ok()
            }
            Err(RouteError::NotLocal) => Reply::new(550, Enhanced(5, 7, 1), "Relay access denied"),
            Err(RouteError::Unknown) => Reply::user_unknown(),
            Err(RouteError::BadAddress) => Reply::new(501, Enhanced(5, 1, 3), "Bad recipient address syntax"),
            Err(RouteError::TooMany) => Reply::new(452, Enhanced(4, 5, 3), "Too many recipients"),
            Err(e) => {
                log::warn!("smtp: routing {addr}: {e:?}");
                Reply::new(554, Enhanced(5, 4, 6), "Alias expansion loop")
            }
        }
    }

    /// Submission (RFC 6409 8): the header From must belong to the
    /// authenticated user; Date and Message-ID are added when missing; the
    /// message is DKIM-signed with every selector of the From domain.
    fn prepare_submission(
        signers: &alloc::collections::BTreeMap<String, mail_authn::dkim::Signer>,
        s: &mut Session,
        cfg: &MailConfig,
        _env: &Envelope,
        host: &str,
    ) -> Result<(), Reply> {
        let login = s.auth_user.clone().unwrap_or_default();
        let (from_addr, has_date, has_msgid) = {
            let m = mail_mime::Message::parse(&s.body);
            let from = m.from().into_iter().find_map(|a| match a {
                mail_mime::Address::Mailbox(mb) => Some(mb.addr()),
                _ => None,
            });
            (from, m.header().get("date").is_some(), m.header().get("message-id").is_some())
        };
        let Some(from_addr) = from_addr else {
            return Err(Reply::new(550, Enhanced(5, 6, 0), "Message has no From address"));
        };
        if !cfg.may_send_as(&login, &from_addr) {
            log::warn!("submission: {}: {login} may not send as From: {from_addr}", s.queue_id);
            return Err(Reply::new(553, Enhanced(5, 7, 1), "From address not owned by the authenticated user"));
        }
        let now = crate::time::unix_time();
        let mut head = String::new();
        if !has_date {
            head.push_str("Date: ");
            mail_smtp::delivery::rfc5322_date(now as i64, &mut head);
            head.push_str("\r\n");
        }
        if !has_msgid {
            head.push_str(&alloc::format!("Message-ID: <{:x}.{:016x}@{host}>\r\n", now, crate::rand::u64()));
        }
        if !head.is_empty() {
            let mut b = Vec::new();
            if b.try_reserve(head.len() + s.body.len()).is_err() {
                return Err(temp_fail());
            }
            b.extend_from_slice(head.as_bytes());
            b.extend_from_slice(&s.body);
            s.body = b;
        }
        let domain = from_addr.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
        if let Some(signer) = signers.get(&domain) {
            match signer.sign(&s.body, now) {
                Ok(sigs) => {
                    let sig = sigs.concat();
                    let mut b = Vec::new();
                    if b.try_reserve(sig.len() + s.body.len()).is_err() {
                        return Err(temp_fail());
                    }
                    b.extend_from_slice(sig.as_bytes());
                    b.extend_from_slice(&s.body);
                    s.body = b;
                }
                Err(e) => log::error!("submission: {}: DKIM signing failed: {e:?}", s.queue_id),
            }
        }
        Ok(())
    }

    /// Forwarding (aliases to external addresses, SRS bounces): the message
    /// with our Received header goes into the outbound queue, its envelope
    /// sender rewritten with SRS when configured so SPF passes at the
    /// destination.
    fn forward(
        queue: &mut mail_outbound::queue::Queue,
        srs: Option<&mail_authn::srs::Srs>,
        s: &mut Session,
        env: &Envelope,
        host: &str,
        fs: &mut MailFs,
    ) {
        let now = crate::time::unix_time();
        let sender = match &env.sender {
            mail_smtp::ReversePath::Null => String::new(),
            mail_smtp::ReversePath::Mailbox(m) => {
                let orig = m.to_string();
                match srs.map(|x| x.forward(&orig, now)) {
                    Some(Ok(r)) => r,
                    Some(Err(e)) => {
                        log::warn!("smtp: {}: SRS for {orig}: {e:?}; forwarding with the original sender", s.queue_id);
                        orig
                    }
                    None => orig,
                }
            }
        };
        let facts = s.server.facts();
        let first = env.recipients.first().cloned();
        let info = trace_info(s, &env, &facts, host, now);
        // In transit: Received only (Return-Path belongs to final delivery).
        let trace = match &first {
            Some(r) => trace_block(&info, r),
            None => String::new(),
        };
        let received = trace.find("Received:").map(|i| &trace[i..]).unwrap_or("");
        let mut msg = Vec::new();
        if msg.try_reserve(received.len() + s.body.len()).is_err() {
            s.failed = Some(temp_fail());
            return;
        }
        msg.extend_from_slice(received.as_bytes());
        msg.extend_from_slice(&s.body);
        let rcpts: Vec<&str> = s.remote.iter().map(|r| r.as_str()).collect();
        match queue.enqueue(fs, &sender, &rcpts, &msg, now, crate::rand::u64() as u32) {
            Ok(id) => log::info!(
                "smtp: {}: forwarded to {} recipients, queued as {id} (sender <{sender}>)",
                s.queue_id,
                rcpts.len()
            ),
            Err(e) => {
                log::error!("smtp: {}: queueing the forward: {e:?}", s.queue_id);
                s.failed = Some(temp_fail());
            }
        }
    }

    /// Sends what is due in the outbound queue. Queue entries for our own
    /// domains (bounces and vacation replies to local senders) are delivered
    /// straight into the Maildir; the rest go out over the network.
    pub fn poll_outbound(
        &mut self,
        stack: &mut Stack<VirtioPhy>,
        cfg: &MailConfig,
        dns: Option<&mut net::dns::DnsClient>,
        fs: &mut MailFs,
        now: u64,
    ) -> bool {
        let t = crate::time::unix_time();
        let local: Vec<(String, Vec<usize>)> = self
            .queue
            .due(t)
            .iter()
            .flat_map(|e| {
                e.due_by_domain(t)
                    .into_iter()
                    .filter(|(d, _)| cfg.is_local_domain(d))
                    .map(|(_, idx)| (e.id.clone(), idx))
            })
            .collect();
        for (id, idx) in &local {
            self.deliver_queued_locally(cfg, id, idx, fs, t);
        }
        self.outbound.poll(&mut self.queue, stack, dns, fs, now) || !local.is_empty()
    }

    fn deliver_queued_locally(&mut self, cfg: &MailConfig, id: &str, idx: &[usize], fs: &mut MailFs, now: u64) {
        use mail_outbound::queue::AttemptResult;
        let Some(entry) = self.queue.get(id).cloned() else { return };
        let msg = match self.queue.read_message(fs, id) {
            Ok(m) => m,
            Err(e) => {
                log::error!("queue: {id}: reading: {e:?}");
                return;
            }
        };
        let mut results = Vec::new();
        for &i in idx {
            let Some(r) = entry.recipients.get(i) else { continue };
            let res = match cfg.resolve(&r.address) {
                Ok(targets) => {
                    let mut ok = true;
                    for tgt in targets {
                        if let Target::LocalUser { user, .. } = tgt {
                            let head =
                                alloc::format!("Return-Path: <{}>\r\nDelivered-To: {}\r\n", entry.sender, r.address);
                            let full = [head.as_bytes(), &msg].concat();
                            if let Err(e) = self.maildir.deliver(fs, &user_path(&user), "INBOX", &full, now as u32) {
                                log::error!("queue: {id}: local delivery to {user}: {e:?}");
                                ok = false;
                            }
                        }
                    }
                    if ok {
                        self.delivered += 1;
                        AttemptResult::Delivered("250 2.0.0 delivered locally".into())
                    } else {
                        AttemptResult::TempFail("452 4.3.1 local delivery failed".into())
                    }
                }
                Err(RouteError::Unknown) => AttemptResult::PermFail("550 5.1.1 no such local user".into()),
                Err(e) => AttemptResult::TempFail(alloc::format!("451 4.3.0 routing: {e:?}")),
            };
            log::info!("queue: {id}: {} -> {res:?}", r.address);
            results.push((i, res));
        }
        if let Err(e) = self.queue.record_results(fs, id, &results, now, &self.outbound.schedule().clone()) {
            log::error!("queue: {id}: recording: {e:?}");
            return;
        }
        if self.queue.get(id).is_some_and(|e| e.is_done() && e.unreported_failures().is_empty()) {
            let _ = self.queue.remove(fs, id, false, now);
        }
    }

    /// Drives the sender checks of a completed message; when they are done,
    /// runs Sieve and stages the copies (the group commit then answers).
    fn run_checks(&mut self, i: usize, dns: Option<&mut net::dns::DnsClient>, fs: &mut MailFs, now: u64) -> bool {
        let s = &mut self.sessions[i];
        let Some((checks, _)) = s.checking.as_mut() else { return false };
        let Some(header) = checks.step(dns, now, &self.template.hostname) else { return false };
        let auth = checks.auth();
        let (_, env) = s.checking.take().unwrap();
        // The content filter, while the client waits for the reply: refused
        // mail is never bounced to a forged sender.
        let c = self.filter.check(&s.body, auth, s.dnsbl_score.saturating_mul(100), Vec::new(), &self.thresholds);
        let v = &c.verdict;
        log::info!(
            "filter: {} score {} action {} [{}]{}",
            s.queue_id,
            v.score,
            v.action.name(),
            v.symbols_text(),
            c.bayes.map(|p| alloc::format!(" bayes {p:.3}")).unwrap_or_default()
        );
        let refusal = match (&v.smtp_reply, v.action) {
            (Some(r), _) => Some(Reply::new(r.code, parse_enhanced(r.enhanced), r.text.clone())),
            (None, mail_filter::Action::Greylist) => {
                let sender = sender_string(&env.sender);
                let rcpt = env.recipients.first().map(|m| m.to_string()).unwrap_or_default();
                self.screen
                    .greylist(&mail_screen::GreylistRequest {
                        ip: s.peer,
                        sender: &sender,
                        recipient: &rcpt,
                        authenticated: false,
                        allowlisted: s.allowlisted,
                    })
                    .map(|_| Reply::new(451, Enhanced(4, 7, 1), "Try again later (greylisted by content score)"))
            }
            _ => None,
        };
        if let Some(r) = refusal {
            log::info!("filter: {}: refused: {} {}", s.queue_id, r.code, r.text);
            s.remote.clear();
            s.rcpts.clear();
            s.body = Vec::new();
            let _ = s.server.answer_message(r);
            return true;
        }
        if v.action != mail_filter::Action::NoAction {
            s.body = v.apply_to(&s.body, &self.thresholds);
        }
        // RFC 7489 7.2: aggregate reports sent to our rua= address are read
        // and counted (the message is delivered as usual).
        if let Some(rua) = &self.dmarc_rua {
            if env.recipients.iter().any(|r| r.to_string().eq_ignore_ascii_case(rua)) {
                match mail_dmarc_report::summarise_message(&s.body) {
                    Ok(sum) => {
                        self.dmarc.add(&sum);
                        for r in &sum.reports {
                            log::info!("dmarc: {}: report {:?} from {:?}", s.queue_id, r.report_id, r.org);
                        }
                        for row in &sum.rows {
                            log::info!(
                                "dmarc: {} {} messages from {} ({})",
                                s.queue_id,
                                row.messages,
                                row.source_ip,
                                row.class.as_str()
                            );
                        }
                    }
                    Err(e) => {
                        self.dmarc.add_error();
                        log::warn!("dmarc: {}: not a readable aggregate report: {e:?}", s.queue_id);
                    }
                }
            }
        }
        // Forward first: delivery below consumes the collected message.
        if !s.remote.is_empty() {
            Self::forward(&mut self.queue, self.srs.as_ref(), s, &env, &self.template.hostname, fs);
            s.remote.clear();
        }
        Self::filter_and_stage(
            &mut self.maildir,
            &mut self.queue,
            s,
            &self.template.hostname,
            self.system_sieve.as_ref(),
            self.max_redirects,
            fs,
            &header,
        );
        match s.failed.take() {
            Some(r) => {
                Self::abort_staged(&self.maildir, s, fs);
                let _ = s.server.answer_message(r);
            }
            None => s.complete = Some(env),
        }
        true
    }

    /// Writes the Bayes token store when it changed, at most once a minute.
    fn save_bayes_if_due(&mut self, fs: &mut MailFs, now: u64) {
        if now.saturating_sub(self.last_bayes_save) < 60_000 && self.last_bayes_save != 0 {
            return;
        }
        if let Some(bytes) = self.filter.take_bayes_snapshot() {
            let t = crate::time::unix_time() as u32;
            let _ = disk::FileSystem::mkdir(fs, "/bayes", t);
            match disk::FileSystem::replace_file(fs, BAYES_TOKENS, "/bayes/tokens.tmp", &bytes, t)
                .and_then(|_| disk::FileSystem::flush(fs))
            {
                Ok(()) => log::info!("bayes: token store saved ({} bytes)", bytes.len()),
                Err(e) => log::warn!("bayes: saving {BAYES_TOKENS}: {e:?}"),
            }
            self.last_bayes_save = now.max(1);
        }
    }

    fn abort_staged(maildir: &Maildir, s: &mut Session, fs: &mut MailFs) {
        let now = crate::time::unix_time() as u32;
        for sf in s.staged.drain(..) {
            let _ = maildir.abort(fs, sf.st, now);
        }
    }

    /// Buffered message: run Sieve per recipient and stage a copy in every
    /// folder the scripts chose (a failure sets `s.failed`).
    #[allow(clippy::too_many_arguments)]
    fn filter_and_stage(
        maildir: &mut Maildir,
        queue: &mut mail_outbound::queue::Queue,
        s: &mut Session,
        host: &str,
        system: Option<&mail_sieve::Script>,
        max_redirects: u32,
        fs: &mut MailFs,
        auth_results: &str,
    ) {
        let facts = s.server.facts();
        let now = crate::time::unix_time();
        let Some(env) = s.server.envelope().cloned() else { return };
        let from = sender_string(&env.sender);
        let body = core::mem::take(&mut s.body);
        for r in &s.rcpts {
            let info = trace_info(s, &env, &facts, host, now);
            let mut head = trace_block(&info, &r.envelope);
            head.push_str(auth_results);
            let mut full = Vec::new();
            if full.try_reserve(head.len() + body.len()).is_err() {
                s.failed = Some(temp_fail());
                return;
            }
            full.extend_from_slice(head.as_bytes());
            full.extend_from_slice(&body);
            let user_script = crate::filter::user_script(fs, &r.user);
            let mut scripts = Vec::new();
            scripts.extend(system);
            scripts.extend(user_script.as_ref());
            let folders = maildir.folders(fs, &r.user).unwrap_or_default();
            let to = r.envelope.to_string();
            let mut vlog = crate::filter::VacationLog::load(fs, &r.user);
            let (dests, sends) =
                crate::filter::decide(&scripts, &full, &from, &to, folders, &r.user, max_redirects, &vlog, now);
            for o in sends {
                let nonce = crate::rand::u64() as u32;
                let res = match &o {
                    // RFC 5228 4.2: the envelope sender stays the original one.
                    crate::filter::Outbound::Redirect(addr) => {
                        queue.enqueue(fs, &from, &[addr.as_str()], &full, now, nonce)
                    }
                    crate::filter::Outbound::Vacation(v) => {
                        let mut date = String::new();
                        mail_smtp::delivery::rfc5322_date(now as i64, &mut date);
                        let msgid = alloc::format!("<{:x}.{nonce:x}@{host}>", now);
                        let reply = v.compose(&to, &date, &msgid);
                        // RFC 5230 5.1 / RFC 3834: replies go out with the null sender.
                        let res = queue.enqueue(fs, "", &[v.to.as_str()], reply.as_bytes(), now, nonce);
                        if res.is_ok() {
                            vlog.record(fs, &r.user, &v.to, &v.handle, now);
                        }
                        res
                    }
                };
                match (res, &o) {
                    (Ok(id), crate::filter::Outbound::Redirect(a)) => {
                        log::info!("sieve: {}: redirect to {a} queued as {id}", r.user)
                    }
                    (Ok(id), crate::filter::Outbound::Vacation(v)) => {
                        log::info!("sieve: {}: vacation reply to {} queued as {id}", r.user, v.to)
                    }
                    (Err(e), _) => {
                        log::error!("smtp: {}: queueing for {}: {e:?}", s.queue_id, r.user);
                        s.failed = Some(temp_fail());
                        return;
                    }
                }
            }
            for d in dests {
                let mut folder = d.folder;
                if !folder.eq_ignore_ascii_case("INBOX") && maildir.folder_dir(&r.user, &folder).is_ok() {
                    let exists = maildir.folder_dir(&r.user, &folder).map(|p| fs.lookup(&p).is_ok()).unwrap_or(false);
                    if !exists {
                        if d.create {
                            if let Err(e) = maildir.create_folder(fs, &r.user, &folder, now as u32, now as u32) {
                                log::warn!("sieve: {}: creating {folder}: {e:?}: kept in INBOX", r.user);
                                folder = "INBOX".into();
                            }
                        } else {
                            log::warn!("sieve: {}: fileinto {folder}: no such folder: kept in INBOX", r.user);
                            folder = "INBOX".into();
                        }
                    }
                } else if !folder.eq_ignore_ascii_case("INBOX") {
                    log::warn!("sieve: {}: fileinto {folder}: bad folder name: kept in INBOX", r.user);
                    folder = "INBOX".into();
                }
                if s.staged.iter().any(|x| x.user == r.user && x.folder.eq_ignore_ascii_case(&folder)) {
                    continue;
                }
                match maildir.stage(fs, &r.user, &folder, &full, now as u32) {
                    Ok(st) => s.staged.push(StagedFor { st, user: r.user.clone(), folder, flags: d.flags }),
                    Err(e) => {
                        log::error!("smtp: {}: staging for {} in {folder}: {e:?}", s.queue_id, r.user);
                        s.failed = Some(temp_fail());
                        return;
                    }
                }
            }
        }
    }

    /// Moves reply bytes from the state machine to the connection.
    fn pump_output(s: &mut Session, stack: &mut Stack<VirtioPhy>) -> bool {
        let out = s.server.take_output();
        let mut active = !out.is_empty();
        s.outbuf.extend_from_slice(&out);
        match s.link.write(stack, &mut s.outbuf) {
            Ok(moved) => active |= moved,
            Err(e) => {
                log::info!("smtp: {}: {e}", s.peer);
                s.outbuf.clear();
                s.closing = true;
            }
        }
        active
    }
}

pub fn ip_of(a: net::smoltcp::wire::IpAddress) -> IpAddr {
    match a {
        net::smoltcp::wire::IpAddress::Ipv4(v) => IpAddr::V4(v),
        net::smoltcp::wire::IpAddress::Ipv6(v) => IpAddr::V6(v),
    }
}

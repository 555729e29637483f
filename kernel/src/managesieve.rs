//! ManageSieve (RFC 5804) on port 4190: `mail-sieve`'s protocol state
//! machine, with STARTTLS and AUTHENTICATE PLAIN against the config's users,
//! storing scripts on the mail disk through `disk::sievestore` (where
//! delivery finds the active one).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::IpAddr;
use disk::sievestore::{SieveStore, SieveStoreError};
use mail_config::Config as MailConfig;
use mail_sieve::managesieve::{Config, Event, QuotaKind, Reply, Request, Session};
use net::{ListenerId, Stack};

use crate::link::{Link, Read};
use crate::nic::VirtioPhy;
use crate::storage::MailFs;

struct MsSession {
    link: Link,
    session: Session,
    peer: IpAddr,
    outbuf: Vec<u8>,
    user: Option<String>,
    handshaking: bool,
    last_activity: u64,
    closing: bool,
    dead: bool,
}

pub struct ManageSieveService {
    listener: ListenerId,
    sessions: Vec<MsSession>,
    tls: Option<Arc<rustls::ServerConfig>>,
    template: Config,
    max_scripts: usize,
    max_size: usize,
    idle_ms: u64,
}

impl ManageSieveService {
    pub fn new(
        stack: &mut Stack<VirtioPhy>,
        cfg: &MailConfig,
        port: u16,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<Self, String> {
        let listener = stack.listen(port, 2).map_err(|e| alloc::format!("managesieve: listen on {port}: {e}"))?;
        let mut t = Config::default();
        t.extensions = crate::filter::extensions();
        t.tls_available = tls.is_some();
        t.max_script_size = cfg.sieve.max_script_size as usize;
        t.max_redirects = cfg.sieve.max_redirects;
        t.max_auth_failures = cfg.limits.auth_failures.max(1);
        Ok(ManageSieveService {
            listener,
            sessions: Vec::new(),
            tls,
            template: t,
            max_scripts: cfg.sieve.max_scripts as usize,
            max_size: cfg.sieve.max_script_size as usize,
            idle_ms: cfg.limits.imap_idle_timeout.as_millis() as u64,
        })
    }

    pub fn poll(&mut self, stack: &mut Stack<VirtioPhy>, cfg: &MailConfig, fs: &mut MailFs, now: u64) -> bool {
        let mut active = false;
        while let Some(c) = stack.accept(self.listener) {
            active = true;
            let peer = match stack.peer(c) {
                Ok(ep) => crate::smtp::ip_of(ep.addr),
                Err(_) => {
                    stack.abort(c);
                    continue;
                }
            };
            self.sessions.push(MsSession {
                link: Link::Plain(c),
                session: Session::new(self.template.clone(), false),
                peer,
                outbuf: Vec::new(),
                user: None,
                handshaking: false,
                last_activity: now,
                closing: false,
                dead: false,
            });
        }
        for i in 0..self.sessions.len() {
            active |= self.run(i, stack, cfg, fs, now);
        }
        self.sessions.retain(|s| !s.dead);
        active
    }

    fn run(&mut self, i: usize, stack: &mut Stack<VirtioPhy>, cfg: &MailConfig, fs: &mut MailFs, now: u64) -> bool {
        let (max_scripts, max_size) = (self.max_scripts, self.max_size);
        let s = &mut self.sessions[i];
        let mut active = false;
        if s.handshaking && !s.link.is_handshaking() && s.link.tls_info().is_some() {
            s.handshaking = false;
            s.session.tls_established();
            active = true;
        }
        if !s.closing && !s.handshaking {
            let mut buf = [0u8; 4096];
            match s.link.read(stack, &mut buf) {
                Read::Data(n) => {
                    s.session.feed(&buf[..n]);
                    s.last_activity = now;
                    active = true;
                }
                Read::Nothing => {}
                Read::Eof => s.closing = true,
                Read::Failed(e) => {
                    log::info!("managesieve: {}: {e}", s.peer);
                    s.closing = true;
                }
            }
        }
        while let Some(ev) = s.session.poll() {
            active = true;
            match ev {
                Event::Write(b) => s.outbuf.extend_from_slice(&b),
                Event::Close => s.closing = true,
                Event::StartTls => {
                    let _ = s.link.write(stack, &mut s.outbuf);
                    match self.tls.as_ref().map(|c| s.link.start_tls(c)) {
                        Some(Ok(())) => s.handshaking = true,
                        _ => s.closing = true,
                    }
                }
                Event::Request(r) => {
                    let reply = match (r, s.user.clone()) {
                        (Request::Authenticate { user, password, .. }, _) => {
                            match cfg.authenticate(&user, password.as_bytes()) {
                                Some(u) => {
                                    log::info!("managesieve: {}: {} logged in", s.peer, u.address);
                                    s.user = Some(alloc::format!("{}/{}", u.address.domain(), u.address.local()));
                                    Reply::AuthOk
                                }
                                None => {
                                    log::warn!("managesieve: {}: failed login for `{user}`", s.peer);
                                    Reply::AuthFailed
                                }
                            }
                        }
                        (_, None) => Reply::Failed("not logged in".into()),
                        (r, Some(user)) => {
                            let mut st = SieveStore::new(
                                fs,
                                "/mail",
                                &user,
                                max_scripts,
                                max_size,
                                crate::time::unix_time() as u32,
                            );
                            let done = |r: Result<(), SieveStoreError>| r.map(|_| Reply::Done);
                            let res = match r {
                                Request::ListScripts => st.list().map(Reply::Scripts),
                                Request::GetScript { name } => st.get(&name).map(Reply::Script),
                                Request::PutScript { name, content } => done(st.put(&name, &content)),
                                Request::DeleteScript { name } => done(st.delete(&name)),
                                Request::RenameScript { old, new } => done(st.rename(&old, &new)),
                                Request::SetActive { name } => done(st.set_active(name.as_deref())),
                                Request::HaveSpace { name, size } => done(st.have_space(&name, size)),
                                Request::Authenticate { .. } => Ok(Reply::Failed("already logged in".into())),
                            };
                            match res {
                                Ok(r) => r,
                                Err(SieveStoreError::NotFound) => Reply::NotFound,
                                Err(SieveStoreError::AlreadyExists) => Reply::AlreadyExists,
                                Err(SieveStoreError::Active) => Reply::Active,
                                Err(SieveStoreError::TooMany) => Reply::Quota(QuotaKind::MaxScripts),
                                Err(SieveStoreError::TooBig) => Reply::Quota(QuotaKind::MaxSize),
                                Err(SieveStoreError::BadName) => Reply::Failed("bad script name".into()),
                                Err(SieveStoreError::Fs(e)) => {
                                    log::error!("managesieve: {user}: storage: {e:?}");
                                    Reply::Failed("storage error".into())
                                }
                            }
                        }
                    };
                    s.session.reply(reply);
                }
            }
        }
        if !s.closing && now.saturating_sub(s.last_activity) > self.idle_ms {
            s.closing = true;
        }
        let (moved, dead) = s.link.finish_pass(stack, &mut s.outbuf, &mut s.closing);
        active |= moved;
        s.dead = dead;
        active
    }
}

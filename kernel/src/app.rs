//! The appliance proper: the network stack on the NIC, the services on their
//! ports, and the poll loop that drives them and halts when idle.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use net::dns::{DnsClient, QueryId, Resolver, ResolverConfig, Rtype};
use net::smoltcp::wire::{Ipv4Cidr, Ipv6Cidr};
use net::tls::{TlsLimits, TlsStream};
use net::{ConnId, ListenerId, Stack, StackConfig};

use crate::nic::VirtioPhy;

/// After this long without network activity the loop halts between ticks.
const BUSY_POLL_MS: u64 = 5;

pub struct App {
    stack: Stack<VirtioPhy>,
    echo: Option<(ListenerId, BTreeMap<ConnId, ()>)>,
    tls_echo: Option<(ListenerId, Arc<rustls::ServerConfig>, Vec<(TlsStream, Vec<u8>)>)>,
    dns: Option<DnsClient>,
    /// Diagnostic queries from `diag.resolve=` still in flight.
    diag_queries: Vec<(QueryId, String, String)>,
    smtp: Option<crate::smtp::SmtpService>,
    imap: Option<crate::imap::ImapService>,
    managesieve: Option<crate::managesieve::ManageSieveService>,
    mail: Option<(mail_config::Config, crate::storage::MailFs)>,
    metrics: Option<crate::metrics::Metrics>,
    ready: String,
}

impl App {
    pub fn new(
        phy: VirtioPhy,
        boot: &bootcfg::BootConfig,
        tls: Option<Arc<rustls::ServerConfig>>,
        config: mail_config::Config,
        mailfs: Option<crate::storage::MailFs>,
        sieve_files: &BTreeMap<String, Vec<u8>>,
    ) -> Result<App, String> {
        let mac = phy.mac();
        let mut cfg = StackConfig::new(mac, crate::rand::u64());
        cfg.ipv4 = boot.ip4.map(|c| Ipv4Cidr::new(c.addr, c.prefix));
        cfg.gateway4 = boot.gw4;
        cfg.ipv6 = boot.ip6.map(|c| Ipv6Cidr::new(c.addr, c.prefix));
        cfg.gateway6 = boot.gw6;
        if cfg.ipv4.is_none() && cfg.ipv6.is_none() {
            return Err("network: no address configured: give ip=ADDR/PREFIX and/or ip6=ADDR/PREFIX".into());
        }
        let stack = Stack::new(phy, cfg, crate::time::now_ms()).map_err(|e| alloc::format!("network: {e}"))?;
        log::info!(
            "network: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            mac[0],
            mac[1],
            mac[2],
            mac[3],
            mac[4],
            mac[5]
        );
        let mut app = App {
            stack,
            echo: None,
            tls_echo: None,
            dns: None,
            diag_queries: Vec::new(),
            smtp: None,
            imap: None,
            managesieve: None,
            mail: None,
            metrics: None,
            ready: String::new(),
        };
        if !boot.dns.is_empty() {
            let resolver = Resolver::new(
                ResolverConfig::new(boot.dns.clone()),
                alloc::boxed::Box::new(|| crate::rand::u64() as u32),
            );
            app.dns = Some(DnsClient::new(resolver));
        }
        for (t, name) in &boot.resolve {
            let rtype = match t.as_str() {
                "A" => Rtype::A,
                "AAAA" => Rtype::Aaaa,
                "MX" => Rtype::Mx,
                "TXT" => Rtype::Txt,
                "PTR" => Rtype::Ptr,
                "TLSA" => Rtype::Tlsa,
                "CNAME" => Rtype::Cname,
                _ => return Err(alloc::format!("diag.resolve: unknown record type `{t}`")),
            };
            let dns = app.dns.as_mut().ok_or_else(|| String::from("diag.resolve needs dns= on the command line"))?;
            let q = dns.query(name, rtype, crate::time::now_ms());
            app.diag_queries.push((q, t.clone(), name.clone()));
        }
        if boot.diag.iter().any(|d| d == "echo") {
            let l = app.stack.listen(7, 4).map_err(|e| alloc::format!("echo: listen on port 7: {e}"))?;
            app.echo = Some((l, BTreeMap::new()));
            app.announce("echo", 7, boot);
        }
        match (mailfs, config.listeners.smtp) {
            (Some(mut fs), Some(port)) => {
                let system_sieve = match &config.sieve.system_before {
                    None => None,
                    Some(mail_config::FileRef::Builtin(_)) => {
                        Some(crate::filter::compile_system(mail_config::DEFAULT_SYSTEM_SIEVE.as_bytes())?)
                    }
                    Some(mail_config::FileRef::Path(p)) => Some(crate::filter::compile_system(
                        sieve_files.get(p).ok_or_else(|| alloc::format!("sieve: {p}: not loaded"))?,
                    )?),
                };
                let signers = dkim_signers(&config, sieve_files)?;
                let srs = match &config.srs {
                    None => None,
                    Some(x) => {
                        let secret: Vec<u8> = match &x.secret {
                            mail_config::FileRef::Path(p) => sieve_files
                                .get(p)
                                .map(|b| String::from_utf8_lossy(b).trim().as_bytes().to_vec())
                                .ok_or_else(|| alloc::format!("srs: {p}: not loaded"))?,
                            mail_config::FileRef::Builtin(_) => {
                                let mut b = alloc::vec![0u8; 32];
                                crate::rand::fill(&mut b);
                                b
                            }
                        };
                        Some(mail_authn::srs::Srs::new(&x.domain, &secret))
                    }
                };
                let bayes = disk::FileSystem::read_file(&mut fs, crate::smtp::BAYES_TOKENS, 512 << 20).ok();
                let (filter, bayes_err) = mail_filter::Engine::from_config(
                    &config,
                    |p| sieve_files.get(p).cloned().ok_or_else(|| String::from("not loaded from the config disk")),
                    bayes.as_deref(),
                )
                .map_err(|e| alloc::format!("antivirus: {e}"))?;
                if let Some(e) = bayes_err {
                    log::warn!("bayes: {}: {e:?}: starting with an empty token store", crate::smtp::BAYES_TOKENS);
                }
                log::info!(
                    "filter: {} antivirus signatures; bayes {} ({} spam / {} ham learned)",
                    filter.av.len(),
                    if config.bayes.enabled { "on" } else { "off" },
                    filter.bayes.learned().0,
                    filter.bayes.learned().1
                );
                let svc = crate::smtp::SmtpService::new(
                    &mut app.stack,
                    &config,
                    port,
                    tls.clone(),
                    &mut fs,
                    system_sieve,
                    signers,
                    srs,
                    filter,
                )?;
                app.smtp = Some(svc);
                let (p143, p993) = (config.listeners.imap, config.listeners.imaps);
                if p143.is_some() || p993.is_some() {
                    let imap = crate::imap::ImapService::new(&mut app.stack, &config, p143, p993, tls.clone())?;
                    app.imap = Some(imap);
                }
                if let Some(p) = config.listeners.managesieve {
                    app.managesieve =
                        Some(crate::managesieve::ManageSieveService::new(&mut app.stack, &config, p, tls.clone())?);
                }
                let metrics = crate::metrics::Metrics::new(&mut app.stack, &config)?;
                let metrics_port = config.stats.listen.map(|a| a.port());
                app.metrics = Some(metrics);
                app.mail = Some((config, fs));
                app.announce("smtp", port, boot);
                if let Some(p) = metrics_port {
                    app.announce("metrics", p, boot);
                }
                if let Some(p) = app.mail.as_ref().and_then(|(c, _)| c.listeners.imap) {
                    app.announce("imap", p, boot);
                }
                if let (Some(p), Some(_)) = (app.mail.as_ref().and_then(|(c, _)| c.listeners.imaps), tls.as_ref()) {
                    app.announce("imaps", p, boot);
                }
                if let Some(p) = app.mail.as_ref().and_then(|(c, _)| c.listeners.managesieve) {
                    app.announce("managesieve", p, boot);
                }
                if tls.is_some() {
                    if let Some(p) = app.mail.as_ref().and_then(|(c, _)| c.listeners.submission) {
                        app.announce("submission", p, boot);
                    }
                    if let Some(p) = app.mail.as_ref().and_then(|(c, _)| c.listeners.submissions) {
                        app.announce("submissions", p, boot);
                    }
                }
            }
            (None, Some(_)) => log::warn!("smtp: no mail disk attached: not listening"),
            _ => {}
        }
        if boot.diag.iter().any(|d| d == "tls-echo") {
            let cfg = tls.ok_or_else(|| String::from("diag=tls-echo needs a TLS certificate in the config"))?;
            let l = app.stack.listen(7443, 4).map_err(|e| alloc::format!("tls-echo: listen on port 7443: {e}"))?;
            app.tls_echo = Some((l, cfg, Vec::new()));
            app.announce("tls-echo", 7443, boot);
        }
        Ok(app)
    }

    fn announce(&mut self, name: &str, port: u16, boot: &bootcfg::BootConfig) {
        if let Some(ip) = boot.ip4 {
            let _ = write!(self.ready, " {name}={}:{port}", ip.addr);
        }
        if let Some(ip) = boot.ip6 {
            let _ = write!(self.ready, " {name}=[{}]:{port}", ip.addr);
        }
    }

    /// The `ready:` line: every listening service and address.
    pub fn ready_line(&self) -> &str {
        self.ready.trim_start()
    }

    pub fn run(mut self) -> ! {
        let mut last_active = crate::time::now_ms();
        let mut last_heap_log = 0u64;
        let mut last_high = 0usize;
        loop {
            let now = crate::time::now_ms();
            // Memory is bounded, not unlimited: say how close we came.
            // Every minute if it moved, and at once when the high-water mark
            // grew by a MiB (hostile-client tests read the last figure).
            let (_, high_now, _) = crate::mem::heap_stats();
            if now.saturating_sub(last_heap_log) >= 60_000 || high_now >= last_high + (1 << 20) {
                let (used, high, size) = crate::mem::heap_stats();
                if high != last_high {
                    log::info!("heap: {} KiB in use, high-water {} KiB of {} KiB", used >> 10, high >> 10, size >> 10);
                    last_high = high;
                }
                last_heap_log = now;
            }
            let mut active = self.stack.poll(now);
            active |= self.run_echo();
            active |= self.run_tls_echo();
            active |= self.run_dns(now);
            if let (Some(smtp), Some((cfg, fs))) = (self.smtp.as_mut(), self.mail.as_mut()) {
                let before = smtp.delivered;
                active |= smtp.poll(&mut self.stack, cfg, fs, self.dns.as_mut(), now);
                active |= smtp.poll_outbound(&mut self.stack, cfg, self.dns.as_mut(), fs, now);
                if smtp.delivered != before {
                    if let Some(imap) = self.imap.as_mut() {
                        imap.mailboxes_changed();
                    }
                }
                if let Some(imap) = self.imap.as_mut() {
                    active |= imap.poll(&mut self.stack, cfg, fs, now);
                    // Moves into or out of Junk teach the Bayes classifier.
                    for (class, msg) in imap.learn.drain(..) {
                        match smtp.filter.learn(&msg, class) {
                            Some(o) => log::info!("bayes: learned a message as {class:?} from an IMAP move ({o:?})"),
                            None => log::info!("bayes: off; an IMAP move into/out of Junk is not learned"),
                        }
                    }
                }
                if let Some(ms) = self.managesieve.as_mut() {
                    active |= ms.poll(&mut self.stack, cfg, fs, now);
                }
            }
            if let (Some(m), Some((cfg, _))) = (self.metrics.as_mut(), self.mail.as_ref()) {
                let (refused, sockets) = (self.stack.refused_per_peer(), self.stack.tcp_sockets());
                let duplicate_syns = self.stack.duplicate_syns();
                let smtp = self.smtp.as_ref();
                let figures = || {
                    let empty = mail_dmarc_report::Counters::default();
                    crate::metrics::render(&crate::metrics::Figures {
                        smtp,
                        dmarc: smtp.map(|s| &s.dmarc).unwrap_or(&empty),
                        uptime_ms: now,
                        refused_per_peer: refused,
                        duplicate_syns,
                        tcp_sockets: sockets,
                    })
                };
                active |= m.poll(&mut self.stack, cfg, now, &figures);
            }
            if active {
                last_active = now;
            }
            let idle_for = now.saturating_sub(last_active);
            let mut delay = self.stack.poll_delay(now).unwrap_or(u64::MAX);
            if let Some(d) = self.dns.as_ref().and_then(|d| d.poll_deadline()) {
                delay = delay.min(d.saturating_sub(now));
            }
            if idle_for > BUSY_POLL_MS && delay > 0 {
                crate::interrupts::halt();
            }
        }
    }

    /// Drives the DNS client and logs the answers to diagnostic queries.
    fn run_dns(&mut self, now: u64) -> bool {
        let Some(dns) = self.dns.as_mut() else { return false };
        dns.poll(&mut self.stack, now);
        let mut active = false;
        self.diag_queries.retain(|(q, t, name)| match dns.take_answer(*q) {
            Some(a) => {
                log::info!("diag: resolve {t} {name}: {a:?}");
                active = true;
                false
            }
            None => true,
        });
        active
    }

    /// Diagnostic TLS echo service on port 7443 (certificate by SNI).
    fn run_tls_echo(&mut self) -> bool {
        let Some((l, cfg, conns)) = self.tls_echo.as_mut() else { return false };
        let mut active = false;
        while let Some(c) = self.stack.accept(*l) {
            match TlsStream::server(c, cfg.clone(), TlsLimits::default()) {
                Ok(t) => conns.push((t, Vec::new())),
                Err(e) => {
                    log::warn!("tls-echo: {e}");
                    self.stack.abort(c);
                }
            }
            active = true;
        }
        let mut buf = [0u8; 1024];
        let stack = &mut self.stack;
        conns.retain_mut(|(t, pending)| {
            use net::tls::TlsError::Net;
            use net::NetError::WouldBlock;
            let r = (|| -> Result<bool, net::tls::TlsError> {
                let mut did = false;
                // Echo what is pending first; read more only when it is out.
                while !pending.is_empty() {
                    match t.write(stack, pending) {
                        Ok(n) => {
                            pending.drain(..n);
                            did = true;
                        }
                        Err(Net(WouldBlock)) => return Ok(did),
                        Err(e) => return Err(e),
                    }
                }
                match t.read(stack, &mut buf) {
                    Ok(0) => Err(Net(net::NetError::Closed)),
                    Ok(n) => {
                        pending.extend_from_slice(&buf[..n]);
                        Ok(true)
                    }
                    Err(Net(WouldBlock)) => Ok(did),
                    Err(e) => Err(e),
                }
            })();
            match r {
                Ok(a) => {
                    active |= a;
                    true
                }
                Err(Net(net::NetError::Closed)) => {
                    let _ = t.close(stack);
                    false
                }
                Err(e) => {
                    log::info!("tls-echo: connection ended: {e}");
                    stack.abort(t.conn());
                    false
                }
            }
        });
        active
    }

    /// Diagnostic echo service (RFC 862) for the platform tests.
    fn run_echo(&mut self) -> bool {
        let Some((l, conns)) = self.echo.as_mut() else { return false };
        let mut active = false;
        while let Some(c) = self.stack.accept(*l) {
            conns.insert(c, ());
            active = true;
        }
        let mut dead = Vec::new();
        let mut buf = [0u8; 2048];
        for &c in conns.keys() {
            loop {
                let room = self.stack.send_room(c).unwrap_or(0).min(buf.len());
                if room == 0 {
                    break;
                }
                match self.stack.recv(c, &mut buf[..room]) {
                    Ok(0) => {
                        // The client closed: close our side too (a socket
                        // left in CLOSE-WAIT counts toward its address's limit).
                        dead.push(c);
                        break;
                    }
                    Ok(n) => {
                        active = true;
                        let _ = self.stack.send(c, &buf[..n]);
                    }
                    Err(net::NetError::WouldBlock) => break,
                    Err(_) => {
                        dead.push(c);
                        break;
                    }
                }
            }
        }
        for c in dead {
            self.stack.close(c);
            conns.remove(&c);
        }
        active
    }
}

/// DKIM signers per domain from the config's `[dkim]` sections: key files
/// from the config disk, or `builtin:dkim-key` generated now (Ed25519; the
/// TXT record to publish is logged, and changes at every boot).
fn dkim_signers(
    config: &mail_config::Config,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, mail_authn::dkim::Signer>, String> {
    use mail_authn::dkim::{Signer, SigningKey};
    let mut out: BTreeMap<String, Signer> = BTreeMap::new();
    for k in &config.dkim {
        let key = match &k.key {
            mail_config::FileRef::Path(p) => {
                let pem = files
                    .get(p)
                    .and_then(|b| core::str::from_utf8(b).ok())
                    .ok_or_else(|| alloc::format!("dkim: {p}: not loaded"))?;
                SigningKey::from_pem(pem).map_err(|e| alloc::format!("dkim: {p}: {e:?}"))?
            }
            mail_config::FileRef::Builtin(_) => {
                let mut seed = [0u8; 32];
                crate::rand::fill(&mut seed);
                SigningKey::ed25519_from_seed(&seed)
            }
        };
        if let Ok(rec) = key.dns_record() {
            log::info!("dkim: {}._domainkey.{} TXT \"{rec}\"", k.selector, k.domain);
        }
        out.entry(k.domain.to_ascii_lowercase()).or_insert_with(Signer::new).add_key(&k.domain, &k.selector, key);
    }
    Ok(out)
}

//! Sending from the outbound queue: for each due (message, destination
//! domain), look up the MX hosts and their addresses with the resolver,
//! connect from the configured address of the same family (SPF depends on
//! it), and drive `mail-outbound`'s delivery state machine (opportunistic
//! STARTTLS with the rustls client). Results go back into the queue
//! durably; permanent failures and long delays produce RFC 3464 reports to
//! the sender (never to `<>`), and finished entries are removed.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::IpAddr;
use mail_outbound::delivery::{Attempt, Delivery, DeliveryConfig, DeliveryEvent, Report};
use mail_outbound::dsn;
use mail_outbound::mx::{self, Families, MxAnswer, MxHost, MxRecord, Target};
use mail_outbound::queue::{AttemptResult, Queue};
use mail_outbound::schedule::{DomainLimiter, Schedule};
use net::dns::{Answer, DnsClient, QueryId, Record, Rtype};
use net::smoltcp::wire::IpEndpoint;
use net::{ConnId, Stack};

use crate::link::{Link, Read};
use crate::nic::VirtioPhy;
use crate::storage::MailFs;

/// No reply for this long ends an attempt (RFC 5321 4.5.3.2 asks for
/// minutes; one value keeps it simple).
const IDLE_MS: u64 = 300_000;
const CONNECT_MS: u64 = 30_000;

enum St {
    Mx(QueryId),
    Addrs { hosts: Vec<MxHost>, pending: Vec<(String, QueryId)>, addrs: BTreeMap<String, Vec<IpAddr>> },
    Try { targets: Vec<Target>, i: usize, session: Option<Talk> },
    Finish { results: Vec<(usize, AttemptResult)>, remote: Option<String> },
}

struct Talk {
    link: Link,
    conn: ConnId,
    d: Option<Delivery>,
    since: u64,
    out: Vec<u8>,
    handshaking: bool,
}

struct Job {
    id: String,
    domain: String,
    idx: Vec<usize>,
    st: St,
}

pub struct Outbound {
    jobs: Vec<Job>,
    limiter: DomainLimiter,
    schedule: Schedule,
    cfg: DeliveryConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    families: Families,
    hostname: String,
    next_scan: u64,
    pub sent: u64,
}

impl Outbound {
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }
}

fn all(idx: &[usize], r: AttemptResult) -> Vec<(usize, AttemptResult)> {
    idx.iter().map(|&i| (i, r.clone())).collect()
}

impl Outbound {
    pub fn new(hostname: &str, v4: bool, v6: bool, q: &mail_config::QueueSettings) -> Outbound {
        let tls = net::tls::client_config(net::tls::ClientVerify::Opportunistic, Arc::new(crate::tls::KernelTime))
            .map_err(|e| log::warn!("outbound: no TLS client: {e}"))
            .ok();
        Outbound {
            jobs: Vec::new(),
            limiter: DomainLimiter::new(2, 16),
            schedule: {
                let mut sc = Schedule::default();
                sc.initial = q.retry_initial.as_secs();
                sc.cap = q.retry_max.as_secs();
                sc.give_up = q.give_up.as_secs();
                sc
            },
            cfg: DeliveryConfig::new(hostname),
            tls,
            families: Families { v4, v6 },
            hostname: hostname.into(),
            next_scan: 0,
            sent: 0,
        }
    }

    pub fn poll(
        &mut self,
        q: &mut Queue,
        stack: &mut Stack<VirtioPhy>,
        mut dns: Option<&mut DnsClient>,
        fs: &mut MailFs,
        now_ms: u64,
    ) -> bool {
        let now = crate::time::unix_time();
        let mut active = false;
        if now_ms >= self.next_scan {
            self.next_scan = now_ms + 1000;
            for e in q.due(now) {
                for (domain, idx) in e.due_by_domain(now) {
                    if self.jobs.iter().any(|j| j.id == e.id && j.domain == domain)
                        || !self.limiter.try_acquire(&domain)
                    {
                        continue;
                    }
                    let st = match dns.as_deref_mut() {
                        Some(d) => St::Mx(d.query(&domain, Rtype::Mx, now_ms)),
                        None => St::Finish {
                            results: all(
                                &idx,
                                AttemptResult::TempFail("4.4.3 no DNS resolver configured (dns=)".into()),
                            ),
                            remote: None,
                        },
                    };
                    log::info!("outbound: {}: delivering to {domain} ({} recipients)", e.id, idx.len());
                    self.jobs.push(Job { id: e.id.clone(), domain, idx, st });
                    active = true;
                }
            }
        }
        for j in 0..self.jobs.len() {
            active |= self.step(j, q, stack, dns.as_deref_mut(), fs, now_ms);
        }
        // Record finished jobs.
        let mut i = 0;
        while i < self.jobs.len() {
            if let St::Finish { .. } = self.jobs[i].st {
                let job = self.jobs.remove(i);
                self.finish(job, q, fs, now);
                active = true;
            } else {
                i += 1;
            }
        }
        active
    }

    fn step(
        &mut self,
        j: usize,
        q: &mut Queue,
        stack: &mut Stack<VirtioPhy>,
        dns: Option<&mut DnsClient>,
        fs: &mut MailFs,
        now_ms: u64,
    ) -> bool {
        let job = &mut self.jobs[j];
        match &mut job.st {
            St::Mx(qid) => {
                let Some(d) = dns else { return false };
                let Some(a) = d.take_answer(*qid) else { return false };
                let ans = match a {
                    Answer::Records { records, .. } => MxAnswer::Records(
                        records
                            .into_iter()
                            .filter_map(|r| match r {
                                Record::Mx { preference, exchange } => Some(MxRecord { preference, exchange }),
                                _ => None,
                            })
                            .collect(),
                    ),
                    Answer::NoData => MxAnswer::NoData,
                    Answer::NxDomain => MxAnswer::NoSuchDomain,
                    _ => MxAnswer::TempFail,
                };
                let mut rnd = |n: usize| (crate::rand::u64() % n.max(1) as u64) as usize;
                job.st = match mx::hosts(&job.domain, &ans, &[self.hostname.as_str()], &mut rnd) {
                    Ok(hosts) => {
                        let mut pending = Vec::new();
                        for h in &hosts {
                            if self.families.v6 {
                                pending.push((h.name.clone(), d.query(&h.name, Rtype::Aaaa, now_ms)));
                            }
                            if self.families.v4 {
                                pending.push((h.name.clone(), d.query(&h.name, Rtype::A, now_ms)));
                            }
                        }
                        St::Addrs { hosts, pending, addrs: BTreeMap::new() }
                    }
                    Err(mx::MxError::Permanent(r)) => {
                        St::Finish { results: all(&job.idx, AttemptResult::PermFail(r)), remote: None }
                    }
                    Err(mx::MxError::Temporary(r)) => {
                        St::Finish { results: all(&job.idx, AttemptResult::TempFail(r)), remote: None }
                    }
                };
                true
            }
            St::Addrs { hosts, pending, addrs } => {
                let Some(d) = dns else { return false };
                let mut moved = false;
                pending.retain(|(host, qid)| match d.take_answer(*qid) {
                    Some(a) => {
                        moved = true;
                        if let Answer::Records { records, .. } = a {
                            let v = addrs.entry(host.clone()).or_default();
                            for r in records {
                                match r {
                                    Record::A(a) => v.push(IpAddr::V4(a)),
                                    Record::Aaaa(a) => v.push(IpAddr::V6(a)),
                                    _ => {}
                                }
                            }
                        }
                        false
                    }
                    None => true,
                });
                if pending.is_empty() {
                    let mut lookup = |h: &str| addrs.get(h).cloned().unwrap_or_default();
                    let found = mx::targets(hosts, self.families, &mut lookup);
                    job.st = match found {
                        Ok(t) if !t.is_empty() => St::Try { targets: t, i: 0, session: None },
                        Ok(_) => St::Finish {
                            results: all(&job.idx, AttemptResult::TempFail("4.4.4 no address for any MX host".into())),
                            remote: None,
                        },
                        Err(mx::MxError::Permanent(r)) => {
                            St::Finish { results: all(&job.idx, AttemptResult::PermFail(r)), remote: None }
                        }
                        Err(mx::MxError::Temporary(r)) => {
                            St::Finish { results: all(&job.idx, AttemptResult::TempFail(r)), remote: None }
                        }
                    };
                    moved = true;
                }
                moved
            }
            St::Try { targets, i, session } => {
                let t = targets[*i].clone();
                let entry = match q.get(&job.id) {
                    Some(e) => e.clone(),
                    None => {
                        job.st = St::Finish { results: Vec::new(), remote: None };
                        return true;
                    }
                };
                let attempt = || Attempt {
                    sender: entry.sender.clone(),
                    recipients: job
                        .idx
                        .iter()
                        .filter_map(|&k| entry.recipients.get(k).map(|r| (k, r.address.clone())))
                        .collect(),
                    size: entry.size,
                    eight_bit: false,
                    smtputf8: false,
                };
                let mut report: Option<Report> = None;
                let mut moved = false;
                match session {
                    None => match stack.connect(IpEndpoint::new(t.addr.into(), 25)) {
                        Ok(c) => {
                            *session = Some(Talk {
                                link: Link::Plain(c),
                                conn: c,
                                d: None,
                                since: now_ms,
                                out: Vec::new(),
                                handshaking: false,
                            });
                            moved = true;
                        }
                        Err(e) => {
                            report =
                                Some(Delivery::connect_failed(&self.cfg, &t.host, attempt(), &alloc::format!("{e}")))
                        }
                    },
                    Some(s) => {
                        let state = stack.tcp_state(s.conn).ok();
                        let closed = matches!(state, None | Some(net::smoltcp::socket::tcp::State::Closed));
                        if s.d.is_none() {
                            if stack.is_established(s.conn) {
                                s.d = Some(Delivery::new(&self.cfg, &t.host, attempt()));
                                s.since = now_ms;
                                moved = true;
                            } else if closed || now_ms.saturating_sub(s.since) > CONNECT_MS {
                                stack.abort(s.conn);
                                report =
                                    Some(Delivery::connect_failed(&self.cfg, &t.host, attempt(), "connection failed"));
                            }
                        }
                        if let Some(d) = s.d.as_mut() {
                            if s.handshaking && !s.link.is_handshaking() && s.link.tls_info().is_some() {
                                s.handshaking = false;
                                d.tls_established();
                                moved = true;
                            }
                            let mut buf = [0u8; 2048];
                            match s.link.read(stack, &mut buf) {
                                Read::Data(n) => {
                                    d.feed(&buf[..n]);
                                    s.since = now_ms;
                                    moved = true;
                                }
                                Read::Nothing => {}
                                Read::Eof | Read::Failed(_) => {
                                    if s.handshaking {
                                        d.tls_failed();
                                    } else {
                                        d.connection_lost();
                                    }
                                }
                            }
                            if now_ms.saturating_sub(s.since) > IDLE_MS {
                                d.timeout();
                            }
                            while let Some(ev) = d.poll() {
                                moved = true;
                                match ev {
                                    DeliveryEvent::StartTls => {
                                        s.out.extend_from_slice(&d.take_output());
                                        let _ = s.link.write(stack, &mut s.out);
                                        match self.tls.as_ref().map(|c| s.link.start_tls_client(c, &t.host)) {
                                            Some(Ok(())) => s.handshaking = true,
                                            _ => d.tls_failed(),
                                        }
                                    }
                                    DeliveryEvent::SendContent => match q.read_message(fs, &job.id) {
                                        Ok(m) => {
                                            d.write_content(&m);
                                            d.end_content();
                                        }
                                        Err(e) => {
                                            log::error!("outbound: {}: reading the message: {e:?}", job.id);
                                            d.connection_lost();
                                        }
                                    },
                                    DeliveryEvent::Finished(r) => report = Some(r),
                                }
                            }
                            s.out.extend_from_slice(&d.take_output());
                            if s.link.write(stack, &mut s.out).is_err() {
                                d.connection_lost();
                            }
                        }
                    }
                }
                if let Some(r) = report {
                    if let Some(mut s) = session.take() {
                        s.link.close(stack);
                    }
                    log::info!("outbound: {}: {} [{}]: {:?} (tls: {})", job.id, t.host, t.addr, r.results, r.tls);
                    if r.try_next_host && *i + 1 < targets.len() {
                        *i += 1;
                    } else {
                        let remote = Some(r.host.clone());
                        job.st = St::Finish { results: r.results, remote };
                    }
                    moved = true;
                }
                moved
            }
            St::Finish { .. } => false,
        }
    }

    fn finish(&mut self, job: Job, q: &mut Queue, fs: &mut MailFs, now: u64) {
        self.limiter.release(&job.domain);
        let St::Finish { results, remote } = job.st else { return };
        if !results.is_empty() {
            self.sent += results.iter().filter(|(_, r)| matches!(r, AttemptResult::Delivered(_))).count() as u64;
            if let Err(e) = q.record_results(fs, &job.id, &results, now, &self.schedule) {
                log::error!("outbound: {}: recording results: {e:?}", job.id);
                return;
            }
        }
        let Some(e) = q.get(&job.id).cloned() else { return };
        let fails = e.unreported_failures();
        let warn = e.delay_warning_due(&self.schedule, now);
        if !fails.is_empty() || !warn.is_empty() {
            let mut idx = fails.clone();
            idx.extend(warn.iter().copied());
            let recips = dsn::recipients_from_entry(&e, &idx, remote.as_deref(), &self.schedule);
            let headers = q.read_headers(fs, &job.id, 64 * 1024).unwrap_or_default();
            let input = dsn::DsnInput {
                hostname: &self.hostname,
                original_sender: &e.sender,
                queue_id: &e.id,
                arrival: e.arrival,
                now,
                nonce: crate::rand::u64(),
                recipients: &recips,
                original_headers: &headers,
            };
            if let Some(d) = dsn::build(&input) {
                match q.enqueue(fs, "", &[d.recipient.as_str()], &d.message, now, crate::rand::u64() as u32) {
                    Ok(id) => {
                        log::info!("outbound: {}: delivery status notification to {} queued as {id}", e.id, d.recipient)
                    }
                    Err(err) => {
                        log::error!("outbound: {}: queueing the DSN: {err:?}", e.id);
                        return;
                    }
                }
            }
            if let Err(err) = q.mark_notified(fs, &job.id, &fails, !warn.is_empty(), now) {
                log::error!("outbound: {}: {err:?}", e.id);
            }
        }
        if q.get(&job.id).is_some_and(|e| e.is_done()) {
            match q.remove(fs, &job.id, false, now) {
                Ok(_) => log::info!("outbound: {}: done, removed from the queue", job.id),
                Err(err) => log::error!("outbound: {}: removing: {err:?}", job.id),
            }
        }
    }
}

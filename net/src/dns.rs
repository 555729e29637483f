//! DNS stub resolver: a sans-IO [`Resolver`] (messages built and parsed
//! with hickory-proto) and [`DnsClient`], its glue onto the [`Stack`]'s UDP
//! and TCP sockets.
//!
//! The resolver asks the configured recursive servers (RFC 1035 7, RFC 1123
//! 6.1.3.1 stub resolver), with retries over the servers, a per-attempt
//! timeout, TCP on truncation (RFC 7766 5, RFC 1035 4.2.2), CNAME chasing
//! (RFC 1034 3.6.2, bounded), a bounded TTL-honouring cache (RFC 1035 7.4)
//! with negative caching (RFC 2308 5: min(SOA TTL, SOA MINIMUM)), and
//! spoofing resistance from random IDs and random source ports (RFC 5452
//! 9.2, 9.3): both come from the caller's random source.
//!
//! Use: `query` → repeatedly `poll_transmit` (send) / `handle_response`
//! (received) / `handle_timeout` (at `poll_deadline`) → `take_answer`.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use smoltcp::phy::Device;
use smoltcp::wire::{IpAddress, IpEndpoint};

use crate::{ConnId, NetError, Stack, UdpId};

/// The record types the mail server asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rtype {
    /// IPv4 address (RFC 1035 3.4.1).
    A,
    /// IPv6 address (RFC 3596).
    Aaaa,
    /// Mail exchanger (RFC 1035 3.3.9, RFC 5321 5.1).
    Mx,
    /// Text: SPF, DKIM keys, DMARC, MTA-STS (RFC 1035 3.3.14).
    Txt,
    /// Reverse pointer (RFC 1035 3.3.12).
    Ptr,
    /// DANE TLSA (RFC 6698 2).
    Tlsa,
    /// The CNAME itself (not followed).
    Cname,
}

impl Rtype {
    fn to_hickory(self) -> RecordType {
        match self {
            Rtype::A => RecordType::A,
            Rtype::Aaaa => RecordType::AAAA,
            Rtype::Mx => RecordType::MX,
            Rtype::Txt => RecordType::TXT,
            Rtype::Ptr => RecordType::PTR,
            Rtype::Tlsa => RecordType::TLSA,
            Rtype::Cname => RecordType::CNAME,
        }
    }
}

/// One answer record, in plain types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A mail exchanger; `exchange` without the trailing dot.
    Mx {
        /// Lower is preferred (RFC 5321 5.1).
        preference: u16,
        /// The host name.
        exchange: String,
    },
    /// The character-strings of one TXT record, unjoined (SPF and DKIM
    /// concatenate them: RFC 7208 3.3, RFC 6376 3.6.2.2).
    Txt(Vec<Vec<u8>>),
    /// A PTR target without the trailing dot.
    Ptr(String),
    /// A DANE TLSA record (RFC 6698 2.1).
    Tlsa {
        /// Certificate usage (0-3).
        usage: u8,
        /// Selector (0 full cert, 1 SPKI).
        selector: u8,
        /// Matching type (0 exact, 1 SHA-256, 2 SHA-512).
        matching: u8,
        /// Association data.
        data: Vec<u8>,
    },
    /// A CNAME target (only for [`Rtype::Cname`] queries).
    Cname(String),
}

/// The outcome of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Records of the asked type (after following CNAMEs).
    Records {
        /// The records.
        records: Vec<Record>,
        /// Seconds they may still be cached.
        ttl: u32,
        /// The name that finally had the records (differs after CNAMEs).
        canonical: String,
    },
    /// The name exists but has no records of this type (RFC 2308 2.2).
    NoData,
    /// The name does not exist (RCODE 3, RFC 2308 2.1).
    NxDomain,
    /// Every server failed or refused (SERVFAIL, REFUSED, bad replies);
    /// callers treat this as a temporary error (e.g. SPF temperror).
    ServFail,
    /// No server answered in time.
    Timeout,
    /// The name is not a valid domain name, or the query could not be made.
    BadName,
    /// CNAME chain longer than the limit, or a loop.
    CnameLoop,
}

/// A query in flight, returned by [`Resolver::query`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueryId(u32);

/// Resolver limits and servers.
#[derive(Debug, Clone)]
pub struct ResolverConfig {
    /// Recursive servers, tried in order, round robin on failure (max 4).
    pub servers: Vec<IpAddr>,
    /// Time to wait for one reply (RFC 1536 suggests seconds, not less).
    pub timeout_ms: u64,
    /// Rounds over all servers before giving up (RFC 1123 6.1.3.3).
    pub rounds: u32,
    /// Cache entries (positive and negative together).
    pub cache_entries: usize,
    /// Cap on any TTL, in seconds.
    pub max_ttl: u32,
    /// Cap on negative-caching TTL (RFC 2308 5 suggests 1-3 hours max).
    pub max_negative_ttl: u32,
    /// Negative TTL when the reply carries no SOA.
    pub default_negative_ttl: u32,
    /// CNAME hops followed (across queries).
    pub max_cname: u8,
    /// Queries in flight at once.
    pub max_pending: usize,
    /// EDNS0 UDP payload size advertised (RFC 6891; 1232 per DNS flag day 2020).
    pub udp_payload: u16,
    /// Largest reply accepted over TCP.
    pub max_tcp_reply: usize,
}

impl ResolverConfig {
    /// Defaults for `servers`.
    pub fn new(servers: Vec<IpAddr>) -> Self {
        ResolverConfig {
            servers,
            timeout_ms: 2000,
            rounds: 2,
            cache_entries: 1024,
            max_ttl: 86_400,
            max_negative_ttl: 3600,
            default_negative_ttl: 60,
            max_cname: 8,
            max_pending: 256,
            udp_payload: 1232,
            max_tcp_reply: 65_535,
        }
    }
}

/// A message to send, from [`Resolver::poll_transmit`].
#[derive(Debug, Clone)]
pub struct Transmit {
    /// The query it belongs to (pass back to `handle_response`).
    pub query: QueryId,
    /// The server (port 53).
    pub server: IpAddr,
    /// Send over TCP (with the 2-byte length prefix added by the glue).
    pub tcp: bool,
    /// The DNS message. Each transmit is a new attempt: the glue uses a
    /// fresh socket (new random source port, RFC 5452 9.2) for it.
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NeedSend,
    Waiting { deadline: u64 },
}

struct Pending {
    orig: String,
    rtype: Rtype,
    cur: Name,
    cur_str: String,
    hops: u8,
    min_ttl: u32,
    attempt: u32,
    server: usize,
    tcp: bool,
    msg_id: u16,
    phase: Phase,
}

struct CacheEntry {
    expires_ms: u64,
    answer: Answer,
}

/// The sans-IO stub resolver.
pub struct Resolver {
    cfg: ResolverConfig,
    rng: Box<dyn FnMut() -> u32>,
    pending: BTreeMap<QueryId, Pending>,
    done: BTreeMap<QueryId, Answer>,
    order: VecDeque<QueryId>,
    cache: BTreeMap<(String, Rtype), CacheEntry>,
    next_id: u32,
}

/// Lower-case, no trailing dot: the key used for names everywhere here.
fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn name_str(n: &Name) -> String {
    norm(&n.to_ascii())
}

/// The reverse-lookup name of an address (RFC 1035 3.5, RFC 3596 2.5).
pub fn ptr_name(ip: IpAddr) -> String {
    let mut s = String::new();
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            let _ = write!(s, "{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]);
        }
        IpAddr::V6(a) => {
            for b in a.octets().iter().rev() {
                let _ = write!(s, "{:x}.{:x}.", b & 0xf, b >> 4);
            }
            s.push_str("ip6.arpa");
        }
    }
    s
}

impl Resolver {
    /// A resolver asking `cfg.servers`; `rng` supplies message IDs.
    pub fn new(cfg: ResolverConfig, rng: Box<dyn FnMut() -> u32>) -> Self {
        Resolver {
            cfg,
            rng,
            pending: BTreeMap::new(),
            done: BTreeMap::new(),
            order: VecDeque::new(),
            cache: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ResolverConfig {
        &self.cfg
    }

    /// Start a query. Cached answers complete at once (`take_answer`).
    pub fn query(&mut self, name: &str, rtype: Rtype, now_ms: u64) -> QueryId {
        let id = QueryId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        let key = (norm(name), rtype);
        if let Some(a) = self.cache_get(&key, now_ms) {
            self.finish_with(id, a);
            return id;
        }
        let parsed = Name::from_ascii(name).ok().filter(|_| !key.0.is_empty() && name.len() <= 253);
        let Some(mut qname) = parsed else {
            self.finish_with(id, Answer::BadName);
            return id;
        };
        qname.set_fqdn(true);
        if self.pending.len() >= self.cfg.max_pending || self.cfg.servers.is_empty() {
            self.finish_with(id, Answer::ServFail);
            return id;
        }
        self.pending.insert(
            id,
            Pending {
                orig: key.0,
                rtype,
                cur_str: name_str(&qname),
                cur: qname,
                hops: 0,
                min_ttl: u32::MAX,
                attempt: 0,
                server: 0,
                tcp: false,
                msg_id: 0,
                phase: Phase::NeedSend,
            },
        );
        id
    }

    /// Is `q` still waiting for the network?
    pub fn is_pending(&self, q: QueryId) -> bool {
        self.pending.contains_key(&q)
    }

    /// Forget a query (its answer, if it comes, is ignored).
    pub fn cancel(&mut self, q: QueryId) {
        self.pending.remove(&q);
        self.done.remove(&q);
    }

    /// The answer of a finished query (once).
    pub fn take_answer(&mut self, q: QueryId) -> Option<Answer> {
        self.done.remove(&q)
    }

    /// Finished queries not yet taken, oldest first.
    pub fn finished(&self) -> impl Iterator<Item = QueryId> + '_ {
        self.order.iter().copied().filter(|q| self.done.contains_key(q))
    }

    fn finish_with(&mut self, q: QueryId, a: Answer) {
        self.pending.remove(&q);
        self.done.insert(q, a);
        self.order.push_back(q);
        // Answers nobody takes must not pile up (bounded everything).
        while self.order.len() > self.cfg.max_pending * 2 {
            if let Some(old) = self.order.pop_front() {
                self.done.remove(&old);
            }
        }
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self, now_ms: u64) -> Option<Transmit> {
        let (&q, p) = self.pending.iter_mut().find(|(_, p)| p.phase == Phase::NeedSend)?;
        let msg_id = (self.rng)() as u16;
        p.msg_id = msg_id;
        let mut m = Message::new(msg_id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(p.cur.clone(), p.rtype.to_hickory()));
        let mut edns = Edns::new();
        edns.set_max_payload(self.cfg.udp_payload);
        m.set_edns(edns);
        let data = match m.to_vec() {
            Ok(d) => d,
            Err(_) => {
                self.finish_with(q, Answer::BadName);
                return self.poll_transmit(now_ms);
            }
        };
        let timeout = if p.tcp { self.cfg.timeout_ms * 2 } else { self.cfg.timeout_ms };
        p.phase = Phase::Waiting { deadline: now_ms + timeout };
        let server = self.cfg.servers[p.server % self.cfg.servers.len()];
        Some(Transmit { query: q, server, tcp: p.tcp, data })
    }

    /// When `handle_timeout` must run next.
    pub fn poll_deadline(&self) -> Option<u64> {
        self.pending
            .values()
            .map(|p| match p.phase {
                Phase::NeedSend => 0,
                Phase::Waiting { deadline } => deadline,
            })
            .min()
    }

    /// Expire attempts whose deadline passed: try the next server, or give up.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let expired: Vec<QueryId> = self
            .pending
            .iter()
            .filter(|(_, p)| matches!(p.phase, Phase::Waiting { deadline } if deadline <= now_ms))
            .map(|(q, _)| *q)
            .collect();
        for q in expired {
            self.retry(q, Answer::Timeout);
        }
    }

    /// The transport failed for `q` (TCP refused/reset): like a timeout.
    pub fn handle_failure(&mut self, q: QueryId) {
        if self.pending.contains_key(&q) {
            self.retry(q, Answer::ServFail);
        }
    }

    fn retry(&mut self, q: QueryId, give_up: Answer) {
        let total = self.cfg.servers.len() as u32 * self.cfg.rounds.max(1);
        let Some(p) = self.pending.get_mut(&q) else { return };
        p.attempt += 1;
        if p.attempt >= total {
            self.finish_with(q, give_up);
            return;
        }
        p.server += 1;
        p.tcp = false;
        p.phase = Phase::NeedSend;
    }

    /// A reply arrived for `q` from `from`. Replies that do not match the
    /// outstanding ID, server or question are ignored (RFC 5452 9.1).
    pub fn handle_response(&mut self, q: QueryId, from: IpAddr, data: &[u8], now_ms: u64) {
        let Some(p) = self.pending.get(&q) else { return };
        if !matches!(p.phase, Phase::Waiting { .. }) {
            return;
        }
        let server = self.cfg.servers[p.server % self.cfg.servers.len()];
        if from != server {
            return;
        }
        let Ok(m) = Message::from_vec(data) else { return };
        if m.metadata.id != p.msg_id || m.metadata.message_type != MessageType::Response {
            return;
        }
        let qt = p.rtype.to_hickory();
        let question_ok =
            m.queries.len() == 1 && m.queries[0].query_type == qt && name_str(&m.queries[0].name) == p.cur_str;
        if !question_ok {
            return;
        }
        // RFC 7766 5 / RFC 1035 4.2.1: a truncated UDP reply is retried over TCP.
        if m.metadata.truncation && !p.tcp {
            let p = self.pending.get_mut(&q).unwrap();
            p.tcp = true;
            p.phase = Phase::NeedSend;
            return;
        }
        match m.metadata.response_code {
            ResponseCode::NoError => self.on_noerror(q, &m, now_ms),
            ResponseCode::NXDomain => {
                let ttl = self.negative_ttl(&m);
                self.finish_cached(q, Answer::NxDomain, ttl, now_ms);
            }
            _ => self.retry(q, Answer::ServFail),
        }
    }

    fn negative_ttl(&self, m: &Message) -> u32 {
        // RFC 2308 5: the TTL of a negative answer is min(SOA TTL, SOA MINIMUM).
        m.authorities
            .iter()
            .find_map(|r| match &r.data {
                RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
                _ => None,
            })
            .unwrap_or(self.cfg.default_negative_ttl)
            .min(self.cfg.max_negative_ttl)
    }

    fn on_noerror(&mut self, q: QueryId, m: &Message, now_ms: u64) {
        let Some(p) = self.pending.get(&q) else { return };
        let want = p.rtype.to_hickory();
        let mut cur = p.cur_str.clone();
        let mut cur_name = p.cur.clone();
        let mut min_ttl = p.min_ttl;
        let mut hops = p.hops;
        let first_hops = p.hops;
        // Follow the CNAME chain inside this reply (RFC 1034 3.6.2, 5.2.2).
        loop {
            let mut records = Vec::new();
            let mut rec_ttl = u32::MAX;
            let mut cname: Option<(Name, u32)> = None;
            for r in &m.answers {
                if name_str(&r.name) != cur {
                    continue;
                }
                if r.record_type() == want {
                    if let Some(rec) = convert(&r.data) {
                        records.push(rec);
                        rec_ttl = rec_ttl.min(r.ttl);
                    }
                } else if let RData::CNAME(c) = &r.data {
                    cname = Some((c.0.clone(), r.ttl));
                }
            }
            if !records.is_empty() {
                let ttl = min_ttl.min(rec_ttl).min(self.cfg.max_ttl);
                let a = Answer::Records { records, ttl, canonical: cur };
                self.finish_cached(q, a, ttl, now_ms);
                return;
            }
            match cname {
                Some((target, ttl)) => {
                    hops += 1;
                    let t = name_str(&target);
                    if hops > self.cfg.max_cname || t == cur {
                        self.finish_with(q, Answer::CnameLoop);
                        return;
                    }
                    min_ttl = min_ttl.min(ttl);
                    cur = t;
                    cur_name = target;
                }
                None => break,
            }
        }
        if hops > first_hops {
            // The chain leaves this reply: ask for the target.
            let Some(p) = self.pending.get_mut(&q) else { return };
            p.hops = hops;
            p.cur = cur_name;
            p.cur_str = cur;
            p.min_ttl = min_ttl;
            p.tcp = false;
            p.phase = Phase::NeedSend;
            return;
        }
        let ttl = self.negative_ttl(m);
        self.finish_cached(q, Answer::NoData, ttl, now_ms);
    }

    fn finish_cached(&mut self, q: QueryId, a: Answer, ttl: u32, now_ms: u64) {
        if let Some(p) = self.pending.get(&q) {
            let key = (p.orig.clone(), p.rtype);
            if ttl > 0 {
                self.cache_put(key, a.clone(), ttl, now_ms);
            }
        }
        self.finish_with(q, a);
    }

    fn cache_get(&mut self, key: &(String, Rtype), now_ms: u64) -> Option<Answer> {
        let e = self.cache.get(key)?;
        if e.expires_ms <= now_ms {
            self.cache.remove(key);
            return None;
        }
        let left = ((e.expires_ms - now_ms) / 1000) as u32;
        Some(match &e.answer {
            Answer::Records { records, canonical, .. } => {
                Answer::Records { records: records.clone(), ttl: left, canonical: canonical.clone() }
            }
            other => other.clone(),
        })
    }

    fn cache_put(&mut self, key: (String, Rtype), answer: Answer, ttl: u32, now_ms: u64) {
        if self.cfg.cache_entries == 0 {
            return;
        }
        if self.cache.len() >= self.cfg.cache_entries && !self.cache.contains_key(&key) {
            self.cache.retain(|_, e| e.expires_ms > now_ms);
            if self.cache.len() >= self.cfg.cache_entries {
                // Evict the entry closest to expiry.
                if let Some(k) = self.cache.iter().min_by_key(|(_, e)| e.expires_ms).map(|(k, _)| k.clone()) {
                    self.cache.remove(&k);
                }
            }
        }
        self.cache.insert(key, CacheEntry { expires_ms: now_ms + u64::from(ttl) * 1000, answer });
    }

    /// Entries in the cache (expired ones included until touched).
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Drop every cached answer.
    pub fn flush_cache(&mut self) {
        self.cache.clear();
    }
}

fn convert(d: &RData) -> Option<Record> {
    Some(match d {
        RData::A(a) => Record::A(a.0),
        RData::AAAA(a) => Record::Aaaa(a.0),
        RData::MX(mx) => Record::Mx { preference: mx.preference, exchange: name_str(&mx.exchange) },
        RData::TXT(t) => Record::Txt(t.txt_data.iter().map(|s| s.to_vec()).collect()),
        RData::PTR(p) => Record::Ptr(name_str(&p.0)),
        RData::CNAME(c) => Record::Cname(name_str(&c.0)),
        RData::TLSA(t) => Record::Tlsa {
            usage: u8::from(t.cert_usage),
            selector: u8::from(t.selector),
            matching: u8::from(t.matching),
            data: t.cert_data.clone(),
        },
        _ => return None,
    })
}

// ------------------------------------------------------------ glue

struct TcpQuery {
    conn: ConnId,
    server: IpAddr,
    out: Vec<u8>,
    sent: usize,
    inbuf: Vec<u8>,
}

/// The resolver driven over a [`Stack`]: one UDP socket per attempt (fresh
/// random source port each time), one TCP connection per truncated reply.
pub struct DnsClient {
    resolver: Resolver,
    udp: BTreeMap<QueryId, (UdpId, IpAddr)>,
    tcp: BTreeMap<QueryId, TcpQuery>,
}

fn ip_of(a: IpAddress) -> IpAddr {
    match a {
        IpAddress::Ipv4(v) => IpAddr::V4(v),
        IpAddress::Ipv6(v) => IpAddr::V6(v),
    }
}

fn addr_of(a: IpAddr) -> IpAddress {
    match a {
        IpAddr::V4(v) => IpAddress::Ipv4(v),
        IpAddr::V6(v) => IpAddress::Ipv6(v),
    }
}

impl DnsClient {
    /// Wrap a resolver.
    pub fn new(resolver: Resolver) -> Self {
        DnsClient { resolver, udp: BTreeMap::new(), tcp: BTreeMap::new() }
    }

    /// The sans-IO resolver (cache, config).
    pub fn resolver(&mut self) -> &mut Resolver {
        &mut self.resolver
    }

    /// Start a query (see [`Resolver::query`]); call `poll` to send it.
    pub fn query(&mut self, name: &str, rtype: Rtype, now_ms: u64) -> QueryId {
        self.resolver.query(name, rtype, now_ms)
    }

    /// The answer, once the query finished.
    pub fn take_answer(&mut self, q: QueryId) -> Option<Answer> {
        self.resolver.take_answer(q)
    }

    /// Forget a query and free its sockets.
    pub fn cancel<D: Device>(&mut self, stack: &mut Stack<D>, q: QueryId) {
        self.resolver.cancel(q);
        self.release(stack, q);
    }

    /// When `poll` must run next even without packets.
    pub fn poll_deadline(&self) -> Option<u64> {
        self.resolver.poll_deadline()
    }

    fn release<D: Device>(&mut self, stack: &mut Stack<D>, q: QueryId) {
        if let Some((u, _)) = self.udp.remove(&q) {
            stack.udp_close(u);
        }
        if let Some(t) = self.tcp.remove(&q) {
            stack.abort(t.conn);
        }
    }

    /// Run after `Stack::poll`: receive replies, expire attempts, send
    /// what the resolver wants sent (then poll the stack again to flush).
    pub fn poll<D: Device>(&mut self, stack: &mut Stack<D>, now_ms: u64) {
        let mut buf = alloc::vec![0u8; 4096];
        // UDP replies.
        let qs: Vec<QueryId> = self.udp.keys().copied().collect();
        for q in qs {
            let (u, server) = self.udp[&q];
            loop {
                match stack.udp_recv(u, &mut buf) {
                    Ok((n, from)) => {
                        if from.port == 53 && ip_of(from.addr) == server {
                            self.resolver.handle_response(q, server, &buf[..n], now_ms);
                        }
                    }
                    Err(NetError::Truncated) => continue,
                    Err(_) => break,
                }
            }
        }
        // TCP replies (RFC 1035 4.2.2: 2-byte length prefix).
        let qs: Vec<QueryId> = self.tcp.keys().copied().collect();
        for q in qs {
            let max = self.resolver.cfg.max_tcp_reply + 2;
            let t = self.tcp.get_mut(&q).unwrap();
            let mut failed = false;
            if t.sent < t.out.len() && stack.is_established(t.conn) {
                match stack.send(t.conn, &t.out[t.sent..]) {
                    Ok(n) => t.sent += n,
                    Err(NetError::WouldBlock) => {}
                    Err(_) => failed = true,
                }
            }
            loop {
                let room = (max - t.inbuf.len()).min(buf.len());
                if room == 0 {
                    break;
                }
                match stack.recv(t.conn, &mut buf[..room]) {
                    Ok(0) => {
                        failed = true;
                        break;
                    }
                    Ok(n) => t.inbuf.extend_from_slice(&buf[..n]),
                    Err(NetError::WouldBlock) => break,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if t.inbuf.len() >= 2 {
                let len = usize::from(u16::from_be_bytes([t.inbuf[0], t.inbuf[1]]));
                if t.inbuf.len() >= 2 + len {
                    let server = t.server;
                    let msg = t.inbuf[2..2 + len].to_vec();
                    let conn = t.conn;
                    self.tcp.remove(&q);
                    stack.release(conn);
                    self.resolver.handle_response(q, server, &msg, now_ms);
                    continue;
                }
            }
            if failed {
                let conn = t.conn;
                self.tcp.remove(&q);
                stack.abort(conn);
                self.resolver.handle_failure(q);
            }
        }
        self.resolver.handle_timeout(now_ms);
        // Sends.
        while let Some(tx) = self.resolver.poll_transmit(now_ms) {
            self.release(stack, tx.query);
            let remote = IpEndpoint::new(addr_of(tx.server), 53);
            if tx.tcp {
                match stack.connect(remote) {
                    Ok(conn) => {
                        let mut out = Vec::with_capacity(tx.data.len() + 2);
                        out.extend_from_slice(&(tx.data.len() as u16).to_be_bytes());
                        out.extend_from_slice(&tx.data);
                        self.tcp
                            .insert(tx.query, TcpQuery { conn, server: tx.server, out, sent: 0, inbuf: Vec::new() });
                    }
                    Err(_) => self.resolver.handle_failure(tx.query),
                }
            } else {
                match stack.udp_bind(0) {
                    Ok(u) => {
                        if stack.udp_send(u, remote, &tx.data).is_err() {
                            stack.udp_close(u);
                            self.resolver.handle_failure(tx.query);
                        } else {
                            self.udp.insert(tx.query, (u, tx.server));
                        }
                    }
                    Err(_) => self.resolver.handle_failure(tx.query),
                }
            }
        }
        // Free sockets of finished queries.
        let stale: Vec<QueryId> =
            self.udp.keys().chain(self.tcp.keys()).copied().filter(|q| !self.resolver.is_pending(*q)).collect();
        for q in stale {
            self.release(stack, q);
        }
    }
}

impl core::fmt::Display for Answer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Answer::Records { records, .. } => write!(f, "{} record(s)", records.len()),
            other => write!(f, "{other:?}"),
        }
    }
}

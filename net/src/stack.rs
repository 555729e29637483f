//! The network stack: one smoltcp [`Interface`] over one [`Device`], its
//! [`SocketSet`], TCP listeners with a backlog of pre-opened sockets,
//! connection handles, outbound connects bound to the configured source
//! address, and UDP sockets (used by the DNS glue).
//!
//! smoltcp itself answers ARP (RFC 826), NDP (RFC 4861) and ICMP/ICMPv6 echo
//! (RFC 792, RFC 4443 4.1/4.2) for the addresses on its interface; nothing here
//! has to do it.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::iface::{Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::{tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint, Ipv4Address, Ipv4Cidr,
    Ipv6Address, Ipv6Cidr,
};

use crate::NetError;

/// Everything the kernel command line says about the network, plus the
/// per-socket limits (bounded everything: DESIGN.md rule 3).
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The NIC's MAC address.
    pub mac: [u8; 6],
    /// The one IPv4 address with its prefix, if any.
    pub ipv4: Option<Ipv4Cidr>,
    /// IPv4 default gateway.
    pub gateway4: Option<Ipv4Address>,
    /// The one global IPv6 address with its prefix, if any.
    pub ipv6: Option<Ipv6Cidr>,
    /// IPv6 default gateway (global or link-local).
    pub gateway6: Option<Ipv6Address>,
    /// Also configure the EUI-64 link-local fe80::/64 address (RFC 4291 2.5.6,
    /// RFC 4862 5.3), which routers commonly use to reach us.
    pub ipv6_link_local: bool,
    /// Receive buffer of each TCP connection (also its advertised window).
    pub tcp_rx_buffer: usize,
    /// Send buffer of each TCP connection.
    pub tcp_tx_buffer: usize,
    /// All TCP sockets together (listening backlog + connections): the
    /// hard bound on concurrent connections.
    pub max_tcp_sockets: usize,
    /// Inbound connections one client address may hold at once, lingering
    /// closes included; more are reset as soon as they are established, so
    /// that one host cannot fill the socket table (`max_tcp_sockets`).
    pub max_tcp_per_peer: usize,
    /// TCP user timeout: a connection whose data stays unacknowledged this
    /// long is aborted (RFC 5482 / RFC 793 "USER TIMEOUT").
    pub tcp_timeout_ms: u64,
    /// Keep-alive probe interval on established connections (RFC 1122 4.2.3.6).
    pub tcp_keepalive_ms: Option<u64>,
    /// A connection closed by us is forcibly freed after this long even if the
    /// peer never finishes the FIN exchange.
    pub close_linger_ms: u64,
    /// Payload bytes buffered by each UDP socket (each direction).
    pub udp_buffer: usize,
    /// Datagram slots of each UDP socket.
    pub udp_packets: usize,
    /// UDP sockets open at once (the DNS client opens one per query).
    pub max_udp_sockets: usize,
    /// Seed for smoltcp's initial sequence numbers and our ephemeral ports;
    /// the caller takes it from its entropy source.
    pub random_seed: u64,
}

impl StackConfig {
    /// A configuration with the given MAC, no addresses and modest limits.
    pub fn new(mac: [u8; 6], random_seed: u64) -> Self {
        StackConfig {
            mac,
            ipv4: None,
            gateway4: None,
            ipv6: None,
            gateway6: None,
            ipv6_link_local: true,
            tcp_rx_buffer: 16 * 1024,
            tcp_tx_buffer: 16 * 1024,
            max_tcp_sockets: 256,
            max_tcp_per_peer: 64,
            tcp_timeout_ms: 120_000,
            tcp_keepalive_ms: Some(75_000),
            close_linger_ms: 60_000,
            udp_buffer: 8 * 1024,
            udp_packets: 8,
            max_udp_sockets: 64,
            random_seed,
        }
    }
}

/// A TCP listener created by [`Stack::listen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListenerId(usize);

/// A TCP connection (accepted or connected). Stale ids (after the socket was
/// freed and its slot reused) are detected by a generation number and
/// answered with [`NetError::InvalidHandle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId {
    handle: SocketHandle,
    gen: u32,
}

/// A UDP socket created by [`Stack::udp_bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UdpId {
    handle: SocketHandle,
    gen: u32,
}

struct Listener {
    port: u16,
    /// Sockets kept in LISTEN; ones in SYN-RECEIVED do not count.
    backlog: usize,
    /// Sockets in LISTEN or SYN-RECEIVED, not yet handed to `accept`.
    listening: Vec<SocketHandle>,
    /// The sockets of `listening` already seen in SYN-RECEIVED (and found
    /// to be no duplicate): see [`Stack::duplicate_syn`].
    half_open: Vec<SocketHandle>,
    ready: VecDeque<ConnId>,
}

struct Conn {
    gen: u32,
    listener: Option<ListenerId>,
    last_activity_ms: u64,
    established: bool,
    /// When we asked for close/abort (the socket is freed by `poll` later).
    closed_at_ms: Option<u64>,
    /// Unread input may be dropped when freeing the socket.
    released: bool,
    /// The client's address, for inbound connections (per-peer limit).
    peer: Option<IpAddress>,
}

/// The network stack over device `D`. See the crate docs for the main loop.
pub struct Stack<D: Device> {
    device: D,
    iface: Interface,
    sockets: SocketSet<'static>,
    cfg: StackConfig,
    listeners: Vec<Option<Listener>>,
    conns: BTreeMap<SocketHandle, Conn>,
    udps: BTreeMap<SocketHandle, u32>,
    tcp_count: usize,
    next_gen: u32,
    /// Connections reset by the per-peer limit since boot.
    refused_per_peer: u64,
    /// Retransmitted SYNs that a second LISTEN socket had taken (see
    /// [`Stack::duplicate_syn`]) since boot.
    duplicate_syns: u64,
    rng: u64,
    now_ms: u64,
}

fn instant(ms: u64) -> Instant {
    Instant::from_millis(ms as i64)
}

impl<D: Device> Stack<D> {
    /// Bring the interface up on `device` with exactly the configured
    /// addresses and default routes.
    pub fn new(mut device: D, cfg: StackConfig, now_ms: u64) -> Result<Self, NetError> {
        let mut icfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(cfg.mac)));
        icfg.random_seed = cfg.random_seed;
        let mut iface = Interface::new(icfg, &mut device, instant(now_ms));
        let mut full = false;
        iface.update_ip_addrs(|addrs| {
            if let Some(v4) = cfg.ipv4 {
                full |= addrs.push(IpCidr::Ipv4(v4)).is_err();
            }
            if let Some(v6) = cfg.ipv6 {
                full |= addrs.push(IpCidr::Ipv6(v6)).is_err();
            }
            if cfg.ipv6_link_local && cfg.ipv6.is_some() {
                full |= addrs.push(IpCidr::Ipv6(Ipv6Cidr::new(link_local_from_mac(cfg.mac), 64))).is_err();
            }
        });
        if full {
            return Err(NetError::TooManyAddresses);
        }
        if let Some(gw) = cfg.gateway4 {
            iface.routes_mut().add_default_ipv4_route(gw).map_err(|_| NetError::TooManyAddresses)?;
        }
        if let Some(gw) = cfg.gateway6 {
            iface.routes_mut().add_default_ipv6_route(gw).map_err(|_| NetError::TooManyAddresses)?;
        }
        let rng = cfg.random_seed | 1;
        Ok(Stack {
            device,
            iface,
            sockets: SocketSet::new(vec![]),
            cfg,
            listeners: Vec::new(),
            conns: BTreeMap::new(),
            udps: BTreeMap::new(),
            tcp_count: 0,
            next_gen: 1,
            refused_per_peer: 0,
            duplicate_syns: 0,
            rng,
            now_ms,
        })
    }

    /// The configuration the stack was built with.
    pub fn config(&self) -> &StackConfig {
        &self.cfg
    }

    /// Inbound connections reset since boot because their client address
    /// already held `max_tcp_per_peer` (for statistics).
    pub fn refused_per_peer(&self) -> u64 {
        self.refused_per_peer
    }

    /// The time passed to the last `poll`.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Move packets: receive everything the device has, update socket
    /// timers, transmit. Then move newly connected sockets of each listener to
    /// its accept queue, open fresh listening sockets in their place, and free
    /// sockets of connections closed by us. Returns true if some socket may
    /// have changed state (new data, new connection, ...).
    pub fn poll(&mut self, now_ms: u64) -> bool {
        self.now_ms = now_ms;
        let t = instant(now_ms);
        let mut changed = false;
        self.iface.poll_maintenance(t);
        // Ingress one packet at a time, re-arming listeners after each one
        // that changed a socket: a burst of SYNs larger than the backlog then
        // still finds LISTEN sockets (smoltcp answers a SYN that matches no
        // socket with RST), up to `max_tcp_sockets`.
        loop {
            match self.iface.poll_ingress_single(t, &mut self.device, &mut self.sockets) {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => {
                    changed = true;
                    self.promote_listeners();
                    self.rearm_listeners();
                }
            }
        }
        while let PollResult::SocketStateChanged = self.iface.poll_egress(t, &mut self.device, &mut self.sockets) {
            changed = true;
        }
        self.promote_listeners();
        self.reap();
        self.rearm_listeners();
        changed
    }

    /// Milliseconds until `poll` must run again (None: only when a packet
    /// arrives). The kernel halts until min(this, its own timers) or an IRQ.
    pub fn poll_delay(&mut self, now_ms: u64) -> Option<u64> {
        self.iface.poll_delay(instant(now_ms), &self.sockets).map(|d| d.total_millis())
    }

    /// The device, e.g. to acknowledge its interrupt.
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// Escape hatch: the smoltcp interface and socket set (for ICMP sockets
    /// and tests). Sockets added here are not managed by the `Stack`.
    pub fn raw(&mut self) -> (&mut Interface, &mut SocketSet<'static>) {
        (&mut self.iface, &mut self.sockets)
    }

    fn new_tcp_socket(&mut self) -> Result<SocketHandle, NetError> {
        if self.tcp_count >= self.cfg.max_tcp_sockets {
            return Err(NetError::TooManySockets);
        }
        let rx = tcp::SocketBuffer::new(vec![0u8; self.cfg.tcp_rx_buffer]);
        let tx = tcp::SocketBuffer::new(vec![0u8; self.cfg.tcp_tx_buffer]);
        let mut s = tcp::Socket::new(rx, tx);
        s.set_timeout(Some(Duration::from_millis(self.cfg.tcp_timeout_ms)));
        s.set_keep_alive(self.cfg.tcp_keepalive_ms.map(Duration::from_millis));
        // Replies are written whole by the protocol code; Nagle would only
        // delay pipelined SMTP/IMAP responses.
        s.set_nagle_enabled(false);
        self.tcp_count += 1;
        Ok(self.sockets.add(s))
    }

    fn remove_tcp(&mut self, h: SocketHandle) {
        self.sockets.remove(h);
        self.tcp_count -= 1;
    }

    fn gen(&mut self) -> u32 {
        let g = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1).max(1);
        g
    }

    // ---------------------------------------------------------------- TCP

    /// Listen on `port` for IPv4 and IPv6 alike, keeping `backlog` sockets in
    /// LISTEN so that many SYNs arriving together each find one (smoltcp has
    /// one socket per connection and no accept queue of its own).
    pub fn listen(&mut self, port: u16, backlog: usize) -> Result<ListenerId, NetError> {
        if port == 0 || backlog == 0 {
            return Err(NetError::InvalidArgument);
        }
        if self.listeners.iter().flatten().any(|l| l.port == port) {
            return Err(NetError::AddressInUse);
        }
        let id = ListenerId(self.listeners.len());
        self.listeners.push(Some(Listener {
            port,
            backlog,
            listening: Vec::new(),
            half_open: Vec::new(),
            ready: VecDeque::new(),
        }));
        self.rearm_listeners();
        if self.listeners[id.0].as_ref().is_none_or(|l| l.listening.is_empty()) {
            self.listeners[id.0] = None;
            return Err(NetError::TooManySockets);
        }
        Ok(id)
    }

    /// Stop listening; pending not-yet-accepted connections are aborted.
    pub fn unlisten(&mut self, id: ListenerId) {
        if let Some(l) = self.listeners.get_mut(id.0).and_then(Option::take) {
            for h in l.listening {
                self.remove_tcp(h);
            }
            for c in l.ready {
                self.abort(c);
            }
        }
    }

    /// Take the next connection accepted on `id`, if any.
    pub fn accept(&mut self, id: ListenerId) -> Option<ConnId> {
        self.listeners.get_mut(id.0)?.as_mut()?.ready.pop_front()
    }

    /// Connections established on `id` and waiting for [`Stack::accept`].
    pub fn pending_accepts(&self, id: ListenerId) -> usize {
        self.listeners.get(id.0).and_then(Option::as_ref).map_or(0, |l| l.ready.len())
    }

    fn promote_listeners(&mut self) {
        let now = self.now_ms;
        for (li, slot) in self.listeners.iter_mut().enumerate() {
            let Some(l) = slot else { continue };
            let sockets = &self.sockets;
            l.half_open.retain(|h| {
                l.listening.contains(h) && sockets.get::<tcp::Socket>(*h).state() == tcp::State::SynReceived
            });
            let mut i = 0;
            while i < l.listening.len() {
                let h = l.listening[i];
                let s = self.sockets.get_mut::<tcp::Socket>(h);
                match s.state() {
                    tcp::State::SynReceived if !l.half_open.contains(&h) => {
                        if Self::duplicate_syn(&self.sockets, &self.conns, &l.half_open, h) {
                            // Back to LISTEN without a word: abort() then
                            // listen() resets the socket before any RST or
                            // SYN-ACK of its own leaves (egress comes later).
                            let s = self.sockets.get_mut::<tcp::Socket>(h);
                            s.abort();
                            let _ = s.listen(IpListenEndpoint { addr: None, port: l.port });
                            self.duplicate_syns += 1;
                        } else {
                            l.half_open.push(h);
                        }
                        i += 1;
                    }
                    tcp::State::Listen | tcp::State::SynReceived => i += 1,
                    // Aborted by the per-peer limit: smoltcp sends the RST
                    // and forgets the peer at the next egress; then re-listen.
                    tcp::State::Closed if s.remote_endpoint().is_some() => i += 1,
                    tcp::State::Closed | tcp::State::TimeWait => {
                        // Should not happen (RST in SYN-RECEIVED returns to
                        // LISTEN), but re-listen rather than leak the slot.
                        s.abort();
                        let _ = s.listen(l.port);
                        i += 1;
                    }
                    _ => {
                        let peer = s.remote_endpoint().map(|e| e.addr);
                        // Held: open connections, and ones we closed that
                        // the peer has not (FIN-WAIT/CLOSING: a client that
                        // never closes keeps the socket until the linger
                        // timeout). A client's own normal closes do not count.
                        let sockets = &self.sockets;
                        let held = self
                            .conns
                            .iter()
                            .filter(|(ch, c)| {
                                c.peer.is_some()
                                    && c.peer == peer
                                    && (c.closed_at_ms.is_none()
                                        || matches!(
                                            sockets.get::<tcp::Socket>(**ch).state(),
                                            tcp::State::FinWait1 | tcp::State::FinWait2 | tcp::State::Closing
                                        ))
                            })
                            .count();
                        if held >= self.cfg.max_tcp_per_peer {
                            // Reset it; the next pass re-listens on the
                            // socket once the RST is out (arm above).
                            let s = self.sockets.get_mut::<tcp::Socket>(h);
                            s.abort();
                            self.refused_per_peer += 1;
                            i += 1;
                            continue;
                        }
                        l.listening.swap_remove(i);
                        let gen = self.next_gen;
                        self.next_gen = self.next_gen.wrapping_add(1).max(1);
                        self.conns.insert(
                            h,
                            Conn {
                                gen,
                                listener: Some(ListenerId(li)),
                                last_activity_ms: now,
                                established: true,
                                closed_at_ms: None,
                                released: false,
                                peer,
                            },
                        );
                        l.ready.push_back(ConnId { handle: h, gen });
                    }
                }
            }
        }
    }

    /// Whether `h`, a listener's socket that has just gone to SYN-RECEIVED,
    /// took a *retransmitted* SYN of a connection another socket already
    /// holds (half-open in `half_open`, or accepted in `conns`).
    ///
    /// smoltcp hands a segment to the first socket of its set that accepts
    /// it, and a LISTEN socket accepts every SYN for its port: one in a
    /// lower slot than the connection's own socket takes the repeated SYN.
    /// Both then answer with SYN-ACKs of different sequence numbers, and
    /// when the peer's ACK of the first reaches the second (it comes first
    /// in the set), that one answers "unacceptable ACK" with a RST the peer
    /// finds in its window: the connection dies as soon as it opened. A
    /// client repeats its SYN after 1 s, so this needs only a SYN-ACK that
    /// was lost or late, e.g. while smoltcp rate-limits ARP to one request
    /// per second.
    fn duplicate_syn(
        sockets: &SocketSet<'static>,
        conns: &BTreeMap<SocketHandle, Conn>,
        half_open: &[SocketHandle],
        h: SocketHandle,
    ) -> bool {
        let s = sockets.get::<tcp::Socket>(h);
        let (Some(local), Some(remote)) = (s.local_endpoint(), s.remote_endpoint()) else { return false };
        let same = |o: SocketHandle| {
            let t = sockets.get::<tcp::Socket>(o);
            o != h
                && t.local_endpoint() == Some(local)
                && t.remote_endpoint() == Some(remote)
                && !matches!(t.state(), tcp::State::Closed | tcp::State::TimeWait)
        };
        half_open.iter().any(|&o| same(o)) || conns.iter().any(|(&o, c)| c.peer == Some(remote.addr) && same(o))
    }

    /// Retransmitted SYNs taken by a second socket and put back (see
    /// [`Stack::duplicate_syn`]) since boot, for statistics.
    pub fn duplicate_syns(&self) -> u64 {
        self.duplicate_syns
    }

    fn rearm_listeners(&mut self) {
        for li in 0..self.listeners.len() {
            while let Some(l) = self.listeners[li].as_ref() {
                let idle = l
                    .listening
                    .iter()
                    .filter(|h| {
                        // A socket reset by the per-peer limit listens again
                        // once its RST is out: count it as idle already.
                        let s = self.sockets.get::<tcp::Socket>(**h);
                        s.state() == tcp::State::Listen || s.state() == tcp::State::Closed
                    })
                    .count();
                if idle > l.backlog {
                    // A burst grew the set: give back one surplus LISTEN
                    // socket (its buffers) per round.
                    let surplus = l
                        .listening
                        .iter()
                        .position(|h| self.sockets.get::<tcp::Socket>(*h).state() == tcp::State::Listen);
                    match surplus {
                        Some(i) => {
                            let h = self.listeners[li].as_mut().map(|l| l.listening.swap_remove(i));
                            if let Some(h) = h {
                                self.remove_tcp(h);
                            }
                            continue;
                        }
                        None => break,
                    }
                }
                if idle >= l.backlog {
                    break;
                }
                let port = l.port;
                let Ok(h) = self.new_tcp_socket() else { break };
                let s = self.sockets.get_mut::<tcp::Socket>(h);
                if s.listen(IpListenEndpoint { addr: None, port }).is_err() {
                    self.remove_tcp(h);
                    break;
                }
                if let Some(l) = self.listeners[li].as_mut() {
                    l.listening.push(h);
                }
            }
        }
    }

    fn reap(&mut self) {
        let now = self.now_ms;
        let linger = self.cfg.close_linger_ms;
        let mut dead = Vec::new();
        for (h, c) in self.conns.iter() {
            let Some(at) = c.closed_at_ms else { continue };
            let s = self.sockets.get_mut::<tcp::Socket>(*h);
            match s.state() {
                tcp::State::Closed | tcp::State::TimeWait if c.released || !s.can_recv() => dead.push(*h),
                tcp::State::Closed | tcp::State::TimeWait => {}
                _ if now.saturating_sub(at) >= linger => {
                    // The peer never finished the FIN exchange: reset it and
                    // free the socket next time round.
                    s.abort();
                }
                _ => {}
            }
        }
        for h in dead {
            self.conns.remove(&h);
            self.remove_tcp(h);
        }
    }

    fn conn(&self, c: ConnId) -> Result<&Conn, NetError> {
        match self.conns.get(&c.handle) {
            Some(k) if k.gen == c.gen => Ok(k),
            _ => Err(NetError::InvalidHandle),
        }
    }

    fn tcp(&mut self, c: ConnId) -> Result<&mut tcp::Socket<'static>, NetError> {
        self.conn(c)?;
        Ok(self.sockets.get_mut::<tcp::Socket>(c.handle))
    }

    fn touch(&mut self, c: ConnId) {
        let now = self.now_ms;
        if let Some(k) = self.conns.get_mut(&c.handle) {
            k.last_activity_ms = now;
            k.established = true;
        }
    }

    /// Open an outbound connection. The local address is the configured one
    /// of the remote's family (never another: SPF, RFC 7208 2.3, checks it),
    /// the local port a random ephemeral one (RFC 6056).
    pub fn connect(&mut self, remote: IpEndpoint) -> Result<ConnId, NetError> {
        let local = self.source_for(&remote.addr)?;
        let port = self.ephemeral_port();
        let h = self.new_tcp_socket()?;
        let s = self.sockets.get_mut::<tcp::Socket>(h);
        if s.connect(self.iface.context(), remote, IpEndpoint::new(local, port)).is_err() {
            self.remove_tcp(h);
            return Err(NetError::InvalidArgument);
        }
        let gen = self.gen();
        self.conns.insert(
            h,
            Conn {
                gen,
                listener: None,
                last_activity_ms: self.now_ms,
                established: false,
                closed_at_ms: None,
                released: false,
                peer: None,
            },
        );
        Ok(ConnId { handle: h, gen })
    }

    /// The configured address of `remote`'s family.
    pub fn source_for(&self, remote: &IpAddress) -> Result<IpAddress, NetError> {
        match remote {
            IpAddress::Ipv4(_) => self.cfg.ipv4.map(|c| IpAddress::Ipv4(c.address())),
            IpAddress::Ipv6(_) => self.cfg.ipv6.map(|c| IpAddress::Ipv6(c.address())),
        }
        .ok_or(NetError::NoSourceAddress)
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*: only spreads the caller's seed over port numbers.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn ephemeral_port(&mut self) -> u16 {
        // RFC 6056 3.2: random ports in the IANA dynamic range.
        for _ in 0..64 {
            let p = 49152 + (self.next_rand() % 16384) as u16;
            let used = self.sockets.iter().any(|(_, s)| match s {
                smoltcp::socket::Socket::Tcp(t) => t.local_endpoint().is_some_and(|e| e.port == p),
                smoltcp::socket::Socket::Udp(u) => u.endpoint().port == p,
                _ => false,
            });
            if !used {
                return p;
            }
        }
        49152 + (self.next_rand() % 16384) as u16
    }

    /// Read received bytes. `Ok(0)` (with a non-empty `buf`) means the peer
    /// closed its side (FIN) or the connection is gone; `WouldBlock` means
    /// nothing yet.
    pub fn recv(&mut self, c: ConnId, buf: &mut [u8]) -> Result<usize, NetError> {
        let established = self.conn(c)?.established;
        let s = self.tcp(c)?;
        if s.can_recv() {
            let n = s.recv_slice(buf).map_err(|_| NetError::Closed)?;
            self.touch(c);
            return Ok(n);
        }
        match s.state() {
            tcp::State::SynSent | tcp::State::SynReceived => Err(NetError::WouldBlock),
            tcp::State::Closed if !established => Err(NetError::ConnectionRefused),
            _ if s.may_recv() => Err(NetError::WouldBlock),
            _ => Ok(0),
        }
    }

    /// Queue bytes for sending; returns how many fit in the send buffer
    /// (`WouldBlock` if none did).
    pub fn send(&mut self, c: ConnId, data: &[u8]) -> Result<usize, NetError> {
        let established = self.conn(c)?.established;
        let s = self.tcp(c)?;
        match s.state() {
            tcp::State::SynSent | tcp::State::SynReceived => return Err(NetError::WouldBlock),
            tcp::State::Closed if !established => return Err(NetError::ConnectionRefused),
            _ if !s.may_send() => return Err(NetError::Closed),
            _ => {}
        }
        if data.is_empty() {
            return Ok(0);
        }
        let n = s.send_slice(data).map_err(|_| NetError::Closed)?;
        if n == 0 {
            return Err(NetError::WouldBlock);
        }
        self.touch(c);
        Ok(n)
    }

    /// Bytes queued for sending and not yet acknowledged.
    pub fn send_queue(&mut self, c: ConnId) -> Result<usize, NetError> {
        Ok(self.tcp(c)?.send_queue())
    }

    /// Room left in the send buffer.
    pub fn send_room(&mut self, c: ConnId) -> Result<usize, NetError> {
        let s = self.tcp(c)?;
        Ok(if s.may_send() { s.send_capacity() - s.send_queue() } else { 0 })
    }

    /// True if `recv` would return data or end-of-stream now.
    pub fn can_read(&mut self, c: ConnId) -> bool {
        match self.tcp(c) {
            Ok(s) => {
                s.can_recv() || !matches!(s.state(), tcp::State::SynSent | tcp::State::SynReceived) && !s.may_recv()
            }
            Err(_) => false,
        }
    }

    /// True if `send` would accept at least one byte now.
    pub fn can_write(&mut self, c: ConnId) -> bool {
        self.tcp(c).is_ok_and(|s| s.can_send())
    }

    /// True once the three-way handshake completed (outbound connects).
    pub fn is_established(&mut self, c: ConnId) -> bool {
        let st = match self.tcp(c) {
            Ok(s) => s.state(),
            Err(_) => return false,
        };
        let up = !matches!(st, tcp::State::SynSent | tcp::State::SynReceived | tcp::State::Closed | tcp::State::Listen);
        if up {
            if let Some(k) = self.conns.get_mut(&c.handle) {
                k.established = true;
            }
        }
        up
    }

    /// The smoltcp TCP state, for logs and tests.
    pub fn tcp_state(&mut self, c: ConnId) -> Result<tcp::State, NetError> {
        Ok(self.tcp(c)?.state())
    }

    /// The peer's address and port.
    pub fn peer(&mut self, c: ConnId) -> Result<IpEndpoint, NetError> {
        self.tcp(c)?.remote_endpoint().ok_or(NetError::Closed)
    }

    /// Our address and port on this connection.
    pub fn local(&mut self, c: ConnId) -> Result<IpEndpoint, NetError> {
        self.tcp(c)?.local_endpoint().ok_or(NetError::Closed)
    }

    /// The listener that accepted `c` (None for outbound connections).
    pub fn listener_of(&self, c: ConnId) -> Option<ListenerId> {
        self.conn(c).ok()?.listener
    }

    /// Milliseconds since bytes last moved through `recv`/`send` on `c`
    /// (idle timeouts: RFC 5321 4.5.3.2, RFC 9051 5.4).
    pub fn idle_ms(&self, c: ConnId, now_ms: u64) -> Result<u64, NetError> {
        Ok(now_ms.saturating_sub(self.conn(c)?.last_activity_ms))
    }

    /// Half-close: send what is queued, then FIN; reading goes on until the
    /// peer's FIN. The socket is freed by `poll` once both sides closed and
    /// all input was read (or `close_linger_ms` after this call); the id
    /// stays valid until then.
    pub fn close(&mut self, c: ConnId) {
        self.shut(c, false, false);
    }

    /// Done with the connection: close like [`Stack::close`] but drop any
    /// unread input, so the socket is freed as soon as TCP allows.
    pub fn release(&mut self, c: ConnId) {
        self.shut(c, false, true);
    }

    fn shut(&mut self, c: ConnId, abort: bool, released: bool) {
        let now = self.now_ms;
        if let Ok(s) = self.tcp(c) {
            if abort {
                s.abort();
            } else {
                s.close();
            }
            if let Some(k) = self.conns.get_mut(&c.handle) {
                k.closed_at_ms.get_or_insert(now);
                k.released |= released;
            }
        }
    }

    /// Abort with RST; the socket is freed by the next `poll`.
    pub fn abort(&mut self, c: ConnId) {
        self.shut(c, true, true);
    }

    /// Number of live TCP sockets (listening + connections).
    pub fn tcp_sockets(&self) -> usize {
        self.tcp_count
    }

    // ---------------------------------------------------------------- UDP

    /// Open a UDP socket on `port` (0: a random ephemeral port).
    pub fn udp_bind(&mut self, port: u16) -> Result<UdpId, NetError> {
        if self.udps.len() >= self.cfg.max_udp_sockets {
            return Err(NetError::TooManySockets);
        }
        let port = if port == 0 { self.ephemeral_port() } else { port };
        let n = self.cfg.udp_packets;
        let rx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; n], vec![0u8; self.cfg.udp_buffer]);
        let tx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; n], vec![0u8; self.cfg.udp_buffer]);
        let mut s = udp::Socket::new(rx, tx);
        s.bind(port).map_err(|_| NetError::InvalidArgument)?;
        let h = self.sockets.add(s);
        let gen = self.gen();
        self.udps.insert(h, gen);
        Ok(UdpId { handle: h, gen })
    }

    fn udp(&mut self, u: UdpId) -> Result<&mut udp::Socket<'static>, NetError> {
        match self.udps.get(&u.handle) {
            Some(g) if *g == u.gen => Ok(self.sockets.get_mut::<udp::Socket>(u.handle)),
            _ => Err(NetError::InvalidHandle),
        }
    }

    /// Send one datagram from the configured address of `to`'s family.
    pub fn udp_send(&mut self, u: UdpId, to: IpEndpoint, data: &[u8]) -> Result<(), NetError> {
        let local = self.source_for(&to.addr)?;
        let s = self.udp(u)?;
        let meta = udp::UdpMetadata { endpoint: to, local_address: Some(local), meta: Default::default() };
        s.send_slice(data, meta).map_err(|e| match e {
            udp::SendError::BufferFull => NetError::WouldBlock,
            udp::SendError::Unaddressable => NetError::InvalidArgument,
        })
    }

    /// Receive one datagram (`WouldBlock` if none). Datagrams larger than
    /// `buf` are dropped and reported as `Truncated`.
    pub fn udp_recv(&mut self, u: UdpId, buf: &mut [u8]) -> Result<(usize, IpEndpoint), NetError> {
        let s = self.udp(u)?;
        match s.recv_slice(buf) {
            Ok((n, meta)) => Ok((n, meta.endpoint)),
            Err(udp::RecvError::Exhausted) => Err(NetError::WouldBlock),
            Err(udp::RecvError::Truncated) => Err(NetError::Truncated),
        }
    }

    /// The local port of a UDP socket.
    pub fn udp_port(&mut self, u: UdpId) -> Result<u16, NetError> {
        Ok(self.udp(u)?.endpoint().port)
    }

    /// Close and free a UDP socket.
    pub fn udp_close(&mut self, u: UdpId) {
        if self.udp(u).is_ok() {
            self.udps.remove(&u.handle);
            self.sockets.remove(u.handle);
        }
    }
}

/// RFC 4291 2.5.1 / appendix A: modified EUI-64 interface identifier.
pub fn link_local_from_mac(mac: [u8; 6]) -> Ipv6Address {
    let b = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]];
    Ipv6Address::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_link_local() {
        // RFC 4291 appendix A: U/L bit flipped, ff:fe inserted in the middle.
        let a = link_local_from_mac([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]);
        assert_eq!(a, "fe80::5eff:fe10:1".parse::<Ipv6Address>().unwrap());
        let b = link_local_from_mac([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(b, "fe80::5054:ff:fe12:3456".parse::<Ipv6Address>().unwrap());
    }

    #[test]
    fn listen_rejects_bad_arguments_and_duplicates() {
        let (a, _b) = crate::memwire::wire_pair(4);
        let mut s = Stack::new(a, StackConfig::new([2, 0, 0, 0, 0, 1], 7), 0).unwrap();
        assert_eq!(s.listen(0, 1).err(), Some(NetError::InvalidArgument));
        assert_eq!(s.listen(25, 0).err(), Some(NetError::InvalidArgument));
        let l = s.listen(25, 3).unwrap();
        assert_eq!(s.listen(25, 1).err(), Some(NetError::AddressInUse));
        assert_eq!(s.tcp_sockets(), 3);
        s.unlisten(l);
        assert_eq!(s.tcp_sockets(), 0);
        // No address of the family configured: connect refuses to pick another.
        let e = IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(192, 0, 2, 1)), 25);
        assert_eq!(s.connect(e).err(), Some(NetError::NoSourceAddress));
    }

    #[test]
    fn udp_socket_limit() {
        let (a, _b) = crate::memwire::wire_pair(4);
        let mut c = StackConfig::new([2, 0, 0, 0, 0, 1], 7);
        c.max_udp_sockets = 2;
        let mut s = Stack::new(a, c, 0).unwrap();
        let u1 = s.udp_bind(0).unwrap();
        let _u2 = s.udp_bind(0).unwrap();
        assert_eq!(s.udp_bind(0).err(), Some(NetError::TooManySockets));
        s.udp_close(u1);
        assert!(s.udp_bind(0).is_ok());
        assert_eq!(s.udp_port(u1).err(), Some(NetError::InvalidHandle));
    }

    #[test]
    fn ephemeral_ports_in_dynamic_range() {
        let (a, _b) = crate::memwire::wire_pair(4);
        let mut s = Stack::new(a, StackConfig::new([2, 0, 0, 0, 0, 1], 99), 0).unwrap();
        let mut seen = alloc::collections::BTreeSet::new();
        for _ in 0..32 {
            let p = s.ephemeral_port();
            assert!(p >= 49152);
            seen.insert(p);
        }
        assert!(seen.len() > 28, "ports spread out");
    }
}

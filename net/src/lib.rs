//! smoltcp network stack, TCP/TLS streams and DNS client for the appliance (no_std).
//!
//! Everything here is generic over smoltcp's [`phy::Device`](smoltcp::phy::Device):
//! the kernel hands in its virtio-net device, a clock (milliseconds, passed
//! to every call that needs time) and entropy (a seed for the stack, a
//! `FnMut() -> u32` for DNS IDs, and `getrandom` for rustls); host tests use
//! the in-memory [`memwire`] pair.
//!
//! # Modules
//! - [`stack`]: [`Stack`] = smoltcp `Interface` + `SocketSet` with exactly the
//!   configured addresses; TCP listeners with a backlog of pre-opened
//!   sockets, connection handles ([`ConnId`]), outbound connects bound to
//!   the configured source address, UDP sockets.
//! - [`service`]: the task model: a [`service::Service`] trait with
//!   `on_accept / on_readable / on_writable / on_closed / on_timer`
//!   callbacks, dispatched by a [`service::Runtime`] after each poll.
//!   Chosen over async fns because protocol cores are sans-IO state
//!   machines already; callbacks keep the kernel loop explicit and bounded.
//! - [`tls`]: rustls unbuffered API sessions, SNI certificate choice,
//!   opportunistic or verified clients, STARTTLS on an open connection.
//! - [`dns`]: sans-IO stub resolver (hickory-proto messages) and its glue
//!   [`dns::DnsClient`] over the stack's UDP/TCP.
//!
//! # The kernel main loop
//! ```ignore
//! let mut cfg = StackConfig::new(mac, entropy_u64());
//! cfg.ipv4 = Some(Ipv4Cidr::new(ip4, 24));  cfg.gateway4 = Some(gw4);
//! cfg.ipv6 = Some(Ipv6Cidr::new(ip6, 64));  cfg.gateway6 = Some(gw6);
//! let mut stack = Stack::new(virtio_net, cfg, now_ms())?;
//! let mut rt = Runtime::new();
//! rt.listen(&mut stack, 25, 16, SMTP)?;          // index into `services`
//! rt.listen(&mut stack, 993, 16, IMAPS)?;
//! let mut dns = DnsClient::new(Resolver::new(ResolverConfig::new(servers), Box::new(rdrand_u32)));
//! loop {
//!     let now = now_ms();
//!     stack.poll(now);                             // rx, timers, tx
//!     dns.poll(&mut stack, now);                   // DNS replies/retries
//!     let t = rt.run(&mut stack, &mut [&mut smtp, &mut imaps], now);
//!     stack.poll(now);                             // flush what services wrote
//!     let wake = [stack.poll_delay(now).map(|d| now + d), t, dns.poll_deadline()]
//!         .into_iter().flatten().min();
//!     halt_until(wake);                            // hlt; virtio IRQ or timer wakes
//! }
//! ```
//! Inside a service: `stack.recv(conn, buf)` / `stack.send(conn, data)`
//! (`Ok(0)` from recv = peer closed, `Err(WouldBlock)` = later),
//! `stack.close / release / abort`, `stack.peer(conn)`, `stack.idle_ms(conn, now)`;
//! TLS: `TlsStream::server(conn, server_cfg, limits)` then
//! `tls.read(&mut stack, buf)` / `tls.write(&mut stack, data)` /
//! `tls.close(&mut stack)`; outbound: `stack.connect(endpoint)` +
//! `rt.adopt(conn, svc, Interest::default())`, after the 220 to STARTTLS
//! `TlsStream::client(conn, client_cfg, mx_name, limits)`.
//! DNS: `let q = dns.query("example.org", Rtype::Mx, now)`, then
//! `dns.take_answer(q)` after later polls.
//!
//! # What the kernel must provide at link time
//! rustls-rustcrypto draws randomness through `getrandom` 0.2 with the
//! `custom` feature: on `x86_64-unknown-none` the kernel registers its
//! RDRAND/RDSEED source with `getrandom::register_custom_getrandom!(f)`,
//! which defines the symbol `__getrandom_custom`. Nothing else is needed
//! (checked by linking a bare test binary that uses the stack, TLS and DNS).
//! rustls also needs a [`rustls::time_provider::TimeProvider`] (wall-clock
//! time, for certificate validity and TLS 1.3 tickets), passed to
//! [`tls::server_config`] / [`tls::client_config`].
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod dns;
pub mod memwire;
pub mod service;
pub mod stack;
pub mod tls;

pub use rustls;
pub use smoltcp;
pub use stack::{ConnId, ListenerId, Stack, StackConfig, UdpId};

/// Errors of the stack, TLS and DNS glue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// Nothing to do right now; try after the next `poll`.
    WouldBlock,
    /// The connection is closed for this direction.
    Closed,
    /// The outbound connection was refused or reset before it came up.
    ConnectionRefused,
    /// The handle no longer names a live socket.
    InvalidHandle,
    /// A bad port, backlog or endpoint.
    InvalidArgument,
    /// The port already has a listener.
    AddressInUse,
    /// `max_tcp_sockets` reached.
    TooManySockets,
    /// More addresses or routes than smoltcp was built for.
    TooManyAddresses,
    /// No configured address of the peer's family.
    NoSourceAddress,
    /// A datagram did not fit the buffer and was dropped.
    Truncated,
}

impl core::fmt::Display for NetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

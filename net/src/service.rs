//! A poll-driven task model for protocol servers: a [`Service`] gets
//! callbacks for its connections, and a [`Runtime`] routes readiness from the
//! [`Stack`] to the service that owns each listener / connection.
//!
//! No executor, no wakers, no threads: after `Stack::poll` the kernel calls
//! [`Runtime::run`], which calls back synchronously. Readiness is
//! level-triggered (a connection with unread input gets `on_readable` on
//! every run until the service reads it, closes it, or pauses reading with
//! [`Runtime::set_interest`]), so no event can be lost between runs.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use smoltcp::phy::Device;

use crate::{ConnId, ListenerId, NetError, Stack};

/// Index of a service in the slice passed to [`Runtime::run`].
pub type ServiceIndex = usize;

/// A protocol server (SMTP, IMAP, ...) or client (outbound SMTP) plugged
/// into the runtime. Each callback may read, write, close or abort through
/// `stack`, and keeps its own per-connection state keyed by [`ConnId`].
pub trait Service<D: Device> {
    /// A connection was accepted on one of this service's listeners (or
    /// adopted with [`Runtime::adopt`]).
    fn on_accept(&mut self, stack: &mut Stack<D>, conn: ConnId, now_ms: u64);
    /// `conn` has input or end-of-stream to read (or was woken).
    fn on_readable(&mut self, stack: &mut Stack<D>, conn: ConnId, now_ms: u64);
    /// `conn` has send room and write interest is set.
    fn on_writable(&mut self, stack: &mut Stack<D>, conn: ConnId, now_ms: u64);
    /// `conn` is gone (freed by the stack after close/abort/reset): drop its state.
    fn on_closed(&mut self, conn: ConnId, now_ms: u64);
    /// Called when `now_ms >= next_deadline()`: idle timeouts, greylist
    /// expiry, queue retries...
    fn on_timer(&mut self, stack: &mut Stack<D>, now_ms: u64);
    /// The earliest time `on_timer` must run (absolute ms), if any.
    fn next_deadline(&self) -> Option<u64>;
}

/// Which callbacks a connection wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest {
    /// Call `on_readable` when input is there.
    pub read: bool,
    /// Call `on_writable` when send room is there.
    pub write: bool,
}

impl Default for Interest {
    fn default() -> Self {
        Interest { read: true, write: false }
    }
}

struct Owner {
    service: ServiceIndex,
    interest: Interest,
}

/// Routes listeners and connections to services.
#[derive(Default)]
pub struct Runtime {
    routes: Vec<(ListenerId, ServiceIndex)>,
    owners: BTreeMap<ConnId, Owner>,
    woken: BTreeSet<ConnId>,
}

impl Runtime {
    /// An empty runtime.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listen on `port` (IPv4 and IPv6) for `service`.
    pub fn listen<D: Device>(
        &mut self,
        stack: &mut Stack<D>,
        port: u16,
        backlog: usize,
        service: ServiceIndex,
    ) -> Result<ListenerId, NetError> {
        let l = stack.listen(port, backlog)?;
        self.routes.push((l, service));
        Ok(l)
    }

    /// Hand an outbound connection (from `Stack::connect`) to `service`;
    /// `on_accept` is not called for it.
    pub fn adopt(&mut self, conn: ConnId, service: ServiceIndex, interest: Interest) {
        self.owners.insert(conn, Owner { service, interest });
    }

    /// Change what `conn` is called back for (e.g. stop reading while a
    /// message is written to disk; ask for `write` while output is pending).
    pub fn set_interest(&mut self, conn: ConnId, interest: Interest) {
        if let Some(o) = self.owners.get_mut(&conn) {
            o.interest = interest;
        }
    }

    /// Call `on_readable` for `conn` on the next run even if the TCP buffer
    /// is empty (e.g. TLS plaintext still buffered in the session).
    pub fn wake(&mut self, conn: ConnId) {
        self.woken.insert(conn);
    }

    /// Connections currently routed.
    pub fn connections(&self) -> usize {
        self.owners.len()
    }

    /// Dispatch: accepts, readable/writable connections, freed
    /// connections, timers. Returns the earliest service deadline.
    pub fn run<D: Device>(
        &mut self,
        stack: &mut Stack<D>,
        services: &mut [&mut dyn Service<D>],
        now_ms: u64,
    ) -> Option<u64> {
        for &(l, svc) in &self.routes {
            while let Some(c) = stack.accept(l) {
                self.owners.insert(c, Owner { service: svc, interest: Interest::default() });
                match services.get_mut(svc) {
                    Some(s) => s.on_accept(stack, c, now_ms),
                    None => stack.abort(c),
                }
            }
        }
        let conns: Vec<ConnId> = self.owners.keys().copied().collect();
        for c in conns {
            let Some(o) = self.owners.get(&c) else { continue };
            let (svc, interest) = (o.service, o.interest);
            let Some(s) = services.get_mut(svc) else { continue };
            if stack.tcp_state(c).is_err() {
                self.owners.remove(&c);
                self.woken.remove(&c);
                s.on_closed(c, now_ms);
                continue;
            }
            if self.woken.remove(&c) || (interest.read && stack.can_read(c)) {
                s.on_readable(stack, c, now_ms);
            }
            let interest = self.owners.get(&c).map_or(interest, |o| o.interest);
            if interest.write && stack.can_write(c) {
                s.on_writable(stack, c, now_ms);
            }
        }
        let mut next: Option<u64> = None;
        for s in services.iter_mut() {
            if let Some(d) = s.next_deadline() {
                if d <= now_ms {
                    s.on_timer(stack, now_ms);
                }
            }
            if let Some(d) = s.next_deadline() {
                next = Some(next.map_or(d, |n| n.min(d)));
            }
        }
        next
    }
}

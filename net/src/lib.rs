//! smoltcp network stack, TCP/TLS streams and DNS client for the appliance (no_std).
#![no_std]
#![forbid(unsafe_code)]
#[cfg(any(test, feature = "std"))]
extern crate std;
extern crate alloc;

pub mod memwire;
pub mod stack;
pub mod tls;
pub mod dns;

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

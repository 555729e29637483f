//! Outbound mail for the appliance, sans-IO: the durable queue on the mail
//! disk ([`queue`]), retry timing ([`schedule`]), MX target selection
//! ([`mx`]), bounce messages ([`dsn`]).
//!
//! The kernel glue owns sockets, DNS, clocks and randomness and passes
//! their results in.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod schedule;
pub mod dsn;
pub mod mx;
pub mod queue;
pub mod delivery;

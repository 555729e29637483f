//! smoltcp network stack, TCP/TLS streams and DNS client for the appliance (no_std).
#![no_std]
#![forbid(unsafe_code)]
#[cfg(any(test, feature = "std"))]
extern crate std;
extern crate alloc;

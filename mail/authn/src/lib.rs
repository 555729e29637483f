//! Sender authentication: SPF, DKIM, DMARC, SRS (sans-IO, no_std).
#![no_std]
#![forbid(unsafe_code)]
#[cfg(any(test, feature = "std"))]
extern crate std;
extern crate alloc;

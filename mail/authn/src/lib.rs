//! Sender authentication: SPF, DKIM, DMARC, SRS (sans-IO, no_std).
//!
//! Nothing here does I/O: checks ask the caller for DNS records
//! ([`dns::DnsQuery`]) and are fed the answers; time and random numbers are
//! passed in.
#![no_std]
#![forbid(unsafe_code)]
#[cfg(any(test, feature = "std"))]
extern crate std;
extern crate alloc;

pub mod dns;
pub mod auth_results;
pub mod dkim;
pub mod dmarc;
pub mod spf;
pub mod srs;

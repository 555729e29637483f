//! Sender authentication: SPF, DKIM, DMARC, SRS (sans-IO, no_std).
//!
//! Nothing here does I/O: checks ask the caller for DNS records
//! ([`dns::DnsQuery`]) and are fed the answers; time and random numbers are
//! passed in. Every check has the same shape:
//!
//! ```
//! use mail_authn::{dns::DnsAnswer, spf::{self, SpfStep}};
//! let mut s = spf::check_mail_from("192.0.2.1".parse().unwrap(), "a@example.com", "mx.example.com");
//! let outcome = loop {
//!     match s.poll() {
//!         SpfStep::Query(_q) => s.answer(DnsAnswer::NxDomain), // resolve _q here
//!         SpfStep::Done(o) => break o,
//!     }
//! };
//! assert_eq!(outcome.result, spf::SpfResult::None);
//! ```
//!
//! - [`spf`]: RFC 7208 check_host(), [`spf::check_host`] / [`spf::check_mail_from`].
//! - [`dkim`]: RFC 6376/8301/8463 [`dkim::verify`] / [`dkim::Verifier`]
//!   (streaming) and [`dkim::Signer`] (streaming, several keys).
//! - [`dmarc`]: RFC 7489 [`dmarc::evaluate`], organizational domains from
//!   the compiled-in Public Suffix List.
//! - [`auth_results`]: RFC 8601 Authentication-Results.
//! - [`srs`]: SRS0/SRS1 rewriting compatible with postsrsd/libsrs2.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod auth_results;
pub mod dkim;
pub mod dmarc;
pub mod dns;
pub mod spf;
pub mod srs;

//! Boot-time key material for the appliance's built-in defaults.
//!
//! The embedded default configuration names `builtin:self-signed-cert`,
//! `builtin:self-signed-key` (TLS) and `builtin:dkim-key` (DKIM). The kernel
//! has no files to load them from on first boot, so it makes them here from
//! its CSPRNG:
//!
//! * [`self_signed`] — an ECDSA P-256 key and a self-signed X.509 v3 server
//!   certificate (RFC 5280) for the configured host names;
//! * [`ed25519_dkim`] — an Ed25519 DKIM key (RFC 8463) and the TXT record to
//!   publish.
//!
//! Sans-IO: the caller passes the random bytes and the current time; this
//! crate reads no clock and no RNG. Signing uses RFC 6979 nonces, so outputs
//! are a pure function of the inputs. The DER writer is in [`der`] (our own,
//! small); curve arithmetic and hashing come from RustCrypto and
//! ed25519-dalek.
//!
//! Kernel glue, in outline (`fill` is the kernel CSPRNG, `now` the RTC):
//!
//! ```
//! # let mut ctr = 0u8;
//! # let mut fill = |b: &mut [u8; 32]| { ctr += 1; *b = [ctr; 32]; };
//! # let now: u64 = 1_700_000_000;
//! let cert = loop {
//!     let mut secret = [0u8; 32];
//!     fill(&mut secret);
//!     match selfsigned::self_signed(&["mail.example.org"], now - 3600, now + 10 * 365 * 86_400, secret) {
//!         Err(selfsigned::Error::InvalidSecret) => continue, // ~2^-32: draw again
//!         other => break other.expect("hostnames come from the validated config"),
//!     }
//! };
//! let mut seed = [0u8; 32];
//! fill(&mut seed);
//! let dkim = selfsigned::ed25519_dkim(seed);
//! // builtin:self-signed-cert / -key / builtin:dkim-key
//! let (_cert, _key, _dkim) = (cert.cert_der, cert.key_pkcs8_der, dkim.key_pkcs8_der);
//! assert!(dkim.dns_txt.starts_with("v=DKIM1; k=ed25519; p="));
//! ```
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod cert;
pub mod der;
mod dkim;
pub mod hostname;
mod pem;
pub mod time;

pub use cert::{self_signed, SelfSigned, MAX_COMMON_NAME_LEN, MAX_HOSTNAMES};
pub use dkim::{ed25519_dkim, DkimKey};
pub use zeroize::Zeroizing;

/// Why no certificate was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The 32 bytes are zero or not below the P-256 group order: draw new
    /// random bytes and call again (happens with probability ~2^-32).
    InvalidSecret,
    /// At least one hostname is needed (it becomes the subject CN).
    NoHostnames,
    /// More than [`MAX_HOSTNAMES`] names.
    TooManyHostnames,
    /// The hostname at this index is not a valid dNSName
    /// (see [`hostname::valid_dns_name`]).
    InvalidHostname(usize),
    /// The first hostname is longer than [`MAX_COMMON_NAME_LEN`] (RFC 5280
    /// ub-common-name); put a shorter name first.
    CommonNameTooLong,
    /// `not_before` is after `not_after`.
    InvalidValidity,
    /// A validity bound is past 9999-12-31T23:59:59Z.
    TimeOutOfRange,
    /// The PKCS#8 encoder failed (not expected to happen).
    Encoding,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::InvalidSecret => f.write_str("secret is not a valid P-256 scalar; retry with new random bytes"),
            Error::NoHostnames => f.write_str("no hostname given"),
            Error::TooManyHostnames => write!(f, "more than {MAX_HOSTNAMES} hostnames"),
            Error::InvalidHostname(i) => write!(f, "hostname #{i} is not a valid DNS name"),
            Error::CommonNameTooLong => write!(f, "first hostname longer than {MAX_COMMON_NAME_LEN} characters"),
            Error::InvalidValidity => f.write_str("not_before is after not_after"),
            Error::TimeOutOfRange => f.write_str("validity time past year 9999"),
            Error::Encoding => f.write_str("PKCS#8 encoding failed"),
        }
    }
}

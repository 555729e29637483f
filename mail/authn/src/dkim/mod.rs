//! DKIM: RFC 6376 signatures, with RFC 8301 (no rsa-sha1, RSA >= 1024 bits)
//! and RFC 8463 (Ed25519-SHA256).

pub mod arc;
pub mod canon;
mod hash;
pub mod key;
pub mod sig;
mod sign;
pub mod tags;
mod verify;

pub use sig::Algorithm;
pub use sign::{SignError, SignSession, Signer, SignerKey, SigningKey, DEFAULT_HEADERS, DEFAULT_OVERSIGN};
pub use verify::{verify, DkimResult, DkimSession, DkimStatus, DkimStep, Verifier, MAX_SIGNATURES};

#[cfg(test)]
mod tests;

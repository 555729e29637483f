//! The appliance's configuration model: parser, validation, routing, password hashes (no_std).
#![no_std]
#![forbid(unsafe_code)]
#[cfg(any(test, feature = "std"))]
extern crate std;
extern crate alloc;

pub mod password;

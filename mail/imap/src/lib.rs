//! IMAP4rev1/rev2 server: command parser and session state machine (sans-IO, no_std).
#![no_std]
#![forbid(unsafe_code)]
#[cfg(any(test, feature = "std"))]
extern crate std;
extern crate alloc;

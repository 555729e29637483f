//! Block devices, the ext2 filesystem, the Maildir store and the outbound queue (no_std).
#![no_std]
#![forbid(unsafe_code)]
#[cfg(any(test, feature = "std"))]
extern crate std;
extern crate alloc;

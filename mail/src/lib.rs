//! Every mail protocol and policy of the appliance, re-exported from its sub-crates.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub use mail_authn as authn;
pub use mail_config as config;
pub use mail_imap as imap;
pub use mail_mime as mime;
pub use mail_sieve as sieve;
pub use mail_smtp as smtp;

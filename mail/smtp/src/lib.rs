//! SMTP server state machine (RFC 5321) and delivery trace headers, sans-IO
//! and `no_std`: the caller feeds bytes and answers requests; the crate
//! produces reply bytes and events. See `server` for the driver loop.
#![no_std]
#![forbid(unsafe_code)]
#[cfg(any(test, feature = "std"))]
extern crate std;
extern crate alloc;

pub mod address;
pub mod base64;
pub mod client;
pub mod command;
pub mod data;
pub mod delivery;
pub mod reply;
pub mod server;

pub use address::{AddressError, Host, Mailbox, ReversePath};
pub use data::BareEndings;
pub use reply::{Enhanced, Reply, ReplyError, ReplyParser};
pub use server::{
    AbortReason, AuthAnswer, AuthPolicy, AuthRequest, BodyType, Config, Envelope, Event, NotPending, Server,
    SessionFacts, TlsInfo, VrfyPolicy,
};

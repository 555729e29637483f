//! SMTP server and client state machines (RFC 5321) and delivery trace
//! headers, sans-IO and `no_std`: the caller feeds bytes and answers
//! requests; the crate produces reply bytes and events.
//!
//! # Server driver (kernel side)
//!
//! | call / event | meaning |
//! | --- | --- |
//! | `Server::new(Config)` / `with_tls(cfg, Some(info))` | new connection; the 220 greeting is queued |
//! | `output()` + `consume_output(n)` or `take_output()` | reply bytes to send |
//! | `feed(&bytes) -> used` | keep `bytes[used..]` and feed it again later |
//! | `poll_event()` | events in order, see below |
//! | `Event::CheckRecipient(m)` | answer `answer_recipient(Reply::rcpt_ok())` or a refusal, now or later |
//! | `Event::CheckSender{..}` | only with `Config::check_sender`; `answer_sender(reply)` |
//! | `Event::MessageStart`, `Event::Data(chunk)` | open a spool file, append chunks (bounded by `Config::data_chunk`) |
//! | `Event::MessageComplete(envelope)` | flush to disk, then `answer_message(Reply::queued(id))` |
//! | `Event::MessageAborted(reason)` | drop the spool file; the reply is already queued |
//! | `Event::StartTls` | send pending output in clear, handshake, `tls_established(TlsInfo)`; do not feed plaintext meanwhile |
//! | `Event::Authenticate(req)` | check the password, `answer_auth(AuthAnswer::..)` |
//! | `Event::Close` | send the remaining output and close |
//! | `timeout()` / `shutdown()` | idle timer fired / service stopping: 421 and close |
//!
//! `feed` consumes nothing while a request is unanswered, while a `Data`
//! event is unpolled, or while more than `Config::max_output` reply bytes
//! wait, so every buffer stays bounded.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

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

//! IMAP4rev1/rev2 server: command parser and session state machine
//! (sans-IO, no_std).
//!
//! The kernel creates a [`Session`] per connection, feeds it the bytes it
//! reads ([`Session::feed`]), calls [`Session::process`] with the user's
//! [`Store`], writes [`Session::take_output`], and answers the returned
//! [`Action`] (password check, STARTTLS, close). Deliveries and other
//! sessions' changes are signalled with [`Session::mailbox_changed`].
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

mod base64;
pub mod command;
pub mod datetime;
mod fetch;
pub mod framer;
pub mod mime;
pub mod parser;
mod resp;
mod search;
pub mod session;
pub mod store;
pub mod types;
pub mod utf7;

pub use command::{Command, CommandBody};
pub use framer::Limits;
pub use parser::parse_command;
pub use session::{Action, AuthResult, Config, Session};
pub use store::{FolderStatus, MemStore, MessageMeta, NoStore, Store, StoreError, Uid};
pub use types::{Flags, SeqSet, SystemFlag};

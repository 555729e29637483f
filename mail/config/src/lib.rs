//! The appliance's configuration model: parser, validation, routing, password hashes (no_std).
//!
//! - [`parse`] turns `unimail.conf` into a validated [`Config`] or *all*
//!   the problems as `file:line: problem` ([`Error`]); referenced files are
//!   checked through the caller's [`Files`].
//! - [`DEFAULT_CONFIG`] / [`default_config`] is the embedded demo setup.
//! - [`Config::resolve`] routes a recipient; [`Config::may_send_as`] checks a
//!   submission sender.
//! - [`password`] verifies and creates Dovecot-style password hashes.
//!
//! The file format is documented in `CONFIG.md` beside this crate.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod addr;
mod default;
mod error;
#[cfg(feature = "std")]
mod host;
mod model;
pub mod net;
mod parse;
pub mod password;
mod route;
mod syntax;

pub use addr::Address;
pub use default::{default_config, DEFAULT_CONFIG, DEFAULT_DEMO_PASSWORD, DEFAULT_SYSTEM_SIEVE};
pub use error::{Error, ErrorKind};
#[cfg(feature = "std")]
pub use host::DirFiles;
pub use model::*;
pub use net::{Cidr, DnsblSite, ReplyFilter};
pub use parse::{
    parse, parse_duration, parse_named, parse_score, parse_size, Files, CONFIG_FILE, MAX_ALIAS_DEPTH,
    MAX_ALIAS_TARGETS, MAX_DNSBL_SITES, MAX_LIST_LEN,
};
pub use password::{verify_password, HashError, HashLimits, PasswordHash, Scheme, Verdict};
pub use route::{RouteError, Target, MAX_STEPS, MAX_TARGETS};
pub use syntax::{MAX_FILE_LEN, MAX_LINE_LEN};

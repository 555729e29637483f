//! Sieve interpreter (RFC 5228 and extensions) and ManageSieve (sans-IO, no_std).
//!
//! * [`compile`] validates a script (line:column errors) into a [`Script`];
//! * [`evaluate`] runs it over a [`Message`] in an [`Environment`] and returns
//!   the [`Action`]s to take, with RFC 5228 implicit-keep semantics;
//! * [`managesieve::Session`] is the RFC 5804 protocol state machine.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod address;
mod compile;
mod encoded;
mod error;
mod eval;
pub mod lexer;
pub mod managesieve;
pub mod matching;
pub mod mime_msg;
mod parser;
pub mod simple;

pub use compile::{compile, compile_with, AddrPart, BodyTransform, CompileLimits, Ext, ExtSet, Script, ALL_EXTS};
pub use error::CompileError;
pub use eval::{
    evaluate, evaluate_sequence, Action, DateTime, Environment, HeaderEdit, Message, Outcome, RunLimits, VacationReply,
};
pub use mime_msg::MimeMessage;

#[cfg(test)]
mod tests;

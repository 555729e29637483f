//! RFC 5322 / MIME message and header parsing (sans-IO, no_std).
//!
//! A message is parsed in place: [`Message::parse`] borrows the bytes and
//! records header fields and entity bodies as slices and absolute byte
//! ranges, so IMAP can serve exact sections, DKIM can hash exact fields, and
//! nothing is copied until a caller asks for decoded text. Every list is
//! bounded by [`Limits`]; the parser never fails, never panics and never
//! loops: malformed input yields a partial but consistent tree.
#![no_std]
#![forbid(unsafe_code)]
#[cfg(any(test, feature = "std"))]
extern crate std;
extern crate alloc;

pub mod address;
pub mod charset;
pub mod date;
pub mod encoded_word;
pub mod envelope;
pub mod header;
pub mod message;
pub mod params;
pub mod section;
pub mod transfer;

pub use address::{parse_address_list, Address, Mailbox};
pub use charset::Charset;
pub use date::{parse_date, parse_imap_date, parse_imap_date_time, DateTime};
pub use encoded_word::{decode_text, decode_unstructured, unfold};
pub use envelope::Envelope;
pub use header::{parse_header, Field, Header};
pub use message::{Body, Message, Part};
pub use params::{ContentType, Disposition, Param, Params, RawParam};
pub use section::Section;
pub use transfer::{decode_base64, decode_quoted_printable, Encoding};

/// Bounds on what one message may make the parser allocate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fields kept per header block; later ones are dropped (`truncated`).
    pub max_header_fields: usize,
    /// Bytes of a header block in which fields are kept.
    pub max_header_bytes: usize,
    /// Multipart / message nesting depth.
    pub max_depth: usize,
    /// Entities per message, the root included.
    pub max_parts: usize,
    /// Parameters per Content-Type / Content-Disposition.
    pub max_params: usize,
    /// Addresses (items) per address-list lookup.
    pub max_addresses: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_fields: 1000,
            max_header_bytes: 256 * 1024,
            max_depth: 20,
            max_parts: 1000,
            max_params: 64,
            max_addresses: 1000,
        }
    }
}

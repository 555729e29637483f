//! RFC 5322 / MIME message and header parsing (sans-IO, no_std).
//!
//! A message is parsed in place: [`Message::parse`] borrows the bytes and
//! records header fields and entity bodies as slices and absolute byte
//! ranges, so IMAP can serve exact sections, DKIM can hash exact fields, and
//! nothing is copied until a caller asks for decoded text. Every list is
//! bounded by [`Limits`]; the parser never fails, never panics and never
//! loops: malformed input yields a partial but consistent tree.
//!
//! ```
//! use mail_mime::{Message, Section, Address};
//! let raw = b"From: =?utf-8?q?J=C3=B6rg?= <j@example.org>\r\n\
//! Subject: Hi\r\nDate: Mon, 6 Jan 2025 10:11:12 +0100\r\n\
//! Content-Type: multipart/mixed; boundary=b\r\n\r\n\
//! --b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
//! Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n\
//! --b\r\nContent-Type: application/pdf; name=r.pdf\r\n\
//! Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--\r\n";
//! let m = Message::parse(raw);
//! assert_eq!(m.subject().as_deref(), Some("Hi"));
//! let Address::Mailbox(from) = &m.from()[0] else { panic!() };
//! assert_eq!((from.name.as_deref(), from.addr().as_str()), (Some("Jörg"), "j@example.org"));
//! assert_eq!(m.date().unwrap().to_imap(), " 6-Jan-2025 10:11:12 +0100");
//! // Walk the tree: parts[0] is the message, children are indices.
//! let kids = m.root().children();
//! assert_eq!(m.text(kids[0]).as_deref(), Some("café"));
//! assert_eq!(m.decoded_body(kids[1]), b"%PDF");
//! assert_eq!(m.parts[kids[1]].filename(), Some("r.pdf"));
//! // IMAP BODY[2.MIME] and BODY[1] as exact byte ranges.
//! let r = m.section(&[1], Section::Full).unwrap();
//! assert_eq!(&raw[r], b"caf=E9");
//! assert_eq!(m.section_path(kids[1]), [2]);
//! ```
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

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
pub use date::{days_from_civil, parse_date, parse_imap_date, parse_imap_date_time, parse_zone, Civil, DateTime};
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

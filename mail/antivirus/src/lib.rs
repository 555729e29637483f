//! Signature scanner reading ClamAV `.hdb`/`.hsb`/`.ndb`/`.ldb` formats over a
//! message and its decoded MIME parts, sans-IO, no_std.
//!
//! The kernel loads the signature files from the config disk (or the
//! embedded [`DEFAULT_NDB`]/[`DEFAULT_HDB`] set) into one [`Database`] at
//! boot, then calls [`Database::scan_message`] on each received message.
//!
//! ```
//! use mail_antivirus::{default_database, ScanLimits, Verdict};
//! let db = default_database();
//! let eicar = mail_antivirus::EICAR;
//! let v = db.scan_message(eicar, &ScanLimits::default());
//! assert_eq!(v.virus(), Some("Unimail.Test.EICAR.HDB"));
//! let v = db.scan_message(b"Subject: hi\r\n\r\nhello\r\n", &ScanLimits::default());
//! assert_eq!(v, Verdict::Clean);
//! ```

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod db;
pub mod logical;
pub mod pattern;
pub mod scan;

pub use db::{Database, DbLimits, Format, LoadReport, Offset, ParseError, Target};
pub use scan::{Detection, Location, ScanLimits, Verdict};

/// The project's own body signatures (`sigs/unimail.ndb`).
pub const DEFAULT_NDB: &str = include_str!("../sigs/unimail.ndb");
/// The project's own hash signatures (`sigs/unimail.hdb`).
pub const DEFAULT_HDB: &str = include_str!("../sigs/unimail.hdb");

/// The 68-byte EICAR anti-virus test file (public, harmless by design).
pub const EICAR: &[u8; 68] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// A database with the shipped default signatures.
pub fn default_database() -> Database {
    let mut db = Database::new();
    // The shipped files are tested; a failure here is a build defect.
    db.load(Format::Ndb, DEFAULT_NDB).expect("sigs/unimail.ndb");
    db.load(Format::Hdb, DEFAULT_HDB).expect("sigs/unimail.hdb");
    db
}

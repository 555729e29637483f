//! The antivirus (mail-antivirus): ClamAV-format signature text
//! (`.hdb`/`.hsb`/`.ndb`/`.ldb`, from the config disk) loaded into a
//! `Database` under small limits and used to scan fixed messages; and
//! arbitrary messages scanned with the embedded default database.
//!
//! Input: `sel, bytes`: sel & 0x80 scans `bytes` as a message, otherwise
//! `bytes` is a signature file in format `sel % 4`.
#![no_main]
use std::sync::OnceLock;

use fuzz_common::imap::{MSG1, MSG2};
use libfuzzer_sys::fuzz_target;
use mail_antivirus::{default_database, Database, DbLimits, Format, ScanLimits, EICAR};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else { return };
    let limits = ScanLimits::default();
    if sel & 0x80 != 0 {
        static DB: OnceLock<Database> = OnceLock::new();
        let db = DB.get_or_init(default_database);
        let _ = db.scan_message(bytes, &limits);
        let _ = db.scan_bytes(bytes);
        return;
    }
    let format = [Format::Hdb, Format::Hsb, Format::Ndb, Format::Ldb][sel as usize % 4];
    let mut db = Database::with_limits(DbLimits { max_signatures: 64, ..DbLimits::default() });
    if db.load_bytes(format, bytes).is_ok() {
        let with_eicar = [&MSG1[..], b"\r\n", &EICAR[..]].concat();
        for m in [MSG1, MSG2, &with_eicar[..], bytes] {
            let _ = db.scan_message(m, &limits);
        }
        let _ = db.scan_bytes(bytes);
    }
});

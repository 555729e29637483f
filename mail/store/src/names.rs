//! Folder names: the IMAP side (UTF-8, `/` hierarchy, what `mail-imap`
//! hands the [`mail_imap::Store`]) versus the Maildir++ side (modified
//! UTF-7, `.` hierarchy, the directory `.<name>`), as Dovecot's
//! `LAYOUT=maildir++` with `separator = /` stores them.

use alloc::string::String;
use mail_imap::store::DELIMITER;
use mail_imap::StoreError;

/// `INBOX` is the Maildir root; every other name becomes `.<name>`.
pub const INBOX: &str = "INBOX";

/// IMAP name -> Maildir++ folder name (`Archive/2024` -> `Archive.2024`).
///
/// RFC 3501 5.1.3: names are stored in modified UTF-7, as Dovecot does on
/// disk (unless its `UTF-8` layout option is on). A `.` inside a component
/// cannot be represented with `/` as the IMAP delimiter (Dovecot answers
/// "Character not permitted"), so it is refused, as are empty components.
pub fn to_disk(name: &str) -> Result<String, StoreError> {
    if name.eq_ignore_ascii_case(INBOX) {
        return Ok(String::from(INBOX));
    }
    if name.is_empty() || name.len() > 200 {
        return Err(StoreError::NotAllowed);
    }
    for comp in name.split(DELIMITER) {
        if comp.is_empty() || comp.contains('.') || comp.chars().any(|c| c.is_control()) {
            return Err(StoreError::NotAllowed);
        }
    }
    let enc = mail_imap::utf7::encode(name);
    let disk: String = enc.chars().map(|c| if c == DELIMITER { '.' } else { c }).collect();
    if disk.len() > 200 {
        return Err(StoreError::NotAllowed);
    }
    Ok(disk)
}

/// Maildir++ folder name -> IMAP name. Names that are not valid modified
/// UTF-7 (written by something else) are shown as they are.
pub fn from_disk(disk: &str) -> String {
    if disk.eq_ignore_ascii_case(INBOX) {
        return String::from(INBOX);
    }
    let slashed: String = disk.chars().map(|c| if c == '.' { DELIMITER } else { c }).collect();
    match mail_imap::utf7::decode(slashed.as_bytes()) {
        Some(s) => s,
        None => slashed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for (imap, disk) in [
            ("INBOX", "INBOX"),
            ("inbox", "INBOX"),
            ("Sent", "Sent"),
            ("Archive/2024", "Archive.2024"),
            ("INBOX/Lists", "INBOX.Lists"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("Tom & Jerry", "Tom &- Jerry"),
            ("日本語/メール", "&ZeVnLIqe-.&MOEw,DDr-"),
        ] {
            assert_eq!(to_disk(imap).unwrap(), disk, "{imap}");
            if imap != "inbox" {
                assert_eq!(from_disk(disk), imap);
            }
        }
    }

    #[test]
    fn refused() {
        for bad in ["", "a.b", "a//b", "/a", "a/", ".hidden", "x\ny"] {
            assert_eq!(to_disk(bad), Err(StoreError::NotAllowed), "{bad:?}");
        }
        assert_eq!(to_disk(&"x".repeat(201)), Err(StoreError::NotAllowed));
    }
}

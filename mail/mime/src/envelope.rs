//! The data of an IMAP ENVELOPE (RFC 3501 7.4.2), taken from a message
//! header. Formatting as an IMAP s-expression is the IMAP crate's job.

use alloc::vec::Vec;

use crate::address::Address;
use crate::header::Header;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Envelope {
    /// Raw unfolded values (IMAP sends them as written; encoded words are
    /// the client's business).
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Vec<Address>,
    /// RFC 3501 7.4.2: defaults to From when absent.
    pub sender: Vec<Address>,
    /// RFC 3501 7.4.2: defaults to From when absent.
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub in_reply_to: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
}

impl Envelope {
    /// Builds the envelope of a message header (the root's, or that of a
    /// message/rfc822 part's inner message). Only the first field of each
    /// name is used, as IMAP servers do.
    pub fn from_header(h: &Header<'_>, max_addresses: usize) -> Envelope {
        let first = |name: &str| h.get(name).map(|f| f.unfolded());
        let addrs = |name: &str| match h.get(name) {
            Some(f) => crate::address::parse_address_list(f.value, max_addresses),
            None => Vec::new(),
        };
        let from = addrs("from");
        let sender = if h.get("sender").is_some() { addrs("sender") } else { from.clone() };
        let reply_to = if h.get("reply-to").is_some() { addrs("reply-to") } else { from.clone() };
        Envelope {
            date: first("date"),
            subject: first("subject"),
            sender,
            reply_to,
            from,
            to: addrs("to"),
            cc: addrs("cc"),
            bcc: addrs("bcc"),
            in_reply_to: first("in-reply-to"),
            message_id: first("message-id"),
        }
    }
}

impl<'a> crate::Message<'a> {
    /// Envelope of entity `idx` (must be a message entity: the root, or the
    /// child of a message/rfc822 part); the root's when `idx` is 0.
    pub fn envelope(&self, idx: usize) -> Option<Envelope> {
        let p = self.parts.get(idx)?;
        p.is_message.then(|| Envelope::from_header(&p.header, self.limits().max_addresses))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Address, Message};

    #[test]
    fn envelope_defaults() {
        let m = Message::parse(b"From: A <a@x>\r\nSubject: =?utf-8?q?hi?=\r\nTo: g:;\r\nMessage-ID: <1@x>\r\n\r\n");
        let e = m.envelope(0).unwrap();
        assert_eq!(e.subject.as_deref(), Some(&b"=?utf-8?q?hi?="[..]));
        assert_eq!(e.sender, e.from);
        assert_eq!(e.reply_to, e.from);
        assert_eq!(e.to, [Address::GroupStart("g".into()), Address::GroupEnd]);
        assert_eq!(e.message_id.as_deref(), Some(&b"<1@x>"[..]));
        assert!(e.date.is_none());
    }
}

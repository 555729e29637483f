//! RFC 3501 6.4.4 SEARCH evaluation for one message.

use crate::command::SearchKey;
use crate::mime;
use crate::store::{MessageMeta, Uid};
use crate::types::{SeqSet, SystemFlag};

/// What a search key is evaluated against.
pub struct Ctx<'a> {
    pub seq: u32,
    pub meta: &'a MessageMeta,
    pub recent: bool,
    /// Largest sequence number / UID in the mailbox (for `*`).
    pub max_seq: u32,
    pub max_uid: Uid,
    /// The parsed message, when the key needs the content.
    pub msg: Option<&'a mime::Message<'a>>,
    /// RFC 5182: the saved search result (`$`), as ascending UIDs.
    pub saved: &'a [Uid],
}

fn header_matches(msg: Option<&mime::Message<'_>>, name: &str, needle: &[u8]) -> bool {
    msg.map_or(false, |m| mime::header_matches(m, name, needle))
}

/// The day of the Date: header, in the header's own zone (RFC 3501
/// 6.4.4: "disregarding time and timezone"). RFC 3501 is silent about
/// messages without a (valid) Date; like Dovecot we treat them as sent
/// on 1-Jan-1970, so SENTBEFORE matches them.
fn sent_day(msg: Option<&mime::Message<'_>>) -> i64 {
    msg.and_then(|m| m.date()).map_or(0, |d| (d.timestamp + i64::from(d.offset_minutes) * 60).div_euclid(86400))
}

fn in_set(set: &SeqSet, ctx: &Ctx, uid: bool) -> bool {
    match set {
        SeqSet::Saved => ctx.saved.binary_search(&ctx.meta.uid).is_ok(),
        _ if uid => set.contains(ctx.meta.uid, ctx.max_uid),
        _ => set.contains(ctx.seq, ctx.max_seq),
    }
}

pub fn matches(key: &SearchKey, ctx: &Ctx) -> bool {
    use SearchKey::*;
    let f = &ctx.meta.flags;
    let msg = ctx.msg;
    let day = ctx.meta.internal_date.div_euclid(86400);
    match key {
        All => true,
        And(v) => v.iter().all(|k| matches(k, ctx)),
        Answered => f.has(SystemFlag::Answered),
        Bcc(s) => msg.map_or(false, |m| mime::address_matches(m, "Bcc", s)),
        Before(d) => day < *d,
        Body(s) => msg.map_or(false, |m| mime::body_matches(m, s)),
        Cc(s) => msg.map_or(false, |m| mime::address_matches(m, "Cc", s)),
        Deleted => f.has(SystemFlag::Deleted),
        Draft => f.has(SystemFlag::Draft),
        Flagged => f.has(SystemFlag::Flagged),
        From(s) => msg.map_or(false, |m| mime::address_matches(m, "From", s)),
        // RFC 3501 6.4.4: HEADER with an empty string matches all
        // messages that have the field.
        Header(n, s) => header_matches(msg, n, s),
        Keyword(k) => f.has_keyword(k),
        Larger(n) => ctx.meta.size > *n,
        New => ctx.recent && !f.has(SystemFlag::Seen),
        Not(k) => !matches(k, ctx),
        Old => !ctx.recent,
        On(d) => day == *d,
        Or(a, b) => matches(a, ctx) || matches(b, ctx),
        Recent => ctx.recent,
        Seen => f.has(SystemFlag::Seen),
        SentBefore(d) => sent_day(msg) < *d,
        SentOn(d) => sent_day(msg) == *d,
        SentSince(d) => sent_day(msg) >= *d,
        SeqSet(s) => in_set(s, ctx, false),
        Since(d) => day >= *d,
        Smaller(n) => ctx.meta.size < *n,
        Subject(s) => header_matches(msg, "Subject", s),
        Text(s) => msg.map_or(false, |m| mime::text_search(m, s)),
        To(s) => msg.map_or(false, |m| mime::address_matches(m, "To", s)),
        Uid(s) => in_set(s, ctx, true),
        Unanswered => !f.has(SystemFlag::Answered),
        Undeleted => !f.has(SystemFlag::Deleted),
        Undraft => !f.has(SystemFlag::Draft),
        Unflagged => !f.has(SystemFlag::Flagged),
        Unkeyword(k) => !f.has_keyword(k),
        Unseen => !f.has(SystemFlag::Seen),
        ModSeq(m) => ctx.meta.modseq >= *m,
    }
}

/// Converts the search strings of a key from `charset` to UTF-8
/// (RFC 3501 6.4.4 CHARSET).
pub fn convert_charset(key: &mut SearchKey, charset: mail_mime::Charset) {
    use SearchKey::*;
    match key {
        Bcc(v) | Body(v) | Cc(v) | From(v) | Header(_, v) | Subject(v) | Text(v) | To(v) => {
            *v = charset.decode(v).into_bytes();
        }
        And(list) => list.iter_mut().for_each(|k| convert_charset(k, charset)),
        Not(k) => convert_charset(k, charset),
        Or(a, b) => {
            convert_charset(a, charset);
            convert_charset(b, charset);
        }
        _ => {}
    }
}

//! RFC 3501 6.4.4 SEARCH evaluation for one message.

use crate::command::SearchKey;
use crate::datetime;
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
    /// The message text (CRLF), when the key needs it.
    pub msg: Option<&'a [u8]>,
    /// RFC 5182: the saved search result (`$`), as ascending UIDs.
    pub saved: &'a [Uid],
}

fn header_matches(msg: &[u8], name: &str, needle: &[u8]) -> bool {
    let (h, _) = mime::split_header(msg);
    mime::fields(&msg[..h]).iter().any(|f| {
        f.name.eq_ignore_ascii_case(name.as_bytes()) && mime::contains_ci(&mime::unfold(f.value), needle)
    })
}

/// The day of the Date: header. RFC 3501 is silent about messages
/// without a (valid) Date; like Dovecot we treat them as sent on
/// 1-Jan-1970, so SENTBEFORE matches them.
fn sent_day(msg: &[u8]) -> i64 {
    let (h, _) = mime::split_header(msg);
    mime::header_value(&msg[..h], "Date")
        .and_then(|d| datetime::parse_rfc5322(&d))
        .map_or(0, |t| t.div_euclid(86400))
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
    let msg = ctx.msg.unwrap_or(&[]);
    let day = ctx.meta.internal_date.div_euclid(86400);
    match key {
        All => true,
        And(v) => v.iter().all(|k| matches(k, ctx)),
        Answered => f.has(SystemFlag::Answered),
        Bcc(s) => header_matches(msg, "Bcc", s),
        Before(d) => day < *d,
        Body(s) => {
            let (_, b) = mime::split_header(msg);
            mime::contains_ci(&msg[b..], s)
        }
        Cc(s) => header_matches(msg, "Cc", s),
        Deleted => f.has(SystemFlag::Deleted),
        Draft => f.has(SystemFlag::Draft),
        Flagged => f.has(SystemFlag::Flagged),
        From(s) => header_matches(msg, "From", s),
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
        Text(s) => mime::contains_ci(msg, s),
        To(s) => header_matches(msg, "To", s),
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

//! Bayesian spam classifier with OSB token pairs and a persistent token
//! store, sans-IO, no_std.
//!
//! Per message: [`tokenize`] the raw bytes once, [`Store::classify`] for
//! the filter, [`Store::learn`] with [`Class::Spam`]/[`Class::Ham`] and the
//! [`message_key`] for auto-learn and IMAP Junk moves. The store is saved
//! as `bayes/tokens` with [`Store::to_bytes`] when [`Store::is_dirty`].
//!
//! ```
//! use mail_bayes::{tokenize, message_key, BayesConfig, Class, Store, TokenLimits};
//! let mut store = Store::new(BayesConfig { min_learned: 1, min_tokens: 3, ..BayesConfig::default() });
//! let spam = b"Subject: cheap pills\r\n\r\nbuy cheap pills now, best price pills\r\n";
//! let ham = b"Subject: lunch\r\n\r\nshall we have lunch at noon on friday?\r\n";
//! for m in [&spam[..], &ham[..]] {
//!     let class = if m == &spam[..] { Class::Spam } else { Class::Ham };
//!     store.learn(&tokenize(m, &TokenLimits::default()), class, Some(message_key(m)));
//! }
//! let t = tokenize(b"Subject: pills\r\n\r\ncheap pills, buy now\r\n", &TokenLimits::default());
//! assert!(store.classify(&t).probability().unwrap() > 0.9);
//! let bytes = store.to_bytes();
//! let again = Store::from_bytes(&bytes, store.config().clone()).unwrap();
//! assert_eq!(again.learned(), (1, 1));
//! ```

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod hash;
pub mod store;
pub mod table;
pub mod tokenize;

pub use store::{BayesConfig, Class, Classification, Counts, LearnOutcome, LoadError, NoVote, Store};
pub use tokenize::{tokenize, TokenLimits, Tokens};

/// Path of the token store on the mail disk (relative to its root).
pub const TOKENS_PATH: &str = "bayes/tokens";

/// Key for the learn cache: the Message-ID when there is one, else a hash
/// of the Subject and the body. Both survive what happens between the
/// filter's auto-learn and a later IMAP move (prepended X-Spam and trace
/// headers), so a move learns the same message instead of a second one.
pub fn message_key(raw: &[u8]) -> u64 {
    let m = mail_mime::Message::parse(raw);
    match m.header().get("message-id").map(|f| f.unfolded()) {
        Some(id) if !id.is_empty() => hash::TokenHasher::default().write(b"mid").write(&id).finish(),
        _ => {
            let subject = m.header().get("subject").map(|f| f.unfolded()).unwrap_or_default();
            hash::TokenHasher::default().write(b"body").write(&subject).write(&[0]).write(m.body_raw(0)).finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_key_survives_added_headers() {
        let m = b"Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n";
        let delivered =
            b"X-Spam: Yes\r\nX-Spam-Score: 9.00\r\nReturn-Path: <a@b>\r\nSubject: hi\r\nFrom: a@b\r\n\r\nbody\r\n";
        assert_eq!(message_key(m), message_key(delivered));
        assert_ne!(message_key(m), message_key(b"Subject: ho\r\nFrom: a@b\r\n\r\nbody\r\n"));
        assert_ne!(message_key(m), message_key(b"Subject: hi\r\nFrom: a@b\r\n\r\nbody!\r\n"));
        let with_id = b"Message-ID: <x@y>\r\nSubject: hi\r\n\r\nbody\r\n";
        assert_eq!(message_key(with_id), message_key(b"X-Spam: Yes\r\nMessage-ID:  <x@y>\r\n\r\nother\r\n"));
    }
}

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

/// Key for the learn cache: the Message-ID when there is one (stable when
/// IMAP moves the message to Junk and back), else a hash of the whole
/// message.
pub fn message_key(raw: &[u8]) -> u64 {
    let m = mail_mime::Message::parse(raw);
    match m.header().get("message-id").map(|f| f.unfolded()) {
        Some(id) if !id.is_empty() => hash::TokenHasher::default().write(b"mid").write(&id).finish(),
        _ => hash::hash(raw),
    }
}

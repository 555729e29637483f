//! The Bayes classifier (mail-bayes): the `bayes/tokens` store file from
//! the mail disk (its checksum fixed up so the fuzzer gets past it) loaded,
//! used to classify, learn and unlearn, saved and loaded again; and an
//! arbitrary message tokenized and classified.
//!
//! Input: `sel, bytes`: sel & 1 tokenizes `bytes` as a message, otherwise
//! `bytes` is a store file.
#![no_main]
use fuzz_common::imap::{MSG1, MSG2};
use libfuzzer_sys::fuzz_target;
use mail_bayes::hash::TokenHasher;
use mail_bayes::{message_key, tokenize, BayesConfig, Class, Store, TokenLimits};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else { return };
    let cfg =
        BayesConfig { min_learned: 1, min_tokens: 1, max_tokens: 4096, learn_cache: 64, ..BayesConfig::default() };
    let limits = TokenLimits::default();
    if sel & 1 != 0 {
        let t = tokenize(bytes, &limits);
        let _ = message_key(bytes);
        let mut s = Store::new(cfg);
        s.learn(&tokenize(MSG1, &limits), Class::Spam, Some(1));
        s.learn(&tokenize(MSG2, &limits), Class::Ham, Some(2));
        let _ = s.classify(&t).probability();
        s.learn(&t, Class::Spam, Some(message_key(bytes)));
        let _ = s.unlearn(&t, Class::Spam, Some(message_key(bytes)));
        return;
    }
    let mut file = bytes.to_vec();
    if file.len() >= 16 {
        let at = file.len() - 8;
        let sum = TokenHasher::default().write(&file[..at]).finish();
        file[at..].copy_from_slice(&sum.to_le_bytes());
    }
    let Ok(mut s) = Store::from_bytes(&file, cfg.clone()) else { return };
    let t = tokenize(MSG2, &limits);
    let _ = s.classify(&t).probability();
    s.learn(&t, Class::Ham, Some(7));
    s.learn(&t, Class::Spam, Some(7));
    s.prune();
    let saved = s.to_bytes();
    let again = Store::from_bytes(&saved, cfg).expect("a saved store loads again");
    assert_eq!(again.learned(), s.learned());
});

//! Sieve (mail-sieve): compile an arbitrary script with every extension,
//! under default and tight compile limits, and run what compiles against
//! fixed messages through both message adapters (mail-mime based and the
//! simple one) and as a `sieve_before` + user sequence.
#![no_main]
use fuzz_common::imap::{MSG1, MSG2, MSG3};
use fuzz_common::SieveEnv;
use libfuzzer_sys::fuzz_target;
use mail_sieve::simple::SimpleMessage;
use mail_sieve::{compile_with, evaluate, evaluate_sequence, CompileLimits, ExtSet, MimeMessage, RunLimits};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, script)) = data.split_first() else { return };
    let src = String::from_utf8_lossy(script);
    let lim = if sel & 1 == 0 {
        CompileLimits::default()
    } else {
        CompileLimits { max_tokens: 64, max_depth: 3, max_list: 4 }
    };
    let Ok(s) = compile_with(&src, ExtSet::all(), &lim) else { return };
    let run = RunLimits { max_match_work: 1 << 20, ..RunLimits::default() };
    let raw = [MSG1, MSG2, MSG3][(sel as usize >> 1) % 3];
    let o = evaluate(&s, &MimeMessage::parse(raw), &mut SieveEnv, &run);
    assert!(!o.actions.is_empty(), "an outcome always keeps or discards");
    let o = evaluate(&s, &SimpleMessage::parse(&String::from_utf8_lossy(raw)), &mut SieveEnv, &run);
    assert!(!o.actions.is_empty());
    let o = evaluate_sequence(&[&s, &s], &MimeMessage::parse(MSG2), &mut SieveEnv, &run);
    assert!(!o.actions.is_empty());
});

//! `MaildirStore::take_transfers`: the copies and moves of a call, with the
//! UIDs in the target folder, as the kernel's Bayes learning on Junk moves
//! needs them (RFC 6785 IMAPSieve's "COPY"/"MOVE" events).

mod common;
use common::*;
use mail_imap::Store;
use mail_store::Transfer;

#[test]
fn copies_and_moves_are_reported_with_target_uids() {
    let mut env = ram_env(16);
    for m in [MSG1, MSG2, MSG1] {
        env.deliver(m);
    }
    let mut st = env.store();
    st.create_folder("Junk").unwrap();
    let (_, inbox) = st.list_messages("INBOX").unwrap();
    let uids: Vec<u32> = inbox.iter().map(|m| m.uid).collect();
    assert!(st.take_transfers().is_empty());
    let (_, moved) = st.move_messages("INBOX", &uids[..2], "Junk").unwrap();
    let (_, copied) = st.copy("INBOX", &uids[2..], "Junk").unwrap();
    let t = st.take_transfers();
    assert_eq!(
        t,
        vec![
            Transfer { from: "INBOX".into(), to: "Junk".into(), uids: moved.clone(), moved: true },
            Transfer { from: "INBOX".into(), to: "Junk".into(), uids: copied, moved: false },
        ]
    );
    // The UIDs name the messages in the target.
    for u in &moved {
        assert!(!st.read_message("Junk", *u).unwrap().is_empty());
    }
    assert!(st.take_transfers().is_empty(), "taken once");
    // A failed copy reports nothing.
    assert!(st.copy("INBOX", &uids[..1], "Nope").is_err());
    assert!(st.take_transfers().is_empty());
}

//! Realistic IMAP dialogues through mail-imap's own session against the
//! Maildir store on an in-RAM ext2 image, checking the files after each
//! step: names, flags in names, uidlists, keyword files, and that UIDs
//! survive a remount.

mod common;
use common::*;
use mail_imap::Store;

#[test]
fn select_fetch_store_copy_move_expunge_append_and_remount() {
    let mut env = ram_env(16);
    let mut s = logged_in(&mut env);
    // First login made INBOX and the special-use folders.
    assert!(env.ls("").contains(&"cur".to_string()));
    assert!(env.cat("dovecot-uidlist").starts_with("3 V"));
    let out = run(&mut s, &mut env, "a LIST \"\" *\r\n");
    assert!(out.contains("* LIST (\\HasNoChildren) \"/\" \"INBOX\""), "{out}");

    // Three deliveries land in new/ with UIDs 1..3.
    for m in [MSG1, MSG2, MSG1] {
        env.deliver(m);
    }
    assert_eq!(env.ls("new").len(), 3);
    assert_eq!(env.uidlist("").iter().map(|(u, _)| *u).collect::<Vec<_>>(), [1, 2, 3]);

    // EXAMINE only peeks at \Recent: nothing moves.
    let out = run(&mut s, &mut env, "e EXAMINE INBOX\r\n");
    assert!(out.contains("* 3 EXISTS") && out.contains("* 3 RECENT"), "{out}");
    assert_eq!(env.ls("new").len(), 3);

    // SELECT claims them: new/ -> cur/ with ":2,".
    let out = run(&mut s, &mut env, "s SELECT INBOX\r\n");
    assert!(out.contains("* 3 EXISTS") && out.contains("* 3 RECENT") && out.contains("s OK [READ-WRITE]"), "{out}");
    let uv = uidvalidity(&out);
    assert!(env.ls("new").is_empty());
    assert_eq!(env.cur_flags("").iter().map(|(_, f)| f.as_str()).collect::<Vec<_>>(), ["2,", "2,", "2,"]);

    let out = run(&mut s, &mut env, "f FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)\r\n");
    assert!(
        out.contains(&format!(
            "* 2 FETCH (UID 2 FLAGS (\\Recent) RFC822.SIZE {} INTERNALDATE \"14-Nov-2023 22:15:02 +0000\")",
            MSG2.len()
        )),
        "{out}"
    );
    let out = run(&mut s, &mut env, "b FETCH 2 BODY[]\r\n");
    assert!(out.contains(std::str::from_utf8(MSG2).unwrap()) && out.contains("FLAGS (\\Seen \\Recent)"), "{out}");
    assert_eq!(env.flags_of("", 2).unwrap(), "2,S");

    // STORE: system flags as letters, keywords via dovecot-keywords.
    let out = run(&mut s, &mut env, "t STORE 1 +FLAGS (\\Flagged \\Answered $Forwarded Work $Junk)\r\n");
    assert!(out.contains("t OK"), "{out}");
    assert_eq!(env.flags_of("", 1).unwrap(), "2,FRabc");
    assert_eq!(env.cat("dovecot-keywords"), "0 $Forwarded\n1 Work\n2 $Junk\n");
    let out = run(&mut s, &mut env, "t2 STORE 1 -FLAGS (Work)\r\nt3 FETCH 1 FLAGS\r\n");
    assert!(out.contains("* 1 FETCH (FLAGS (\\Answered \\Flagged \\Recent $Forwarded $Junk))"), "{out}");
    assert_eq!(env.flags_of("", 1).unwrap(), "2,FRac");

    // COPY keeps flags (keywords re-lettered for the target) and dates.
    let out = run(&mut s, &mut env, "c CREATE Archive/2024\r\nc2 COPY 1:2 Archive/2024\r\n");
    assert!(out.contains("c OK") && out.contains("[COPYUID "), "{out}");
    assert!(env.ls("").contains(&".Archive.2024".to_string()));
    assert_eq!(env.uidlist(".Archive.2024/").len(), 2);
    assert_eq!(env.flags_of(".Archive.2024/", 1).unwrap(), "2,FRab");
    assert_eq!(env.cat(".Archive.2024/dovecot-keywords"), "0 $Forwarded\n1 $Junk\n");
    assert_eq!(env.flags_of(".Archive.2024/", 2).unwrap(), "2,S");
    let out = run(&mut s, &mut env, "st STATUS Archive/2024 (MESSAGES UIDNEXT UNSEEN SIZE)\r\n");
    assert!(out.contains(&format!("(MESSAGES 2 UIDNEXT 3 UNSEEN 1 SIZE {})", MSG1.len() + MSG2.len())), "{out}");

    // MOVE: renamed into the target, gone from INBOX, UIDs in both lists.
    let out = run(&mut s, &mut env, "m UID MOVE 3 Archive/2024\r\n");
    assert!(out.contains("* 3 EXPUNGE") && out.contains("m OK"), "{out}");
    let uva = uidvalidity(&run(&mut s, &mut env, "x STATUS Archive/2024 (UIDVALIDITY)\r\n"));
    assert!(out.contains(&format!("[COPYUID {uva} 3 3]")), "{out}");
    assert_eq!(env.cur_flags("").len(), 2);
    assert_eq!(env.uidlist("").iter().map(|(u, _)| *u).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(env.uidlist(".Archive.2024/").iter().map(|(u, _)| *u).collect::<Vec<_>>(), [1, 2, 3]);

    // EXPUNGE: \Deleted shows as T, then the file is gone.
    let out = run(&mut s, &mut env, "d STORE 2 +FLAGS.SILENT (\\Deleted)\r\n");
    assert!(out.contains("d OK"), "{out}");
    assert_eq!(env.flags_of("", 2).unwrap(), "2,ST");
    let out = run(&mut s, &mut env, "x EXPUNGE\r\n");
    assert!(out.contains("* 2 EXPUNGE") && out.contains("x OK"), "{out}");
    assert_eq!(env.cur_flags("").len(), 1);
    // Dropped from the uidlist; the header keeps the next UID.
    let list = env.cat("dovecot-uidlist");
    assert!(list.starts_with(&format!("3 V{uv} N4\n1 :")) && list.lines().count() == 2, "{list}");

    // APPEND with flags and a date: straight into cur/, mtime = the date.
    let lit = MSG3;
    let out = run(
        &mut s,
        &mut env,
        &format!("p APPEND INBOX (\\Seen \\Draft Work) \"01-Jan-2020 12:00:00 +0000\" {{{}}}\r\n", lit.len()),
    );
    assert!(out.starts_with("+"), "{out}");
    let out = run(&mut s, &mut env, &format!("{}\r\n", std::str::from_utf8(lit).unwrap()));
    assert!(out.contains(&format!("p OK [APPENDUID {uv} 4]")), "{out}");
    assert_eq!(env.flags_of("", 4).unwrap(), "2,DSb");
    let crlf = String::from_utf8_lossy(MSG3).replace('\n', "\r\n");
    let out = run(&mut s, &mut env, "f UID FETCH 4 (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])\r\n");
    assert!(out.contains("INTERNALDATE \"01-Jan-2020 12:00:00 +0000\""), "{out}");
    assert!(out.contains(&format!("RFC822.SIZE {}", crlf.len())) && out.contains(&crlf), "{out}");
    let base = env.uidlist("").into_iter().find(|(u, _)| *u == 4).unwrap().1;
    assert!(base.starts_with("1577880000.") && base.ends_with(&format!(",S={}", crlf.len())), "{base}");
    let st = env.fs.stat(&format!("{ROOT}/cur/{base}:2,DSb")).unwrap();
    assert_eq!(st.mtime, 1577880000);

    // Appending without flags: new/, so \Recent for the next claimer.
    let out = run(
        &mut s,
        &mut env,
        &format!("q APPEND Archive/2024 {{{}+}}\r\n{}\r\n", MSG1.len(), std::str::from_utf8(MSG1).unwrap()),
    );
    assert!(out.contains("q OK [APPENDUID") && out.contains(" 4]"), "{out}");
    assert_eq!(env.ls(".Archive.2024/new").len(), 1);

    let before: Vec<(u32, String)> = env.uidlist("");
    let out = run(&mut s, &mut env, "z LOGOUT\r\n");
    assert!(out.contains("z OK"), "{out}");

    // Reboot: same UIDVALIDITY, UIDs and flags; UIDNEXT stays past the
    // expunged and moved messages.
    let mut env = env.remount();
    assert_eq!(env.uidlist(""), before);
    let mut s = logged_in(&mut env);
    let out = run(&mut s, &mut env, "s SELECT INBOX\r\nf FETCH 1:* (UID FLAGS)\r\n");
    assert_eq!(uidvalidity(&out), uv);
    assert!(out.contains("* 2 EXISTS") && out.contains("[UIDNEXT 5]"), "{out}");
    assert!(out.contains("* 1 FETCH (UID 1 FLAGS (\\Answered \\Flagged $Forwarded $Junk))"), "{out}");
    assert!(out.contains("* 2 FETCH (UID 4 FLAGS (\\Seen \\Draft Work))"), "{out}");
    let out = run(&mut s, &mut env, "s SELECT Archive/2024\r\n");
    assert!(out.contains("* 4 EXISTS") && out.contains("* 1 RECENT") && out.contains("[UIDNEXT 5]"), "{out}");
}

#[test]
fn idle_sees_deliveries_and_other_sessions() {
    let mut env = ram_env(16);
    env.defer = true;
    env.deliver(MSG1);
    let mut a = logged_in(&mut env);
    let mut b = logged_in(&mut env);
    let out = run(&mut a, &mut env, "s SELECT INBOX\r\ni IDLE\r\n");
    assert!(out.contains("* 1 RECENT") && out.ends_with("+ idling\r\n"), "{out}");
    // A delivery; the kernel pokes the session.
    env.deliver(MSG2);
    a.mailbox_changed();
    let out = run(&mut a, &mut env, "");
    assert_eq!(lines(&out), ["* 2 EXISTS", "* 2 RECENT"]);
    // Session b flags message 1 and expunges message 2.
    let out = run(
        &mut b,
        &mut env,
        "s SELECT INBOX\r\nt STORE 1 +FLAGS (\\Flagged)\r\nu STORE 2 +FLAGS (\\Deleted)\r\nx EXPUNGE\r\n",
    );
    assert!(out.contains("* 0 RECENT") && out.contains("x OK"), "{out}");
    a.mailbox_changed();
    let out = run(&mut a, &mut env, "");
    assert!(out.contains("* 1 FETCH (FLAGS (\\Flagged \\Recent))") && out.contains("* 2 EXPUNGE"), "{out}");
    let out = run(&mut a, &mut env, "DONE\r\n");
    assert_eq!(lines(&out), ["i OK IDLE terminated"]);
}

#[test]
fn folders_subscriptions_rename_delete() {
    let mut env = ram_env(16);
    let mut s = logged_in(&mut env);
    let out = run(
        &mut s,
        &mut env,
        "a CREATE Work/Projects\r\nb CREATE Entw&APw-rfe\r\nc SUBSCRIBE Work/Projects\r\nd SUBSCRIBE Entw&APw-rfe\r\ne CREATE bad.name\r\n",
    );
    assert!(out.contains("a OK") && out.contains("b OK") && out.contains("d OK") && out.contains("e NO"), "{out}");
    let dirs = env.ls("");
    assert!(dirs.contains(&".Work.Projects".to_string()) && dirs.contains(&".Entw&APw-rfe".to_string()), "{dirs:?}");
    assert!(env.cat(".Work.Projects/maildirfolder").is_empty());
    let subs = env.cat("subscriptions");
    assert!(subs.contains("\nEntw&APw-rfe\n") && subs.contains("\nWork.Projects\n"), "{subs}");
    let out = run(&mut s, &mut env, "l LSUB \"\" *\r\n");
    assert!(out.contains("Work/Projects") && out.contains("Entw&APw-rfe"), "{out}");

    // UIDVALIDITY of a re-created folder differs even in the same second.
    let v1 = uidvalidity(&run(&mut s, &mut env, "s STATUS Work/Projects (UIDVALIDITY)\r\n"));
    let out = run(&mut s, &mut env, "x DELETE Work/Projects\r\ny CREATE Work/Projects\r\n");
    assert!(out.contains("x OK") && out.contains("y OK"), "{out}");
    let v2 = uidvalidity(&run(&mut s, &mut env, "s STATUS Work/Projects (UIDVALIDITY)\r\n"));
    assert!(v2 > v1, "{v1} {v2}");

    // RENAME moves children; RENAME INBOX moves the messages only.
    let out = run(&mut s, &mut env, "r RENAME Work Job\r\n");
    assert!(out.contains("r OK"), "{out}");
    let dirs = env.ls("");
    assert!(dirs.contains(&".Job.Projects".to_string()) && !dirs.iter().any(|d| d.starts_with(".Work")), "{dirs:?}");
    env.deliver(MSG1);
    env.deliver(MSG2);
    let out = run(
        &mut s,
        &mut env,
        "s SELECT INBOX\r\nt STORE 2 +FLAGS (Urgent)\r\nu CREATE INBOX/Sub\r\nr RENAME INBOX Old\r\n",
    );
    assert!(out.contains("r OK"), "{out}");
    assert!(env.ls("cur").is_empty() && env.ls("new").is_empty());
    assert_eq!(env.uidlist(".Old/").iter().map(|(u, _)| *u).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(env.flags_of(".Old/", 2).unwrap(), "2,a");
    assert_eq!(env.cat(".Old/dovecot-keywords"), "0 Urgent\n");
    assert!(env.ls("").contains(&".INBOX.Sub".to_string()));
    let mut st = env.store();
    assert_eq!(st.folder_status("INBOX").unwrap().messages, 0);
    assert_eq!(st.delete_folder("INBOX"), Err(mail_imap::StoreError::NotAllowed));
    assert_eq!(st.rename_folder("Old", "INBOX"), Err(mail_imap::StoreError::AlreadyExists));
    assert_eq!(st.create_folder("Old"), Err(mail_imap::StoreError::AlreadyExists));
    assert_eq!(st.folder_status("Nope"), Err(mail_imap::StoreError::NotFound));
    let mut names = st.list_folders().unwrap();
    names.sort();
    assert!(
        names.contains(&"Entwürfe".to_string())
            && names.contains(&"INBOX/Sub".to_string())
            && names.contains(&"Job/Projects".to_string()),
        "{names:?}"
    );
}

#[test]
fn at_most_26_keywords_per_folder() {
    let mut env = ram_env(16);
    env.deliver(MSG1);
    let mut s = logged_in(&mut env);
    run(&mut s, &mut env, "s SELECT INBOX\r\n");
    for i in 0..26 {
        let out = run(&mut s, &mut env, &format!("k{i} STORE 1 FLAGS (kw{i})\r\n"));
        assert!(out.contains(&format!("k{i} OK")), "{out}");
    }
    assert_eq!(env.cat("dovecot-keywords").lines().count(), 26);
    assert_eq!(env.flags_of("", 1).unwrap(), "2,z");
    let out = run(&mut s, &mut env, "n STORE 1 +FLAGS (one-more)\r\n");
    assert!(out.contains("n NO"), "{out}");
    assert_eq!(env.cat("dovecot-keywords").lines().count(), 26);
    // Known keywords still work.
    let out = run(&mut s, &mut env, "o STORE 1 FLAGS (KW0 kw25 \\Seen)\r\n");
    assert!(out.contains("o OK"), "{out}");
    assert_eq!(env.flags_of("", 1).unwrap(), "2,Saz");
}

#[test]
fn files_from_outside_get_uids_and_w_size() {
    // A file dropped in by the host (Dovecot-made name with ,W=): it gets
    // the next UID, and RFC822.SIZE comes from W=.
    let mut env = ram_env(16);
    env.deliver(MSG1);
    let body = b"Subject: lf\n\nx\n";
    let name = format!("{ROOT}/cur/1600000000.M9P9.host,S={},W={}:2,S", body.len(), body.len() + 3);
    env.fs.write_file(&name, body, T0).unwrap();
    env.fs.set_mtime(&name, 1600000000).unwrap();
    let mut st = env.store();
    let (_, list) = st.list_messages("INBOX").unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].uid, 2);
    assert_eq!(list[1].size, body.len() as u32 + 3);
    assert_eq!(list[1].internal_date, 1600000000);
    assert!(list[1].flags.has(mail_imap::SystemFlag::Seen));
    assert_eq!(st.peek_recent("INBOX").unwrap(), [1]);
    assert_eq!(st.claim_recent("INBOX").unwrap(), [1]);
    assert!(st.peek_recent("INBOX").unwrap().is_empty());
    assert_eq!(st.read_message("INBOX", 2).unwrap(), body);
    assert_eq!(st.read_message("INBOX", 3), Err(mail_imap::StoreError::NotFound));
    assert_eq!(env.uidlist("").len(), 2);
}

#[test]
fn move_onto_a_hard_linked_copy_with_the_same_name() {
    // Dovecot copies by hard link under the same file name. Moving the
    // original into the folder holding such a copy cannot link the name
    // again: the store copies it under a new name and expunges instead.
    let mut env = ram_env(16);
    env.deliver(MSG1);
    env.deliver(MSG2);
    env.store().create_folder("Other").unwrap();
    let (_, base) = env.uidlist("").into_iter().find(|(u, _)| *u == 2).unwrap();
    env.fs.link(&format!("{ROOT}/new/{base}"), &format!("{ROOT}/.Other/cur/{base}:2,S"), T0).unwrap();
    let mut st = env.store();
    let (_, other) = st.list_messages("Other").unwrap();
    assert_eq!(other.len(), 1);
    st.set_flags("INBOX", 2, &mail_imap::Flags::new().with(mail_imap::SystemFlag::Flagged)).unwrap();
    let (uv, uids) = st.move_messages("INBOX", &[2, 1], "Other").unwrap();
    assert_eq!(uv, st.folder_status("Other").unwrap().uid_validity);
    // UID 1 moved by rename (UID 2 in Other), UID 2 copied (UID 3).
    assert_eq!(uids, [3, 2]);
    assert!(st.list_messages("INBOX").unwrap().1.is_empty());
    let (_, other) = st.list_messages("Other").unwrap();
    assert_eq!(other.iter().map(|m| m.uid).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(other[2].flags.has(mail_imap::SystemFlag::Flagged));
    assert_eq!(st.read_message("Other", 3).unwrap(), MSG2);
    assert_eq!(st.read_message("Other", 2).unwrap(), MSG1);
    assert!(env.ls("cur").is_empty() && env.ls("new").is_empty());
}

#[test]
fn full_disk_is_overquota_and_leaves_nothing_behind() {
    let mut env = ram_env(2);
    let big = {
        let mut m = b"Subject: big\r\n\r\n".to_vec();
        while m.len() < 200_000 {
            m.extend_from_slice(b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n");
        }
        m
    };
    let mut st = env.store();
    st.create_folder("Copies").unwrap();
    let mut n = 0;
    let err = loop {
        match st.append("INBOX", &mail_imap::Flags::new().with(mail_imap::SystemFlag::Seen), Some(1_600_000_000), &big)
        {
            Ok((_, uid)) => {
                n += 1;
                assert_eq!(uid, n);
            }
            Err(e) => break e,
        }
        assert!(n < 20, "a 2 MB disk took {n} messages of 200 kB");
    };
    assert_eq!(err, mail_imap::StoreError::OverQuota);
    assert!(n >= 3, "{n}");
    // RFC 3501 6.4.7: a failed COPY leaves the target as it was.
    let uids: Vec<u32> = (1..=n).collect();
    assert_eq!(st.copy("INBOX", &uids, "Copies"), Err(mail_imap::StoreError::OverQuota));
    assert_eq!(st.folder_status("Copies").unwrap().messages, 0);
    assert_eq!(st.folder_status("Copies").unwrap().uid_next, 1);
    assert_eq!(st.folder_status("INBOX").unwrap().messages, n);
    // Space comes back after an expunge.
    st.expunge("INBOX", &[1, 2]).unwrap();
    let (_, uid) = st.append("INBOX", &mail_imap::Flags::new(), None, &big).unwrap();
    assert_eq!(uid, n + 1);
    assert!(env.ls("tmp").is_empty() && env.ls(".Copies/tmp").is_empty());
    assert_eq!(env.uidlist("").len(), n as usize - 1);
}

#[test]
fn byte_at_a_time_append_and_fetch() {
    // Input arriving one byte per read, the store rebuilt for each
    // process() call as the kernel does.
    let mut env = ram_env(16);
    let mut s = logged_in(&mut env);
    let lit = std::str::from_utf8(MSG2).unwrap();
    let input = format!("a APPEND INBOX (\\Seen) {{{}+}}\r\n{lit}\r\nb SELECT INBOX\r\nc FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])\r\nd LOGOUT\r\n", MSG2.len());
    let mut out = String::new();
    for b in input.as_bytes() {
        out.push_str(&run(&mut s, &mut env, std::str::from_utf8(std::slice::from_ref(b)).unwrap()));
    }
    assert!(out.contains("a OK [APPENDUID") && out.contains("d OK"), "{out}");
    assert!(
        out.contains("* 1 FETCH (FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {19}\r\nSubject: Report\r\n\r\n)"),
        "{out}"
    );
    assert_eq!(env.cur_flags("").len(), 1);
    assert_eq!(env.cur_flags("")[0].1, "2,S");
}

#[test]
fn deferred_store_is_durable_only_after_sync() {
    // The device image at a given moment is what survives a power cut.
    fn crash(fs: &mut disk::Ext2<disk::RamDevice>) -> u32 {
        let mut c = Env::mount(disk::RamDevice::from_vec(fs.device().as_bytes().to_vec()));
        let n = c.store().folder_status("INBOX").unwrap().messages;
        n
    }
    let mut env = ram_env(16);
    env.store().ensure_user().unwrap();
    let mut st = env.store().deferred();
    st.append("INBOX", &mail_imap::Flags::new().with(mail_imap::SystemFlag::Seen), None, MSG1).unwrap();
    st.append("INBOX", &mail_imap::Flags::new(), None, MSG2).unwrap();
    assert!(st.pending());
    // Not synced: the last steps (uidlist lines, renames) are not on the
    // device yet; the kernel must sync before sending the tagged OK.
    assert!(crash(st.fs()) < 2);
    st.sync().unwrap();
    assert!(!st.pending());
    assert_eq!(crash(st.fs()), 2);
    st.expunge("INBOX", &[1]).unwrap();
    st.sync().unwrap();
    assert_eq!(crash(st.fs()), 1);
    // Without deferral every call is durable on return.
    let mut st = env.store();
    st.append("INBOX", &mail_imap::Flags::new(), None, MSG3).unwrap();
    assert!(!st.pending());
    assert_eq!(crash(st.fs()), 2);
    st.set_flags("INBOX", 3, &mail_imap::Flags::new().with(mail_imap::SystemFlag::Deleted)).unwrap();
    let mut c = Env::mount(disk::RamDevice::from_vec(st.fs().device().as_bytes().to_vec()));
    assert_eq!(c.store().folder_status("INBOX").unwrap().deleted, 1);
}

#[test]
fn deferred_flushing_batches_a_big_store() {
    // STORE on many messages: one Maildir flush per message (link, flush,
    // unlink) plus, without deferral, one more per message before each
    // set_flags returns. Deferred, the kernel's sync() is the only extra.
    let mut flushes = Vec::new();
    for defer in [false, true] {
        let mut env = ram_env(16);
        for i in 0..60 {
            env.deliver(format!("Subject: {i}\r\n\r\nx\r\n").as_bytes());
        }
        env.defer = defer;
        let mut s = logged_in(&mut env);
        run(&mut s, &mut env, "s SELECT INBOX\r\n");
        let before = env.fs.device().flushes;
        let out = run(&mut s, &mut env, "t STORE 1:* +FLAGS.SILENT (\\Seen \\Flagged)\r\n");
        assert!(out.contains("t OK"), "{out}");
        flushes.push(env.fs.device().flushes - before);
        assert_eq!(env.cur_flags("").iter().filter(|(_, f)| f == "2,FS").count(), 60);
    }
    assert!(flushes[1] * 4 < flushes[0] * 3, "{flushes:?}");
}

#[test]
fn header_reads_stop_at_the_empty_line() {
    let mut env = ram_env(16);
    let mut big = b"From: a@example.org\r\nSubject: big\r\n\r\n".to_vec();
    big.extend(std::iter::repeat(b"0123456789abcdef\r\n".as_slice()).take(2000).flatten());
    let mut long_header = Vec::new();
    for i in 0..400 {
        long_header.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(30)).as_bytes());
    }
    long_header.extend_from_slice(b"\r\nbody\r\n");
    for m in [MSG1, MSG3, &big[..], b"no header end", &long_header[..]] {
        env.deliver(m);
    }
    let mut st = env.store();
    for uid in 1..=5 {
        let whole = st.read_message("INBOX", uid).unwrap();
        let head = st.read_header("INBOX", uid).unwrap();
        let end = whole.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
        let end = end.or_else(|| whole.windows(3).position(|w| w == b"\n\r\n").map(|i| i + 3));
        assert_eq!(head, &whole[..end.unwrap_or(whole.len())], "uid {uid}");
    }
    // Through the session: ENVELOPE and BODY[HEADER] as before.
    drop(st);
    let mut s = logged_in(&mut env);
    let out = run(&mut s, &mut env, "a SELECT INBOX\r\nb FETCH 3 (BODY.PEEK[HEADER] ENVELOPE RFC822.SIZE)\r\n");
    assert!(out.contains("BODY[HEADER] {37}\r\nFrom: a@example.org\r\nSubject: big\r\n\r\n"), "{out}");
    assert!(out.contains(&format!("RFC822.SIZE {}", big.len())), "{out}");
    let out = run(&mut s, &mut env, "c SEARCH SUBJECT big\r\nd SEARCH BODY 0123456789abcdef\r\n");
    assert!(out.contains("* SEARCH 3\r\nc OK") && out.contains("* SEARCH 3\r\nd OK"), "{out}");
}

#[test]
fn a_stale_cached_listing_never_reads_another_message() {
    // The inode map of a listing carried between calls (ListingCache):
    // the message is expunged elsewhere and its inode reused by a new
    // delivery; the stale listing must not serve the new file as UID 1.
    let mut env = ram_env(16);
    env.deliver(MSG1);
    env.deliver(MSG2);
    let mut st = env.store();
    assert_eq!(st.read_message("INBOX", 1).unwrap(), MSG1);
    assert_eq!(
        st.read_header("INBOX", 2).unwrap(),
        &MSG2[..MSG2.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4]
    );
    let cache = st.into_cache();
    drop(st);
    env.store().expunge("INBOX", &[1]).unwrap();
    let mut other = MSG1.to_vec();
    other[0] = b'X';
    env.deliver(&other);
    let mut st = env.store().with_cache(cache);
    assert_eq!(st.read_message("INBOX", 1), Err(mail_imap::StoreError::NotFound));
    assert_eq!(st.read_message("INBOX", 2).unwrap(), MSG2);
    assert_eq!(st.read_message("INBOX", 3).unwrap(), other);
}

#[test]
fn copies_into_a_claimed_folder_are_recent_once() {
    // RFC 3501 2.3.2 (imaptest `copy`): a message that arrives in cur/
    // (COPY, APPEND with flags) is \Recent for the first session that sees
    // it, and for no other.
    let mut env = ram_env(16);
    env.deliver(MSG1);
    let mut a = logged_in(&mut env);
    let out = run(&mut a, &mut env, "a SELECT INBOX\r\n");
    assert!(out.contains("* 1 RECENT"), "{out}");
    let out = run(&mut a, &mut env, "b STORE 1 +FLAGS (\\Seen)\r\nc COPY 1 INBOX\r\nd NOOP\r\n");
    assert!(out.contains("* 2 EXISTS\r\n* 2 RECENT"), "{out}");
    let out = run(&mut a, &mut env, "e FETCH 2 FLAGS\r\nf STATUS INBOX (RECENT)\r\n");
    assert!(out.contains("* 2 FETCH (FLAGS (\\Seen \\Recent))") && out.contains("(RECENT 0)"), "{out}");
    let mut b = logged_in(&mut env);
    let out = run(&mut b, &mut env, "a SELECT INBOX\r\n");
    assert!(out.contains("* 0 RECENT"), "{out}");
    assert!(env.cat("unimail-modseq").contains("R 3\n"));
}

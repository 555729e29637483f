//! Test harness: drives a Session against a MemStore, answering
//! authentication requests for bob/secret.
#![allow(dead_code)]

use mail_imap::{Action, AuthResult, Config, MemStore, Session};

pub const MSG1: &[u8] = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@owatagu.siam.edu.example\r\n\
Message-Id: <B27397-0100000@Blurdybloop.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

pub const MSG2: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: bob@example.com, \"Carol C.\" <carol@example.net>\r\n\
Cc: dave@example.com\r\n\
Subject: Report attached\r\n\
Date: Tue, 01 Mar 2022 10:00:00 +0000\r\n\
Message-ID: <r1@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
This is a multi-part message.\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Please find the report attached. Caf=C3=A9\r\n\
--b1\r\n\
Content-Type: application/pdf; name=\"report.pdf\"\r\n\
Content-Disposition: attachment; filename=\"report.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcOkw7zDtsOf\r\n\
--b1--\r\n";

/// A bare-LF message, as Maildir files often are.
pub const MSG3: &[u8] = b"From: list@lists.example\nTo: bob@example.com\nSubject: weekly digest\nDate: Wed, 02 Mar 2022 08:00:00 +0100\nX-Spam: yes\n\nline one\nline two\n";

pub fn tls_config() -> Config {
    // MemStore keeps real MODSEQs, so CONDSTORE can be offered.
    Config { tls_active: true, condstore: true, ..Config::default() }
}

pub struct Run {
    pub out: String,
    /// The raw output (literals may hold 8-bit data).
    pub bytes: Vec<u8>,
    pub closed: bool,
    pub starttls: bool,
}

/// Feeds `input` in chunks of `chunk` bytes, processing after each, and
/// returns everything the session wrote.
pub fn drive(s: &mut Session, st: &mut MemStore, input: &[u8], chunk: usize) -> Run {
    let mut out = Vec::new();
    let mut closed = false;
    let mut starttls = false;
    let mut pieces: Vec<&[u8]> = input.chunks(chunk.max(1)).collect();
    if pieces.is_empty() {
        pieces.push(b"");
    }
    'outer: for piece in pieces {
        let mut rest = piece;
        loop {
            let n = s.feed(rest);
            rest = &rest[n..];
            loop {
                match s.process(st) {
                    Action::Authenticate { user, password, .. } => {
                        let ok = user == "bob" && password == b"secret";
                        s.auth_result(if ok { AuthResult::Ok } else { AuthResult::Failed });
                    }
                    Action::Wait => break,
                    // Output over the high-water mark: "write" it, go on.
                    Action::Write => out.extend(s.take_output()),
                    Action::StartTls => {
                        starttls = true;
                        s.tls_started();
                        out.extend(s.take_output());
                        // Bytes after STARTTLS in this chunk were cleartext.
                        break 'outer;
                    }
                    Action::Close => {
                        closed = true;
                        out.extend(s.take_output());
                        break 'outer;
                    }
                }
            }
            out.extend(s.take_output());
            if rest.is_empty() {
                break;
            }
        }
    }
    out.extend(s.take_output());
    Run { out: String::from_utf8_lossy(&out).into_owned(), bytes: out, closed, starttls }
}

pub fn run(s: &mut Session, st: &mut MemStore, input: &str) -> String {
    drive(s, st, input.as_bytes(), usize::MAX).out
}

/// A TLS session, logged in as bob, greeting consumed.
pub fn logged_in(st: &mut MemStore) -> Session {
    let mut s = Session::new(tls_config());
    let out = run(&mut s, st, "L LOGIN bob secret\r\n");
    assert!(out.contains("L OK"), "{}", out);
    s
}

/// Logged in with INBOX selected.
pub fn selected(st: &mut MemStore) -> Session {
    let mut s = logged_in(st);
    let out = run(&mut s, st, "S SELECT INBOX\r\n");
    assert!(out.contains("S OK [READ-WRITE]"), "{}", out);
    s
}

pub fn store_with_messages() -> MemStore {
    let mut st = MemStore::new();
    st.deliver("INBOX", MSG1);
    st.deliver("INBOX", MSG2);
    st.deliver("INBOX", MSG3);
    st
}

/// Lines of output, for order assertions.
pub fn lines(s: &str) -> Vec<&str> {
    s.split("\r\n").filter(|l| !l.is_empty()).collect()
}

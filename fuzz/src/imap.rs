//! IMAP session driver (as mail/imap's test harness): feed, process until
//! `Wait`, answer authentication (bob/secret), complete STARTTLS.

use mail_imap::{Action, AuthResult, Session, Store};

/// Feeds `pieces` and returns everything the session wrote.
pub fn drive(s: &mut Session, st: &mut dyn Store, pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in pieces.iter().copied().chain(core::iter::once(&b""[..])) {
        let mut rest = piece;
        let mut idle = 0;
        loop {
            let n = s.feed(rest);
            assert!(n <= rest.len());
            rest = &rest[n..];
            let mut actions = 0u32;
            loop {
                actions += 1;
                assert!(actions < 1_000_000, "process never waits");
                match s.process(st) {
                    Action::Authenticate { user, password, .. } => {
                        let ok = user == "bob" && password == b"secret";
                        s.auth_result(if ok { AuthResult::Ok } else { AuthResult::Failed });
                    }
                    Action::Wait => break,
                    Action::Write => out.extend(s.take_output()),
                    Action::StartTls => {
                        s.tls_started();
                        out.extend(s.take_output());
                    }
                    Action::Close => {
                        out.extend(s.take_output());
                        return out;
                    }
                }
            }
            out.extend(s.take_output());
            idle = if n == 0 { idle + 1 } else { 0 };
            if rest.is_empty() || idle > 2 {
                break;
            }
        }
    }
    out
}

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
Subject: Report attached\r\n\
Date: Tue, 01 Mar 2022 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
preamble\r\n\
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

pub const MSG3: &[u8] = b"From: list@lists.example\nTo: bob@example.com\nSubject: weekly digest\nDate: Wed, 02 Mar 2022 08:00:00 +0100\nX-Spam: yes\n\nline one\nline two\n";

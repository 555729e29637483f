"""Issue 4: Python imaplib reads over 993 and STARTTLS what SMTP delivered,
byte-exact; flags, copy, move, expunge, append, search and IDLE work, and
the changes are visible in the Maildir file names on the disk."""
import imaplib
import os
import re
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

from smtp_util import MAILDIR, debugfs, fsck_clean, mail_disk, messages
from vm import VM, free_port


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def boot(d):
    img = mail_disk(d)
    ports = {25: free_port(), 143: free_port(), 993: free_port()}
    fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in ports.items())
    vm = VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net="user," + fwd, disks=[(img, "mail", False)])
    return vm, ports, img


def send(port, subject, body=b"hello\r\n", frm="sender@example.org"):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    msg = b"From: " + frm.encode() + b"\r\nTo: demo@example.test\r\nSubject: " + subject.encode() + b"\r\n\r\n" + body
    s.sendmail(frm, ["demo@example.test"], msg)
    s.quit()
    return msg


def test_imaplib_session():
    with tempfile.TemporaryDirectory() as d:
        vm, ports, img = boot(d)
        with vm:
            ready = vm.wait_ready()
            assert "imap=10.0.2.15:143" in ready and "imaps=10.0.2.15:993" in ready
            sent = send(ports[25], "first message", b"line 1\r\n.dot\r\nline 3\r\n")
            vm.wait_for("delivered to 1 mailboxes")

            # Plaintext LOGIN is refused before STARTTLS.
            p = imaplib.IMAP4("127.0.0.1", ports[143], timeout=60)
            assert "LOGINDISABLED" in p.capabilities and "STARTTLS" in p.capabilities
            try:
                p.login("demo@example.test", "demo")
                raise AssertionError("plaintext login accepted")
            except imaplib.IMAP4.error:
                pass
            p.starttls(ssl_context=ctx())
            p.login("demo@example.test", "demo")
            typ, data = p.list()
            names = b"\n".join(data)
            for special in [b"\\Sent", b"\\Drafts", b"\\Junk", b"\\Trash", b"\\Archive"]:
                assert special in names, names
            p.logout()

            m = imaplib.IMAP4_SSL("127.0.0.1", ports[993], ssl_context=ctx(), timeout=60)
            m.login("demo@example.test", "demo")
            typ, data = m.select("INBOX")
            assert typ == "OK" and data[0] == b"1"
            typ, data = m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[])")
            raw = data[0][1]
            assert raw.endswith(sent), raw[-300:]
            assert raw.startswith(b"Return-Path: <sender@example.org>")
            typ, data = m.fetch("1", "(ENVELOPE BODYSTRUCTURE)")
            assert b"first message" in data[0]
            # Flags, search.
            m.store("1", "+FLAGS", "(\\Flagged \\Seen)")
            typ, data = m.search(None, "FLAGGED")
            assert data[0] == b"1"
            typ, data = m.search(None, 'SUBJECT "first"')
            assert data[0] == b"1"
            # Append, copy, move, expunge.
            typ, data = m.append("Drafts", "(\\Draft)", imaplib.Time2Internaldate(time.time()),
                                 b"Subject: draft\r\n\r\ndraft body\r\n")
            assert typ == "OK"
            assert m.copy("1", "Archive")[0] == "OK"
            typ, data = m.status("Archive", "(MESSAGES UIDNEXT UIDVALIDITY)")
            assert b"MESSAGES 1" in data[0]
            # IDLE is woken by a new SMTP delivery.
            tag = m._new_tag().decode()
            m.send(f"{tag} IDLE\r\n".encode())
            assert m.readline().startswith(b"+")
            send(ports[25], "second message")
            line = m.readline()
            assert re.match(rb"\* 2 EXISTS", line), line
            m.send(b"DONE\r\n")
            while not m.readline().startswith(tag.encode()):
                pass
            typ, data = m.capability()
            assert b"MOVE" in data[0] and b"UIDPLUS" in data[0] and b"IDLE" in data[0], data
            typ, data = m.uid("MOVE", "2", "Junk")
            assert typ == "OK", data
            m.store("1", "+FLAGS", "(\\Deleted)")
            m.expunge()
            typ, data = m.select("INBOX")
            assert data[0] == b"0"
            m.logout()
        # On the disk: flags in file names, folders, clean fsck.
        arch = messages(img, MAILDIR + "/.Archive/cur")
        assert len(arch) == 1 and re.search(r":2,[A-Z]*F[A-Z]*S", list(arch)[0]), arch.keys()
        drafts = messages(img, MAILDIR + "/.Drafts/cur") or messages(img, MAILDIR + "/.Drafts/new")
        assert len(drafts) == 1
        assert len(messages(img, MAILDIR + "/.Junk/cur")) + len(messages(img, MAILDIR + "/.Junk/new")) == 1
        assert messages(img, MAILDIR + "/cur") == {} and messages(img) == {}
        fsck_clean(img)


def test_failed_logins_are_refused_and_counted():
    with tempfile.TemporaryDirectory() as d:
        vm, ports, img = boot(d)
        with vm:
            vm.wait_ready()
            m = imaplib.IMAP4_SSL("127.0.0.1", ports[993], ssl_context=ctx(), timeout=60)
            t0 = time.monotonic()
            try:
                m.login("demo@example.test", "not the password")
                raise AssertionError("bad password accepted")
            except imaplib.IMAP4.error as e:
                assert "AUTHENTICATIONFAILED" in str(e)
            assert time.monotonic() - t0 >= 1.5  # the brake, not a timing benchmark
            m.login("demo@example.test", "demo")
            m.logout()
            assert "failed login for `demo@example.test`" in vm.log()
